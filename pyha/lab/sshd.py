"""A real OpenSSH server inside a lab node, so `pyha init`'s config sync runs over real SSH.

Job: generate a host key, a sshd_config and an authorized_keys file into the server node's
private /run (``/run/pyha-lab/sshd`` inside, i.e. ``<statedir>/<NODE>/root/run/...`` on the
host), start ``/usr/sbin/sshd -D -e -f ...`` in the foreground inside the node, and give the
client nodes what they need: a lab-wide client key and a known_hosts file, installed in
their private ``/run/pyha-lab/ssh``.  Returns an `SshAccess`::

    access = start_sshd(lab, "HA2")              # clients: every other running node
    argv = access.ssh_argv("198.51.100.2", ["uname", "-n"])
    lab.node("HA1").exec(argv).stdout            # "HA2\\n"
    access.options   # ["-i", "/run/pyha-lab/ssh/id_ed25519", "-o", "UserKnownHostsFile=...",
                     #  "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", ...]
    access.stop()

Settings: port 22 on all the node's addresses, `PermitRootLogin prohibit-password`, keys
only, `UsePAM no` (PAM's session modules want logind/loginuid that a namespace lacks; root
must then not be locked with "!" in /etc/shadow), StrictModes on (the files live in
root-owned 0700 dirs, unlike /tmp whose mode 1777 sshd would reject).  The privilege
separation dir /run/sshd is created in the node's private /run.  The client key stays the
same for the whole lab (``<statedir>/ssh/id_ed25519``), so sshd in both nodes accepts it.
Everything in the node's /run is gone after a power cycle: start sshd again then.

Never: read or write the host's /root/.ssh or /etc/ssh (the host keys there are not used).
"""

import os
import shutil
import subprocess
import time
from typing import Any, List, Optional, Sequence

from pyha.lab import netns as nsu
from pyha.lab.netns import LabError
from pyha.lab.node import LAB_RUN_DIR, Node, NodeProcess

SSHD = "/usr/sbin/sshd"
SERVER_DIR = LAB_RUN_DIR + "/sshd"  # inside the server node
CLIENT_DIR = LAB_RUN_DIR + "/ssh"  # inside client nodes
KEY_NAME = "id_ed25519"
SSHD_LOG = "/var/log/pyha-lab-sshd.log"

SSHD_CONFIG = """\
# pyha lab: sshd inside node %(node)s (generated; not the host's /etc/ssh)
Port %(port)d
AddressFamily inet
ListenAddress 0.0.0.0
HostKey %(dir)s/ssh_host_ed25519_key
PidFile %(dir)s/sshd.pid
AuthorizedKeysFile %(dir)s/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
UseDNS no
StrictModes yes
PrintMotd no
PrintLastLog no
X11Forwarding no
MaxStartups 50:30:100
LogLevel VERBOSE
Subsystem sftp internal-sftp
"""


def _keygen(path, comment):
    # type: (str, str) -> None
    for p in (path, path + ".pub"):
        if os.path.exists(p):
            os.unlink(p)
    nsu.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", path])


def _mkdir_private(path, mode=0o700):
    # type: (str, int) -> None
    os.makedirs(path, exist_ok=True)
    os.chown(path, 0, 0)
    os.chmod(path, mode)


def _write(path, text, mode=0o600):
    # type: (str, str, int) -> None
    with open(path, "w") as f:
        f.write(text)
    os.chown(path, 0, 0)
    os.chmod(path, mode)


def _merge_known_hosts(path, names, line):
    # type: (str, Sequence[str], str) -> None
    """Replace the entries for any of `names` in known_hosts `path` by `line`."""
    keep = []  # type: List[str]
    if os.path.exists(path):
        with open(path) as f:
            for old in f:
                fields = old.split()
                if fields and not set(fields[0].split(",")) & set(names):
                    keep.append(old.rstrip("\n"))
    _write(path, "\n".join(keep + [line]) + "\n", 0o644)


def _listening(pid, port):
    # type: (int, int) -> bool
    """True when the network namespace of `pid` has a TCP socket listening on `port`
    (/proc/PID/net/tcp shows that process's namespace: no need to enter it)."""
    try:
        with open("/proc/%d/net/tcp" % pid) as f:
            lines = f.read().splitlines()[1:]
    except OSError:
        return False
    for line in lines:
        fields = line.split()
        if len(fields) > 3 and fields[3] == "0A" and int(fields[1].split(":")[1], 16) == port:
            return True
    return False


class SshAccess(object):
    """How to reach the sshd started by `start_sshd` (paths are inside the client nodes)."""

    def __init__(self, server, port, addresses, process, identity, known_hosts, config_file,
                 host_identity, host_known_hosts, log_path):
        # type: (str, int, List[str], NodeProcess, str, str, str, str, str, str) -> None
        self.server = server
        self.port = port
        self.addresses = addresses
        self.process = process
        self.identity = identity
        self.known_hosts = known_hosts
        self.config_file = config_file
        self.host_identity = host_identity
        self.host_known_hosts = host_known_hosts
        self.log_path = log_path

    def options_for(self, identity, known_hosts):
        # type: (str, str) -> List[str]
        return [
            "-i", identity,
            "-o", "IdentitiesOnly=yes",
            "-o", "IdentityAgent=none",
            "-o", "UserKnownHostsFile=" + known_hosts,
            "-o", "GlobalKnownHostsFile=/dev/null",
            "-o", "StrictHostKeyChecking=yes",
            "-o", "BatchMode=yes",
            "-o", "ConnectTimeout=5",
            "-o", "Port=%d" % self.port,
        ]

    @property
    def options(self):
        # type: () -> List[str]
        """ssh/scp options for use inside a client node."""
        return self.options_for(self.identity, self.known_hosts)

    @property
    def host_options(self):
        # type: () -> List[str]
        """The same with host-side paths (for a bare-netns member such as the client)."""
        return self.options_for(self.host_identity, self.host_known_hosts)

    def ssh_argv(self, host=None, command=(), user="root", options=None):
        # type: (Optional[str], Sequence[str], str, Optional[List[str]]) -> List[str]
        """``ssh OPTIONS user@host command...`` (host defaults to the server's first address)."""
        target = host or self.addresses[0]
        return ["ssh"] + list(self.options if options is None else options) + ["%s@%s" % (user, target)] + list(command)

    def stop(self, timeout=5.0):
        # type: (float) -> None
        proc = self.process
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout)

    def log(self):
        # type: () -> str
        try:
            with open(self.log_path) as f:
                return f.read()
        except OSError:
            return ""


