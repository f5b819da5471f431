"""Copying /etc/ha.d to the peer over SSH: the job of heartbeat's ha_propagate, done safely.

Three round trips, each a small POSIX sh script on stdin (the peer may not have pyha yet):
`probe` learns the peer's node name and the routes it would use back to us, `fetch` reads
the peer's current files (for the diff and backups), `install` stages every file in a
private temp directory beside the target, and only when all are staged renames them into
place, so a failure while staging leaves the peer's old files untouched.  A connection
lost during the renames leaves the peer's state unknown: `PeerStateUnknown` says so.
"""

import base64
import re
import shlex
import time
from typing import Dict, List, Optional, Tuple

from pyha import paths
from pyha.host.files import CHANGED, CREATED, UNCHANGED, FileChange, unified_diff
from pyha.host.ssh import Peer, SshError

HA_FILES = ("ha.cf", "haresources", "authkeys", "pyha.cf")
# Files a node may lack: `pyha sync` pushes them when this node has them (pyha.cf: all
# defaults when missing) and leaves the peer's copy alone otherwise.
OPTIONAL_FILES = ("pyha.cf",)


class PeerFacts(object):
    __slots__ = ("name", "uid", "routes")

    def __init__(self, name, uid, routes):
        # type: (str, int, Dict[str, Tuple[Optional[str], Optional[str]]]) -> None
        self.name = name
        self.uid = uid
        self.routes = routes  # our address -> (peer's outgoing interface, peer's source address)


_ROUTE_RE = re.compile(r"\bdev\s+(\S+)(?:.*?\bsrc\s+(\S+))?")


def parse_route_get(line):
    # type: (str) -> Tuple[Optional[str], Optional[str]]
    """`ip -o -4 route get X` output -> (dev, src); (None, None) when there is no route."""
    m = _ROUTE_RE.search(line)
    if not m:
        return None, None
    return m.group(1), m.group(2)


def probe(peer, our_addresses):
    # type: (Peer, List[str]) -> PeerFacts
    lines = ["echo \"name=$(uname -n)\"", "echo \"uid=$(id -u)\""]
    for addr in our_addresses:
        q = shlex.quote(addr)
        lines.append("echo \"route %s=$(ip -o -4 route get %s 2>/dev/null | head -n 1)\"" % (addr, q))
    out = peer.run_script("\n".join(lines) + "\n").stdout
    name, uid, routes = None, -1, {}
    for line in out.splitlines():
        if line.startswith("name="):
            name = line[5:].strip()
        elif line.startswith("uid="):
            try:
                uid = int(line[4:].strip())
            except ValueError:
                uid = -1
        elif line.startswith("route "):
            key, _, value = line[6:].partition("=")
            routes[key] = parse_route_get(value)
    if not name:
        raise SshError("the peer %s did not report its node name (uname -n)" % peer.host)
    return PeerFacts(name, uid, routes)


def fetch(peer, directory=paths.HA_DIR):
    # type: (Peer, str) -> Dict[str, Tuple[str, int]]
    """The peer's current files as {name: (text, mode)}; missing files are left out."""
    script = ["d=%s" % shlex.quote(directory)]
    for name in HA_FILES:
        script.append(
            'if [ -f "$d/%s" ]; then echo "@@file %s $(stat -c %%a "$d/%s")"; base64 "$d/%s"; '
            'echo "@@end"; fi' % (name, name, name, name))
    out = peer.run_script("\n".join(script) + "\n", secret_stdout=True).stdout
    files = {}
    current = None  # type: Optional[Tuple[str, int]]
    chunks = []  # type: List[str]
    for line in out.splitlines():
        if line.startswith("@@file "):
            parts = line.split()
            current = (parts[1], int(parts[2], 8))
            chunks = []
        elif line == "@@end" and current is not None:
            data = base64.b64decode("".join(chunks).encode("ascii"))
            files[current[0]] = (data.decode("utf-8", "surrogateescape"), current[1])
            current = None
        elif current is not None:
            chunks.append(line.strip())
    return files


