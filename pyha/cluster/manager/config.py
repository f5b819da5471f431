"""What the manager is told: `ManagerConfig`, `ManagedGroup` and the claim delay formula.

Values are checked when the config is built (a bad one raises ValueError naming the
field); the daemon builds it from ha.cf and haresources, tests from plain tuples.
Pure, like the whole package: see `pyha.cluster.manager` for what it must never do.
"""

from typing import Any, Dict, Iterable, List, Optional

from pyha.cluster.manager.states import AUTO_FAILBACK_MODES


def _positive_ms(value, what):
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError("%s must be a positive integer of milliseconds, not %r" % (what, value))
    return value


# --- configuration --------------------------------------------------------------------

class ManagedGroup(object):
    """One haresources line: its key (first resource), preferred node, and whether it has
    a service address the VIP witness can probe."""

    __slots__ = ("key", "node", "vip")

    def __init__(self, key, node, vip=False):
        # type: (str, str, bool) -> None
        if not isinstance(key, str) or not key or any(c.isspace() for c in key):
            raise ValueError("bad group key %r" % (key,))
        if not isinstance(node, str) or not node.strip():
            raise ValueError("group %s: bad preferred node %r" % (key, node))
        self.key = key
        self.node = node.strip().lower()
        self.vip = bool(vip)

    @classmethod
    def coerce(cls, item):
        # type: (Any) -> ManagedGroup
        """From a ManagedGroup, a (key, node[, vip]) tuple, or a haresources `Group`."""
        if isinstance(item, cls):
            return item
        if isinstance(item, (tuple, list)):
            return cls(*item)
        resources = getattr(item, "resources", None)
        if resources is not None:
            vip = any(getattr(r, "kind", None) == "ip" for r in resources)
            return cls(getattr(item, "key"), getattr(item, "node"), vip)
        raise ValueError("not a resource group: %r" % (item,))

    def to_dict(self):
        return {"key": self.key, "node": self.node, "vip": self.vip}

    def __repr__(self):
        return "ManagedGroup(%r, %r, vip=%r)" % (self.key, self.node, self.vip)


