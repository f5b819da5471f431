"""Writing configuration files the careful way: atomically, with backups and a diff.

`pyha init` and `pyha sync` change files that keep a production cluster running, so a
write either lands whole (temp file in the same directory, fsync, rename) or not at all,
an existing file that changes is kept as `name.bak.TIMESTAMP`, and a file whose content
and mode are already right is not touched at all (its mtime stays, heartbeat's SIGHUP
logic depends on mtimes).
"""

import difflib
import os
import stat
import tempfile
import time
from typing import Dict, List, Optional, Tuple

UNCHANGED = "unchanged"
CREATED = "created"
CHANGED = "changed"


class FileChange(object):
    """What writing one file did (or would do, for a dry run)."""

    __slots__ = ("path", "status", "diff", "backup", "mode")

    def __init__(self, path, status, diff="", backup=None, mode=None):
        # type: (str, str, str, Optional[str], Optional[int]) -> None
        self.path = path
        self.status = status
        self.diff = diff
        self.backup = backup
        self.mode = mode

    def to_dict(self):
        return {"path": self.path, "status": self.status, "diff": self.diff,
                "backup": self.backup, "mode": "%04o" % self.mode if self.mode is not None else None}


def unified_diff(old, new, name):
    # type: (str, str, str) -> str
    lines = difflib.unified_diff(old.splitlines(True), new.splitlines(True),
                                 "%s (current)" % name, "%s (new)" % name)
    out = []
    for line in lines:
        out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(out)


def backup_name(path, now=None):
    # type: (str, Optional[float]) -> str
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now if now is not None else time.time()))
    candidate = "%s.bak.%s" % (path, stamp)
    n = 1
    while os.path.exists(candidate):
        n += 1
        candidate = "%s.bak.%s.%d" % (path, stamp, n)
    return candidate


def _read(path):
    # type: (str) -> Optional[Tuple[str, int]]
    try:
        with open(path, "r") as f:
            text = f.read()
        return text, stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return None
    except UnicodeDecodeError:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace"), stat.S_IMODE(os.stat(path).st_mode)


def plan_write(path, text, mode):
    # type: (str, str, int) -> FileChange
    """What `write_file` would do, without doing it."""
    current = _read(path)
    if current is None:
        return FileChange(path, CREATED, unified_diff("", text, os.path.basename(path)), mode=mode)
    old, old_mode = current
    if old == text and old_mode == mode:
        return FileChange(path, UNCHANGED, mode=mode)
    diff = unified_diff(old, text, os.path.basename(path))
    if old == text:
        diff = "mode %04o -> %04o\n" % (old_mode, mode)
    return FileChange(path, CHANGED, diff, mode=mode)


def atomic_write(path, text, mode, owner=None):
    # type: (str, str, int, Optional[Tuple[int, int]]) -> None
    """Write `text` to `path` so that readers see the old file or the new one, never a part.

    The temp file gets its final mode before any byte is written, so a secret (authkeys)
    is never readable by others, not even for a moment.
    """
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), dir=directory)
    try:
        os.fchmod(fd, mode)
        if owner is not None:
            os.fchown(fd, owner[0], owner[1])
        with os.fdopen(fd, "w") as f:
            fd = -1
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, path)
        tmp = ""
        dfd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    finally:
        if fd >= 0:
            os.close(fd)
        if tmp:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def write_files(files, directory, dry_run=False, now=None):
    # type: (Dict[str, Tuple[str, int]], str, bool, Optional[float]) -> List[FileChange]
    """Write `{name: (text, mode)}` into `directory`; back up what changes; skip what doesn't.

    Everything is planned (read) first and only then written, so a read error leaves
    nothing half done.
    """
    plans = []
    for name in sorted(files):
        text, mode = files[name]
        plans.append((plan_write(os.path.join(directory, name), text, mode), text))
    if dry_run:
        return [p for p, _ in plans]
    if any(p.status != UNCHANGED for p, _ in plans):
        os.makedirs(directory, mode=0o755, exist_ok=True)
    for change, text in plans:
        if change.status == UNCHANGED:
            continue
        if change.status == CHANGED:
            change.backup = backup_name(change.path, now)
            with open(change.path, "rb") as src, open(change.backup, "wb") as dst:
                dst.write(src.read())
            os.chmod(change.backup, stat.S_IMODE(os.stat(change.path).st_mode))
        atomic_write(change.path, text, change.mode)
    return [p for p, _ in plans]
