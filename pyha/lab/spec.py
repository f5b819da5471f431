"""Declarative description of a lab: networks (bridges), members and their interfaces.

Job: say *what* a lab looks like (which namespaces, which links, which addresses), check
that the description is coherent, and convert it to and from plain JSON-able dicts so that
another process (`pyha lab down`) can find everything again.  The reference scenario and
its variants (one node, two nodes, other names/addresses) are built by `reference_spec()`.

Never: run a command, touch the file system, or know about namespaces' live state.
That is `pyha.lab.topology`'s job.

A member of kind ``node`` is a full simulated machine (own network, mount, UTS, IPC and
PID namespace, private /etc/ha.d, /run, ... and a reaping init); a member of kind ``host``
is a bare network namespace (the ping-node gateway, the client).
"""

import ipaddress
import re
from typing import Any, Dict, Iterable, List, Optional, Sequence

NODE = "node"
HOST = "host"
KINDS = (NODE, HOST)

# Linux limits interface names to 15 bytes (IFNAMSIZ - 1).
IFNAME_MAX = 15
# Name of the switch namespace suffix; no member may take it.
SWITCH = "sw"

_MEMBER_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,31}$")
# A bridge is called "br-<network>", so a network name has at most 12 characters.
_NETWORK_RE = re.compile(r"^[a-z][a-z0-9]{0,11}$")
_IFNAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_.]{0,14}$")


class SpecError(ValueError):
    """The description is incoherent; the message lists every problem found."""

    def __init__(self, problems):
        # type: (Sequence[str]) -> None
        self.problems = list(problems)
        ValueError.__init__(self, "invalid lab description: " + "; ".join(self.problems))


class NetworkSpec(object):
    """One broadcast domain: a bridge inside the switch namespace."""

    def __init__(self, name, cidr):
        # type: (str, str) -> None
        self.name = name
        self.cidr = cidr

    @property
    def bridge(self):
        # type: () -> str
        return "br-" + self.name

    @property
    def ip_network(self):
        # type: () -> ipaddress.IPv4Network
        return ipaddress.IPv4Network(self.cidr, strict=True)

    def to_dict(self):
        # type: () -> Dict[str, Any]
        return {"name": self.name, "cidr": self.cidr}

    @classmethod
    def from_dict(cls, data):
        # type: (Dict[str, Any]) -> NetworkSpec
        return cls(str(data["name"]), str(data["cidr"]))


class InterfaceSpec(object):
    """An interface of a member, plugged into `network`, with one IPv4 address."""

    def __init__(self, name, network, address, mac=None):
        # type: (str, str, str, Optional[str]) -> None
        self.name = name
        self.network = network
        self.address = address
        self._mac = mac

    @property
    def mac(self):
        # type: () -> str
        """Fixed MAC (locally administered, derived from the address) so captures are stable."""
        if self._mac:
            return self._mac
        octets = ipaddress.IPv4Address(self.address).packed
        return "02:00:" + ":".join("%02x" % b for b in bytearray(octets))

    def to_dict(self):
        # type: () -> Dict[str, Any]
        data = {"name": self.name, "network": self.network, "address": self.address}
        if self._mac:
            data["mac"] = self._mac
        return data

    @classmethod
    def from_dict(cls, data):
        # type: (Dict[str, Any]) -> InterfaceSpec
        return cls(str(data["name"]), str(data["network"]), str(data["address"]), data.get("mac"))


class MemberSpec(object):
    """A lab member: a full node (kind "node") or a bare network namespace (kind "host")."""

    def __init__(self, name, kind, interfaces, gateway=None, hostname=None):
        # type: (str, str, Sequence[InterfaceSpec], Optional[str], Optional[str]) -> None
        self.name = name
        self.kind = kind
        self.interfaces = list(interfaces)
        self.gateway = gateway
        self.hostname = hostname or name

    @property
    def is_node(self):
        # type: () -> bool
        return self.kind == NODE

    def interface(self, name):
        # type: (str) -> InterfaceSpec
        for iface in self.interfaces:
            if iface.name == name:
                return iface
        raise KeyError("member %s has no interface %r" % (self.name, name))

    def to_dict(self):
        # type: () -> Dict[str, Any]
        return {
            "name": self.name,
            "kind": self.kind,
            "hostname": self.hostname,
            "gateway": self.gateway,
            "interfaces": [i.to_dict() for i in self.interfaces],
        }

    @classmethod
    def from_dict(cls, data):
        # type: (Dict[str, Any]) -> MemberSpec
        return cls(
            str(data["name"]),
            str(data.get("kind", NODE)),
            [InterfaceSpec.from_dict(i) for i in data.get("interfaces", [])],
            data.get("gateway"),
            data.get("hostname"),
        )


