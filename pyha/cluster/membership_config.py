"""Membership's settings and units: `MembershipConfig` (plain values the daemon builds from
ha.cf, validated once), heartbeat's derived timings, the drop counters' names and the small
unit helpers the membership modules share.

What it must never do: read ha.cf or any file, open sockets, read a clock, or import a
third-party library; it only checks and holds values.
"""

from collections import OrderedDict
from typing import Any, Dict, Iterable, List, Optional, Tuple

from pyha.cluster.events import is_int  # noqa: F401  (membership's callers import it from here)

START_DT_EXTRA_MS = 2000     # advertised dt = deadtime + 2000 ms ...
START_DT_PERIOD_S = 5.0      # ... for the first 5 s after start (spec 1.12)
MAX_DT_MS = 24 * 3600 * 1000  # an advertised dt above a day is garbage, not a setting
# Deadlines are "silence strictly longer than the limit"; wake-ups are placed this far
# past the limit so that a tick at the returned deadline fires it (1 ms resolution).
DEADLINE_SLACK_S = 0.001
EPS = 1e-9  # float slack so that exact-boundary arithmetic does not flip a decision

# Counters of dropped or odd input, all present from the start so `pyha status` is stable.
COUNTERS = (
    "malformed",            # no src or no t
    "unknown_node",         # src is not a configured node
    "unknown_medium",       # arrived on a medium we were not configured with
    "unknown_ping",         # echo reply from an address that is no ping node
    "bad_seq",              # sequenced type without a positive seq
    "bad_hg",               # sequenced type without a generation
    "bad_ts",               # sequenced type without a non-zero ts
    "bad_field",            # dt/ackseq/firstseq/lastseq unparsable or absurd
    "bad_status",           # status without st
    "replay",               # generation lower than known: "attempted replay attack"
    "stale_status",         # status older than the newest one we used
    "duplicate",            # same seq as the last one (e.g. second link)
    "old_duplicate",        # older, not missing: dropped
    "not_for_us",           # sequenced, tracked, but dest is another node
    "from_dead_node",       # a non-status message of a node declared dead: not delivered
    "ns_not_for_us",        # NS_ type for another node: dropped
    "ns_ignored",           # NS_ type we have no use for
    "lost_packets",         # seqs recorded missing
    "late_packets",         # recorded missing seqs that arrived after all
    "seq_resets",           # "lost a lot of packets!"
    "restarts",             # peer generation went up
    "generations_pending",  # a new generation seen once: a restart only if more follows
    "bogus_generations",    # ... and nothing more of it came within the dead time
    "previous_generation",  # newer packets of the incarnation before the last restart
    "generation_reverts",   # new generation silent, previous one talking: back to it
    "partition_heals",
    "rexmit_requests_sent",
    "rexmit_requests_received",
    "retransmitted",
    "naks_sent",
    "naks_received",
    "acks_sent",
    "acks_received",
    "loopback",             # our own messages coming back
    "clock_backwards",      # a `now` older than a previous one (clamped)
)


def default_initdead_ms(deadtime_ms):
    # type: (int) -> int
    """heartbeat's derived initdead (spec 2.2)."""
    if deadtime_ms > 10000:
        return deadtime_ms
    if deadtime_ms < 6000:
        return 12000
    return 2 * deadtime_ms


