"""Ping nodes (`ping`, `ping_group`): ICMP echo carrying a signed heartbeat message.

Like heartbeat 3.0.6 (spec 1.9), the echo's data is a complete netstring message
(`t=NS_st st=ping info=ping src=<target> ts=...` + auth), so a reply proves both that the
target is reachable and that the answer belongs to one of our own requests.  One raw
ICMP socket serves every target; identifiers and sequence numbers are ours, and replies
to other processes' pings (same raw socket sees them) are filtered out by id.
"""

import os
import socket
import struct
from typing import List, Optional, Tuple

ICMP_ECHO_REQUEST = 8
ICMP_ECHO_REPLY = 0


def checksum(data):
    # type: (bytes) -> int
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def echo_request(ident, seq, payload):
    # type: (int, int, bytes) -> bytes
    header = struct.pack("!BBHHH", ICMP_ECHO_REQUEST, 0, 0, ident, seq)
    csum = checksum(header + payload)
    return struct.pack("!BBHHH", ICMP_ECHO_REQUEST, 0, csum, ident, seq) + payload


def parse_echo_reply(packet, ident):
    # type: (bytes, int) -> Optional[Tuple[int, bytes]]
    """(seq, data) of an echo reply for `ident` inside an IPv4 packet, else None."""
    if len(packet) < 20:
        return None
    ihl = (bytearray(packet)[0] & 0x0F) * 4
    icmp = packet[ihl:]
    if len(icmp) < 8:
        return None
    typ, code, _csum, rid, seq = struct.unpack("!BBHHH", icmp[:8])
    if typ != ICMP_ECHO_REPLY or code != 0 or rid != ident:
        return None
    return seq, icmp[8:]


class PingSocket(object):
    """Raw ICMP socket (needs CAP_NET_RAW) sending our echoes and collecting replies."""

    name = "ping"

    def __init__(self, ident=None):
        # type: (Optional[int]) -> None
        self.ident = (ident if ident is not None else os.getpid()) & 0xFFFF
        self.seq = 0
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        self.sock.setblocking(False)
        self.send_errors = 0

    def fileno(self):
        return self.sock.fileno()

    def send(self, target, payload):
        # type: (str, bytes) -> bool
        self.seq = (self.seq + 1) & 0xFFFF
        try:
            self.sock.sendto(echo_request(self.ident, self.seq, payload), (target, 0))
            return True
        except OSError:
            self.send_errors += 1
            return False

    def receive(self):
        # type: () -> List[Tuple[str, bytes]]
        """Replies to our echoes as (source address, data)."""
        out = []
        while len(out) < 64:
            try:
                packet, addr = self.sock.recvfrom(65535)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                break
            parsed = parse_echo_reply(packet, self.ident)
            if parsed is not None:
                out.append((addr[0], parsed[1]))
        return out

    def close(self):
        self.sock.close()
