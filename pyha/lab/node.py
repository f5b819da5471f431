"""One lab member at run time: run commands in it, cut its links, power it off and on.

Job: everything done *to* or *inside* one member once the topology exists.  A `Host` is a
bare network namespace (gateway, client); commands run with `ip netns exec`.  A `Node` is a
simulated machine: network namespace plus its own UTS (hostname), IPC, mount and PID
namespaces with `nodeinit.py` as PID 1, and private copies of /etc/ha.d, /var/lib/pyha,
/var/lib/heartbeat, /run (= /var/run), /var/log and /tmp bind-mounted from
``<statedir>/<NAME>/root/...`` on the host.  /sbin and /usr/sbin carry harmless
reboot/halt/poweroff/shutdown scripts (a read-only overlay) that only log to
/var/log/pyha-lab-reboot.log inside the node.  Commands run with
``nsenter -t <init pid> -n -m -u -i -p``.

Typical use::

    n = lab.node("HA1")
    n.exec(["uname", "-n"]).stdout          # "HA1\\n" (CompletedProcess, text)
    p = n.spawn(["nginx", "-g", "daemon off;"])   # NodeProcess (a Popen)
    p.terminate()                           # reaches the process inside, not just nsenter
    n.link_down("eth1"); n.link_up("eth1")  # link_up restores the default route
    n.power_off(); n.power_on()             # SIGKILL of init = pulled plug; links go down
    n.host_path("/etc/ha.d/ha.cf")          # where that file lives on the host

Pitfalls handled here: `nsenter` does not forward signals to the process it forked, so
`exec`/`spawn` put nsenter in its own process group and signal the group; a powered-off
node's interfaces would still answer ARP and ping (they belong to the netns, not to the
processes), so power-off takes its links down; IPv4 routes through a link vanish when it
goes down, so `link_up` puts the default route back.

Never: signal a process it did not verify (PID + start time), or run anything in the
root network namespace.
"""

import grp
import json
import os
import pwd
import select
import signal
import subprocess
import sys
import time
from typing import Any, Dict, List, Optional, Sequence

from pyha.lab import netns as nsu
from pyha.lab.netns import LabError
from pyha.lab.spec import MemberSpec

INIT_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "nodeinit.py")

# Node path -> name of its private copy under <statedir>/<NAME>/root.
PRIVATE_DIRS = ("/etc/ha.d", "/var/lib/pyha", "/var/lib/heartbeat", "/run", "/var/log", "/tmp")
# heartbeat state that must never be shared between nodes (same hb_uuid = one node twice).
HEARTBEAT_STATE_FILES = ("hb_uuid", "hb_generation", "hostcache", "delhostcache", "fifo")
SHADOWED = ("reboot", "halt", "poweroff", "shutdown")
SBIN_DIRS = ("/sbin", "/usr/sbin")
REBOOT_LOG = "/var/log/pyha-lab-reboot.log"
# Lab files inside a node (ssh keys, sshd config); private to the node and gone on power-on.
LAB_RUN_DIR = "/run/pyha-lab"

# Fresh /run of a booting node: what heartbeat, resource agents and LSB scripts expect.
RUN_SKELETON = (
    ("lock", 0o1777, "root", "root"),
    ("lock/subsys", 0o755, "root", "root"),
    ("heartbeat", 0o750, "hacluster", "haclient"),
    ("heartbeat/ccm", 0o750, "hacluster", "haclient"),
    ("heartbeat/crm", 0o750, "hacluster", "haclient"),
    ("heartbeat/dopd", 0o750, "hacluster", "haclient"),
    ("crm", 0o750, "hacluster", "haclient"),
    ("resource-agents", 0o1755, "root", "root"),
    ("pyha", 0o755, "root", "root"),
    ("pyha-lab", 0o700, "root", "root"),
)

SHADOW_SCRIPT = """#!/bin/sh
# pyha lab: this node is a set of namespaces; %(name)s must not reach the real machine.
echo "$(date '+%%F %%T') $(uname -n) %(name)s $*" >> %(log)s 2>/dev/null
echo "pyha lab: %(name)s is disabled inside a lab node (logged to %(log)s)" >&2
exit 0
"""

DEFAULT_TIMEOUT = 60.0


