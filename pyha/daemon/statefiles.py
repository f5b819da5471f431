"""Persistent node identity under /var/lib/pyha: generation number and uuid.

The generation (`hg` on the wire) must grow at every start so peers recognise a restart
and reject replays of older packets (spec 1.8): it is incremented and fsync'ed before the
first packet is sent.  The file format is heartbeat's (decimal, right-aligned in 15
columns + newline) so an operator migrating a node can copy /var/lib/heartbeat's files.
The uuid is 16 random bytes, kept forever (`srcuuid`).
"""

import os
import time
import uuid as uuidlib
from typing import Optional, Tuple

GENERATION_FILE = "hb_generation"
UUID_FILE = "hb_uuid"


def _write_atomic(path, data):
    # type: (str, bytes) -> None
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.rename(tmp, path)


def next_generation(state_dir, now=None, method="file"):
    # type: (str, Optional[float], str) -> Tuple[int, Optional[str]]
    """Increment and persist the generation; returns (generation, warning or None)."""
    os.makedirs(state_dir, mode=0o755, exist_ok=True)
    path = os.path.join(state_dir, GENERATION_FILE)
    wall = int(now if now is not None else time.time())
    warning = None
    if method == "time":
        gen = wall
    else:
        try:
            with open(path) as f:
                gen = int(f.read().strip()) + 1
        except FileNotFoundError:
            gen = wall + 1
            warning = "No Previous generation - starting at %d" % gen
        except (ValueError, OSError) as exc:
            gen = wall + 1
            warning = "generation file %s unreadable (%s) - starting at %d" % (path, exc, gen)
    _write_atomic(path, ("%15d\n" % gen).encode("ascii"))
    return gen, warning


def node_uuid(state_dir):
    # type: (str) -> bytes
    os.makedirs(state_dir, mode=0o755, exist_ok=True)
    path = os.path.join(state_dir, UUID_FILE)
    try:
        with open(path, "rb") as f:
            data = f.read()
        if len(data) == 16:
            return data
    except FileNotFoundError:
        pass
    data = uuidlib.uuid4().bytes
    _write_atomic(path, data)
    return data
