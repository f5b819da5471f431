"""The host's IPv4 addresses in one rtnetlink dump, parsed here instead of by pyroute2.

Adding or removing a VIP first asks which addresses are already on the host (is it there?
which alias labels are taken?).  pyroute2 parses every attribute of every address at
about 100 us each, so with 100 VIPs on one interface one dump cost 10 ms and a takeover
of 100 addresses over a second of dumps (issue 14, bench/bench_scale.py).  This reads
only what the IP agent needs (address, interface index, prefix length, label) with
`struct`, from one socket opened for the dump and closed after it.  Never changes
anything: adding and deleting stay pyroute2 requests (pyha.resources.ipaddr).
"""

import os
import socket
import struct
from collections import namedtuple
from typing import List, Tuple

NETLINK_ROUTE = 0
RTM_NEWADDR, RTM_GETADDR = 20, 22
NLMSG_ERROR, NLMSG_DONE = 2, 3
NLM_F_REQUEST, NLM_F_DUMP = 0x1, 0x300
IFA_ADDRESS, IFA_LABEL = 1, 3

_NLMSG = struct.Struct("=LHHLL")   # nlmsghdr: len, type, flags, seq, pid
_IFADDR = struct.Struct("=BBBBI")  # ifaddrmsg: family, prefixlen, flags, scope, index
_RTA = struct.Struct("=HH")        # rtattr: len, type

# One IPv4 address as the agent sees it (IFA_ADDRESS, as pyroute2's get_attr gave it).
Address = namedtuple("Address", "ip index prefixlen label")


class DumpError(OSError):
    pass


def _align(n):
    # type: (int) -> int
    return (n + 3) & ~3


def parse(data, seq):
    # type: (bytes, int) -> Tuple[List[Address], bool]
    """The addresses in one datagram of the answer to dump `seq`, and whether it ended
    the dump (NLMSG_DONE).  A kernel error ends it with DumpError; a truncated message
    or attribute is skipped, never read past."""
    out = []  # type: List[Address]
    off = 0
    while off + _NLMSG.size <= len(data):
        length, kind, _flags, mseq, _pid = _NLMSG.unpack_from(data, off)
        if length < _NLMSG.size or off + length > len(data):
            break
        if mseq == seq:
            if kind == NLMSG_DONE:
                return out, True
            if kind == NLMSG_ERROR:
                code = -struct.unpack_from("=i", data, off + _NLMSG.size)[0] if length >= _NLMSG.size + 4 else 0
                raise DumpError(code, "address dump failed: %s" % os.strerror(code))
            if kind == RTM_NEWADDR and length >= _NLMSG.size + _IFADDR.size:
                out.extend(_address(data, off + _NLMSG.size, off + length))
        off += _align(length)
    return out, False


def _address(data, start, end):
    # type: (bytes, int, int) -> List[Address]
    family, prefixlen, _flags, _scope, index = _IFADDR.unpack_from(data, start)
    if family != socket.AF_INET:
        return []
    ip, label = None, ""
    off = start + _IFADDR.size
    while off + _RTA.size <= end:
        rlen, rtype = _RTA.unpack_from(data, off)
        if rlen < _RTA.size or off + rlen > end:
            break
        value = data[off + _RTA.size:off + rlen]
        if rtype == IFA_ADDRESS and len(value) == 4:
            ip = socket.inet_ntoa(value)
        elif rtype == IFA_LABEL:
            label = value.split(b"\0", 1)[0].decode("utf-8", "replace")
        off += _align(rlen)
    return [Address(ip, index, prefixlen, label)] if ip else []


def request(seq):
    # type: (int) -> bytes
    """RTM_GETADDR dump request for IPv4 (`seq` pairs the answer with it)."""
    body = _IFADDR.pack(socket.AF_INET, 0, 0, 0, 0)
    return _NLMSG.pack(_NLMSG.size + len(body), RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, seq, 0) + body


def addresses(timeout=5.0):
    # type: (float) -> List[Address]
    """Every IPv4 address of this host (the caller's network namespace)."""
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE)
    try:
        sock.settimeout(timeout)
        sock.bind((0, 0))
        seq = 1
        sock.send(request(seq))
        out = []  # type: List[Address]
        while True:
            found, done = parse(sock.recv(1 << 16), seq)
            out.extend(found)
            if done:
                return out
    except socket.timeout:
        raise DumpError(0, "address dump: no answer from the kernel within %.0f s" % timeout)
    finally:
        sock.close()
