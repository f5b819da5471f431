"""UDP media: `ucast`, `bcast` and `mcast` lines of ha.cf, as heartbeat 3.0.6 does them.

One medium per interface (two `ucast eth0 ...` lines are ONE link called eth0, spec 1.2),
a socket bound to that interface (SO_BINDTODEVICE) so that what arrives on eth1 is known
to have come over eth1.  Destinations that are this host's own addresses are skipped
(heartbeat sends to itself and discards the copies; the same ha.cf serves both nodes).
Sending never blocks: a full buffer or an unreachable network is a lost datagram,
counted and logged by the caller, never a stalled loop.
"""

import errno
import socket
import struct
from typing import Iterable, List, Optional, Sequence, Tuple

from pyha.media.base import MAX_DATAGRAM, Medium, MediumError

SO_BINDTODEVICE = getattr(socket, "SO_BINDTODEVICE", 25)
SIOCGIFBRDADDR = 0x8919
SIOCGIFADDR = 0x8915

_SEND_SOFT_ERRORS = (errno.EAGAIN, errno.EWOULDBLOCK, errno.ENETUNREACH, errno.EHOSTUNREACH,
                     errno.ENETDOWN, errno.ENOBUFS, errno.EPERM, errno.ECONNREFUSED, errno.EADDRNOTAVAIL,
                     errno.EINVAL)


def _ifreq_addr(sock, ifname, request):
    # type: (socket.socket, str, int) -> Optional[str]
    import fcntl
    try:
        res = fcntl.ioctl(sock.fileno(), request, struct.pack("256s", ifname.encode()[:15]))
    except OSError:
        return None
    return socket.inet_ntoa(res[20:24])