class LabSpec(object):
    """Networks plus members.  `ipv6=False` disables IPv6 in every namespace (quiet captures)."""

    def __init__(self, networks, members, ipv6=False):
        # type: (Sequence[NetworkSpec], Sequence[MemberSpec], bool) -> None
        self.networks = list(networks)
        self.members = list(members)
        self.ipv6 = bool(ipv6)

    def network(self, name):
        # type: (str) -> NetworkSpec
        for net in self.networks:
            if net.name == name:
                return net
        raise KeyError("no network %r" % (name,))

    def member(self, name):
        # type: (str) -> MemberSpec
        for member in self.members:
            if member.name == name:
                return member
        raise KeyError("no lab member %r (members: %s)" % (name, ", ".join(self.member_names())))

    def member_names(self):
        # type: () -> List[str]
        return [m.name for m in self.members]

    @property
    def nodes(self):
        # type: () -> List[MemberSpec]
        return [m for m in self.members if m.kind == NODE]

    @property
    def hosts(self):
        # type: () -> List[MemberSpec]
        return [m for m in self.members if m.kind == HOST]

    def port_name(self, member, iface):
        # type: (MemberSpec, InterfaceSpec) -> str
        """Name of the switch-side veth end of `member`'s `iface` (inside the switch netns)."""
        name = "%s-%s" % (member.name.lower(), iface.name)
        if len(name) <= IFNAME_MAX:
            return name
        return "p%d-%d" % (self.members.index(member), member.interfaces.index(iface))

    def validate(self):
        # type: () -> LabSpec
        """Raise SpecError naming every problem; return self when coherent."""
        problems = []  # type: List[str]
        nets = {}  # type: Dict[str, ipaddress.IPv4Network]
        for net in self.networks:
            if not _NETWORK_RE.match(net.name):
                problems.append("network name %r must be 1-12 lower-case letters/digits" % (net.name,))
            if net.name in nets:
                problems.append("network %r defined twice" % (net.name,))
            try:
                nets[net.name] = net.ip_network
            except ValueError as exc:
                problems.append("network %s: bad cidr %r (%s)" % (net.name, net.cidr, exc))
        seen_members = set()  # type: set
        seen_addresses = {}  # type: Dict[str, str]
        seen_ports = set()  # type: set
        for member in self.members:
            where = "member %s" % (member.name,)
            if not _MEMBER_RE.match(member.name):
                problems.append("%s: name must be a letter then letters/digits/_" % (where,))
            key = member.name.lower()
            if key == SWITCH:
                problems.append("%s: the name %r is reserved for the switch" % (where, SWITCH))
            if key in seen_members:
                problems.append("%s: names must be unique ignoring case" % (where,))
            seen_members.add(key)
            if member.kind not in KINDS:
                problems.append("%s: kind must be one of %s" % (where, ", ".join(KINDS)))
            if not member.hostname or "." in member.hostname or len(member.hostname) > 64:
                # heartbeat fails on a hostname with a domain suffix (reference scenario notes).
                problems.append("%s: hostname %r must be a short name without dots" % (where, member.hostname))
            ifnames = set()  # type: set
            for iface in member.interfaces:
                iwhere = "%s interface %s" % (where, iface.name)
                if not _IFNAME_RE.match(iface.name) or iface.name == "lo":
                    problems.append("%s: bad interface name" % (iwhere,))
                if iface.name in ifnames:
                    problems.append("%s: defined twice" % (iwhere,))
                ifnames.add(iface.name)
                net = nets.get(iface.network)
                if net is None:
                    problems.append("%s: unknown network %r" % (iwhere, iface.network))
                    continue
                try:
                    addr = ipaddress.IPv4Address(iface.address)
                except ValueError:
                    problems.append("%s: bad IPv4 address %r" % (iwhere, iface.address))
                    continue
                if addr not in net or addr in (net.network_address, net.broadcast_address):
                    problems.append("%s: %s is not a host address of %s" % (iwhere, addr, net))
                if iface.address in seen_addresses:
                    problems.append("%s: address %s already used by %s" % (iwhere, addr, seen_addresses[iface.address]))
                seen_addresses[iface.address] = iwhere
                port = self.port_name(member, iface)
                if port in seen_ports:
                    problems.append("%s: switch port name %s collides" % (iwhere, port))
                seen_ports.add(port)
            if member.gateway is not None:
                try:
                    gw = ipaddress.IPv4Address(member.gateway)
                except ValueError:
                    problems.append("%s: bad gateway %r" % (where, member.gateway))
                else:
                    if not any(gw in nets[i.network] for i in member.interfaces if i.network in nets):
                        problems.append("%s: gateway %s is on none of its networks" % (where, gw))
        if problems:
            raise SpecError(problems)
        return self

    def gateway_interface(self, member):
        # type: (MemberSpec) -> Optional[InterfaceSpec]
        """The interface through which `member` reaches its default gateway, if any."""
        if member.gateway is None:
            return None
        gw = ipaddress.IPv4Address(member.gateway)
        for iface in member.interfaces:
            if gw in self.network(iface.network).ip_network:
                return iface
        return None

    def prefixlen(self, iface):
        # type: (InterfaceSpec) -> int
        return self.network(iface.network).ip_network.prefixlen

    def to_dict(self):
        # type: () -> Dict[str, Any]
        return {
            "networks": [n.to_dict() for n in self.networks],
            "members": [m.to_dict() for m in self.members],
            "ipv6": self.ipv6,
        }

    @classmethod
    def from_dict(cls, data):
        # type: (Dict[str, Any]) -> LabSpec
        try:
            return cls(
                [NetworkSpec.from_dict(n) for n in data["networks"]],
                [MemberSpec.from_dict(m) for m in data["members"]],
                bool(data.get("ipv6", False)),
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise SpecError(["malformed description: %s %s" % (type(exc).__name__, exc)])


PUBLIC = "public"
HEARTBEAT = "heartbeat"


def reference_spec(
    nodes=("HA1", "HA2"),  # type: Iterable[str]
    public_cidr="192.0.2.0/24",  # type: str
    heartbeat_cidr="198.51.100.0/24",  # type: Optional[str]
    first_public_host=161,  # type: int
    first_heartbeat_host=1,  # type: int
    gateway_host=1,  # type: Optional[int]
    client_host=8,  # type: Optional[int]
    ipv6=False,  # type: bool
):
    # type: (...) -> LabSpec
    """The reference scenario (seed/README.md) mapped onto documentation address ranges.

    Node i (0-based) gets eth0 = public .first_public_host+i and, unless `heartbeat_cidr`
    is None, eth1 = heartbeat .first_heartbeat_host+i; default route via the gateway.
    `gateway_host`/`client_host` None leave out the gateway (ping node) / the client.
    """
    public = ipaddress.IPv4Network(public_cidr)
    networks = [NetworkSpec(PUBLIC, public_cidr)]
    hb = None
    if heartbeat_cidr is not None:
        hb = ipaddress.IPv4Network(heartbeat_cidr)
        networks.append(NetworkSpec(HEARTBEAT, heartbeat_cidr))
    gateway = str(public.network_address + gateway_host) if gateway_host is not None else None
    members = []  # type: List[MemberSpec]
    for i, name in enumerate(nodes):
        ifaces = [InterfaceSpec("eth0", PUBLIC, str(public.network_address + first_public_host + i))]
        if hb is not None:
            ifaces.append(InterfaceSpec("eth1", HEARTBEAT, str(hb.network_address + first_heartbeat_host + i)))
        members.append(MemberSpec(name, NODE, ifaces, gateway=gateway))
    if gateway is not None:
        members.append(MemberSpec("gw", HOST, [InterfaceSpec("eth0", PUBLIC, gateway)]))
    if client_host is not None:
        client = str(public.network_address + client_host)
        members.append(MemberSpec("client", HOST, [InterfaceSpec("eth0", PUBLIC, client)], gateway=gateway))
    return LabSpec(networks, members, ipv6=ipv6).validate()


PROFILES = {
    "two-node": lambda: reference_spec(),
    "one-node": lambda: reference_spec(nodes=("HA1",)),
    "bare-pair": lambda: reference_spec(gateway_host=None, client_host=None),
}


def profile(name):
    # type: (str) -> LabSpec
    """A named ready-made description (see PROFILES)."""
    try:
        factory = PROFILES[name]
    except KeyError:
        raise SpecError(["unknown profile %r (known: %s)" % (name, ", ".join(sorted(PROFILES)))])
    return factory()
