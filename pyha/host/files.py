"""Writing configuration files the careful way: atomically, with backups and a diff.

`pyha init` and `pyha sync` change files that keep a production cluster running, so a
write either lands whole (temp file in the same directory, fsync, rename) or not at all,
an existing file that changes is kept as `name.bak.TIMESTAMP` (mode 0600: it may hold the
old key), and a file whose content and mode are already right is not touched at all (its
mtime stays, heartbeat's SIGHUP logic depends on mtimes).  Diffs never show a key.
"""

import difflib
import os
import stat
import tempfile
import time
from typing import Dict, List, Optional, Tuple

from pyha.config.authkeys import mask_line
from pyha.config.common import read_bytes

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
    """A unified diff for the operator; for authkeys every key is masked (a changed key
    still shows as a -/+ pair, with `****` in place of both keys)."""
    mask = mask_line if name == "authkeys" else None
    lines = difflib.unified_diff(old.splitlines(True), new.splitlines(True),
                                 "%s (current)" % name, "%s (new)" % name)
    out = []
    for n, line in enumerate(lines):
        end = "\n" if line.endswith("\n") else "\n\\ No newline at end of file\n"
        body = line[:-1] if line.endswith("\n") else line
        if mask is not None and n >= 2 and not body.startswith("@@"):  # content, not the headers
            body = body[:1] + mask(body[1:])
        out.append(body + end)
    return "".join(out)


def backup(path, now=None):
    # type: (str, Optional[float]) -> str
    """Copy `path` to a new `path.bak.TIMESTAMP[.N]` and return its name.

    The copy is created 0600 (it may hold the old key) with O_EXCL, so it never overwrites
    an earlier backup, and O_NOFOLLOW, so a planted symlink cannot redirect it."""
    data = read_bytes(path)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now if now is not None else time.time()))
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    n = 1
    while True:
        candidate = "%s.bak.%s" % (path, stamp) + (".%d" % n if n > 1 else "")
        try:
            fd = os.open(candidate, flags, 0o600)
            break
        except FileExistsError:
            n += 1
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        try:
            os.unlink(candidate)
        except OSError:
            pass
        raise
    return candidate


def _read(path):
    # type: (str) -> Optional[Tuple[str, int]]
    try:
        data = read_bytes(path)
    except FileNotFoundError:
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("utf-8", "replace")
    return text, stat.S_IMODE(os.stat(path).st_mode)


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
            change.backup = backup(change.path, now)
        atomic_write(change.path, text, change.mode)
    return [p for p, _ in plans]