def interface_broadcast(ifname):
    # type: (str) -> Optional[str]
    """The interface's IPv4 broadcast address (heartbeat uses SIOCGIFBRDADDR too)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        addr = _ifreq_addr(s, ifname, SIOCGIFBRDADDR)
        return None if addr in (None, "0.0.0.0") else addr
    finally:
        s.close()


def interface_address(ifname):
    # type: (str) -> Optional[str]
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        return _ifreq_addr(s, ifname, SIOCGIFADDR)
    finally:
        s.close()


def local_addresses(fib_trie="/proc/net/fib_trie"):
    # type: (str) -> set
    """Every IPv4 address of this host (namespace), for skipping self-destinations.

    Read from the kernel's FIB (`/32 host LOCAL` entries) rather than through pyroute2:
    importing pyroute2 costs the daemon ~17 MB of RSS (measured by bench/bench_daemon.py),
    more than the whole messaging layer, for a lookup done once at start.
    """
    found = set()
    try:
        with open(fib_trie) as f:
            last = None
            for line in f:
                text = line.strip()
                if text.startswith("|-- "):
                    last = text[4:]
                elif text == "/32 host LOCAL" and last:
                    found.add(last)
    except OSError:
        pass
    if found:
        return found
    from pyroute2 import IPRoute  # fallback: no /proc/net/fib_trie
    ipr = IPRoute()
    try:
        return {a.get_attr("IFA_ADDRESS") for a in ipr.get_addr(family=socket.AF_INET)}
    finally:
        ipr.close()


class UdpMedium(Medium):
    """ucast and/or bcast on one interface: one socket, bound to the device and udpport."""

    def __init__(self, ifname, port, destinations=(), broadcast=False, bind_device=True):
        # type: (str, int, Sequence[str], bool, bool) -> None
        self.name = ifname
        self.port = port
        self.destinations = list(destinations)
        self.broadcast = broadcast
        self.send_errors = 0
        self.last_send_error = None  # type: Optional[str]
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            # No SO_REUSEPORT (heartbeat sets it): in a reuseport group the kernel hashes a
            # datagram to any member, whatever device it is bound to, so eth1's packets
            # could be read by the eth0 socket and a cut eth1 would still look alive
            # (seen in the lab).  SO_REUSEADDR plus the device binding is enough.
            if bind_device:
                try:
                    sock.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, ifname.encode() + b"\0")
                except OSError as exc:
                    raise MediumError("%s: cannot bind to interface %s: %s" % (self.kind(), ifname, exc.strerror))
            if broadcast:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
                bcast = interface_broadcast(ifname)
                if bcast is None:
                    raise MediumError("bcast %s: the interface has no IPv4 broadcast address "
                                      "(configure the address with `brd +`)" % ifname)
                self.destinations.append(bcast)
            sock.bind(("0.0.0.0", port))
            sock.setblocking(False)
        except OSError as exc:
            sock.close()
            raise MediumError("%s %s: cannot open UDP port %d: %s" % (self.kind(), ifname, port, exc.strerror))
        except MediumError:
            sock.close()
            raise
        self.sock = sock

    def kind(self):
        return "bcast" if self.broadcast else "ucast"

    def fileno(self):
        return self.sock.fileno()

    def send(self, payload):
        # type: (bytes) -> int
        sent = 0
        for dest in self.destinations:
            try:
                self.sock.sendto(payload, (dest, self.port))
                sent += 1
            except OSError as exc:
                if exc.errno not in _SEND_SOFT_ERRORS:
                    raise
                self.send_errors += 1
                self.last_send_error = "%s: %s" % (dest, exc.strerror)
        return sent

    def receive(self):
        # type: () -> List[Tuple[bytes, str]]
        frames = []
        while len(frames) < 64:  # bounded, so one flooded link cannot starve the loop
            try:
                data, addr = self.sock.recvfrom(MAX_DATAGRAM + 1)
            except (BlockingIOError, InterruptedError):
                break
            except OSError as exc:
                if exc.errno in (errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH):
                    continue  # ICMP errors for earlier sends surface here; not data
                raise
            frames.append((data, "%s:%d" % addr))
        return frames

    def close(self):
        self.sock.close()

    def describe(self):
        return "%s %s -> %s port %d" % (self.kind(), self.name, ", ".join(self.destinations) or "-", self.port)


class McastMedium(Medium):
    """`mcast <dev> <group> <port> <ttl> <loop>`: joins the group on the interface."""

    def __init__(self, ifname, group, port, ttl, loop):
        # type: (str, str, int, int, int) -> None
        self.name = ifname
        self.group = group
        self.port = port
        self.send_errors = 0
        self.last_send_error = None  # type: Optional[str]
        local = interface_address(ifname)
        if local is None:
            raise MediumError("mcast %s: the interface has no IPv4 address" % ifname)
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, ifname.encode() + b"\0")
            sock.bind((group, port))
            mreq = socket.inet_aton(group) + socket.inet_aton(local)
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(local))
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, ttl)
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, loop)
            sock.setblocking(False)
        except OSError as exc:
            sock.close()
            raise MediumError("mcast %s %s:%d: %s" % (ifname, group, port, exc.strerror))
        self.sock = sock

    def fileno(self):
        return self.sock.fileno()

    def send(self, payload):
        try:
            self.sock.sendto(payload, (self.group, self.port))
            return 1
        except OSError as exc:
            if exc.errno not in _SEND_SOFT_ERRORS:
                raise
            self.send_errors += 1
            self.last_send_error = exc.strerror
            return 0

    receive = UdpMedium.receive

    def close(self):
        self.sock.close()

    def describe(self):
        return "mcast %s group %s port %d" % (self.name, self.group, self.port)


def open_udp_media(ucast, bcast, mcast, port, own_addresses=None):
    # type: (Iterable[Tuple[str, str]], Iterable[str], Iterable[Tuple[str, str, int, int, int]], int, Optional[set]) -> List[Medium]
    """Build the media for ha.cf's lines: ucast (dev, peer), bcast dev, mcast tuples.

    ucast lines naming one of `own_addresses` are dropped (we never send to ourselves);
    a device whose every ucast line was such still gets a receiving socket.
    """
    own = own_addresses if own_addresses is not None else local_addresses()
    by_dev = {}  # type: dict
    order = []  # type: List[str]
    for dev, peer in ucast:
        if dev not in by_dev:
            by_dev[dev] = [[], False]
            order.append(dev)
        if peer not in own and peer not in by_dev[dev][0]:
            by_dev[dev][0].append(peer)
    for dev in bcast:
        if dev not in by_dev:
            by_dev[dev] = [[], False]
            order.append(dev)
        by_dev[dev][1] = True
    media = []  # type: List[Medium]
    try:
        for dev in order:
            media.append(UdpMedium(dev, port, by_dev[dev][0], broadcast=by_dev[dev][1]))
        for dev, group, mport, ttl, loop in mcast:
            media.append(McastMedium(dev, group, mport, ttl, loop))
    except MediumError:
        for m in media:
            m.close()
        raise
    return media