def _uid(user):
    # type: (str) -> int
    try:
        return pwd.getpwnam(user).pw_uid
    except KeyError:
        return 0


def _gid(group):
    # type: (str) -> int
    try:
        return grp.getgrnam(group).gr_gid
    except KeyError:
        return 0


class NodeProcess(subprocess.Popen):
    """A Popen whose signals reach the command inside the node.

    `nsenter` forks the real command inside the node's PID namespace and forwards no
    signal, so terminate()/kill()/send_signal() signal the members of the process group
    (started with start_new_session=True) *except* nsenter itself: nsenter then reaps its
    child and exits.  Killing nsenter first would re-parent the child to the host's PID 1,
    whose reaping can lag (about a second here) and keeps a powered-off node's PID
    namespace from dying.  Daemons that call setsid() leave the group: stop those through
    their own means or power the node off.
    """

    # True when argv[0] is an nsenter that forks the real command (entering a PID ns).
    forking_wrapper = False

    def send_signal(self, sig):
        # type: (int) -> None
        self.poll()
        members = [p for p in nsu.group_members(self.pid) if p != self.pid]
        if not self.forking_wrapper:
            targets = members + ([self.pid] if self.returncode is None else [])
        elif members:
            targets = members
        else:
            # Nothing forked yet (or everything gone): stop the wrapper itself.
            targets = [self.pid] if self.returncode is None else []
        for pid in targets:
            try:
                os.kill(pid, sig)
            except (ProcessLookupError, PermissionError):
                pass


def _popen(member, cmd, **kwargs):
    # type: (Member, List[str], Any) -> NodeProcess
    proc = NodeProcess(cmd, **kwargs)
    proc.forking_wrapper = member.is_node
    return proc