class ManagerConfig(object):
    """Plain values the manager needs; the daemon builds it from ha.cf and haresources.

    `groups`: ManagedGroup objects, (key, node[, vip]) tuples or haresources `Group`s, in
    file order; every preferred node must be `local` or `peer`.  `ping_targets`: the ping
    nodes and ping groups of ha.cf (names as membership reports them).  Times in ms;
    None means the default derived from keepalive/deadtime.
    """

    def __init__(self, local, peer, groups, auto_failback="on", keepalive_ms=1000,
                 deadtime_ms=30000, warntime_ms=None, ping_targets=(),
                 rqst_delay_ms=10000, standby_timeout_ms=10000,
                 standby_resource_timeout_ms=3600000, probe_interval_ms=None,
                 claim_delay_ms=None, ping_giveup_delay_ms=2000, release_retry_ms=30000,
                 probe_on_handover=False, standby_grace_ms=3000, history=20,
                 fence_device=None, fence_delay_ms=0, fence_retry_ms=5000):
        # type: (str, str, Iterable[Any], str, int, int, Optional[int], Iterable[str], int, int, int, Optional[int], Optional[int], int, int, bool, int, int, Optional[str], int, int) -> None
        if not isinstance(local, str) or not local.strip():
            raise ValueError("local node name is empty")
        if not isinstance(peer, str) or not peer.strip():
            raise ValueError("peer node name is empty")
        self.local = local.strip().lower()
        self.peer = peer.strip().lower()
        if self.local == self.peer:
            raise ValueError("the peer cannot be the local node (%s)" % self.local)
        if auto_failback not in AUTO_FAILBACK_MODES:
            raise ValueError("auto_failback must be on, off or legacy, not %r" % (auto_failback,))
        self.auto_failback = auto_failback
        self.groups = []  # type: List[ManagedGroup]
        for item in groups:
            group = ManagedGroup.coerce(item)
            if group.node not in (self.local, self.peer):
                raise ValueError("group %s prefers node %s, which is neither %s nor %s" % (
                    group.key, group.node, self.local, self.peer))
            if any(g.key == group.key for g in self.groups):
                raise ValueError("group key %s listed twice" % group.key)
            self.groups.append(group)
        self.ping_targets = tuple(ping_targets)
        self.keepalive_ms = _positive_ms(keepalive_ms, "keepalive_ms")
        self.deadtime_ms = _positive_ms(deadtime_ms, "deadtime_ms")
        self.warntime_ms = _positive_ms(deadtime_ms // 2 if warntime_ms is None else warntime_ms,
                                        "warntime_ms")
        self.rqst_delay_ms = _positive_ms(rqst_delay_ms, "rqst_delay_ms")
        self.standby_timeout_ms = _positive_ms(standby_timeout_ms, "standby_timeout_ms")
        self.standby_resource_timeout_ms = _positive_ms(standby_resource_timeout_ms,
                                                        "standby_resource_timeout_ms")
        self.probe_interval_ms = _positive_ms(
            self.keepalive_ms if probe_interval_ms is None else probe_interval_ms, "probe_interval_ms")
        self.claim_delay_ms = _positive_ms(
            default_claim_delay_ms(self.keepalive_ms, self.deadtime_ms, self.warntime_ms)
            if claim_delay_ms is None else claim_delay_ms, "claim_delay_ms")
        self.ping_giveup_delay_ms = _positive_ms(ping_giveup_delay_ms, "ping_giveup_delay_ms")
        self.release_retry_ms = _positive_ms(release_retry_ms, "release_retry_ms")
        self.probe_on_handover = bool(probe_on_handover)
        # A standby request that finds either side in flux waits this long (not heartbeat's
        # immediate refusal, which loses requests that overtook an isstable=1 report).
        self.standby_grace_ms = _positive_ms(standby_grace_ms, "standby_grace_ms")
        self.history = max(1, int(history))
        # Fencing (fence.py): the device that fences the peer, as people read it ("fence_ipmilan
        # (pyha.cf:3)"; None: no device, heartbeat's "No STONITH device configured"), how
        # long to wait before fencing it (0 on the preferred node: it fences first) and
        # how long between failed attempts (heartbeat: 5 s).
        if fence_device is not None and (not isinstance(fence_device, str) or not fence_device.strip()):
            raise ValueError("fence_device must be a non-empty description or None, not %r" % (fence_device,))
        self.fence_device = fence_device
        if isinstance(fence_delay_ms, bool) or not isinstance(fence_delay_ms, int) or fence_delay_ms < 0:
            raise ValueError("fence_delay_ms must be a non-negative integer of milliseconds, not %r" % (fence_delay_ms,))
        self.fence_delay_ms = fence_delay_ms
        self.fence_retry_ms = _positive_ms(fence_retry_ms, "fence_retry_ms")

    @property
    def nice_failback(self):
        # type: () -> bool
        return self.auto_failback != "legacy"

    def to_dict(self):
        # type: () -> Dict[str, Any]
        return {
            "local": self.local, "peer": self.peer, "auto_failback": self.auto_failback,
            "groups": [g.to_dict() for g in self.groups], "ping_targets": list(self.ping_targets),
            "keepalive_ms": self.keepalive_ms, "deadtime_ms": self.deadtime_ms,
            "warntime_ms": self.warntime_ms, "rqst_delay_ms": self.rqst_delay_ms,
            "standby_timeout_ms": self.standby_timeout_ms,
            "standby_resource_timeout_ms": self.standby_resource_timeout_ms,
            "probe_interval_ms": self.probe_interval_ms, "claim_delay_ms": self.claim_delay_ms,
            "ping_giveup_delay_ms": self.ping_giveup_delay_ms,
            "release_retry_ms": self.release_retry_ms, "probe_on_handover": self.probe_on_handover,
            "standby_grace_ms": self.standby_grace_ms, "fence_device": self.fence_device,
            "fence_delay_ms": self.fence_delay_ms, "fence_retry_ms": self.fence_retry_ms,
        }


def default_claim_delay_ms(keepalive_ms, deadtime_ms, warntime_ms):
    # type: (int, int, int) -> int
    """How long the non-preferred node wants a VIP's address free before taking it.

    Long enough for the preferred node to probe and add it first (~0.1 s: the floor), and
    three keepalives at most, but never more than deadtime - warntime: probing starts at
    warntime, so a dead holder's address has that long a run of free answers by deadtime
    and the takeover then adds no delay (with keepalive 1 s / deadtime 5 s / warntime 3 s
    a 3 s wait made a hard failure cost 6 s instead of 5).  The daemon and the simulator
    both get it from here, so the property tests run production's delay."""
    return max(150, min(3 * keepalive_ms, deadtime_ms - warntime_ms))
