"""Host-side plumbing for the lab: run `ip`, list/add/delete network namespaces, find and
stop the processes that live in one, and copy directory trees with their ownership.

Job: the few system facts the topology code needs, each in one small function, so that
the rules about what may be touched live in one place:
  * a namespace is only ever deleted by exact name (callers filter by their prefix);
  * a process is only ever signalled by PID, after checking that it still is the process
    we mean (its start time, or membership of a namespace we own);
  * nothing is created in the root network namespace.

Never: signal processes by name, touch namespaces it was not asked about, or raise on
"already gone" (tear-down must be idempotent).
"""

import errno
import json
import os
import shutil
import signal
import stat
import subprocess
import time
from typing import Any, Dict, Iterable, List, Optional, Sequence, Set

NETNS_DIR = "/run/netns"


class LabError(RuntimeError):
    """A lab operation failed; the message says what and how to recover."""


def run(argv, check=True, timeout=30.0, input=None):
    # type: (Sequence[str], bool, float, Optional[str]) -> subprocess.CompletedProcess
    """Run a set-up command, capture its output; raise LabError with stderr on failure."""
    kwargs = {"input": input} if input is not None else {"stdin": subprocess.DEVNULL}
    try:
        # Python 3.6 rejects stdin= next to input= even when stdin is None.
        proc = subprocess.run(
            list(argv),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            universal_newlines=True,
            timeout=timeout,
            **kwargs
        )
    except OSError as exc:
        raise LabError("cannot run %s: %s" % (argv[0], exc))
    except subprocess.TimeoutExpired:
        raise LabError("%s timed out after %.0f s" % (" ".join(argv), timeout))
    if check and proc.returncode != 0:
        raise LabError(
            "%s failed (exit %d): %s" % (" ".join(argv), proc.returncode, (proc.stderr or proc.stdout).strip())
        )
    return proc


def ip_batch(netns, commands):
    # type: (Optional[str], Sequence[str]) -> None
    """Run `ip` commands (one per line, without the leading `ip`) inside `netns`."""
    if not commands:
        return
    argv = ["ip"]
    if netns is not None:
        argv += ["-n", netns]
    run(argv + ["-batch", "-"], input="\n".join(commands) + "\n")


def list_netns():
    # type: () -> List[str]
    try:
        return sorted(os.listdir(NETNS_DIR))
    except OSError:
        return []


def netns_exists(name):
    # type: (str) -> bool
    return os.path.exists(os.path.join(NETNS_DIR, name))


def netns_add(name):
    # type: (str) -> None
    run(["ip", "netns", "add", name])


def netns_delete(name):
    # type: (str) -> None
    """Delete by exact name; a missing namespace is not an error."""
    if not netns_exists(name):
        return
    proc = run(["ip", "netns", "delete", name], check=False)
    if proc.returncode != 0 and netns_exists(name):
        raise LabError("cannot delete network namespace %s: %s" % (name, proc.stderr.strip()))


def netns_id(name):
    # type: (str) -> Optional[str]
    """The namespace's identity as /proc/PID/ns/net shows it ("net:[inode]"), or None."""
    try:
        st = os.stat(os.path.join(NETNS_DIR, name))
    except OSError:
        return None
    return "net:[%d]" % st.st_ino


def all_pids():
    # type: () -> List[int]
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def ns_of(pid, kind):
    # type: (int, str) -> Optional[str]
    try:
        return os.readlink("/proc/%d/ns/%s" % (pid, kind))
    except OSError:
        return None


def pids_in_ns(kind, ident):
    # type: (str, str) -> List[int]
    """Host PIDs of the processes whose `kind` namespace ("net", "pid") is `ident`."""
    me = os.getpid()
    return [p for p in all_pids() if p != me and ns_of(p, kind) == ident]


