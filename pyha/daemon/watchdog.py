"""Feeding the kernel watchdog (`watchdog /dev/watchdog` in ha.cf), heartbeat's way.

If the daemon hangs or is killed, nobody feeds the device and the kernel (softdog)
resets the machine after the timeout: the node can no longer hold the VIP a peer has
taken over.  The timeout is heartbeat's: deadtime + 10 ms rounded up to whole seconds,
so the reset lands no later than the peer's takeover.  A clean stop writes the magic
close character `V` (a driver loaded with nowayout=0 then disarms).  Opening the device
happens before we may take resources: a node that cannot arm its watchdog says so.
"""

import errno
import fcntl
import math
import os
import struct
from typing import Optional

WDIOC_SETTIMEOUT = 0xC0045706  # _IOWR('W', 6, int)
WDIOC_GETTIMEOUT = 0x80045707  # _IOR('W', 7, int)


def timeout_for(deadtime_ms):
    # type: (int) -> int
    return max(1, int(math.ceil((deadtime_ms + 10) / 1000.0)))


class Watchdog(object):
    def __init__(self, path, deadtime_ms):
        # type: (str, int) -> None
        self.path = path
        self.timeout = timeout_for(deadtime_ms)
        self.fd = None  # type: Optional[int]
        self.set_timeout_error = None  # type: Optional[str]
        self.feeds = 0

    def open(self):
        # type: () -> None
        """Open (arms the timer); raises OSError with a clear message when impossible."""
        try:
            self.fd = os.open(self.path, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as exc:
            hint = " (load it: modprobe softdog, or `pyha watchdog setup`)" if exc.errno == errno.ENOENT else ""
            raise OSError(exc.errno, "cannot open watchdog %s: %s%s" % (self.path, exc.strerror, hint))
        try:
            fcntl.ioctl(self.fd, WDIOC_SETTIMEOUT, struct.pack("i", self.timeout))
        except OSError as exc:
            # a FIFO or pty stand-in in tests, or a driver with a fixed timeout
            self.set_timeout_error = exc.strerror

    def snapshot(self):
        # type: () -> dict
        """What `pyha status` shows of the watchdog."""
        return {"device": self.path, "timeout_s": self.timeout, "feeds": self.feeds}

    def feed(self):
        # type: () -> bool
        if self.fd is None:
            return False
        try:
            os.write(self.fd, b"\0")
            self.feeds += 1
            return True
        except OSError:
            return False

    def close(self, clean=True):
        # type: (bool) -> None
        """Clean stop: magic close `V` then close.  Not clean: close without it (stays armed)."""
        if self.fd is None:
            return
        try:
            if clean:
                os.write(self.fd, b"V")
        except OSError:
            pass
        os.close(self.fd)
        self.fd = None
