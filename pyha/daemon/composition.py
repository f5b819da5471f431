"""What the daemon's node core is built from: ha.cf and haresources turned into the pure
configurations of membership and the resource manager.

Kept apart from the daemon so that the translation (which links, which ping targets,
the TTL rule, whether this node manages resources at all) reads in one place and can be
tested without a daemon; `NodeCore.build` composes the core from what this returns.
Pure: no I/O, no clock.
"""

from collections import OrderedDict, namedtuple
from typing import Any

from pyha.cluster.manager import ManagerConfig
from pyha.cluster.membership import MembershipConfig

# membership/manager: the cores' configurations (manager None without resources);
# ping_targets/ping_groups: what the ping medium probes; ttl: the `ttl` field of every
# packet (heartbeat: hopfudge + node count); inner_auth: classic format carries the
# digest inside the message (netstring: outside).
CoreConfig = namedtuple("CoreConfig", "membership manager ping_targets ping_groups ttl inner_auth managing")


class CompositionError(ValueError):
    """The configuration cannot make a node core (the message says why)."""


def core_config(cf, haresources, name, manage_resources=True):
    # type: (Any, Any, str, bool) -> CoreConfig
    """`cf`: ha.cf's settings (HaCf), `haresources`: the parsed file, `name`: this node."""
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
        manager = ManagerConfig(
            local=name, peer=peers[0], groups=haresources.groups,
            auto_failback=cf.auto_failback, keepalive_ms=cf.keepalive_ms, deadtime_ms=cf.deadtime_ms,
            warntime_ms=cf.warntime_ms, ping_targets=list(ping_targets) + list(ping_groups))
    return CoreConfig(membership, manager, ping_targets, ping_groups, ttl, cf.msgfmt != "netstring", managing)