def start_time(pid):
    # type: (int) -> Optional[int]
    """Start time of `pid` in clock ticks since boot (field 22 of /proc/PID/stat), or None."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            data = f.read()
    except OSError:
        return None
    # The command name (field 2) may contain blanks and parentheses: split after the last ')'.
    fields = data[data.rfind(")") + 2:].split()
    try:
        if fields[0] == "Z":
            return None  # a zombie is already dead
        return int(fields[19])
    except (IndexError, ValueError):
        return None


def group_members(pgid):
    # type: (int) -> List[int]
    """PIDs of the live (non-zombie) processes in process group `pgid`."""
    result = []
    for pid in all_pids():
        try:
            with open("/proc/%d/stat" % pid) as f:
                data = f.read()
        except OSError:
            continue
        fields = data[data.rfind(")") + 2:].split()
        if len(fields) > 2 and fields[0] != "Z" and fields[2] == str(pgid):
            result.append(pid)
    return result


def is_same_process(pid, started):
    # type: (Optional[int], Optional[int]) -> bool
    return bool(pid) and started is not None and start_time(pid) == started


def kill_pid(pid, sig=signal.SIGKILL, started=None):
    # type: (int, int, Optional[int]) -> bool
    """Signal one PID, only if it is still the process that started at `started` (if given)."""
    if started is not None and start_time(pid) != started:
        return False
    try:
        os.kill(pid, sig)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def wait_gone(pids, timeout=5.0):
    # type: (Iterable[int], float) -> List[int]
    """Wait until none of `pids` is alive (zombies count as gone); return the survivors."""
    pending = list(pids)
    deadline = time.monotonic() + timeout
    while True:
        pending = [p for p in pending if start_time(p) is not None]
        if not pending or time.monotonic() >= deadline:
            return pending
        time.sleep(0.02)


def is_pidns_init(pid):
    # type: (int) -> bool
    """True when `pid` is PID 1 of a child PID namespace (a lab node's init)."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("NSpid:"):
                    fields = line.split()[1:]
                    return len(fields) > 1 and fields[-1] == "1"
    except OSError:
        pass
    return False


def kill_netns_processes(name, timeout=5.0):
    # type: (str, float) -> List[int]
    """SIGKILL every process living in network namespace `name`; return the survivors.

    PID-namespace inits go first, alone: their namespaces' processes die with them and are
    reaped by their still-living parents (nsenter, unshare).  Killing those parents in the
    same sweep would hand the zombies to the host's PID 1, which may reap them late and
    so keep each node's PID namespace (and this call) alive for about a second."""
    ident = netns_id(name)
    if ident is None:
        return []
    inits = [p for p in pids_in_ns("net", ident) if is_pidns_init(p)]
    for pid in inits:
        kill_pid(pid, signal.SIGKILL)
    wait_gone(inits, timeout)
    survivors = []  # type: List[int]
    for _ in range(3):  # processes may fork while we kill
        pids = pids_in_ns("net", ident)
        if not pids:
            return []
        for pid in pids:
            kill_pid(pid, signal.SIGKILL)
        survivors = wait_gone(pids, timeout)
    return survivors


def copy_tree(src, dst, files=True, skip=()):
    # type: (str, str, bool, Iterable[str]) -> None
    """Copy a directory tree keeping modes and owners (hacluster stays hacluster).

    `files=False` copies the directory skeleton only; names in `skip` (basenames) and
    non-regular files (sockets, FIFOs) are left out.  A missing `src` gives an empty dir.
    """
    skipped = set(skip)  # type: Set[str]
    if not os.path.isdir(src):
        os.makedirs(dst, exist_ok=True)
        return
    _copy_meta(src, dst, is_dir=True)
    for dirpath, dirnames, filenames in os.walk(src):
        rel = os.path.relpath(dirpath, src)
        target_dir = os.path.normpath(os.path.join(dst, rel))
        for d in list(dirnames):
            s = os.path.join(dirpath, d)
            t = os.path.join(target_dir, d)
            if d in skipped:
                dirnames.remove(d)
                continue
            if os.path.islink(s):
                dirnames.remove(d)
                if files:
                    _copy_link(s, t)
                continue
            _copy_meta(s, t, is_dir=True)
        if not files:
            continue
        for name in filenames:
            if name in skipped:
                continue
            s = os.path.join(dirpath, name)
            t = os.path.join(target_dir, name)
            st = os.lstat(s)
            if stat.S_ISLNK(st.st_mode):
                _copy_link(s, t)
            elif stat.S_ISREG(st.st_mode):
                shutil.copy2(s, t)
                os.chown(t, st.st_uid, st.st_gid)
                os.chmod(t, stat.S_IMODE(st.st_mode))


def _copy_meta(src, dst, is_dir):
    # type: (str, str, bool) -> None
    st = os.stat(src)
    if is_dir:
        os.makedirs(dst, exist_ok=True)
    os.chown(dst, st.st_uid, st.st_gid)
    os.chmod(dst, stat.S_IMODE(st.st_mode))


def _copy_link(src, dst):
    # type: (str, str) -> None
    try:
        os.unlink(dst)
    except OSError as exc:
        if exc.errno != errno.ENOENT:
            raise
    os.symlink(os.readlink(src), dst)
    st = os.lstat(src)
    os.lchown(dst, st.st_uid, st.st_gid)


def remove_tree(path):
    # type: (str) -> None
    """rm -rf that refuses to cross into another file system (a stray mount)."""
    if not os.path.lexists(path):
        return
    if os.path.islink(path) or not os.path.isdir(path):
        os.unlink(path)
        return
    root_dev = os.lstat(path).st_dev
    for dirpath, dirnames, filenames in os.walk(path, topdown=True):
        for d in list(dirnames):
            p = os.path.join(dirpath, d)
            st = os.lstat(p)
            if stat.S_ISDIR(st.st_mode) and (st.st_dev != root_dev or os.path.ismount(p)):
                raise LabError("refusing to remove %s: %s is a mount point" % (path, p))
    shutil.rmtree(path)


def write_json_atomic(path, data):
    # type: (str, Dict[str, Any]) -> None
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(data, f, indent=2, sort_keys=True)
        f.write("\n")
    os.rename(tmp, path)
