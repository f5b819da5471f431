"""What a heartbeat pair's configuration means for Pacemaker: a pure mapping.

`build(settings, haresources, host)` turns ha.cf's meaning and haresources into a
`Cluster`: resource groups (in haresources order) of primitives with their agent class
and parameters, the preferred node as a location preference, `auto_failback` as
resource stickiness, ping nodes as an `ocf:pacemaker:ping` clone with a rule that keeps
groups off nodes without connectivity, one Corosync link per heartbeat medium, and
`Report` lines for everything mapped and everything that could not be.

Why a model between the files and the text: cib.xml, corosync.conf and pcs.sh say the
same thing three ways (`pacemaker_cib`, `pacemaker_corosync`, `pacemaker_pcs` render it),
and tests check the mapping once, here.  Nothing here touches the host: what the host
knows (which init scripts and units exist, the local addresses) comes in as `HostFacts`.

heartbeat 2's haresources2cib.py is the cautionary tale (spec pacemaker.md): it swapped
IPaddr's parameters, ignored auto_failback and ping nodes and wrote XML Pacemaker 2
rejects.  Every mapping here is checked by Pacemaker's own tools in the tests.
"""

import re
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple

from pyha.resources.ocf_map import heartbeat_to_ocf  # the table pyha runs them with (issue 13)

MAPPED = "mapped"
WARN = "warning"
NOT_MAPPED = "not mapped"

# heartbeat's auto_failback -> Pacemaker's resource-stickiness (spec pacemaker.md)
STICKINESS = {"on": "0", "off": "INFINITY", "legacy": "0"}
PREFERENCE_SCORE = "100"
PING_MULTIPLIER = "1000"
FENCE_DELAY = "5s"


class ExportError(Exception):
    """The configuration cannot be exported as asked (the message says why and what to do)."""


class HostFacts(object):
    """What the exporting host knows: which LSB scripts and systemd units exist, the
    OCF agents installed, and this node's name and IPv4 addresses per interface."""

    def __init__(self, lsb=(), systemd=(), ocf=(), node=None, addresses=None, heartbeat_scripts=(),
                 stonith_params=None):
        # type: (Sequence[str], Sequence[str], Sequence[str], Optional[str], Optional[Dict[str, List[str]]], Sequence[str], Optional[Dict[str, List[str]]]) -> None
        self.lsb = set(lsb)
        self.systemd = set(systemd)
        self.ocf = set(ocf)  # "heartbeat:IPaddr2", "pacemaker:ping", ...
        self.heartbeat_scripts = set(heartbeat_scripts)  # names in /etc/ha.d/resource.d
        self.node = node.lower() if node else None
        self.addresses = addresses or {}  # {"eth1": ["192.0.2.1/24", ...]}
        # cluster-glue plugin -> its parameter names in `stonith -t TYPE -n` order
        self.stonith_params = stonith_params or {}  # type: Dict[str, List[str]]


class Primitive(object):
    __slots__ = ("id", "cls", "provider", "type", "params", "token", "monitor", "meta")

    def __init__(self, id, cls, type, params=None, provider=None, token=None, monitor=None):
        # type: (str, str, str, Optional[List[Tuple[str, str]]], Optional[str], Optional[str], Optional[Tuple[str, str]]) -> None
        self.id = id
        self.cls = cls
        self.provider = provider
        self.type = type
        self.params = params or []
        self.token = token
        self.monitor = monitor or ("10s", "20s")  # (interval, timeout)
        self.meta = []  # type: List[Tuple[str, str]]

    @property
    def agent(self):
        # type: () -> str
        if self.provider:
            return "%s:%s:%s" % (self.cls, self.provider, self.type)
        return "%s:%s" % (self.cls, self.type)


class Group(object):
    __slots__ = ("id", "node", "primitives", "lineno")

    def __init__(self, id, node, primitives, lineno=None):
        # type: (str, str, List[Primitive], Optional[int]) -> None
        self.id = id
        self.node = node
        self.primitives = primitives
        self.lineno = lineno