def plan(current, wanted, directory=paths.HA_DIR):
    # type: (Dict[str, Tuple[str, int]], Dict[str, Tuple[str, int]], str) -> List[FileChange]
    changes = []
    for name in sorted(wanted):
        text, mode = wanted[name]
        path = "%s/%s" % (directory.rstrip("/"), name)
        if name not in current:
            changes.append(FileChange(path, CREATED, unified_diff("", text, name), mode=mode))
        elif current[name] == (text, mode):
            changes.append(FileChange(path, UNCHANGED, mode=mode))
        else:
            old_text, old_mode = current[name]
            diff = unified_diff(old_text, text, name) if old_text != text else \
                "mode %04o -> %04o\n" % (old_mode, mode)
            changes.append(FileChange(path, CHANGED, diff, mode=mode))
    return changes


def install_script(wanted, changes, directory=paths.HA_DIR, now=None):
    # type: (Dict[str, Tuple[str, int]], List[FileChange], str, Optional[float]) -> str
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now if now is not None else time.time()))
    todo = [c for c in changes if c.status != UNCHANGED]
    # umask 077: every staged file and backup is created 0600 (they may hold a key) and
    # gets its final mode only by chmod, once written.
    out = ["set -e", "umask 077", "d=%s" % shlex.quote(directory), 'mkdir -p "$d"',
           'tmp=$(mktemp -d "$d/.pyha-sync.XXXXXX")', "trap 'rm -rf \"$tmp\"' EXIT"]
    for change in todo:
        name = change.path.rsplit("/", 1)[1]
        text, mode = wanted[name]
        encoded = base64.b64encode(text.encode("utf-8", "surrogateescape")).decode("ascii")
        out.append('base64 -d > "$tmp/%s" <<\'PYHA_EOF\'' % name)
        out.extend(encoded[i:i + 76] for i in range(0, len(encoded), 76))
        out.append("PYHA_EOF")
        out.append('chmod %04o "$tmp/%s"' % (mode, name))
        out.append('chown 0:0 "$tmp/%s" 2>/dev/null || true' % name)
    # Backups: mktemp gives a new name even for two runs within one second, and a 0600
    # file, which the copy keeps (`cp -p` would give a backup of authkeys its old mode).
    for change in todo:
        name = change.path.rsplit("/", 1)[1]
        if change.status == CHANGED:
            out.append('b=$(mktemp "$d/%s.bak.%s.XXXXXX")' % (name, stamp))
            out.append('cat "$d/%s" > "$b"' % name)
            out.append('touch -r "$d/%s" "$b"' % name)
            out.append('echo "@@backup %s $b"' % name)
    # Everything is staged; from here on only renames, which cannot leave a partial file
    # (but a connection lost from here on leaves the peer's state unknown to us).
    out.append("echo @@staged")
    for change in todo:
        name = change.path.rsplit("/", 1)[1]
        out.append('mv -f "$tmp/%s" "$d/%s"' % (name, name))
    out.append("echo @@installed")
    return "\n".join(out) + "\n"


class PeerStateUnknown(SshError):
    """The install round trip failed after the peer may have renamed files into place."""


def push(peer, wanted, directory=paths.HA_DIR, dry_run=False, now=None):
    # type: (Peer, Dict[str, Tuple[str, int]], str, bool, Optional[float]) -> List[FileChange]
    """Make the peer's files equal to `wanted`; returns what changed there (with diffs).

    SshError: the peer's files were not changed.  PeerStateUnknown: the connection or the
    install failed when the peer may already have some or all of the new files."""
    changes = plan(fetch(peer, directory), wanted, directory)
    if dry_run or all(c.status == UNCHANGED for c in changes):
        return changes
    try:
        result = peer.run_script(install_script(wanted, changes, directory, now), check=False)
    except SshError as exc:
        # ssh died or timed out: we cannot tell whether the renames ran
        raise PeerStateUnknown("the connection to %s failed while installing the files (%s); the peer's files "
                               "may or may not be the new ones" % (peer.host, exc.message), exc.hint)
    backups = {}
    for line in result.stdout.splitlines():
        if line.startswith("@@backup "):
            _, name, path = line.split(" ", 2)
            backups[name] = path
    for change in changes:
        change.backup = backups.get(change.path.rsplit("/", 1)[1])
    if "@@installed" not in result.stdout:
        why = result.stderr.strip() or "exit status %d" % result.returncode
        if "@@staged" in result.stdout:
            raise PeerStateUnknown("installing the files on %s stopped part way (%s); some of the peer's files "
                                   "may be the new ones" % (peer.host, why))
        raise SshError("installing the files on %s failed before any was replaced: %s" % (peer.host, why))
    return changes
