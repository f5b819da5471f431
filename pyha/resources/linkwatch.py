"""Wake the daemon when any interface changes state, instead of polling carrier.

The holder of a service address must notice at once when the interface carrying it loses
its carrier (issue 4 item 9: hand over in well under 0.5 s whatever the keepalive).  The
kernel multicasts every link change (RTM_NEWLINK) to the rtnetlink group RTMGRP_LINK; a
raw NETLINK_ROUTE socket bound to that group becomes readable at the change.  We do not
parse the messages: the reader drains them and the shell reads the truth from
/sys/class/net (the same code the periodic poll uses), so a lost or truncated netlink
message (ENOBUFS on overrun) costs nothing but the wake-up, which the poll still covers.

A plain socket rather than pyroute2's: we need no parsed messages, only a file
descriptor the event loop can watch like the media sockets.
"""

import errno
import socket

NETLINK_ROUTE = 0
RTMGRP_LINK = 0x1


class LinkWatch(object):
    """A readable file descriptor for the event loop; `drain()` after each wake-up."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE)
        try:
            self.sock.setblocking(False)
            self.sock.bind((0, RTMGRP_LINK))
        except OSError:
            self.sock.close()
            raise

    def fileno(self):
        # type: () -> int
        return self.sock.fileno()

    def drain(self):
        # type: () -> int
        """Read and discard everything queued; return how many messages were read."""
        n = 0
        while n < 1024:
            try:
                self.sock.recv(65536)
            except (BlockingIOError, InterruptedError):
                break
            except OSError as exc:
                if exc.errno == errno.ENOBUFS:  # overrun: the state is re-read anyway
                    n += 1
                    continue
                raise
            n += 1
        return n

    def close(self):
        self.sock.close()