class FenceDevice(object):
    """A Pacemaker stonith resource: `avoid` is the node it fences (it must never run
    there), `targets` the nodes it may fence (pcmk_host_list)."""
    __slots__ = ("id", "type", "params", "targets", "avoid", "source")

    def __init__(self, id, type, params, targets, avoid, source):
        # type: (str, str, List[Tuple[str, str]], List[str], Optional[str], str) -> None
        self.id = id
        self.type = type
        self.params = params
        self.targets = targets
        self.avoid = avoid
        self.source = source


class Link(object):
    """One Corosync link: the address of each node on it (None where unknown)."""
    __slots__ = ("number", "medium", "addresses")

    def __init__(self, number, medium, addresses):
        # type: (int, str, Dict[str, Optional[str]]) -> None
        self.number = number
        self.medium = medium  # the ha.cf line, for comments and the report
        self.addresses = addresses


class Cluster(object):
    def __init__(self):
        self.name = "pyha"
        self.nodes = []  # type: List[str]
        self.groups = []  # type: List[Group]
        self.stickiness = "0"
        self.ping_hosts = []  # type: List[str]
        self.links = []  # type: List[Link]
        self.token_ms = 5000
        self.fencing = False
        self.fence_devices = []  # type: List[FenceDevice]
        self.report = []  # type: List[Tuple[str, str]]

    def say(self, kind, text):
        # type: (str, str) -> None
        self.report.append((kind, text))

    @property
    def unmapped(self):
        # type: () -> List[str]
        return [text for kind, text in self.report if kind == NOT_MAPPED]


def resource_id(text, taken):
    # type: (str, Dict[str, int]) -> str
    """A CIB id from `text` (XML NCName: letters, digits, `_-.`, not starting with a
    digit), unique among the ids handed out so far."""
    base = re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "rsc"
    if not re.match(r"[A-Za-z_]", base):
        base = "r_" + base
    n = taken.get(base, 0)
    taken[base] = n + 1
    return base if n == 0 else "%s-%d" % (base, n + 1)


def _ip_primitive(res, rid):
    # type: (object, str) -> Tuple[Primitive, List[str]]
    """IPaddr/IPaddr2/bare address -> ocf:heartbeat:IPaddr2 with ip, cidr_netmask, nic
    and broadcast in their right places (haresources2cib.py swapped nic and netmask)."""
    notes = []
    params = [("ip", res.ip)]
    if res.prefix is not None:
        params.append(("cidr_netmask", str(res.prefix)))
    else:
        notes.append("%s has no prefix length: IPaddr2 guesses it from the routing table, as heartbeat did"
                     % res.token)
    if res.iface:
        base = res.iface.split(":", 1)[0]
        params.append(("nic", base))
        if ":" in res.iface:
            params.append(("iflabel", res.iface.split(":", 1)[1]))
    if res.broadcast:
        params.append(("broadcast", res.broadcast))
    return Primitive(rid, "ocf", "IPaddr2", params, provider="heartbeat", token=res.token), notes


def _standard_primitive(res, rid, host):
    # type: (object, str, HostFacts) -> Optional[Primitive]
    """heartbeat's standard resource names -> their OCF agents, with heartbeat's
    positional-argument mapping (pyha.resources' table, the one pyha runs them with)."""
    try:
        found = heartbeat_to_ocf(res.script, list(res.args))
    except ValueError:  # arguments heartbeat's wrapper would refuse (config check says so)
        return None
    if not found:
        return None
    agent, params = found
    return Primitive(rid, "ocf", agent, list(params.items()), provider="heartbeat", token=res.token)


