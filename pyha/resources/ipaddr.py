"""The IP address agent: heartbeat's `IPaddr` (the `10.168.0.160/24/eth0` shorthand).

Adds and removes the VIP with netlink (pyroute2), never touching the interface's base
addresses.  Two kernel facts shape it: deleting the *primary* address of a subnet also
deletes every secondary (the VIP!) unless `promote_secondaries` is on, so we turn it on
for the interface before adding; and an interface that is down still accepts addresses,
so `status` also reports whether the link is up.  Only this agent's own address is ever
removed.  These calls are fast netlink requests; the daemon still runs them through the
process runner's timeout discipline via `pyha resource` when isolation matters.

The VIP carries an alias label as heartbeat's IPaddr gave it (`eth0:0`, the lowest free
`<iface>:<n>`): heartbeat's IPaddr `status`, `ifconfig` and admins' scripts find a
service address only by such a label (heartbeat's CTS checks the VIP that way).
"""

import contextlib
import ipaddress
import os
import socket
from typing import Any, Iterator, List, Optional, Tuple

from dataclasses import dataclass

from pyha.resources import addrdump


class IpResourceError(Exception):
    pass


@dataclass(eq=False)
class IpSpec(object):
    """A parsed IP resource: address, prefix length, interface, broadcast (None = derive),
    and the address label for heartbeat's `eth0:1` form (IPaddr2's `nic[:label]`)."""

    ip: str
    prefix: Optional[int] = None
    ifname: Optional[str] = None
    broadcast: Optional[str] = None
    label: Optional[str] = None

    @classmethod
    def parse(cls, text):
        # type: (str) -> IpSpec
        """`ip[/prefix[/iface-or-broadcast[/broadcast]]]` as heartbeat's IPaddr reads it."""
        parts = text.split("/")
        if not 1 <= len(parts) <= 4:
            raise IpResourceError("%r: expected IP[/PREFIX[/IFACE[/BROADCAST]]]" % text)
        try:
            ip = str(ipaddress.IPv4Address(parts[0]))
        except ValueError:
            raise IpResourceError("%r: %r is not an IPv4 address" % (text, parts[0]))
        prefix = None
        if len(parts) > 1 and parts[1] != "":
            prefix = _prefix(parts[1])
            if prefix is None:
                raise IpResourceError("%r: %r must be a prefix length 1..32 or a netmask" % (text, parts[1]))
        ifname, broadcast, label = None, None, None
        if len(parts) > 2 and parts[2]:
            # third part starting with a digit is a broadcast address, otherwise an interface
            if parts[2][0].isdigit():
                broadcast = parts[2]
            else:
                ifname = parts[2]
                if ":" in ifname:
                    # `eth0:1`: the address goes on eth0 labelled eth0:1 (IPaddr2's iflabel)
                    label, ifname = ifname, ifname.split(":", 1)[0]
                    if not ifname or len(label) > 15:
                        raise IpResourceError("%r: %r is not an interface[:label] (15 characters at most)"
                                              % (text, label))
        if len(parts) > 3 and parts[3]:
            broadcast = parts[3]
        if broadcast is not None:
            try:
                ipaddress.IPv4Address(broadcast)
            except ValueError:
                raise IpResourceError("%r: broadcast %r is not an IPv4 address" % (text, broadcast))
        return cls(ip, prefix, ifname, broadcast, label)

    def __str__(self):
        out = self.ip
        if self.prefix is not None:
            out += "/%d" % self.prefix
        if self.ifname:
            out += "/" + (self.label or self.ifname)
        if self.broadcast:
            out += "/" + self.broadcast
        return out


def _prefix(text):
    # type: (str) -> Optional[int]
    """`24` or heartbeat's netmask form `255.255.255.0`; None for anything else."""
    if text.isdigit():
        return int(text) if 1 <= int(text) <= 32 else None
    if text.count(".") != 3:
        return None
    try:
        prefix = ipaddress.IPv4Network("0.0.0.0/" + text).prefixlen
    except ValueError:
        return None
    return prefix if str(ipaddress.IPv4Network("0.0.0.0/%d" % prefix).netmask) == text and prefix else None


def _ipr(netns=None):
    from pyroute2 import IPRoute
    return IPRoute()


@contextlib.contextmanager
def _netlink(ipr):
    # type: (Any) -> Iterator[Any]
    """The caller's netlink socket (left open), or one of our own for this call only."""
    if ipr is not None:
        yield ipr
        return
    own = _ipr()
    try:
        yield own
    finally:
        own.close()


