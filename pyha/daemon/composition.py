"""What the daemon's node core is built from: ha.cf and haresources turned into the pure
configurations of membership and the resource manager.

Kept apart from the daemon so that the translation (which links, which ping targets,
the TTL rule, whether this node manages resources at all) reads in one place and can be
tested without a daemon; `NodeCore.build` composes the core from what this returns.
Pure: no I/O, no clock.
"""

from collections import OrderedDict, namedtuple
from typing import Any, Dict, Optional

from pyha.cluster.manager import ManagedGroup, ManagerConfig
from pyha.cluster.membership import MembershipConfig

# membership/manager: the cores' configurations (manager None without resources);
# ping_targets/ping_groups: what the ping medium probes; ttl: the `ttl` field of every
# packet (heartbeat: hopfudge + node count); inner_auth: classic format carries the
# digest inside the message (netstring: outside).
CoreConfig = namedtuple("CoreConfig", "membership manager ping_targets ping_groups ttl inner_auth managing")


class CompositionError(ValueError):
    """The configuration cannot make a node core (the message says why)."""


def fence_config(cf, pyhacf):
    # type: (Any, Any) -> Any
    """The FenceConfig of ha.cf's stonith lines and pyha.cf's `fence` / `fence_delay` lines
    (as `pyha.fencing.load` reads them from files, here from the daemon's parsed models)."""
    from pyha.fencing.devices import FenceConfig
    settings = pyhacf.settings if pyhacf is not None else None
    fences = [(e.value, e.lineno) for e in settings.entries("fence")] if settings is not None else []
    delay = settings.get("fence_delay") if settings is not None else 0.0
    return FenceConfig.from_lines(cf.stonith, fences, delay or 0.0, getattr(cf, "filename", None) or "ha.cf",
                                  getattr(pyhacf, "filename", None) or "pyha.cf")


def fence_options(fencing, local, peer, preferred):
    # type: (Any, str, str, Optional[str]) -> Dict[str, Any]
    """The manager's fencing settings (`ManagerConfig.fence_device`, `fence_delay_ms`) from a
    `pyha.fencing.devices.FenceConfig`: the device `local` would use on `peer` (none: {},
    the manager then behaves as heartbeat without a STONITH device) and how long to wait
    before using it (`FenceConfig.delay_for`: `fence_delay` when the peer is the
    preferred node, the first node of haresources, so that the preferred node fences first)."""
    if fencing is None or fencing.empty:
        return {}
    choice = fencing.device_for(peer, local)
    if choice.device is None:
        return {}
    delay = fencing.delay_for(choice.device, peer, preferred)
    return {"fence_device": "%s (%s)" % (choice.device.name, choice.device.where()),
            "fence_delay_ms": int(round(max(0.0, delay) * 1000))}


def core_config(cf, haresources, name, manage_resources=True, fencing=None):
    # type: (Any, Any, str, bool, Any) -> CoreConfig
    """`cf`: ha.cf's settings (HaCf), `haresources`: the parsed file, `name`: this node,
    `fencing`: the FenceConfig of ha.cf's stonith and pyha.cf's fence lines (None: none)."""
    ping_targets = [p.host for p in cf.ping_nodes if p.kind == "ping"]
    ping_groups = OrderedDict((g.name, list(g.hosts)) for g in cf.ping_groups)
    media_names = []
    for m in cf.media:
        if m.dev not in media_names:
            media_names.append(m.dev)
    membership = MembershipConfig(
        local=name, nodes=cf.nodes, media=media_names, ping_nodes=ping_targets,
        ping_groups=ping_groups, keepalive_ms=cf.keepalive_ms, deadtime_ms=cf.deadtime_ms,
        warntime_ms=cf.warntime_ms, initdead_ms=cf.initdead_ms, deadping_ms=cf.deadping_ms,
        max_rexmit_delay_ms=cf.max_rexmit_delay_ms)
    nodes = len(cf.nodes) + len(ping_targets) + len(ping_groups)
    ttl = (cf.hopfudge if cf.hopfudge is not None else 1) + nodes
    managing = bool(manage_resources and haresources.groups)
    manager = None
    if managing:
        peers = [n for n in cf.nodes if n != name]
        if len(peers) != 1:
            raise CompositionError("pyha manages resources for two-node clusters; ha.cf lists %d nodes (%s)"
                                   % (len(cf.nodes), " ".join(cf.nodes)))
        preferred = ManagedGroup.coerce(haresources.groups[0]).node if haresources.groups else None
        manager = ManagerConfig(
            local=name, peer=peers[0], groups=haresources.groups,
            auto_failback=cf.auto_failback, keepalive_ms=cf.keepalive_ms, deadtime_ms=cf.deadtime_ms,
            warntime_ms=cf.warntime_ms, ping_targets=list(ping_targets) + list(ping_groups),
            **fence_options(fencing, name, peers[0], preferred))
    return CoreConfig(membership, manager, ping_targets, ping_groups, ttl, cf.msgfmt != "netstring", managing)
