"""The release lock: a restarted daemon waits while the dead daemon's guardian releases.

Real files, real flock and a real guardian process; the clock is fake only where the
test waits (no test here sleeps for the 120 s limit).
"""

import fcntl
import os
import subprocess
import sys

import pytest

from pyha.daemon.guardian import LOCK_NAME, GuardianLink, ReleaseInProgress, wait_for_release


class FakeTime(object):
    def __init__(self, on_sleep=None):
        self.now = 100.0
        self.on_sleep = on_sleep
        self.sleeps = 0

    def clock(self):
        return self.now

    def sleep(self, s):
        self.now += s
        self.sleeps += 1
        if self.on_sleep is not None:
            self.on_sleep(self.sleeps)


def hold(path, pid_text=None):
    """Another open file description holding the lock: the old guardian's view."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    if pid_text is not None:
        os.ftruncate(fd, 0)
        os.pwrite(fd, pid_text.encode(), 0)
    return fd


def test_free_lock_is_taken_at_once_and_is_close_on_exec(tmp_path):
    said = []
    fd = wait_for_release(str(tmp_path / "run"), say=said.append)
    try:
        assert os.path.exists(str(tmp_path / "run" / LOCK_NAME))
        assert not os.get_inheritable(fd)  # never handed to resource scripts
        assert said == []
        with pytest.raises(OSError):  # and it is really held
            hold(str(tmp_path / "run" / LOCK_NAME))
    finally:
        os.close(fd)


def test_waits_while_the_old_guardian_releases_then_goes_on(tmp_path):
    path = str(tmp_path / LOCK_NAME)
    old = hold(path, "4242\n")
    released = []

    def on_sleep(n):
        if n == 40 and not released:  # the old guardian finishes after 2 s
            os.close(old)
            released.append(n)

    t = FakeTime(on_sleep)
    said = []
    fd = wait_for_release(str(tmp_path), clock=t.clock, sleep=t.sleep, say=said.append)
    os.close(fd)
    assert released
    assert "pid 4242" in said[0] and "waiting for the guardian" in said[0]
    assert "finished releasing after 2.0 s" in said[-1]


def test_a_stuck_guardian_refuses_the_start_naming_it(tmp_path):
    path = str(tmp_path / LOCK_NAME)
    old = hold(path, "4242\n")
    t = FakeTime()
    try:
        with pytest.raises(ReleaseInProgress) as info:
            wait_for_release(str(tmp_path), limit=30, clock=t.clock, sleep=t.sleep, say=lambda s: None)
    finally:
        os.close(old)
    text = str(info.value)
    assert "pid 4242" in text and path in text and "not starting" in text
    assert 30 <= t.now - 100.0 < 31


def test_the_guardian_holds_the_lock_until_it_is_done(tmp_path):
    run_dir = str(tmp_path / "run")
    fd = wait_for_release(run_dir)
    link = GuardianLink(resource_d=str(tmp_path), lock_fd=fd)
    os.close(fd)  # the daemon is gone: the guardian alone keeps the lock
    try:
        with open(os.path.join(run_dir, LOCK_NAME)) as f:
            assert f.read().strip() == str(link.proc.pid)
        t = FakeTime()
        with pytest.raises(ReleaseInProgress):
            wait_for_release(run_dir, limit=0.2, clock=t.clock, sleep=t.sleep)
    finally:
        link.clean_exit()
    assert link.proc.poll() is not None
    os.close(wait_for_release(run_dir))


def test_stop_scripts_of_the_guardian_do_not_inherit_the_lock(tmp_path):
    """A service the guardian stops (or a daemon it leaves behind) must not keep the lock
    for ever: the guardian's start-up makes the inherited fd close-on-exec again."""
    fd = wait_for_release(str(tmp_path / "run"))
    try:
        r = subprocess.run([sys.executable, "-c",
                            "import os, sys\n"
                            "from pyha.daemon import guardian\n"
                            "fd = int(sys.argv[1])\n"
                            "guardian.main(['--lock-fd', str(fd), '--resource-d', '.'])\n"
                            "print(os.get_inheritable(fd))\n", str(fd)],
                           pass_fds=(fd,), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           universal_newlines=True, env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)),
                           timeout=60)
    finally:
        os.close(fd)
    assert r.stdout.strip() == "False"
