"""What every heartbeat medium looks like to the daemon's loop.

A medium is a named link ("eth1", "/dev/ttyS0"): the name is what heartbeat reports in
`cl_status listhblinks` and what per-link liveness is tracked by.  The loop polls
`fileno()`, calls `receive()` when readable (never blocks, returns complete frames), and
`send()` for every outgoing message (never blocks either: a full socket buffer drops the
datagram, like a lost packet, instead of stalling keepalives).
"""

from typing import List, Tuple

# Heartbeat messages are single UDP datagrams; the IPv4 UDP payload limit.
MAX_DATAGRAM = 65507


class Medium(object):
    name = ""  # type: str

    def fileno(self):
        # type: () -> int
        raise NotImplementedError

    def send(self, payload):
        # type: (bytes) -> int
        """Send one message to every destination of this medium; returns how many got it."""
        raise NotImplementedError

    def receive(self):
        # type: () -> List[Tuple[bytes, str]]
        """Frames read so far as (payload, sender description); empty when nothing is ready."""
        raise NotImplementedError

    def close(self):
        # type: () -> None
        raise NotImplementedError

    def describe(self):
        # type: () -> str
        return self.name


class MediumError(Exception):
    """A medium could not be opened (missing interface, bad address...)."""