def start_sshd(lab, server, clients=None, port=22, timeout=10.0):
    # type: (Any, str, Optional[Sequence[str]], int, float) -> SshAccess
    """Start sshd in node `server`; install the client key and known_hosts in `clients`
    (default: every other running node).  Returns once sshd listens on `port`."""
    node = lab.node(server)
    if not isinstance(node, Node):
        raise LabError("%s is not a full node; sshd needs a node's private /run" % (server,))
    if not node.is_running():
        raise LabError("node %s is powered off" % (server,))
    if shutil.which("ssh-keygen") is None or not os.path.exists(SSHD):
        raise LabError("OpenSSH (ssh-keygen, %s) is not installed" % SSHD)

    host_dir = os.path.join(lab.statedir, "ssh")
    _mkdir_private(host_dir)
    host_identity = os.path.join(host_dir, KEY_NAME)
    if not os.path.exists(host_identity):
        _keygen(host_identity, "pyha-lab-client@%s" % lab.prefix)
    with open(host_identity + ".pub") as f:
        client_pub = f.read().strip()

    srv = node.host_path(SERVER_DIR)
    nsu.remove_tree(srv)
    _mkdir_private(node.host_path(LAB_RUN_DIR))
    _mkdir_private(srv)
    _keygen(os.path.join(srv, "ssh_host_ed25519_key"), "root@%s" % node.hostname)
    _write(os.path.join(srv, "authorized_keys"), client_pub + "\n")
    conf = SERVER_DIR + "/sshd_config"
    _write(node.host_path(conf), SSHD_CONFIG % {"node": node.name, "port": port, "dir": SERVER_DIR}, 0o644)
    # Privilege separation directory (Debian's sshd refuses to start without it).
    _mkdir_private(node.host_path("/run/sshd"), 0o755)

    with open(os.path.join(srv, "ssh_host_ed25519_key.pub")) as f:
        keytype, keydata = f.read().split()[:2]
    addresses = [a.split("/")[0] for a in node.addresses()]
    names = addresses + [node.hostname, node.hostname.lower()]
    if port != 22:
        names = ["[%s]:%d" % (n, port) for n in names]
    kh_line = "%s %s %s" % (",".join(names), keytype, keydata)
    host_known_hosts = os.path.join(host_dir, "known_hosts")
    _merge_known_hosts(host_known_hosts, names, kh_line)

    if clients is None:
        clients = [n.name for n in lab.nodes if n.name != node.name and n.is_running()]
    for name in clients:
        client = lab.node(name)
        if not isinstance(client, Node):
            continue  # bare namespaces share the host's files: use host_options
        cdir = client.host_path(CLIENT_DIR)
        _mkdir_private(client.host_path(LAB_RUN_DIR))
        _mkdir_private(cdir)
        shutil.copyfile(host_identity, os.path.join(cdir, KEY_NAME))
        os.chmod(os.path.join(cdir, KEY_NAME), 0o600)
        shutil.copyfile(host_identity + ".pub", os.path.join(cdir, KEY_NAME + ".pub"))
        _merge_known_hosts(os.path.join(cdir, "known_hosts"), names, kh_line)

    access_paths = (CLIENT_DIR + "/" + KEY_NAME, CLIENT_DIR + "/known_hosts")
    check = node.exec([SSHD, "-t", "-f", conf], timeout=timeout)
    if check.returncode != 0:
        raise LabError("sshd in %s rejects its config: %s" % (server, (check.stderr or check.stdout).strip()))

    log_path = node.host_path(SSHD_LOG)
    with open(log_path, "ab") as logf:
        proc = node.spawn([SSHD, "-D", "-e", "-f", conf], stdout=logf, stderr=subprocess.STDOUT)
    access = SshAccess(server, port, addresses, proc, access_paths[0], access_paths[1],
                       CLIENT_DIR + "/config", host_identity, host_known_hosts, log_path)
    for name in clients:
        client = lab.node(name)
        if isinstance(client, Node):
            opts = access.options
            lines = ["Host *"] + ["  %s %s" % tuple(o.split("=", 1)) for o in opts[3::2]]
            lines.insert(1, "  IdentityFile %s" % access.identity)
            _write(client.host_path(access.config_file), "\n".join(lines) + "\n", 0o644)

    deadline = time.monotonic() + timeout
    while not _listening(node.init_pid, port):  # type: ignore
        if proc.poll() is not None:
            raise LabError("sshd in %s exited with %s: %s" % (server, proc.returncode, access.log()[-2000:]))
        if time.monotonic() > deadline:
            access.stop()
            raise LabError("sshd in %s not listening on port %d after %.0f s: %s"
                           % (server, port, timeout, access.log()[-2000:]))
        time.sleep(0.02)
    return access