class MembershipConfig(object):
    """Plain values the machine needs; the daemon builds it from the ha.cf model.

    `nodes`: every normal node in ha.cf order (the local one is added if missing; it
    is the order `repnodes` lists).  `media`: link names (interface names).
    `ping_nodes`: addresses; `ping_groups`: {group name: [addresses]} or pairs.
    Times in milliseconds; None means heartbeat's derived default.  Node names are
    compared case-insensitively (heartbeat lowercases them).
    """

    def __init__(self, local, nodes, media, ping_nodes=(), ping_groups=None,
                 keepalive_ms=1000, deadtime_ms=30000, warntime_ms=None,
                 initdead_ms=None, deadping_ms=None, max_rexmit_delay_ms=250):
        # type: (str, Iterable[str], Iterable[str], Iterable[str], Any, int, int, Optional[int], Optional[int], Optional[int], int) -> None
        if not isinstance(local, str) or not local.strip():
            raise ValueError("local node name is empty")
        self.local = local.strip().lower()
        all_nodes = []  # type: List[str]
        for name in nodes:
            name = _clean_name(name, "node")
            if name in all_nodes:
                raise ValueError("node %r listed twice" % name)
            all_nodes.append(name)
        if self.local not in all_nodes:
            all_nodes.append(self.local)
        self.nodes = tuple(all_nodes)
        self.peers = tuple(n for n in all_nodes if n != self.local)
        self.media = tuple(_unique((_clean_name(m, "medium", lower=False) for m in media), "medium"))
        self.ping_nodes = tuple(_unique((_clean_name(p, "ping node", lower=False) for p in ping_nodes),
                                        "ping node"))
        groups = ping_groups.items() if isinstance(ping_groups, dict) else (ping_groups or ())
        self.ping_groups = OrderedDict()  # type: Dict[str, Tuple[str, ...]]
        for gname, members in groups:
            gname = _clean_name(gname, "ping group", lower=False)
            if gname in self.ping_groups:
                raise ValueError("ping group %r listed twice" % gname)
            members = tuple(_unique((_clean_name(m, "ping group member", lower=False) for m in members),
                                    "ping group member"))
            if not members:
                raise ValueError("ping group %r has no members" % gname)
            self.ping_groups[gname] = members
        pseudo = list(self.ping_nodes) + list(self.ping_groups)
        for name in pseudo:
            if name.lower() in all_nodes:
                raise ValueError("ping node %r has the name of a cluster node" % name)
        if len(set(pseudo)) != len(pseudo):
            raise ValueError("a ping group has the name of a ping node")

        self.keepalive_ms = _positive(keepalive_ms, "keepalive_ms")
        self.deadtime_ms = _positive(deadtime_ms, "deadtime_ms")
        self.warntime_ms = _positive(deadtime_ms // 2 if warntime_ms is None else warntime_ms,
                                     "warntime_ms")
        self.initdead_ms = _positive(default_initdead_ms(self.deadtime_ms) if initdead_ms is None
                                     else initdead_ms, "initdead_ms")
        self.deadping_ms = _positive(self.deadtime_ms if deadping_ms is None else deadping_ms,
                                     "deadping_ms")
        self.max_rexmit_delay_ms = _positive(max_rexmit_delay_ms, "max_rexmit_delay_ms")

    def to_dict(self):
        # type: () -> Dict[str, Any]
        return {
            "local": self.local, "nodes": list(self.nodes), "media": list(self.media),
            "ping_nodes": list(self.ping_nodes),
            "ping_groups": dict((k, list(v)) for k, v in self.ping_groups.items()),
            "keepalive_ms": self.keepalive_ms, "deadtime_ms": self.deadtime_ms,
            "warntime_ms": self.warntime_ms, "initdead_ms": self.initdead_ms,
            "deadping_ms": self.deadping_ms, "max_rexmit_delay_ms": self.max_rexmit_delay_ms,
        }


def _clean_name(name, what, lower=True):
    if not isinstance(name, str) or not name.strip() or any(c.isspace() for c in name.strip()):
        raise ValueError("bad %s name %r" % (what, name))
    name = name.strip()
    return name.lower() if lower else name


def _unique(names, what):
    seen = []  # type: List[str]
    for name in names:
        if name in seen:
            raise ValueError("%s %r listed twice" % (what, name))
        seen.append(name)
    return seen


def _positive(value, what):
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError("%s must be a positive integer of milliseconds, not %r" % (what, value))
    return value


def field(fields, name):
    # type: (Dict[str, Any], str) -> Optional[str]
    value = fields.get(name)
    return value if isinstance(value, str) else None


def ms(seconds):
    # type: (float) -> int
    return int(round(seconds * 1000))


def since(last_heard, started_at):
    # type: (Optional[float], float) -> float
    """Where silence is counted from: the last time heard, or our start if never."""
    return started_at if last_heard is None else last_heard
