"""Watchdog feeding, against a FIFO standing in for /dev/watchdog.

This machine has no softdog module (a container-like VM), so a named pipe plays the
device: we can see every byte the daemon would have written to the kernel.
"""

import os

import pytest

from pyha.daemon.watchdog import Watchdog, timeout_for


def test_timeout_is_heartbeats_rule():
    assert timeout_for(30000) == 31
    assert timeout_for(200) == 1
    assert timeout_for(5990) == 6
    assert timeout_for(6000) == 7  # 6010 ms rounds up


def test_feeds_and_magic_close_on_a_fifo_stand_in(tmp_path):
    path = str(tmp_path / "watchdog")
    os.mkfifo(path)
    reader = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    wd = Watchdog(path, 6000)
    wd.open()
    assert wd.set_timeout_error  # a FIFO rejects the ioctl: reported, not fatal
    assert wd.feed() and wd.feed()
    wd.close(clean=True)
    assert os.read(reader, 100) == b"\0\0V"
    os.close(reader)


def test_unclean_close_writes_no_magic(tmp_path):
    path = str(tmp_path / "watchdog")
    os.mkfifo(path)
    reader = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    wd = Watchdog(path, 1000)
    wd.open()
    wd.feed()
    wd.close(clean=False)
    assert os.read(reader, 100) == b"\0"
    os.close(reader)


def test_missing_device_error_says_what_to_do(tmp_path):
    with pytest.raises(OSError, match="modprobe softdog"):
        Watchdog(str(tmp_path / "nope"), 1000).open()
