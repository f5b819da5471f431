"""One daemon per node: the pid file is an exclusive lock held for the daemon's life.

A second `pyha daemon` on the same run directory (a double `service pyha start`, a
script that starts before the first daemon wrote anything) must never open the media:
with SO_REUSEADDR the kernel hands the peer's unicast heartbeats to the newest socket,
so the first daemon would hear nothing and declare a live peer dead.  `take()` is the
daemon's first act, before it reads a medium, a socket or a state file; it either holds
the lock and has written its pid, or raises `AlreadyRunning` naming the holder's pid.

Why flock on the pid file: the kernel drops the lock when the process dies (SIGKILL
included), so a stale pid file is harmless and never needs removing; and `flock -n`
from a shell script asks the same question.  The file is re-checked after locking:
if the holder removed it between our open and our lock, we locked a dead inode and
must start over.

Never: remove or truncate a pid file whose lock we do not hold.
"""

import errno
import fcntl
import os
from typing import Optional

from pyha.paths import pid_path


class AlreadyRunning(Exception):
    def __init__(self, path, pid):
        # type: (str, Optional[int]) -> None
        who = "pid %d" % pid if pid else "pid not yet written"
        super(AlreadyRunning, self).__init__("pyha is already running (%s; %s is locked)" % (who, path))
        self.path = path
        self.pid = pid


def read_pid(path):
    # type: (str) -> Optional[int]
    try:
        with open(path) as f:
            text = f.read(32).strip()
        return int(text) if text.isdigit() else None
    except (OSError, ValueError):
        return None


class PidLock(object):
    def __init__(self, run_dir):
        # type: (str) -> None
        self.path = pid_path(run_dir)
        self.fd = None  # type: Optional[int]

    def take(self):
        # type: () -> None
        """Lock and write our pid, or raise AlreadyRunning (never waits)."""
        os.makedirs(os.path.dirname(self.path), mode=0o755, exist_ok=True)
        for _ in range(10):  # each turn loses only to a holder exiting at that instant
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                os.close(fd)
                if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                    raise
                raise AlreadyRunning(self.path, read_pid(self.path))
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if not same:
                os.close(fd)  # the previous holder unlinked it as it exited: lock the new one
                continue
            os.ftruncate(fd, 0)
            os.write(fd, ("%d\n" % os.getpid()).encode("ascii"))
            self.fd = fd
            return
        raise AlreadyRunning(self.path, read_pid(self.path))

    def release(self):
        # type: () -> None
        """Remove the pid file while still holding the lock, then let go."""
        if self.fd is None:
            return
        try:
            if os.fstat(self.fd).st_ino == os.stat(self.path).st_ino:
                os.unlink(self.path)
        except OSError:
            pass
        os.close(self.fd)
        self.fd = None


def held_by(run_dir, proc_locks="/proc/locks"):
    # type: (str, str) -> Optional[int]
    """The pid of the daemon holding `run_dir`'s lock (0 if it has not written it yet),
    or None when nobody holds it.  For status commands.  It reads /proc/locks instead of
    trying the lock: even a shared lock taken for an instant would make a daemon starting
    at that instant believe another one runs."""
    path = pid_path(run_dir)
    try:
        st = os.stat(path)
    except OSError:
        return None
    want = "%02x:%02x:%d" % (os.major(st.st_dev), os.minor(st.st_dev), st.st_ino)
    try:
        with open(proc_locks) as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    for line in lines:
        # "1: FLOCK  ADVISORY  WRITE 1234 00:2a:5678 0 EOF" ("->" marks waiters)
        words = line.split()
        if "->" in words or len(words) < 6 or words[1] != "FLOCK" or words[3] != "WRITE":
            continue
        if words[5] == want:
            return read_pid(path) or 0
    return None