def resolve(spec, addrs=None):
    # type: (IpSpec, Optional[List[addrdump.Address]]) -> Tuple[str, int, int, str]
    """(ifname, ifindex, prefix, broadcast) for adding `spec` on this host.

    Like IPaddr: without an interface, the one whose existing subnet contains the VIP;
    without a prefix, that subnet's prefix.  `addrs`: the host's addresses if the caller
    has dumped them already.
    """
    vip = ipaddress.IPv4Address(spec.ip)
    ifname, prefix = spec.ifname, spec.prefix
    if ifname is None or prefix is None:
        for a in addrs if addrs is not None else addrdump.addresses():
            net = ipaddress.IPv4Network("%s/%d" % (a.ip, a.prefixlen), strict=False)
            if a.ip == spec.ip or vip not in net or net.prefixlen == 32:
                continue
            name = a.label.split(":")[0]
            if ifname is None or name == ifname:
                ifname = ifname or name
                prefix = prefix if prefix is not None else net.prefixlen
                break
    if ifname is None:
        raise IpResourceError("%s: no interface has a subnet containing %s; name one (%s/24/eth0)"
                              % (spec, spec.ip, spec.ip))
    if prefix is None:
        prefix = 32
    idx = _ifindex(ifname)
    if idx is None:
        raise IpResourceError("%s: interface %s does not exist" % (spec, ifname))
    broadcast = spec.broadcast or str(ipaddress.IPv4Network("%s/%d" % (spec.ip, prefix), strict=False)
                                      .broadcast_address)
    return ifname, idx, prefix, broadcast


def _ifindex(ifname):
    # type: (str) -> Optional[int]
    try:
        return socket.if_nametoindex(ifname)
    except (OSError, ValueError):
        return None


# IFNAMSIZ - 1: the kernel refuses longer address labels
LABEL_MAX = 15
ALIAS_MAX = 512  # heartbeat's IPaddr tries eth0:0 .. eth0:511


def alias_label(ifname, used):
    # type: (str, object) -> Optional[str]
    """The label heartbeat's IPaddr would give a new address on `ifname`: the lowest
    `<ifname>:<n>` not among `used` (labels already on the host); None when the name
    would exceed the kernel's 15 characters or every alias is taken (the address is
    then added without a label, as the kernel would name it anyway)."""
    taken = set(used)  # type: ignore
    for n in range(ALIAS_MAX):
        label = "%s:%d" % (ifname, n)
        if len(label) > LABEL_MAX:
            return None
        if label not in taken:
            return label
    return None


def _promote_secondaries(ifname):
    # type: (str) -> None
    path = "/proc/sys/net/ipv4/conf/%s/promote_secondaries" % ifname
    try:
        with open(path) as f:
            if f.read().strip() == "1":
                return
        with open(path, "w") as f:
            f.write("1\n")
    except OSError:
        pass  # read-only /proc/sys (container): best effort, status reports the risk


def present_in(addrs, spec):
    # type: (List[addrdump.Address], IpSpec) -> bool
    """`spec`'s address is among `addrs` (on its interface, when it names one)."""
    idx = _ifindex(spec.ifname) if spec.ifname is not None else None
    if spec.ifname is not None and idx is None:
        return False
    return any(a.ip == spec.ip and (idx is None or a.index == idx) for a in addrs)


def is_present(spec):
    # type: (IpSpec) -> bool
    """The address is on this host (on its interface, when `spec` names one): one
    address dump of our own (pyha.resources.addrdump)."""
    return present_in(addrdump.addresses(), spec)


def ensure(spec, ipr=None):
    # type: (IpSpec, object) -> Tuple[str, bool]
    """Add the VIP unless it is on its interface already: (the interface it is on,
    whether `spec` was present before, as is_present says).  One address dump answers
    both questions and the free alias label: a takeover of 100 addresses made three
    dumps per address before, over a second (bench/bench_scale.py)."""
    addrs = addrdump.addresses()
    was = present_in(addrs, spec)
    ifname, idx, prefix, broadcast = resolve(spec, addrs=addrs)
    if any(a.ip == spec.ip and a.index == idx for a in addrs):
        return ifname, was
    _promote_secondaries(ifname)
    extra = {}
    # haresources' own `eth0:1` wins; otherwise the lowest free alias, as IPaddr does
    label = spec.label or alias_label(ifname, [a.label for a in addrs if a.index == idx])
    if label is not None:
        extra["label"] = label
    with _netlink(ipr) as ipr:
        try:
            ipr.addr("add", index=idx, address=spec.ip, prefixlen=prefix, broadcast=broadcast, **extra)
        except Exception as exc:  # NetlinkError
            raise IpResourceError("adding %s/%d to %s failed: %s" % (spec.ip, prefix, ifname, exc))
    return ifname, was


def add(spec, ipr=None):
    # type: (IpSpec, object) -> str
    """Add the VIP (idempotent); returns the interface name it landed on."""
    return ensure(spec, ipr)[0]


def remove(spec, ipr=None):
    # type: (IpSpec, object) -> bool
    """Remove the VIP wherever it is on this host; True if something was removed."""
    mine = [a for a in addrdump.addresses() if a.ip == spec.ip]
    if not mine:
        return False
    removed = False
    with _netlink(ipr) as ipr:
        for a in mine:
            try:
                ipr.addr("del", index=a.index, address=spec.ip, prefixlen=a.prefixlen)
                removed = True
            except Exception as exc:  # NetlinkError: already gone is fine
                if "No such" not in str(exc) and "Cannot assign" not in str(exc):
                    raise IpResourceError("removing %s failed: %s" % (spec.ip, exc))
    return removed


def held_addresses(specs):
    # type: (List[IpSpec]) -> List[str]
    """Which of `specs` are configured on this host right now (one address dump)."""
    addrs = addrdump.addresses()
    return [s.ip for s in specs if present_in(addrs, IpSpec(s.ip))]
