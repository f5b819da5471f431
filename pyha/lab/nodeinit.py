"""PID 1 of a lab node: sets the node up, reports readiness, then reaps children forever.

Started by `pyha.lab.node.Node.boot()` as
``nsenter --net=/run/netns/NS unshare --uts --ipc --mount --pid --fork --propagation private
python -I nodeinit.py CONFIG.json`` so it runs inside the node's network namespace, in fresh
UTS/IPC/mount/PID namespaces, as PID 1.  It runs as a *script* (by path, `python -I`), so it
must import nothing but the standard library and stay Python 3.6 compatible.

Set-up, in order: learn its own host PID (readlink /proc/self while the host's /proc is
still mounted), set the hostname, lazily unmount every nsfs mount inherited from the host
(otherwise this mount namespace would pin every other lab's network namespaces after `ip
netns delete`), then perform the mount steps computed by the host (proc, sysfs, tmpfs,
overlays shadowing reboot/halt/..., bind mounts of the private directories), and write
``READY <host pid>`` (or ``ERROR <text>``) on the file descriptor given in the config.

Then it only reaps: processes entered with nsenter and orphaned daemons re-parent to it.
Commands arrive as signals:
  SIGTERM / SIGINT  graceful halt: SIGTERM to every process of the node, SIGKILL after
                    the grace period, then exit (the node is off).
  SIGKILL (host)    power off: the kernel kills every process of the PID namespace.
  SIGUSR1           write the list of the node's processes to stdout (the init log).

Never: import pyha, start services, or touch anything outside its own namespaces except
through the bind mounts the host asked for.
"""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

WAITED = (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1)


def log(msg):
    sys.stdout.write("[pyha-lab-init %s] %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stdout.flush()


def mountinfo():
    """(mount point, fs type) of every mount of this mount namespace, in mount order."""
    result = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            fields = left.split()
            # Mount points escape blanks and backslashes as octal (\040).
            point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), fields[4])
            result.append((point, right.split()[0]))
    return result


def run(argv):
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, universal_newlines=True)
    out, _ = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (" ".join(argv), proc.returncode, out.strip()))


def do_step(step):
    kind = step[0]
    if kind == "proc":
        run(["mount", "-t", "proc", "-o", "nosuid,nodev,noexec", "proc", "/proc"])
    elif kind == "sysfs":
        # Inside the node's netns a fresh sysfs shows the node's own /sys/class/net.
        run(["mount", "-t", "sysfs", "-o", "nosuid,nodev,noexec", "sysfs", "/sys"])
    elif kind == "tmpfs":
        _, target, options = step
        run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", target])
    elif kind == "overlay":
        # Read-only overlay with only lower layers: the first wins, so the shadow directory
        # hides e.g. /usr/sbin/reboot (a symlink to systemctl here) without a bind mount,
        # which would follow the symlink and shadow systemctl itself.
        _, lowers, target = step
        run(["mount", "-t", "overlay", "-o", "ro,lowerdir=" + ":".join(lowers), "overlay", target])
    elif kind == "bind":
        _, source, target = step
        run(["mount", "--bind", source, target])
    else:
        raise RuntimeError("unknown mount step %r" % (step,))


def setup(cfg):
    host_pid = int(os.readlink("/proc/self"))
    socket.sethostname(cfg["hostname"])
    run(["mount", "--make-rprivate", "/"])
    for point, fstype in reversed(mountinfo()):
        if fstype == "nsfs":
            subprocess.call(["umount", "-l", point], stderr=subprocess.DEVNULL)
    for step in cfg["mounts"]:
        do_step(step)
    os.chdir("/")
    return host_pid


def reap():
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def others():
    """PIDs (in this namespace) of every process except this init."""
    return [int(p) for p in os.listdir("/proc") if p.isdigit() and p != "1"]


def halt(grace):
    log("halt: SIGTERM to all processes")
    try:
        os.kill(-1, signal.SIGTERM)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + grace
    while others() and time.monotonic() < deadline:
        signal.sigtimedwait([signal.SIGCHLD], 0.05)
        reap()
    if others():
        log("halt: SIGKILL to the rest")
        try:
            os.kill(-1, signal.SIGKILL)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + 2.0
        while others() and time.monotonic() < deadline:
            signal.sigtimedwait([signal.SIGCHLD], 0.05)
            reap()
    log("halted")
    sys.exit(0)


def describe():
    lines = []
    for pid in sorted(others()):
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
        except OSError:
            continue
        lines.append("%d %s" % (pid, cmd))
    log("processes:\n  " + "\n  ".join(lines))


def main(argv):
    with open(argv[1]) as f:  # read now: /tmp (where the state dir may be) gets hidden
        cfg = json.load(f)
    ready_fd = int(cfg["ready_fd"])
    # Handlers (not SIG_DFL) so the kernel delivers these to a namespace init at all;
    # they stay blocked and are taken with sigtimedwait, which has no race with reaping.
    for sig in WAITED:
        signal.signal(sig, lambda *_: None)
    try:
        host_pid = setup(cfg)
    except Exception as exc:  # report any set-up failure to the host, then die
        os.write(ready_fd, ("ERROR %s\n" % (exc,)).encode("utf-8", "replace"))
        os.close(ready_fd)
        return 1
    signal.pthread_sigmask(signal.SIG_BLOCK, WAITED)
    os.write(ready_fd, ("READY %d\n" % host_pid).encode("ascii"))
    os.close(ready_fd)
    log("node %s up, host pid %d" % (cfg["hostname"], host_pid))
    grace = float(cfg.get("halt_grace", 5.0))
    while True:
        info = signal.sigtimedwait(WAITED, 10.0)
        reap()
        if info is None:
            continue
        if info.si_signo in (signal.SIGTERM, signal.SIGINT):
            halt(grace)
        elif info.si_signo == signal.SIGUSR1:
            describe()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
