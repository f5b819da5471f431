"""statefiles: the generation and uuid under the state directory, and what a state
directory that cannot be written gives (issue 11 item 5): a StateDirError naming the
path and what to do, and no `hb_generation.tmp` left behind.

Tests run as root in CI, where file modes do not stop a write, so the failing write is
injected here (os.write / os.open raising the errno a full or read-only file system
gives); tests/lab/test_statefiles_lab.py does the same against real read-only and full
file systems.
"""

import errno
import os
import threading

import pytest

from pyha.daemon import statefiles
from pyha.daemon.statefiles import GENERATION_FILE, StateDirError, next_generation, node_uuid


def test_generation_grows_and_is_heartbeats_format(tmp_path):
    gen, warning = next_generation(str(tmp_path), now=1000.0)
    assert (gen, warning) == (1001, "No Previous generation - starting at 1001")
    assert (tmp_path / GENERATION_FILE).read_text() == "%15d\n" % 1001
    assert next_generation(str(tmp_path), now=5.0) == (1002, None)
    assert sorted(p.name for p in tmp_path.iterdir()) == [GENERATION_FILE]


def test_uuid_is_kept(tmp_path):
    u = node_uuid(str(tmp_path))
    assert len(u) == 16 and node_uuid(str(tmp_path)) == u


def failing(monkeypatch, name, err):
    real = getattr(os, name)

    def fake(*args, **kw):
        if name != "open" or str(args[0]).endswith(".tmp"):
            raise OSError(err, os.strerror(err))
        return real(*args, **kw)

    monkeypatch.setattr(os, name, fake)


@pytest.mark.parametrize("call,errno_,where,what", [
    ("write", errno.ENOSPC, "write", "the file system is full: free some space"),
    ("fsync", errno.EIO, "fsync", "fix the state directory"),
    ("open", errno.EROFS, "open", "the file system is read-only"),
])
def test_write_failure_is_a_clear_error_and_leaves_nothing(tmp_path, monkeypatch, call, errno_, where, what):
    next_generation(str(tmp_path), now=1000.0)
    before = (tmp_path / GENERATION_FILE).read_text()
    failing(monkeypatch, call, errno_)
    with pytest.raises(StateDirError) as err:
        next_generation(str(tmp_path), now=1000.0)
    monkeypatch.undo()
    path = str(tmp_path / GENERATION_FILE)
    assert str(err.value) == err.value.message
    assert err.value.message.startswith("cannot write %s (%s): " % (path, os.strerror(errno_)))
    assert what in err.value.message and "generation number" in err.value.message
    assert isinstance(err.value, OSError) and err.value.errno == errno_  # old `except OSError` still works
    assert sorted(p.name for p in tmp_path.iterdir()) == [GENERATION_FILE]  # no hb_generation.tmp
    assert (tmp_path / GENERATION_FILE).read_text() == before


def test_state_dir_that_cannot_be_created(tmp_path, monkeypatch):
    failing(monkeypatch, "makedirs", errno.EROFS)
    with pytest.raises(StateDirError, match="cannot create the state directory %s .*read-only" % tmp_path):
        node_uuid(str(tmp_path))


def test_generation_file_that_is_a_fifo_does_not_block_the_start(tmp_path):
    os.mkfifo(str(tmp_path / GENERATION_FILE))
    box = []
    worker = threading.Thread(target=lambda: box.append(next_generation(str(tmp_path), now=1000.0)))
    worker.daemon = True
    worker.start()
    worker.join(10)
    assert box, "blocked on a FIFO"
    gen, warning = box[0]
    assert gen == 1001 and "FIFO" in warning
    assert (tmp_path / GENERATION_FILE).read_text() == "%15d\n" % 1001  # replaced by the real file


def test_unreadable_uuid_is_a_clear_error(tmp_path):
    (tmp_path / statefiles.UUID_FILE).mkdir()
    with pytest.raises(StateDirError, match="cannot read .*hb_uuid .*a directory, not a regular file"):
        node_uuid(str(tmp_path))
