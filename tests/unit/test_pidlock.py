"""One daemon per node: the pid file lock, with real files and real processes."""

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from pyha.daemon.pidlock import AlreadyRunning, PidLock, held_by, read_pid

HOLD = """
import sys
from pyha.daemon.pidlock import PidLock
lock = PidLock(sys.argv[1])
lock.take()
print("locked", flush=True)
sys.stdin.read()
lock.release()
"""


def _holder(run_dir):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(HOLD), run_dir], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, universal_newlines=True, env=env)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_second_taker_is_refused_with_the_holders_pid(tmp_path):
    run = str(tmp_path / "run")
    proc = _holder(run)
    try:
        with pytest.raises(AlreadyRunning) as err:
            PidLock(run).take()
        assert err.value.pid == proc.pid
        assert "pyha is already running (pid %d" % proc.pid in str(err.value)
        assert read_pid(os.path.join(run, "pyha.pid")) == proc.pid  # the loser changed nothing
        assert held_by(run) == proc.pid
    finally:
        proc.stdin.close()
        proc.wait(10)
    assert not os.path.exists(os.path.join(run, "pyha.pid"))  # a clean exit removes it
    assert held_by(run) is None


def test_sigkill_leaves_a_stale_pid_file_that_is_taken_over(tmp_path):
    run = str(tmp_path / "run")
    proc = _holder(run)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    path = os.path.join(run, "pyha.pid")
    assert read_pid(path) == proc.pid and held_by(run) is None  # stale, and known to be
    lock = PidLock(run)
    lock.take()
    try:
        assert read_pid(path) == os.getpid()
        assert held_by(run) == os.getpid()
    finally:
        lock.release()


def test_a_file_unlinked_between_open_and_lock_is_not_trusted(tmp_path, monkeypatch):
    """The holder may remove its pid file as it exits, after we opened it: locking that
    dead inode would let a third daemon start beside us."""
    run = tmp_path / "run"
    run.mkdir()
    (run / "pyha.pid").write_text("12345\n")
    import fcntl
    real_flock = fcntl.flock
    calls = []

    def flock(fd, op):
        if not calls:  # the first lock attempt: the old file disappears underneath
            os.unlink(str(run / "pyha.pid"))
        calls.append(fd)
        return real_flock(fd, op)

    monkeypatch.setattr(fcntl, "flock", flock)
    lock = PidLock(str(run))
    lock.take()
    try:
        assert len(calls) == 2
        assert os.fstat(lock.fd).st_ino == os.stat(str(run / "pyha.pid")).st_ino
        assert read_pid(str(run / "pyha.pid")) == os.getpid()
    finally:
        lock.release()


def test_a_symlinked_pid_file_is_not_followed(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    victim = tmp_path / "victim"
    victim.write_text("keep me\n")
    os.symlink(str(victim), str(run / "pyha.pid"))
    with pytest.raises(OSError):
        PidLock(str(run)).take()
    assert victim.read_text() == "keep me\n"


def test_pyha_status_tells_a_starting_daemon_from_a_stopped_one(tmp_path):
    """A daemon that holds its lock but does not answer yet (opening media, waiting for a
    killed predecessor's guardian) is not "not running"."""
    run = str(tmp_path / "run")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))

    def status():
        return subprocess.run([sys.executable, "-m", "pyha", "status", "--run-dir", run],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                              env=env, timeout=60)

    proc = _holder(run)
    try:
        r = status()
        assert r.returncode == 4, r
        assert "pyha (pid %d) is starting" % proc.pid in r.stderr
    finally:
        proc.stdin.close()
        proc.wait(10)
    r = status()
    assert r.returncode == 3 and "is not running" in r.stderr, r
