"""ARP on the VIP's interface: gratuitous announcements, RFC 5227 probes, conflict watch.

After adding a VIP, neighbours must learn its new MAC at once (heartbeat's send_arp: a
burst alternating ARP request announcements and gratuitous replies).  Before adding it,
pyha asks the LAN whether anybody still answers for it (RFC 5227 probe, sender IP
0.0.0.0), because the VIP itself is the last witness of who holds it: if the peer went
silent but still answers for the VIP, taking it would make a duplicate.  All frames go
through one AF_PACKET socket per interface, non-blocking, driven by the daemon's loop.
"""

import socket
import struct
from typing import List, Optional, Tuple

ETH_P_ARP = 0x0806
ARPOP_REQUEST = 1
ARPOP_REPLY = 2
BROADCAST_MAC = b"\xff" * 6
ZERO_MAC = b"\x00" * 6


def mac_text(mac):
    # type: (bytes) -> str
    return ":".join("%02x" % b for b in bytearray(mac))


def build_arp(op, sender_mac, sender_ip, target_mac, target_ip, dst_mac=BROADCAST_MAC):
    # type: (int, bytes, str, bytes, str, bytes) -> bytes
    eth = dst_mac + sender_mac + struct.pack("!H", ETH_P_ARP)
    arp = struct.pack("!HHBBH", 1, 0x0800, 6, 4, op) + sender_mac + socket.inet_aton(sender_ip) + \
        target_mac + socket.inet_aton(target_ip)
    return eth + arp + b"\x00" * 18  # pad to the 60-byte Ethernet minimum


def announcement(mac, ip):
    # type: (bytes, str) -> bytes
    """ARP request with sender = target = the VIP (RFC 5227 announcement)."""
    return build_arp(ARPOP_REQUEST, mac, ip, ZERO_MAC, ip)


def gratuitous_reply(mac, ip):
    # type: (bytes, str) -> bytes
    return build_arp(ARPOP_REPLY, mac, ip, BROADCAST_MAC, ip)


def probe(mac, ip):
    # type: (bytes, str) -> bytes
    """ARP request "who has IP?" from 0.0.0.0 (RFC 5227 probe: pollutes nobody's cache)."""
    return build_arp(ARPOP_REQUEST, mac, "0.0.0.0", ZERO_MAC, ip)


def parse_arp(frame):
    # type: (bytes) -> Optional[Tuple[int, bytes, str, bytes, str]]
    """(op, sender mac, sender ip, target mac, target ip) or None for anything else."""
    if len(frame) < 42 or frame[12:14] != b"\x08\x06":
        return None
    htype, ptype, hlen, plen, op = struct.unpack("!HHBBH", frame[14:22])
    if htype != 1 or ptype != 0x0800 or hlen != 6 or plen != 4:
        return None
    sha, spa, tha, tpa = frame[22:28], frame[28:32], frame[32:38], frame[38:42]
    return op, sha, socket.inet_ntoa(spa), tha, socket.inet_ntoa(tpa)


def claims(frame, ip, own_mac):
    # type: (bytes, str, bytes) -> Optional[bytes]
    """The MAC of another host that says it has `ip` in this frame, else None.

    A reply or announcement whose sender IP is `ip`, from a MAC that is not ours.  (A
    probe from 0.0.0.0 for `ip` by someone else is also a conflict per RFC 5227, but only
    while we probe; the caller decides.)
    """
    parsed = parse_arp(frame)
    if parsed is None:
        return None
    op, sha, spa, _tha, _tpa = parsed
    if spa == ip and sha != own_mac:
        return sha
    return None


class ArpSocket(object):
    """One AF_PACKET socket bound to an interface for ARP frames (needs CAP_NET_RAW)."""

    def __init__(self, ifname):
        # type: (str) -> None
        self.ifname = ifname
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ARP))
        try:
            sock.bind((ifname, ETH_P_ARP))
            sock.setblocking(False)
            self.mac = sock.getsockname()[4][:6]
        except OSError:
            sock.close()
            raise
        self.sock = sock

    def fileno(self):
        return self.sock.fileno()

    def send(self, frame):
        # type: (bytes) -> bool
        try:
            self.sock.send(frame)
            return True
        except OSError:
            return False

    def receive(self):
        # type: () -> List[bytes]
        frames = []
        while len(frames) < 64:
            try:
                frames.append(self.sock.recv(2048))
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                break
        return frames

    def close(self):
        self.sock.close()