def _run_entered(member, cmd, timeout, check, input, env, stdout, stderr, universal_newlines):
    # type: (Member, List[str], Optional[float], bool, Any, Optional[Dict[str, str]], Any, Any, bool) -> subprocess.CompletedProcess
    text = {"universal_newlines": True, "errors": "replace"} if universal_newlines else {}
    proc = _popen(
        member,
        cmd,
        stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
        stdout=stdout,
        stderr=stderr,
        env=env,
        start_new_session=True,
        **text
    )
    with proc:
        try:
            out, err = proc.communicate(input, timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            try:
                # A daemon that inherited our pipes would keep them open forever.
                out, err = proc.communicate(timeout=2.0)
            except subprocess.TimeoutExpired:
                out, err = None, None
            raise subprocess.TimeoutExpired(cmd, timeout, out, err)
        except BaseException:
            proc.kill()
            raise
    if check and proc.returncode != 0:
        raise subprocess.CalledProcessError(proc.returncode, cmd, out, err)
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


class Member(object):
    """A lab member with its network namespace.  Base of `Host` and `Node`."""

    def __init__(self, lab, spec):
        # type: (Any, MemberSpec) -> None
        self.lab = lab
        self.spec = spec
        self.name = spec.name
        self.netns = lab.netns_name(spec.name)

    @property
    def is_node(self):
        # type: () -> bool
        return False

    def __repr__(self):
        return "<%s %s netns=%s>" % (type(self).__name__, self.name, self.netns)

    # -- running commands -------------------------------------------------------------
    def enter_argv(self, cwd=None):
        # type: (Optional[str]) -> List[str]
        """Command prefix that runs what follows inside this member."""
        argv = ["ip", "netns", "exec", self.netns]
        if cwd is not None:
            argv = ["nsenter", "--net=" + os.path.join(nsu.NETNS_DIR, self.netns), "--wd=" + cwd]
        return argv

    def exec(
        self,
        argv,  # type: Sequence[str]
        timeout=DEFAULT_TIMEOUT,  # type: Optional[float]
        check=False,  # type: bool
        input=None,  # type: Any
        env=None,  # type: Optional[Dict[str, str]]
        cwd=None,  # type: Optional[str]
        stdout=subprocess.PIPE,  # type: Any
        stderr=subprocess.PIPE,  # type: Any
        universal_newlines=True,  # type: bool
    ):
        # type: (...) -> subprocess.CompletedProcess
        """Run `argv` inside and wait; like subprocess.run (text output captured; bytes
        that are not UTF-8 are replaced, so binary output never raises).

        On timeout the whole command is killed and TimeoutExpired raised.  For commands
        that leave a daemon behind, pass stdout/stderr=subprocess.DEVNULL (or use spawn),
        or the daemon keeps the capture pipe open.
        """
        self._require_running()
        cmd = self.enter_argv(cwd) + list(argv)
        return _run_entered(self, cmd, timeout, check, input, env, stdout, stderr, universal_newlines)

    def sh(self, script, **kwargs):
        # type: (str, Any) -> subprocess.CompletedProcess
        """exec(["sh", "-c", script], ...)."""
        return self.exec(["sh", "-c", script], **kwargs)

    def spawn(self, argv, stdin=subprocess.DEVNULL, stdout=None, stderr=None, env=None, cwd=None, **popen_kwargs):
        # type: (Sequence[str], Any, Any, Any, Optional[Dict[str, str]], Optional[str], Any) -> NodeProcess
        """Start a long-running process inside; returns a NodeProcess (Popen) at once."""
        self._require_running()
        popen_kwargs.setdefault("start_new_session", True)
        return _popen(
            self, self.enter_argv(cwd) + list(argv), stdin=stdin, stdout=stdout, stderr=stderr, env=env, **popen_kwargs
        )

    def _require_running(self):
        # type: () -> None
        if not nsu.netns_exists(self.netns):
            raise LabError("%s: network namespace %s does not exist (lab down?)" % (self.name, self.netns))

    # -- links --------------------------------------------------------------------------
    def _ip(self, *commands):
        # type: (str) -> None
        nsu.ip_batch(self.netns, list(commands))

    def link_down(self, ifname):
        # type: (str) -> None
        """`ifdown`: the interface goes down (addresses stay, its routes vanish)."""
        self.spec.interface(ifname)
        self._ip("link set dev %s down" % ifname)

    def link_up(self, ifname):
        # type: (str) -> None
        """`ifup`: the interface comes up and the default route through it comes back."""
        self.spec.interface(ifname)
        self._ip("link set dev %s up" % ifname)
        gw_iface = self.lab.spec.gateway_interface(self.spec)
        if gw_iface is not None and gw_iface.name == ifname:
            self._ip("route replace default via %s dev %s" % (self.spec.gateway, ifname))

    def links_down(self):
        # type: () -> None
        self._ip(*["link set dev %s down" % i.name for i in self.spec.interfaces])

    def forget_runtime_addresses(self):
        # type: () -> None
        """Drop every address that is not the interface's own (a VIP): a real machine
        comes back from a power cycle without them, but a network namespace keeps them."""
        for iface in self.spec.interfaces:
            for addr in self.addresses(iface.name):
                if addr.split("/")[0] != iface.address:
                    nsu.run(["ip", "-n", self.netns, "addr", "del", addr, "dev", iface.name])

    def links_up(self):
        # type: () -> None
        for iface in self.spec.interfaces:
            self.link_up(iface.name)

    def link_state(self, ifname):
        # type: (str) -> str
        """Operational state as the kernel reports it: "UP", "DOWN", "LOWERLAYERDOWN", ..."""
        out = nsu.run(["ip", "-n", self.netns, "-o", "link", "show", "dev", ifname]).stdout
        words = out.split()
        return words[words.index("state") + 1] if "state" in words else "UNKNOWN"

    def addresses(self, ifname=None):
        # type: (Optional[str]) -> List[str]
        """IPv4 addresses as "a.b.c.d/len" (of one interface, or all but loopback)."""
        argv = ["ip", "-n", self.netns, "-o", "-4", "addr", "show"]
        if ifname is not None:
            argv += ["dev", ifname]
        result = []
        for line in nsu.run(argv).stdout.splitlines():
            words = line.split()
            if len(words) > 3 and words[1] != "lo" and words[2] == "inet":
                result.append(words[3])
        return result

    def set_netem(self, ifname, delay_ms=None, jitter_ms=None, loss_pct=None, duplicate_pct=None, rate=None):
        # type: (str, Optional[float], Optional[float], Optional[float], Optional[float], Optional[str]) -> None
        """Impair egress of `ifname` with tc netem; LabError if the kernel lacks sch_netem."""
        self.spec.interface(ifname)
        args = []  # type: List[str]
        if delay_ms is not None:
            args += ["delay", "%gms" % delay_ms]
            if jitter_ms is not None:
                args.append("%gms" % jitter_ms)
        if loss_pct is not None:
            args += ["loss", "%g%%" % loss_pct]
        if duplicate_pct is not None:
            args += ["duplicate", "%g%%" % duplicate_pct]
        if rate is not None:
            args += ["rate", rate]
        proc = nsu.run(["tc", "-n", self.netns, "qdisc", "replace", "dev", ifname, "root", "netem"] + args, check=False)
        if proc.returncode != 0:
            if "unknown" in proc.stderr.lower():
                raise LabError("tc netem is not available in this kernel (module sch_netem): %s" % proc.stderr.strip())
            raise LabError("tc netem on %s %s failed: %s" % (self.name, ifname, proc.stderr.strip()))

    def clear_netem(self, ifname):
        # type: (str) -> None
        nsu.run(["tc", "-n", self.netns, "qdisc", "del", "dev", ifname, "root"], check=False)

    # -- life cycle (overridden by Node) ------------------------------------------------
    def state(self):
        # type: () -> Dict[str, Any]
        return {"netns": self.netns}

    def restore(self, data):
        # type: (Dict[str, Any]) -> None
        pass

    def kill_all(self, timeout=5.0):
        # type: (float) -> List[int]
        """SIGKILL every process in this member's network namespace; return survivors."""
        return nsu.kill_netns_processes(self.netns, timeout)


class Host(Member):
    """A bare network namespace (gateway, client): commands via `ip netns exec`."""


class Node(Member):
    """A simulated machine: own namespaces, private state dirs, reaping init as PID 1."""

    def __init__(self, lab, spec):
        # type: (Any, MemberSpec) -> None
        Member.__init__(self, lab, spec)
        self.statedir = os.path.join(lab.statedir, spec.name)
        self.rootdir = os.path.join(self.statedir, "root")
        self.init_pid = None  # type: Optional[int]
        self.init_start = None  # type: Optional[int]
        self._launcher = None  # type: Optional[subprocess.Popen]
        self._ready_fd = None  # type: Optional[int]

    @property
    def is_node(self):
        # type: () -> bool
        return True

    @property
    def hostname(self):
        # type: () -> str
        return self.spec.hostname

    def state(self):
        # type: () -> Dict[str, Any]
        return {"netns": self.netns, "init_pid": self.init_pid, "init_start": self.init_start}

    def restore(self, data):
        # type: (Dict[str, Any]) -> None
        self.init_pid = data.get("init_pid")
        self.init_start = data.get("init_start")

    def is_running(self):
        # type: () -> bool
        return nsu.is_same_process(self.init_pid, self.init_start)

    def _require_running(self):
        # type: () -> None
        if not self.is_running():
            raise LabError("node %s is powered off (no init process)" % (self.name,))

    def enter_argv(self, cwd=None):
        # type: (Optional[str]) -> List[str]
        argv = ["nsenter", "-t", str(self.init_pid), "-n", "-m", "-u", "-i", "-p"]
        if cwd is not None:
            argv.append("--wd=" + cwd)
        return argv

    def host_path(self, path):
        # type: (str) -> str
        """Host path of `path` as seen inside the node (private dirs map into the state
        dir; anything else is shared with the host and returned unchanged)."""
        path = os.path.normpath(path)
        if path == "/var/run" or path.startswith("/var/run/"):
            path = "/run" + path[len("/var/run"):]
        for private in PRIVATE_DIRS:
            if path == private or path.startswith(private + "/"):
                return self.rootdir + path
        return path

    def processes(self):
        # type: () -> List[int]
        """Host PIDs of every process of the node (its PID namespace), init included."""
        if not self.is_running():
            return []
        ident = nsu.ns_of(self.init_pid, "pid")  # type: ignore
        return nsu.pids_in_ns("pid", ident) if ident else []

    # -- boot ---------------------------------------------------------------------------
    def _prepare(self):
        # type: () -> None
        """Create the private dirs (first boot) and a fresh /run and /tmp (every boot)."""
        first = not os.path.isdir(self.rootdir)
        for private in PRIVATE_DIRS:
            # The mount point must exist on the host (only /var/lib/pyha may be missing).
            if not os.path.exists(private):
                os.makedirs(private, 0o755)
        if first:
            os.makedirs(self.rootdir + "/etc", 0o755)
            nsu.copy_tree("/etc/ha.d", self.rootdir + "/etc/ha.d")
            nsu.copy_tree("/var/lib/heartbeat", self.rootdir + "/var/lib/heartbeat", skip=HEARTBEAT_STATE_FILES)
            nsu.copy_tree("/var/log", self.rootdir + "/var/log", files=False)
            os.makedirs(self.rootdir + "/var/lib/pyha", 0o755, exist_ok=True)
        run = self.rootdir + "/run"
        tmp = self.rootdir + "/tmp"
        for d in (run, tmp):
            nsu.remove_tree(d)
        os.mkdir(run)
        os.chmod(run, 0o755)
        for rel, mode, user, group in RUN_SKELETON:
            p = os.path.join(run, rel)
            os.mkdir(p)
            os.chown(p, _uid(user), _gid(group))
            os.chmod(p, mode)
        os.symlink("/dev/shm", os.path.join(run, "shm"))
        os.mkdir(tmp)
        os.chmod(tmp, 0o1777)
        self._write_hosts()
        shadow = os.path.join(self.statedir, "shadow-sbin")
        os.makedirs(shadow, exist_ok=True)
        for name in SHADOWED:
            p = os.path.join(shadow, name)
            with open(p, "w") as f:
                f.write(SHADOW_SCRIPT % {"name": name, "log": REBOOT_LOG})
            os.chmod(p, 0o755)

    def _write_hosts(self):
        # type: () -> None
        """The node's /etc/hosts (bound over the host's): the host's lines plus the node's
        own name, which resolves on a real machine.  Without it a lookup of the hostname
        waits for DNS timeouts (fence_ipmilan does one at start: 10 s per fence call)."""
        try:
            with open("/etc/hosts") as f:
                text = f.read()
        except OSError:
            text = "127.0.0.1\tlocalhost\n"
        if not text.endswith("\n"):
            text += "\n"
        text += "# pyha lab: this node's own name\n127.0.1.1\t%s\n" % self.spec.hostname
        path = self.rootdir + "/etc/hosts"
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, 0o644)

    def _mount_steps(self):
        # type: () -> List[List[Any]]
        steps = [["proc"], ["sysfs"], ["tmpfs", "/dev/shm", "mode=1777,nosuid,nodev,size=256m"]]  # type: List[List[Any]]
        shadow = os.path.join(self.statedir, "shadow-sbin")
        seen = set()  # type: set
        for d in SBIN_DIRS:
            real = os.path.realpath(d)
            if os.path.isdir(real) and real not in seen:
                seen.add(real)
                steps.append(["overlay", [shadow, real], real])
        # A bind whose target hides the state dir itself must come last, or the sources of
        # the binds after it would vanish (default state dir /tmp/<prefix>-lab is under /tmp).
        state_real = os.path.realpath(self.statedir)
        binds = []
        last = []
        for private in PRIVATE_DIRS:
            target = os.path.realpath(private)
            step = ["bind", self.rootdir + private, target]
            if state_real == target or state_real.startswith(target + "/"):
                last.append(step)
            else:
                binds.append(step)
        if os.path.isfile(os.path.realpath("/etc/hosts")):
            binds.append(["bind", self.rootdir + "/etc/hosts", os.path.realpath("/etc/hosts")])
        steps += binds + last
        if os.path.isdir("/var/run") and not os.path.islink("/var/run"):
            steps.append(["bind", "/run", "/var/run"])
        return steps

    def start_boot(self):
        # type: () -> None
        """Start the init (first half of boot; `finish_boot` waits for it to be ready)."""
        if self.is_running():
            raise LabError("node %s is already running (init pid %s)" % (self.name, self.init_pid))
        self._prepare()
        rfd, wfd = os.pipe()
        cfg = {
            "hostname": self.spec.hostname,
            "mounts": self._mount_steps(),
            "ready_fd": wfd,
            "halt_grace": 5.0,
        }
        # A file, not argv: keeps `ps` inside the node readable.  Read before /tmp is hidden.
        cfg_path = os.path.join(self.statedir, "init.json")
        with open(cfg_path, "w") as f:
            json.dump(cfg, f, indent=1)
        argv = [
            "nsenter", "--net=" + os.path.join(nsu.NETNS_DIR, self.netns),
            "unshare", "--uts", "--ipc", "--mount", "--pid", "--fork", "--propagation", "private",
            sys.executable, "-I", INIT_SCRIPT, cfg_path,
        ]
        logf = open(os.path.join(self.statedir, "init.log"), "ab")
        try:
            self._launcher = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                pass_fds=(wfd,), start_new_session=True,
            )
        except OSError as exc:
            os.close(rfd)
            raise LabError("cannot start init of %s: %s" % (self.name, exc))
        finally:
            os.close(wfd)
            logf.close()
        self._ready_fd = rfd

    def finish_boot(self, timeout=15.0):
        # type: (float) -> None
        rfd = self._ready_fd
        if rfd is None:
            raise LabError("finish_boot() without start_boot()")
        self._ready_fd = None
        line = b""
        deadline = time.monotonic() + timeout
        try:
            while not line.endswith(b"\n"):
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([rfd], [], [], left)[0]:
                    break
                chunk = os.read(rfd, 256)
                if not chunk:
                    break
                line += chunk
        finally:
            os.close(rfd)
        text = line.decode("utf-8", "replace").strip()
        if not text.startswith("READY "):
            self._stop_launcher()
            raise LabError("node %s did not boot: %s (see %s)" % (
                self.name, text or "no answer within %.0f s" % timeout, os.path.join(self.statedir, "init.log")))
        self.init_pid = int(text.split()[1])
        self.init_start = nsu.start_time(self.init_pid)
        if self.init_start is None:
            raise LabError("node %s: init %d died right after boot" % (self.name, self.init_pid))

    def boot(self, timeout=15.0):
        # type: (float) -> None
        self.start_boot()
        self.finish_boot(timeout)

    def _stop_launcher(self):
        # type: () -> None
        launcher, self._launcher = self._launcher, None
        if launcher is None:
            return
        if launcher.poll() is None:
            launcher.send_signal(signal.SIGKILL)
        try:
            launcher.wait(5.0)
        except subprocess.TimeoutExpired:
            pass

    # -- power --------------------------------------------------------------------------
    def kill_init(self, sig=signal.SIGKILL, timeout=5.0):
        # type: (int, float) -> bool
        """Signal the init (if it still is ours) and wait for the node to be gone."""
        if not self.is_running():
            self._stop_launcher()
            return False
        pid = self.init_pid  # type: ignore
        nsu.kill_pid(pid, sig, self.init_start)  # type: ignore
        left = nsu.wait_gone([pid], timeout)  # type: ignore
        if left:
            raise LabError("node %s: init %d still alive after signal %d" % (self.name, pid, sig))
        self._stop_launcher()
        return True

    def power_off(self, links_down=True):
        # type: (bool) -> None
        """Pull the plug: SIGKILL the init, so every process of the node dies at once.

        With `links_down` (default) its interfaces go down too: addresses belong to the
        netns and would otherwise still answer ARP and ping like a live machine."""
        self.kill_init(signal.SIGKILL)
        if links_down:
            self.links_down()
        self.lab.save()

    def halt(self, grace=5.0, links_down=True):
        # type: (float, bool) -> None
        """Clean shutdown: init sends SIGTERM to all, SIGKILL after its grace, exits."""
        self.kill_init(signal.SIGTERM, timeout=grace + 5.0)
        if links_down:
            self.links_down()
        self.lab.save()

    def power_on(self, timeout=15.0):
        # type: (float) -> None
        """Boot again: links up (with routes), fresh /run and /tmp, new namespaces."""
        if self.is_running():
            raise LabError("node %s is already running" % (self.name,))
        self.forget_runtime_addresses()
        self.links_up()
        self.boot(timeout)
        self.lab.save()


def make_member(lab, spec):
    # type: (Any, MemberSpec) -> Member
    return Node(lab, spec) if spec.is_node else Host(lab, spec)


__all__ = ["Member", "Host", "Node", "NodeProcess", "LabError", "make_member", "PRIVATE_DIRS", "LAB_RUN_DIR"]