def _primitive(res, taken, host, cluster):
    # type: (object, Dict[str, int], HostFacts, Cluster) -> Optional[Primitive]
    if res.kind == "ip":
        prim, notes = _ip_primitive(res, resource_id(res.ip and "ip-" + res.ip or res.token, taken))
        for n in notes:
            cluster.say(WARN, n)
        cluster.say(MAPPED, "%s -> %s (%s)" % (res.token, prim.agent,
                                              " ".join("%s=%s" % kv for kv in prim.params)))
        return prim
    name = res.script
    if name in host.heartbeat_scripts:
        std = _standard_primitive(res, resource_id(name, taken), host)
        if std is not None:
            cluster.say(MAPPED, "%s -> %s (the OCF agent behind heartbeat's resource.d/%s)" % (res.token, std.agent, name))
            return std
        cluster.say(NOT_MAPPED, "%s is a heartbeat resource.d script with no OCF or LSB equivalent known to "
                    "pyha: write an OCF agent or LSB script for it" % res.token)
        return None
    if name in host.lsb:
        if res.args:
            cluster.say(NOT_MAPPED, "%s: an LSB resource takes no arguments in Pacemaker (lsb:%s); drop the "
                        "arguments or wrap them in a script" % (res.token, name))
            return None
        cluster.say(MAPPED, "%s -> lsb:%s (Pacemaker probes it with `status`: the script must return LSB "
                    "exit codes, 3 when stopped)" % (res.token, name))
        return Primitive(resource_id(name, taken), "lsb", name, token=res.token)
    unit = name[:-len(".service")] if name.endswith(".service") else name
    if unit in host.systemd and not res.args:
        cluster.say(MAPPED, "%s -> systemd:%s" % (res.token, unit))
        return Primitive(resource_id(unit, taken), "systemd", unit, token=res.token)
    std = _standard_primitive(res, resource_id(name, taken), host)
    if std is not None:
        cluster.say(MAPPED, "%s -> %s (heartbeat's standard resource, OCF agent from resource-agents)"
                    % (res.token, std.agent))
        return std
    cluster.say(NOT_MAPPED, "%s: no init script, systemd unit or known heartbeat resource of that name on "
                "this host" % res.token)
    return None


def _links(settings, host, cluster, node_addrs):
    # type: (object, HostFacts, Cluster, Dict[str, List[str]]) -> None
    """One Corosync link per heartbeat medium.  A ucast line names the peer's address;
    the local node's comes from the interface the line names (or --node-addr)."""
    number = 0
    for m in settings.all_media:
        text = "%s %s%s" % (m.kind, m.dev, (" " + m.peer) if m.peer else (" " + m.group if m.group else ""))
        if m.kind in ("serial",):
            cluster.say(NOT_MAPPED, "`%s` (ha.cf line %s): Corosync has no serial links; this link is dropped "
                        "and the cluster has one link fewer" % (text, m.lineno))
            continue
        if m.kind in ("ucast6", "mcast6"):
            cluster.say(NOT_MAPPED, "`%s` (ha.cf line %s): IPv6 links are not exported; add them to "
                        "corosync.conf by hand" % (text, m.lineno))
            continue
        addrs = OrderedDict((n, None) for n in cluster.nodes)  # type: Dict[str, Optional[str]]
        local = [a.split("/")[0] for a in host.addresses.get(m.dev, [])]
        if host.node in addrs and local:
            addrs[host.node] = _same_subnet(local, host.addresses.get(m.dev, []), m.peer)
        if m.kind == "ucast" and m.peer:
            others = [n for n in cluster.nodes if n != host.node]
            if m.peer not in local and len(others) == 1 and addrs[others[0]] is None:
                addrs[others[0]] = m.peer
        for n in cluster.nodes:
            given = node_addrs.get(n) or []
            if len(given) > number and given[number]:
                addrs[n] = given[number]
        missing = [n for n, a in addrs.items() if a is None]
        if missing:
            cluster.say(WARN, "link %d (`%s`): no address known for %s; corosync.conf uses the node name "
                        "(give --node-addr NODE=ADDR[,ADDR])" % (number, text, ", ".join(missing)))
        if m.kind in ("bcast", "mcast"):
            cluster.say(MAPPED, "`%s` -> link %d, unicast between the nodes' addresses (Corosync knet/udpu "
                        "needs no broadcast or multicast)" % (text, number))
        else:
            cluster.say(MAPPED, "`%s` -> link %d" % (text, number))
        cluster.links.append(Link(number, text, addrs))
        number += 1
    # two ucast lines on one interface (one per node) are one link, not two
    merged = []  # type: List[Link]
    for link in cluster.links:
        dev = link.medium.split()[1]
        twin = next((l for l in merged if l.medium.split()[1] == dev and l.medium.split()[0] == "ucast"
                     and link.medium.split()[0] == "ucast"), None)
        if twin is not None:
            for n, a in link.addresses.items():
                if twin.addresses.get(n) is None:
                    twin.addresses[n] = a
            continue
        merged.append(link)
    for i, link in enumerate(merged):
        link.number = i
    cluster.links = merged
    if not cluster.links:
        cluster.say(NOT_MAPPED, "no heartbeat medium has a Corosync equivalent: corosync.conf has no link")


