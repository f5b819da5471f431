"""Persistent node identity under /var/lib/pyha: generation number and uuid.

The generation (`hg` on the wire) must grow at every start so peers recognise a restart
and reject replays of older packets (spec 1.8): it is incremented and fsync'ed before the
first packet is sent.  The file format is heartbeat's (decimal, right-aligned in 15
columns + newline) so an operator migrating a node can copy /var/lib/heartbeat's files.
The uuid is 16 random bytes, kept forever (`srcuuid`).  A directory that cannot be
written (read-only, full) raises StateDirError with what to do, and leaves no temp file.
"""

import errno
import os
import time
import uuid as uuidlib
from typing import Optional, Tuple

from pyha.config.common import read_bytes

GENERATION_FILE = "hb_generation"
UUID_FILE = "hb_uuid"
# Both files are a few bytes; a bigger (or non-regular) one is refused, not read.
MAX_STATE_FILE = 4096


class StateDirError(OSError):
    """The state directory cannot hold the node's identity (read-only, full, not
    permitted, or a file there unreadable).  `message` names the path and what to do; an
    OSError so callers that handle OSError keep working."""

    def __init__(self, path, action, exc):
        # type: (str, str, OSError) -> None
        reason = exc.strerror or str(exc)
        if exc.errno == errno.EROFS:
            todo = "the file system is read-only: mount it read-write or point --state-dir at a writable directory"
        elif exc.errno in (errno.ENOSPC, errno.EDQUOT):
            todo = "the file system is full: free some space (`df -h %s`)" % os.path.dirname(path)
        elif exc.errno in (errno.EACCES, errno.EPERM):
            todo = "pyha must run as root, with the state directory writable by root"
        else:
            todo = "fix the state directory, or point --state-dir at a writable one"
        message = ("cannot %s %s (%s): pyha needs it to keep its generation number and uuid across restarts; %s"
                   % (action, path, reason, todo))
        super(StateDirError, self).__init__(exc.errno, message, path)
        self.message = message

    def __str__(self):
        return self.message


def _write_atomic(path, data):
    # type: (str, bytes) -> None
    """Replace `path` by `data` (temp file, fsync, rename); on failure nothing is left
    behind and StateDirError says why."""
    tmp = path + ".tmp"
    fd = -1
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o644)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
        os.close(fd)
        fd = -1
        os.rename(tmp, path)
    except OSError as exc:
        if fd >= 0:
            os.close(fd)
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise StateDirError(path, "write", exc)


def _make_dir(state_dir):
    # type: (str) -> None
    try:
        os.makedirs(state_dir, mode=0o755, exist_ok=True)
    except OSError as exc:
        raise StateDirError(state_dir, "create the state directory", exc)


def next_generation(state_dir, now=None, method="file"):
    # type: (str, Optional[float], str) -> Tuple[int, Optional[str]]
    """Increment and persist the generation; returns (generation, warning or None)."""
    _make_dir(state_dir)
    path = os.path.join(state_dir, GENERATION_FILE)
    wall = int(now if now is not None else time.time())
    warning = None
    if method == "time":
        gen = wall
    else:
        try:
            gen = int(read_bytes(path, MAX_STATE_FILE).decode("ascii").strip()) + 1
        except FileNotFoundError:
            gen = wall + 1
            warning = "No Previous generation - starting at %d" % gen
        except (ValueError, OSError) as exc:  # ValueError includes undecodable bytes
            gen = wall + 1
            warning = "generation file %s unreadable (%s) - starting at %d" % (path, getattr(exc, "strerror", None)
                                                                              or exc, gen)
    _write_atomic(path, ("%15d\n" % gen).encode("ascii"))
    return gen, warning


def node_uuid(state_dir):
    # type: (str) -> bytes
    _make_dir(state_dir)
    path = os.path.join(state_dir, UUID_FILE)
    try:
        data = read_bytes(path, MAX_STATE_FILE)
        if len(data) == 16:
            return data
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise StateDirError(path, "read", exc)
    data = uuidlib.uuid4().bytes
    _write_atomic(path, data)
    return data