def _same_subnet(local_ips, cidrs, peer):
    # type: (List[str], List[str], Optional[str]) -> str
    """The local address on the peer's subnet, else the interface's first address."""
    if peer:
        for cidr in cidrs:
            ip, _, plen = cidr.partition("/")
            if plen.isdigit() and _in_net(peer, ip, int(plen)):
                return ip
    return local_ips[0]


def _in_net(addr, net_ip, plen):
    # type: (str, str, int) -> bool
    def num(a):
        p = [int(x) for x in a.split(".")]
        return (p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]
    try:
        mask = ((1 << 32) - 1) ^ ((1 << (32 - plen)) - 1) if plen else 0
        return num(addr) & mask == num(net_ip) & mask
    except (ValueError, IndexError):
        return False


def _stonith_devices(settings, host, cluster, taken):
    # type: (object, HostFacts, Cluster, Dict[str, int]) -> None
    """ha.cf `stonith_host <from|*> <type> <params...>` -> a stonith resource.

    Parameters are positional in the order `stonith -t TYPE -n` prints, the last name
    taking the rest of the line (spec fencing.md).  The node a device fences is its
    `hostname` parameter (external/ipmi and the other host-per-device plugins); a device
    never runs on the node it fences.  `stonith <type> <file>` keeps its parameters in a
    file pyha does not read: reported."""
    for d in settings.stonith:
        words = d.rest.split()
        if d.canonical == "stonith" or d.name == "stonith":
            cluster.say(NOT_MAPPED, "ha.cf line %s `stonith %s`: the device's parameters are in a file; create "
                        "it with `pcs stonith create` by hand" % (d.lineno, d.rest))
            continue
        if len(words) < 2:
            cluster.say(NOT_MAPPED, "ha.cf line %s `stonith_host %s`: no plugin type" % (d.lineno, d.rest))
            continue
        hostfrom, ptype, args = words[0].lower(), words[1], words[2:]
        names = host.stonith_params.get(ptype)
        if not names:
            cluster.say(NOT_MAPPED, "ha.cf line %s: stonith plugin %s is unknown on this host (cluster-glue's "
                        "`stonith -t %s -n` gave no parameters)" % (d.lineno, ptype, ptype))
            continue
        params = []  # type: List[Tuple[str, str]]
        for i, name in enumerate(names):
            if i >= len(args):
                break
            value = " ".join(args[i:]) if i == len(names) - 1 else args[i]
            params.append((name, value))
        target = dict(params).get("hostname", "").lower() or None
        if target not in cluster.nodes:
            cluster.say(NOT_MAPPED, "ha.cf line %s: cannot tell which node the %s device fences (no `hostname` "
                        "parameter naming a node); create it by hand" % (d.lineno, ptype))
            continue
        users = [n for n in cluster.nodes if n != target and hostfrom in ("*", n)]
        if not users:
            cluster.say(NOT_MAPPED, "ha.cf line %s: the %s device for %s may only be used by %s, the node it "
                        "fences" % (d.lineno, ptype, target, hostfrom))
            continue
        dev = FenceDevice(resource_id("fence-" + target, taken), ptype, params, [target], target,
                          "ha.cf line %s" % d.lineno)
        cluster.fence_devices.append(dev)
        cluster.say(MAPPED, "ha.cf line %s `stonith_host %s %s ...` -> stonith:%s %s fencing %s, never run on %s"
                    % (d.lineno, hostfrom, ptype, ptype, dev.id, target, target))


def _fence_lines(fence_lines, cluster, taken):
    # type: (Sequence, Cluster, Dict[str, int]) -> None
    """pyha.cf `fence NODE AGENT key=value...` -> a stonith resource for the Red Hat
    agent with the same parameters (Pacemaker hands them to the agent on stdin, as pyha
    does); `delay=` becomes Pacemaker's pcmk_delay_base.  A fence line for a node wins
    over ha.cf's stonith lines, as it does in pyha."""
    for line in fence_lines:
        if line.node not in cluster.nodes:
            cluster.say(NOT_MAPPED, "pyha.cf `fence %s %s`: %s is not a node in ha.cf" % (line.node, line.agent,
                                                                                     line.node))
            continue
        params = [("pcmk_delay_base", v + ("" if v.endswith("s") else "s")) if k == "delay" else (k, v)
                  for k, v in line.params]
        agent = line.agent.rsplit("/", 1)[-1]
        replaced = [d for d in cluster.fence_devices if d.avoid == line.node]
        for old in replaced:
            cluster.say(WARN, "%s's device from %s is replaced by pyha.cf's fence line for %s"
                        % (old.id, old.source, line.node))
        cluster.fence_devices = [d for d in cluster.fence_devices if d.avoid != line.node]
        dev_id = replaced[0].id if replaced else resource_id("fence-" + line.node, taken)
        dev = FenceDevice(dev_id, agent, params, [line.node], line.node, "pyha.cf fence %s" % line.node)
        cluster.fence_devices.append(dev)
        cluster.say(MAPPED, "pyha.cf `fence %s %s ...` -> stonith:%s %s, never run on %s"
                    % (line.node, line.agent, agent, dev.id, line.node))


def _seconds(ms):
    # type: (int) -> str
    return "%gs" % (ms / 1000.0)


def _monitors(monitors, cluster):
    # type: (Sequence, Cluster) -> None
    """pyha.cf `monitor` lines -> the primitive's monitor operation (interval, timeout)
    and its failure policy: `restarts` restarts in place within `window`, then the group
    moves = migration-threshold restarts+1 with failure-timeout window.  A url= check has
    no equivalent for an lsb:/systemd: resource: reported."""
    prims = [p for g in cluster.groups for p in g.primitives]
    for mon in monitors:
        found = [p for p in prims if p.token == mon.resource or (p.token or "").split("::")[0] == mon.resource]
        if not found:
            cluster.say(NOT_MAPPED, "pyha.cf `monitor %s`: its resource was not exported" % mon.resource)
            continue
        for prim in found:
            prim.monitor = (_seconds(mon.interval_ms), _seconds(mon.timeout_ms))
            prim.meta = [("migration-threshold", str(mon.restarts + 1)),
                         ("failure-timeout", _seconds(mon.window_ms))]
            cluster.say(MAPPED, "pyha.cf `monitor %s` -> %s: monitor every %s (timeout %s), migration-threshold %d, "
                        "failure-timeout %s" % (mon.resource, prim.id, prim.monitor[0], prim.monitor[1],
                                                mon.restarts + 1, _seconds(mon.window_ms)))
            if mon.url:
                cluster.say(WARN, "pyha.cf `monitor %s url=%s`: %s has no HTTP check; Pacemaker checks only its "
                            "status (for nginx, ocf:heartbeat:nginx with status10url does both)"
                            % (mon.resource, mon.url, prim.agent))


def build(settings, haresources, host, node_addrs=None, fence_lines=(), fence_delay=None, monitors=()):
    # type: (object, object, HostFacts, Optional[Dict[str, List[str]]], Sequence, Optional[float], Sequence) -> Cluster
    """The Cluster a heartbeat pair's configuration means.  `fence_lines`/`fence_delay`:
    pyha.cf's fencing lines (FenceLine values) and fence_delay (None when not set).
    Fencing is enabled when at least one fence device could be exported."""
    cluster = Cluster()
    cluster.nodes = list(settings.nodes)
    if len(cluster.nodes) != 2:
        cluster.say(WARN, "ha.cf names %d nodes; the export assumes a pair (two_node: 1)" % len(cluster.nodes))
    cluster.token_ms = int(settings.deadtime_ms)
    cluster.say(MAPPED, "deadtime %g s -> Corosync token %d ms" % (settings.deadtime_ms / 1000.0, cluster.token_ms))
    af = settings.auto_failback
    cluster.stickiness = STICKINESS.get(af, "0")
    cluster.say(MAPPED, "auto_failback %s -> resource-stickiness %s%s" % (
        af, cluster.stickiness, " (heartbeat's default `legacy` fails back like `on`)" if af == "legacy" else ""))
    _links(settings, host, cluster, node_addrs or {})
    taken = {}  # type: Dict[str, int]
    _stonith_devices(settings, host, cluster, taken)
    _fence_lines(fence_lines, cluster, taken)
    cluster.fencing = bool(cluster.fence_devices)
    for g in haresources.groups:
        node = g.node
        if node not in cluster.nodes:
            cluster.say(NOT_MAPPED, "haresources line %s: node %s is not in ha.cf; group skipped" % (g.lineno, node))
            continue
        prims = []
        for res in g.resources:
            prim = _primitive(res, taken, host, cluster)
            if prim is not None:
                prims.append(prim)
        if not prims:
            cluster.say(NOT_MAPPED, "haresources line %s: no resource of the group could be mapped" % g.lineno)
            continue
        gid = resource_id("grp-" + (prims[0].params[0][1] if prims[0].params else prims[0].id), taken)
        cluster.groups.append(Group(gid, node, prims, g.lineno))
        cluster.say(MAPPED, "haresources line %s -> group %s (%s), preferring %s (score %s)" % (
            g.lineno, gid, ", ".join(p.id for p in prims), node, PREFERENCE_SCORE))
    _monitors(monitors, cluster)
    hosts = [p.host for p in settings.ping_nodes if p.kind == "ping"]
    for pg in settings.ping_groups:
        hosts.extend(pg.hosts)
        cluster.say(WARN, "ping_group %s: each member counts on its own in ocf:pacemaker:ping (heartbeat "
                    "counted the group as one)" % pg.name)
    cluster.ping_hosts = list(OrderedDict.fromkeys(hosts))
    if cluster.ping_hosts:
        ipfail = any(r.is_ipfail for r in settings.respawn)
        cluster.say(MAPPED, "ping nodes %s -> ocf:pacemaker:ping clone and a rule keeping groups off nodes "
                    "that reach none of them%s" % (" ".join(cluster.ping_hosts), "" if ipfail else
                                                   " (without ipfail heartbeat only watched them: this is new "
                                                   "behaviour)"))
    for p in settings.ping_nodes:
        if p.kind != "ping":
            cluster.say(NOT_MAPPED, "%s %s (ha.cf line %s): not exported" % (p.kind, p.host, p.lineno))
    for r in settings.respawn:
        if not r.is_ipfail:
            cluster.say(NOT_MAPPED, "respawn %s: Pacemaker does not respawn programs; run it as a service "
                        "(systemd unit) or a resource" % r.command)
    if cluster.fencing and cluster.groups:
        # Both nodes of a split pair fence at once; the device that shoots the preferred
        # node waits, so the preferred node wins the race (Pacemaker's pcmk_delay_base).
        first = cluster.groups[0].node
        delay = FENCE_DELAY if fence_delay is None else "%gs" % fence_delay
        for dev in cluster.fence_devices:
            if dev.avoid == first and not any(k == "pcmk_delay_base" for k, _ in dev.params) and delay != "0s":
                dev.params.append(("pcmk_delay_base", delay))
                cluster.say(MAPPED, "%s waits %s before fencing %s, so that %s wins a fencing race%s"
                            % (dev.id, delay, first, first, "" if fence_delay is None else " (fence_delay)"))
    return cluster
