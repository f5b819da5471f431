"""Who holds the resource groups: heartbeat's haresources ("v1") policy as a pure machine.

`Manager` decides, for the local node and its one peer, which resource groups run here.
The daemon feeds it membership notifications (`CommUp`, `NodeDead`, `NodeLeft`,
`NodeRestarted`, `PartitionHealed`, `NodeWarn`, `PingUp`/`PingDead`, `Deliver` of the
peer's resource-protocol messages), results of group operations from the shell
(`GroupAcquired`, ...), the VIP witness (`VipFree`, `VipAnswered`, `VipConflict`),
operator commands (`Standby`, `Takeover`, `Shutdown`) and `Tick`, each with a monotonic
`now`.  It answers with actions: `Send` (protocol messages, numbered by membership's
`send` when one is injected), `Acquire`/`Release`/`ProbeVip`/`AnnounceVip` for the shell,
`CommandResult`, `ShutdownComplete` and `Log`.  Every decision carries a sentence saying
why; the last ones are kept for `pyha status` (`snapshot()`).

Protocol (spec 1.7, 5.2-5.8, Appendix A), in heartbeat's own message shapes:
* auto_failback on/off ("nice_failback"): `starting` at comm-up; `resource rsc_hold=...
  rtype=full isstable=0|1 [info=...]` reports; the standby exchange `ask_resources
  rsc_hold=S info=me|other|done` in both roles; `hb_takeover` mapped all->all,
  local->foreign, foreign->local; graceful stop = `resource rsc_hold=none ... info=shutdown`,
  release everything, then `shutdone st=dead`.  auto_failback on: the holder of the peer's
  groups gives them back with `ask_resources rsc_hold=foreign info=me` once the peer is
  back and stable.
* auto_failback legacy: no starting/resource; after comm-up each node asks for its own
  groups with `ip-request` (the owner releases them and answers `ip-request-resp
  weown=yes`), or, when the peer is not active, sends `ip-request-resp` to itself and
  takes them.  Standby and takeover are refused, like heartbeat.
* pyha extensions (a genuine node accepts and ignores unknown types, spec 1.7):
  `t=pyha-ping num_ping=N` says how many ping nodes we reach; without the peer's count
  we never hand over on ping grounds (no evidence the peer is better off).
  `t=pyha-groups running=<keys>` follows every `resource` report: rsc_hold is per
  category ("local" = some or all of my groups), this says which groups really run, so a
  pyha peer knows exactly what it would take over from us.
  `t=pyha-links down=<keys>` says for which groups an interface carrying their service
  address has no carrier here (sent at comm-up and on every change).
* ipfail's peer (spec 5.10): a genuine node's ipfail talks to the ipfail of the other
  node.  With ping nodes we play that part: we sign on (`hbapi-clstat st=join
  from_id=ipfail`), answer its `num_ping_nodes` with `you_are_dead` when it reaches
  fewer ping nodes than we do (its ipfail then gives its groups up with the standby
  exchange) or `abort_giveup`, send our own count as `num_ping_nodes` to a peer not
  known to be pyha, and take its `you_are_dead` as its word that we reach fewer.

Carrier loss (issue 4 item 9).  When an interface carrying the address of a group we hold
loses its carrier, clients cannot reach the group here, but heartbeat would wait for
deadtime and ipfail.  We hand the affected groups over at once with the standby exchange
(release before the peer acquires, as always) if the peer is up and stable, told us with
`pyha-links` that its own interfaces for them have carrier, and, with ping nodes, reaches
at least one and at least as many as we do.  A peer that never sent `pyha-links` (a
genuine node) gives no such evidence: then ping arbitration and deadtime decide, as in
heartbeat.  A node whose interface for a group has no carrier refuses to take it in a
standby exchange, and a holder does not give a group back (auto_failback) while the
peer's interface for it has no carrier; it does once the carrier returns.
* What we report is what may run here (acquiring, running, releasing, stuck), plus
  categories without any group (heartbeat reports those too, A.3); a claim we could not
  act on (address answered, start failed) is not reported, so that it never makes the
  peer release its copy under the conflict rule.

Start-up rule (why pyha does not always wait heartbeat's 10 s RQSTDELAY).  A node takes
its own preferred ("local") groups as soon as it has either the peer's `starting` or a
`resource` report with isstable=1 that does not list them; the 10 s timer only remains
as the fallback when the peer is up but says neither.  This never makes two holders:
(1) `starting` is sent once, at comm-up, before its sender acquires anything, and
membership never delivers messages from before the first one it heard of a (new)
generation, so a `starting` we receive comes from a node holding nothing; (2) by this
rule a starting node takes only the groups it prefers, and the two nodes' preferred sets
are disjoint; a starting node takes the other's groups only when the other is dead
(then the VIP witness must say the address is free) or hands them over explicitly (the
standby exchange, where the giver releases before it says `done`); (3) a report from a
stable peer lists what it holds, and we take our groups only when they are not listed.
A genuine peer gains too: it takes its own groups when our isstable=1 report arrives,
which we send as soon as our acquisition is done.  Start-up acquisitions of groups with
a service address are still checked with an ARP probe first.  Because the first
messages of a new generation are not retransmitted if lost (membership starts tracking
at the first one it hears), a running node reports to a restarted peer at once instead
of waiting for its `starting`, and a starting node that heard nothing re-sends
`starting` halfway through RQSTDELAY.

The VIP as last witness.  Before taking a group from a dead or unknown holder, the shell
probes its service address (`ProbeVip`) once every `probe_interval`; probing starts
already when the peer passes warntime (`NodeWarn`).  An answered address is not taken
("peer silent but VIP answered from MAC ...") and probing goes on.  A free address is
taken at once only by the group's preferred node; the other node takes it only after it
has stayed free for `claim_delay` (any answer starts the count again), so that two nodes
never take a free address at the same moment: the preferred node may be partitioned
and starting, or rebooting after a crash and taking its group again.  Free answers since
warntime count when the peer is known to have run the group (its address went free
before its death was declared: the crash case; there the wait is capped at deadtime -
warntime, so it adds no delay at deadtime); when nobody is known to run it, only free
answers since our claim count.  A run of free answers starts when its first probe went
out.  A group that failed to start on its preferred node and
is retried there after the peer's death waits twice `claim_delay` (the peer may believe
it ran here).  Hand-overs the peer confirmed (standby `done`, `shutdone`,
`ip-request-resp weown=yes`) are not probed unless `probe_on_handover`.

Messages may arrive out of order (a retransmission fills a gap after newer ones), as
with heartbeat.  So: a report older than the last one is ignored, and so is a `starting`
older than a report; a `done` older than a newer report of the giver is stale (it left
the exchange, e.g. it thought us dead) and ends ours; a `done` makes the groups it gave
no longer the giver's, whatever a report sent before it says; a standby request that
finds either side "in flux" waits `standby_grace` for the isstable=1 that may still be
on its way instead of being dropped at once.  After a partition heals we ask with
`starting` (a stable genuine node simply answers it) and report twice, one keepalive
apart, since the first messages after the heal are not retransmitted either.

Conflicts (partition heal, both reports overlapping, `VipConflict`): the group's
preferred node keeps it, the other releases it.  A start failure releases what was
started and hands the group's category to the peer with the standby exchange; a group
that failed here is not taken again automatically (only after the peer's death or an
operator takeover here).  A stop failure leaves the group `stuck`: it is still reported
as held, never omitted from a report, the stop is retried every `release_retry`, and
`shutdone` is not sent while it lasts.

What this module must never do: open sockets, read a clock, start processes or threads,
draw randomness, import a third-party library, or raise on bad input from the network,
the shell or the operator (bad input is logged and ignored).  An impossible state change
is a bug and raises `IllegalTransition`.
"""

import math
from collections import OrderedDict, deque
from typing import Any, Callable, Dict, Iterable, List, Optional, Set, Tuple

from pyha.cluster.events import (
    CRITICAL, DEBUG, ERROR, INFO, WARNING,
    CommUp, Deliver, LinkDead, LinkUp, Log, NodeDead, NodeLeft, NodeRestarted, NodeStatus,
    NodeUp, NodeWarn, PartitionHealed, PingDead, PingUp, Send, Tick, parse_dec,
)
from pyha.cluster.manager_events import (
    CMD_SHUTDOWN, CMD_STANDBY, CMD_TAKEOVER, WHICH_WORDS,
    Acquire, AnnounceVip, CommandResult, GroupAcquired, GroupAcquireFailed, GroupReleased,
    GroupReleaseFailed, ProbeVip, Release, Shutdown, ShutdownComplete, Standby, Takeover,
    VipAnswered, VipConflict, VipFree, VipLink,
)

# --- constants ----------------------------------------------------------------------

AUTO_FAILBACK_MODES = ("on", "off", "legacy")
RSC_WORDS = ("none", "local", "foreign", "all")
PING_MSG = "pyha-ping"          # our extension: how many ping nodes we reach
GROUPS_MSG = "pyha-groups"      # our extension: which groups run here (rsc_hold is per category)
LINKS_MSG = "pyha-links"        # our extension: groups whose service interface has no carrier here
INFO_STARTUP = "req_our_resources()"
MAX_PING = 10000
IPFAIL = "ipfail"               # the API client id genuine ipfail uses on both nodes
IPFAIL_TYPES = ("num_ping_nodes", "you_are_dead", "abort_giveup")

# Node-level resource phase.
P_WAITING = "waiting"      # communication not up yet
P_STARTING = "starting"    # sent `starting`, waiting for what the peer holds
P_RUNNING = "running"      # start-up decided; normal operation
P_STOPPING = "stopping"    # graceful stop: releasing everything
P_STOPPED = "stopped"      # `shutdone` sent; the daemon may exit
PHASES = (P_WAITING, P_STARTING, P_RUNNING, P_STOPPING, P_STOPPED)
_PHASE_FROM = {
    P_STARTING: (P_WAITING,),
    P_RUNNING: (P_WAITING, P_STARTING),
    P_STOPPING: (P_WAITING, P_STARTING, P_RUNNING),
    P_STOPPED: (P_STOPPING,),
}

# One group, as seen from this node.
G_IDLE = "idle"            # not running here
G_PROBING = "probing"      # wanted here; waiting for the VIP witness
G_ACQUIRING = "acquiring"  # Acquire sent to the shell
G_HELD = "held"            # running here
G_RELEASING = "releasing"  # Release sent to the shell
G_STUCK = "stuck"          # the stop failed: it may still run here
GROUP_STATES = (G_IDLE, G_PROBING, G_ACQUIRING, G_HELD, G_RELEASING, G_STUCK)
_GROUP_FROM = {
    G_PROBING: (G_IDLE,),
    G_ACQUIRING: (G_IDLE, G_PROBING, G_STUCK),
    G_HELD: (G_ACQUIRING,),
    G_RELEASING: (G_HELD, G_ACQUIRING, G_STUCK),
    G_IDLE: (G_PROBING, G_RELEASING),
    G_STUCK: (G_RELEASING,),
}
_RUNNING_STATES = (G_ACQUIRING, G_HELD, G_RELEASING, G_STUCK)  # might be running here

# The standby exchange (spec 5.4).  R = the node giving groups up, O = the other.
SB_NONE = "none"
SB_ASKED = "asked"            # R: sent `me`, waiting for `other` (10 s)
SB_RELEASING = "releasing"    # R: got `other`, releasing
SB_RELEASED = "released"      # R: sent `done`, waiting for O's `done`
SB_ACCEPTED = "accepted"      # O: sent `other`, waiting for R's `done`
SB_ACQUIRING = "acquiring"    # O: got R's `done`, acquiring
STANDBY_STATES = (SB_NONE, SB_ASKED, SB_RELEASING, SB_RELEASED, SB_ACCEPTED, SB_ACQUIRING)
_SB_FROM = {
    SB_ASKED: (SB_NONE,),
    SB_RELEASING: (SB_ASKED,),
    SB_RELEASED: (SB_RELEASING,),
    SB_ACCEPTED: (SB_NONE,),
    SB_ACQUIRING: (SB_ACCEPTED,),
    SB_NONE: (SB_ASKED, SB_RELEASING, SB_RELEASED, SB_ACCEPTED, SB_ACQUIRING),
}

# The peer's liveness as the manager last heard it from membership.
PEER_NEVER = "never"
PEER_UP = "up"
PEER_DEAD = "dead"
PEER_LEFT = "left"

# How an acquisition is checked against the VIP witness.
PROBE_NONE = "none"        # hand-over confirmed by the peer: no probe
PROBE_HOLDER = "holder"    # the dead peer held it: take it once the address is free
PROBE_CLAIM = "claim"      # holder unknown: preferred node at once, the other after claim_delay
PROBE_CLAIM_DELAYED = "claim-delayed"  # after 2 x claim_delay even on the preferred node

# Things waited for before a protocol step (see _fire_waits).
W_STARTUP = "startup"                   # initial acquisition -> report req_our_resources()
W_TAKEOVER = "takeover"                 # takeover from a dead/leaving peer -> report
W_STANDBY_RELEASE = "standby-release"   # R released S -> ask_resources done
W_STANDBY_ACQUIRE = "standby-acquire"   # O acquired S -> report + ask_resources done
W_SHUTDOWN = "shutdown"                 # everything released -> shutdone
_RELEASE_WAITS = (W_STANDBY_RELEASE, W_SHUTDOWN)

_EPS = 1e-9


class IllegalTransition(AssertionError):
    """A state change from a state it cannot come from: a bug, so it shouts."""


def _ms(seconds):
    # type: (float) -> int
    return int(round(seconds * 1000))


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
                 probe_on_handover=False, standby_grace_ms=3000, history=20):
        # type: (str, str, Iterable[Any], str, int, int, Optional[int], Iterable[str], int, int, int, Optional[int], Optional[int], int, int, bool, int, int) -> None
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
            "standby_grace_ms": self.standby_grace_ms,
        }


# --- runtime records -------------------------------------------------------------------

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


def _is_int(value):
    # type: (Any) -> bool
    return isinstance(value, int) and not isinstance(value, bool)


class _Probe(object):
    """What the VIP witness said about one group's address, and what we wait for."""

    __slots__ = ("waiting", "sent_at", "next_at", "free_at", "answered_at", "mac",
                 "free_since", "logged_mac", "wait_logged")

    def __init__(self):
        self.waiting = False
        self.sent_at = None      # type: Optional[float]
        self.next_at = None      # type: Optional[float]  # earliest next probe
        self.free_at = None      # type: Optional[float]
        self.answered_at = None  # type: Optional[float]
        self.mac = None          # type: Optional[str]
        self.free_since = None   # type: Optional[float]  # first free answer of the current free run
        self.wait_logged = False
        self.logged_mac = None   # type: Optional[str]

    def to_dict(self):
        return {"waiting": self.waiting, "sent_at": self.sent_at, "next_at": self.next_at,
                "free_at": self.free_at, "answered_at": self.answered_at, "mac": self.mac,
                "free_since": self.free_since}


class _Group(object):
    def __init__(self, spec):
        # type: (ManagedGroup) -> None
        self.key = spec.key
        self.node = spec.node
        self.vip = spec.vip
        self.state = G_IDLE
        self.since = None        # type: Optional[float]
        self.want = False
        self.reason = "not wanted here yet"   # the decision that set `want`
        self.note = "not started"             # the last state change, and why
        self.probe_mode = PROBE_CLAIM
        self.claimed_at = None   # type: Optional[float]
        self.probe = _Probe()
        self.failed = None       # type: Optional[Dict[str, Any]]  # start failure here
        self.stop_error = None   # type: Optional[str]
        self.handover_pending = False
        self.yield_pending = False
        self.retry_at = None     # type: Optional[float]  # stuck: next stop attempt
        self.legacy_requested = False  # legacy: we sent ip-request for it
        self.legacy_reply = False      # legacy: answer ip-request-resp once released


class _Wait(object):
    __slots__ = ("kind", "keys", "data")

    def __init__(self, kind, keys, data=None):
        self.kind = kind
        self.keys = tuple(keys)
        self.data = dict(data or {})

    def to_dict(self):
        out = {"what": self.kind, "groups": list(self.keys)}
        out.update(self.data)
        return out


class _Peer(object):
    def __init__(self, name):
        self.name = name
        self.state = PEER_NEVER
        self.status = None        # type: Optional[str]
        self.holds = None         # type: Optional[Set[str]]  # categories (node names) it holds
        self.holds_word = None    # type: Optional[str]  # as it said it (its point of view)
        self.stable = False
        self.report_seq = None    # type: Optional[int]
        self.starting_seen = False
        self.leaving = False
        self.ping = None          # type: Optional[int]
        self.dead_reason = None   # type: Optional[str]
        self.dead_at = None       # type: Optional[float]
        self.gave = None          # type: Optional[Tuple[Set[str], Optional[int]]]  # last standby done: (cats, seq)
        self.running = None       # type: Optional[Tuple[Set[str], Optional[int]]]  # pyha-groups: (keys, seq)
        self.holds_at = None      # type: Optional[float]  # when `holds` was last reported
        self.links_down = None    # type: Optional[Tuple[Set[str], Optional[int]]]  # pyha-links: (keys, seq)
        self.is_pyha = False      # it sent one of our extensions
        self.ping_inferred = False  # `ping` is ipfail's verdict (you_are_dead), not a count


class _Standby(object):
    def __init__(self):
        self.state = SB_NONE
        self.word = None          # type: Optional[str]  # rsc_hold as R said it
        self.cats = set()         # type: Set[str]  # what R gives up (node names)
        self.deadline = None      # type: Optional[float]
        self.reason = None        # type: Optional[str]
        self.why = None           # type: Optional[str]  # operator / failback / ping / failure / hb_takeover

    def to_dict(self):
        if self.state == SB_NONE:
            return None
        return {"state": self.state, "role": "giver" if self.state in (SB_ASKED, SB_RELEASING, SB_RELEASED)
                else "taker", "rsc_hold": self.word, "groups_of": sorted(self.cats),
                "deadline": self.deadline, "reason": self.reason, "initiator": self.why}


# --- the machine ---------------------------------------------------------------------

class Manager(object):
    """The resource manager for the local node (see the module docstring)."""

    def __init__(self, config, send=None):
        # type: (ManagerConfig, Optional[Callable[..., Send]]) -> None
        """`send`: membership's `send(fields)` so our messages are numbered by the same
        counter as membership's (required by retransmission); without it, `Send` actions
        carry seq=None and the shell must number them."""
        self.config = config
        self.me = config.local
        self._send_fn = send
        self._keepalive_s = config.keepalive_ms / 1000.0
        self._interval_s = config.probe_interval_ms / 1000.0
        self._groups = OrderedDict((g.key, _Group(g)) for g in config.groups)  # type: Dict[str, _Group]
        self._peer = _Peer(config.peer)
        self._sb = _Standby()
        self._now = None  # type: Optional[float]
        self._out = []  # type: List[Any]
        self._phase = P_WAITING
        self._phase_reason = "waiting for communication to come up"
        self._cats = set()  # type: Set[str]  # categories (preferred nodes) we are responsible for
        self._waits = []  # type: List[_Wait]
        self._rqst_deadline = None  # type: Optional[float]
        self._failback_needed = False
        self._ping_up = set()  # type: Set[str]
        self._ping_worse_since = None  # type: Optional[float]
        self._ping_next_try = None  # type: Optional[float]
        self._links_down = OrderedDict()  # type: Dict[str, str]  # group key -> which interface
        self._carrier_next_try = None  # type: Optional[float]
        self._prewarn_until = None  # type: Optional[float]
        self._prewarn_next = None  # type: Optional[float]
        self._last_report = None  # type: Optional[Tuple[str, bool]]
        self._overlap_logged = set()  # type: Set[str]
        self._overlap_reply = False   # a peer report arrived: answer an overlap once
        self._me_pending = None  # type: Optional[Tuple[str, float, str]]  # (rsc_hold, until, why)
        self._heal_resend_at = None  # type: Optional[float]
        self._asked_again = False  # start-up: `starting` re-sent once
        self._history = deque(maxlen=config.history)  # type: deque
        self._last_decision = None  # type: Optional[Dict[str, Any]]
        self.decision_count = 0  # decisions made so far (NodeCore: did this step decide?)

    # --- small helpers -------------------------------------------------------------------

    @property
    def peer(self):
        # type: () -> str
        return self._peer.name

    @property
    def phase(self):
        # type: () -> str
        return self._phase

    @property
    def last_decision(self):
        # type: () -> Optional[str]
        return self._last_decision["reason"] if self._last_decision else None

    def _clock(self, now):
        try:
            now = float(now)
        except (TypeError, ValueError):
            now = float("nan")
        if math.isnan(now) or math.isinf(now) or (self._now is not None and now < self._now):
            return self._now if self._now is not None else 0.0
        self._now = now
        return now

    def _log(self, level, text):
        self._out.append(Log(level, text))

    def _decide(self, reason, level=INFO):
        # type: (str, str) -> None
        """A decision: logged, remembered as the last one, kept in the short history."""
        entry = {"at": self._now, "reason": reason}
        self._last_decision = entry
        self.decision_count += 1
        self._history.append(entry)
        self._log(level, reason)

    def _keys(self, cats=None, groups=None):
        # type: (Optional[Iterable[str]], Optional[Iterable[_Group]]) -> List[str]
        if groups is not None:
            return [g.key for g in groups]
        cats = set(cats or ())
        return [g.key for g in self._groups.values() if g.node in cats]

    def _of(self, cats):
        # type: (Iterable[str]) -> List[_Group]
        cats = set(cats)
        return [g for g in self._groups.values() if g.node in cats]

    def _fmt(self, keys):
        # type: (Iterable[str]) -> str
        keys = list(keys)
        return "[%s]" % " ".join(keys) if keys else "[none]"

    def _other(self, node):
        # type: (str) -> str
        return self.peer if node == self.me else self.me

    def _cats_from_word(self, word, sender):
        # type: (str, str) -> Set[str]
        """rsc_hold as `sender` says it -> the set of preferred nodes whose groups it means."""
        if word == "local" or word == "failback":
            return {sender}
        if word == "foreign":
            return {self._other(sender)}
        if word == "all":
            return {self.me, self.peer}
        return set()

    def _word(self, cats, sender=None):
        # type: (Iterable[str], Optional[str]) -> str
        sender = sender or self.me
        cats = set(cats)
        local = sender in cats
        foreign = self._other(sender) in cats
        if local and foreign:
            return "all"
        if local:
            return "local"
        if foreign:
            return "foreign"
        return "none"

    def _send(self, pairs):
        # type: (List[Tuple[str, str]]) -> None
        fields = OrderedDict(pairs)
        if self._send_fn is not None:
            self._out.append(self._send_fn(fields))
        else:
            self._out.append(Send(dict(fields), fields.get("dest"), None))

    def _in_flight(self, g):
        # type: (_Group) -> bool
        if g.state in (G_ACQUIRING, G_RELEASING):
            return True
        if g.state == G_PROBING:
            p = g.probe
            return not (p.answered_at is not None and not p.waiting
                        and (p.free_at is None or p.free_at < p.answered_at))
        return False

    def _stable(self):
        # type: () -> bool
        """heartbeat's isstable: start-up decided, no exchange, no group operation running."""
        if self._phase != P_RUNNING or self._sb.state != SB_NONE:
            return False
        return not any(self._in_flight(g) for g in self._groups.values())

    def _reported_cats(self, announce=False):
        # type: (bool) -> Set[str]
        """What we say we hold.  Never omits a group that might still run here, except in
        heartbeat's own announcements of a release about to happen (standby, shutdown),
        which say isstable=0; a stuck group is never omitted."""
        # A claimed category counts only when it has no groups at all (heartbeat reports
        # such categories too, Appendix A.3) or when one of its groups is being started
        # or runs: a claim we could not act on (address answered, start failed) must not
        # make the peer release its copy under the conflict rule.
        cats = set(c for c in self._cats if not self._keys({c}))
        for g in self._groups.values():
            if g.state == G_STUCK:
                cats.add(g.node)
            elif g.state in (G_ACQUIRING, G_HELD, G_RELEASING) and (g.want or not announce):
                cats.add(g.node)
            elif g.want and g.node in self._cats and g.state == G_PROBING and self._in_flight(g):
                cats.add(g.node)
        return cats

    def _running_keys(self, announce=False):
        # type: (bool) -> List[str]
        """The groups that may run here (the per-group version of _reported_cats)."""
        out = []
        for g in self._groups.values():
            if g.state == G_STUCK or (g.state in (G_ACQUIRING, G_HELD, G_RELEASING) and (g.want or not announce)):
                out.append(g.key)
            elif g.want and g.node in self._cats and g.state == G_PROBING and self._in_flight(g):
                out.append(g.key)
        return out

    def _holding_word(self):
        # type: () -> str
        return self._word(self._reported_cats())

    def _my_ping(self):
        # type: () -> int
        return len(self._ping_up)

    # --- transitions (the only places states change) -------------------------------------

    def _phase_to(self, new, reason):
        # type: (str, str) -> None
        if self._phase not in _PHASE_FROM[new]:
            raise IllegalTransition("phase %s -> %s (%s)" % (self._phase, new, reason))
        self._phase = new
        self._phase_reason = reason
        self._log(DEBUG, "resource phase now %s: %s" % (new, reason))

    def _group_to(self, g, new, reason):
        # type: (_Group, str, str) -> None
        if g.state not in _GROUP_FROM[new]:
            raise IllegalTransition("group %s: %s -> %s (%s)" % (g.key, g.state, new, reason))
        self._log(DEBUG, "group %s: %s -> %s: %s" % (g.key, g.state, new, reason))
        g.state = new
        g.since = self._now
        g.note = reason

    def _sb_to(self, new, reason):
        # type: (str, str) -> None
        if self._sb.state not in _SB_FROM[new]:
            raise IllegalTransition("standby %s -> %s (%s)" % (self._sb.state, new, reason))
        self._log(DEBUG, "standby exchange %s -> %s: %s" % (self._sb.state, new, reason))
        self._sb.state = new
        self._sb.reason = reason
        if new == SB_NONE:
            self._sb.word = None
            self._sb.cats = set()
            self._sb.deadline = None
            self._sb.why = None
            self._waits = [w for w in self._waits
                           if w.kind not in (W_STANDBY_RELEASE, W_STANDBY_ACQUIRE)]

    # --- claims: what we want to run here ---------------------------------------------------

    def _claim(self, cats, mode, reason, groups=None):
        # type: (Iterable[str], Any, str, Optional[List[_Group]]) -> List[str]
        """Want the groups of these categories here (or just `groups`).  `mode` is a probe
        mode or a function group -> mode.  Returns the keys newly wanted."""
        if self._phase in (P_STOPPING, P_STOPPED):
            self._log(INFO, "not taking %s: shutting down" % self._fmt(self._keys(cats)))
            return []
        cats = set(cats)
        if groups is None:
            self._cats |= cats
            groups = self._of(cats)
        added = []
        for g in groups:
            if not g.want:
                added.append(g.key)
            g.want = True
            g.reason = reason
            g.yield_pending = False
            if g.state in (G_IDLE, G_PROBING):
                g.probe_mode = mode(g) if callable(mode) else mode
                g.probe.wait_logged = False
                g.claimed_at = self._now
        return added

    def _unclaim(self, cats, reason, groups=None):
        # type: (Iterable[str], str, Optional[List[_Group]]) -> List[str]
        cats = set(cats)
        if groups is None:
            self._cats -= cats
            groups = self._of(cats)
        dropped = []
        for g in groups:
            if g.want:
                dropped.append(g.key)
            g.want = False
            g.reason = reason
            g.handover_pending = False
        return dropped

    # --- outgoing protocol messages ----------------------------------------------------------

    def _report(self, stable, info=None, announce=False):
        # type: (bool, Optional[str], bool) -> None
        if not self.config.nice_failback:
            return
        word = self._word(self._reported_cats(announce))
        pairs = [("t", "resource"), ("rsc_hold", word), ("rtype", "full"),
                 ("isstable", "1" if stable else "0")]
        if info:
            pairs.append(("info", info))
        self._send(pairs)
        self._last_report = (word, bool(stable))
        # rsc_hold cannot say "one of my two groups": tell a pyha peer exactly (a genuine
        # node ignores the unknown type, spec 1.7).
        self._send([("t", GROUPS_MSG), ("running", " ".join(self._running_keys(announce)))])

    def _send_ping_count(self):
        if not self.config.ping_targets or not self.config.nice_failback:
            return
        self._send([("t", PING_MSG), ("num_ping", "%d" % self._my_ping())])
        if not self._peer.is_pyha and self._peer.state == PEER_UP:
            self._send_ipfail("num_ping_nodes", [("num_ping", "%d" % self._my_ping())])

    def _send_links(self):
        if not self.config.nice_failback or not any(g.vip for g in self._groups.values()):
            return
        self._send([("t", LINKS_MSG), ("down", " ".join(self._links_down))])

    def _send_notes(self):
        """Our extensions' state, for a peer that (re)starts or comes back."""
        self._send_ping_count()
        self._send_links()
        if self.config.ping_targets and self.config.nice_failback:
            self._send([("t", "hbapi-clstat"), ("st", "join"), ("from_id", IPFAIL), ("to_id", IPFAIL),
                        ("info", "signon"), ("client_gen", "0")])

    def _send_ipfail(self, t, extra=()):
        self._send([("t", t)] + list(extra) + [("dest", self.peer), ("from_id", IPFAIL), ("to_id", IPFAIL),
                                                ("client_gen", "0")])

    def _send_stonith(self, result):
        self._send([("t", "stonith"), ("node", self.peer), ("result", result)])

    # --- inputs ------------------------------------------------------------------------------

    def tick(self, now):
        # type: (float) -> List[Any]
        return self.handle(Tick(now), now)

    def handle(self, event, now):
        # type: (Any, float) -> List[Any]
        """Process one input at monotonic `now`; return the actions it calls for.
        Anything that is not a manager input (e.g. membership's own Send/Log) is ignored."""
        now = self._clock(now)
        self._out = []
        if self._phase == P_STOPPED:
            if isinstance(event, (Standby, Takeover, Shutdown)):
                self._out.append(CommandResult(self._cmd_name(event), getattr(event, "which", None), False,
                                               "the resource manager has stopped (shutdone sent)"))
            return self._flush()
        handler = self._HANDLERS.get(type(event))
        if handler is not None:
            handler(self, event, now)
        self._progress(now)
        return self._flush()

    def _flush(self):
        out, self._out = self._out, []
        return out

    @staticmethod
    def _cmd_name(event):
        if isinstance(event, Standby):
            return CMD_STANDBY
        if isinstance(event, Takeover):
            return CMD_TAKEOVER
        return CMD_SHUTDOWN

    # membership notifications

    def _on_comm_up(self, ev, now):
        if self._phase != P_WAITING:
            return
        peer = self._peer
        if self.config.nice_failback:
            self._send([("t", "starting")])
            self._phase_to(P_STARTING, "communication is up; asked %s what it holds (starting)" % self.peer)
            self._rqst_deadline = now + self.config.rqst_delay_ms / 1000.0
            self._send_notes()
            if peer.state in (PEER_DEAD, PEER_LEFT, PEER_NEVER):
                self._startup_alone(ev.reason)
            elif peer.starting_seen:
                self._report(stable=False)
                self._startup_take("%s is starting too (its `starting` arrived), so it holds nothing" % self.peer)
            elif peer.holds is not None and peer.stable:
                self._startup_take("%s reported rsc_hold=%s and is stable" % (self.peer, peer.holds_word))
            return
        # legacy (spec 5.2)
        self._phase_to(P_RUNNING, "communication is up (auto_failback legacy)")
        if peer.state in (PEER_DEAD, PEER_LEFT, PEER_NEVER):
            self._startup_alone(ev.reason)
            return
        mine = self._of({self.me})
        if peer.status == "active":
            for g in mine:
                g.legacy_requested = True
                self._send([("t", "ip-request"), ("ipaddr", g.key)])
            if mine:
                self._decide("asking %s to release my groups %s (legacy ip-request)" % (
                    self.peer, self._fmt(self._keys(groups=mine))))
        else:
            reason = "taking my groups %s: %s is not active yet (legacy start-up)" % (
                self._fmt(self._keys(groups=mine)), self.peer)
            for g in mine:
                self._send_self_resp(g.key)
            self._claim({self.me}, PROBE_CLAIM, reason)
            self._decide(reason)

    def _send_self_resp(self, key):
        self._send([("t", "ip-request-resp"), ("dest", self.me), ("ipaddr", key),
                    ("weown", "yes"), ("ok", "OK")])

    def _startup_alone(self, why):
        keys = self._keys(groups=self._groups.values())
        reason = "taking all groups %s: %s is %s at start-up (%s)" % (
            self._fmt(keys), self.peer, "dead" if self._peer.state != PEER_LEFT else "gone", why)
        if self._phase == P_STARTING:
            self._phase_to(P_RUNNING, reason)
        self._claim({self.me, self.peer}, PROBE_CLAIM, reason)
        self._waits.append(_Wait(W_STARTUP, keys))
        self._failback_needed = self.config.auto_failback == "on"
        self._decide(reason)

    def _startup_take(self, why):
        # type: (str) -> None
        if self._phase != P_STARTING:
            return
        peer = self._peer
        mine = self._keys({self.me})
        if peer.holds is not None and self.me in peer.holds:
            reason = "not taking my groups %s: %s holds them (it reported rsc_hold=%s)" % (
                self._fmt(mine), self.peer, peer.holds_word)
            self._phase_to(P_RUNNING, reason)
            self._decide(reason)
            self._report(stable=True)
            return
        reason = "taking my groups %s: %s" % (self._fmt(mine), why)
        self._phase_to(P_RUNNING, reason)
        self._claim({self.me}, PROBE_CLAIM, reason)
        for key in mine:
            self._send_self_resp(key)
        self._waits.append(_Wait(W_STARTUP, mine))
        self._decide(reason)

    def _on_node_up(self, ev, now):
        if ev.node != self.peer:
            return
        peer = self._peer
        was = peer.state
        peer.state = PEER_UP
        peer.status = ev.status
        peer.leaving = False
        if was in (PEER_DEAD, PEER_LEFT):
            self._peer_back(ev.reason)

    def _peer_back(self, why):
        """The peer speaks again after being dead: stop chasing groups we never got."""
        self._prewarn_until = None
        peer = self._peer
        if peer.holds_at is None or peer.dead_at is None or peer.holds_at <= peer.dead_at:
            # What it said before it went silent may be stale; a report heard since (its
            # messages can arrive before the status that makes membership call it back) is not.
            peer.holds = None
            peer.holds_word = None
            peer.stable = False
        dropped = []
        for g in self._groups.values():
            if g.want and g.state in (G_IDLE, G_PROBING):
                dropped.append(g)
        if dropped:
            cats = {g.node for g in dropped} - {g.node for g in self._groups.values()
                                                 if g.state in _RUNNING_STATES}
            self._unclaim(cats, "%s is back" % self.peer)
            self._unclaim((), "%s is back" % self.peer, groups=dropped)
            self._decide("%s is back (%s): no longer trying to take %s, which never got here" % (
                self.peer, why, self._fmt(self._keys(groups=dropped))))
        self._overlap_logged.clear()
        if self.config.auto_failback == "on" and any(
                g.node == self.peer and g.state in _RUNNING_STATES for g in self._groups.values()):
            self._failback_needed = True

    def _on_node_status(self, ev, now):
        if ev.node == self.peer:
            self._peer.status = ev.status

    def _on_node_warn(self, ev, now):
        if ev.node != self.peer or self._phase in (P_STOPPING, P_STOPPED):
            return
        late_s = (self.config.deadtime_ms - self.config.warntime_ms) / 1000.0
        self._prewarn_until = now + late_s + 2 * self._interval_s
        self._prewarn(now, "%s is late (%s): probing the addresses I would take" % (self.peer, ev.reason))

    def _prewarn(self, now, reason):
        keys = []
        for g in self._groups.values():
            if g.vip and g.state in (G_IDLE, G_PROBING) and not g.probe.waiting:
                g.probe.waiting = True
                g.probe.sent_at = now
                keys.append(g.key)
        self._prewarn_next = now + self._interval_s
        if keys:
            self._out.append(ProbeVip(tuple(keys), reason))

    def _on_node_dead(self, ev, now):
        if ev.node != self.peer:
            return
        peer = self._peer
        was = peer.state
        peer.state = PEER_DEAD
        peer.dead_reason = ev.reason
        peer.dead_at = now
        self._me_pending = None
        peer.ping = None
        peer.ping_inferred = False
        self._ping_worse_since = None
        graceful = ev.graceful or was == PEER_LEFT
        if self._phase == P_WAITING:
            return
        if graceful:
            self._log(INFO, "%s is silent after its shutdown notice (%s)" % (self.peer, ev.reason))
            self._send_stonith("unneeded")
            return
        held = peer.holds
        self._send_stonith("unneeded" if held is not None and not held and not peer.leaving else "n_stnth")
        if self._phase in (P_STOPPING, P_STOPPED):
            self._decide("not taking over from %s: we are shutting down (%s)" % (self.peer, ev.reason))
            return
        self._takeover("because %s" % ev.reason, graceful=False)

    def _on_node_left(self, ev, now):
        if ev.node != self.peer:
            return
        peer = self._peer
        peer.state = PEER_LEFT
        peer.holds = set()
        self._me_pending = None
        peer.holds_word = "none"
        peer.stable = True
        peer.ping = None
        peer.ping_inferred = False
        if self._phase in (P_WAITING, P_STOPPING, P_STOPPED):
            return
        self._takeover("at once because %s stopped gracefully (%s): it released everything" % (
            self.peer, ev.reason), graceful=True)

    def _takeover(self, why, graceful):
        # type: (str, bool) -> None
        if self._sb.state != SB_NONE:
            self._log(INFO, "Cancelling pending standby operation")
            self._sb_to(SB_NONE, "the standby exchange ended: %s" % why)
        held = self._peer.holds
        if not self.config.nice_failback and self._peer.status == "active":
            held = {self.peer}  # legacy: an active node runs its own groups
        retry = set()
        for g in self._groups.values():
            if g.failed is not None and g.state not in _RUNNING_STATES:
                g.failed = None
                retry.add(g.key)
                self._log(INFO, "group %s gets another chance here: its start failed before, but %s is gone" % (
                    g.key, self.peer))

        def mode(g):
            if g.key in retry and not graceful:
                # The peer may believe we run it (we kept claiming it): if it is only cut
                # off and takes it at once, our retry must find the address answering.
                return PROBE_CLAIM_DELAYED
            if graceful and not self.config.probe_on_handover:
                return PROBE_NONE
            if graceful:
                return PROBE_HOLDER
            runs = self._peer_runs(g)
            if runs is None:
                runs = held is not None and g.node in held
            return PROBE_HOLDER if runs else PROBE_CLAIM

        keys = self._keys(groups=self._groups.values())
        taken = [g.key for g in self._groups.values() if g.state not in _RUNNING_STATES]
        if taken:
            reason = "taking over %s %s" % (self._fmt(taken), why)
        else:
            reason = "nothing to take over (I already run every group) %s" % why
        if self._phase == P_STARTING:
            self._phase_to(P_RUNNING, reason)
        self._claim({self.me, self.peer}, mode, reason)
        self._waits = [w for w in self._waits if w.kind != W_TAKEOVER]
        self._waits.append(_Wait(W_TAKEOVER, keys))
        self._failback_needed = self.config.auto_failback == "on"
        self._decide(reason, WARNING if not graceful else INFO)

    def _on_node_restarted(self, ev, now):
        if ev.node != self.peer:
            return
        peer = self._peer
        if peer.state in (PEER_DEAD, PEER_LEFT):
            self._peer_back(ev.reason)
        peer.holds = None
        peer.holds_word = None
        peer.stable = False
        peer.report_seq = None
        peer.gave = None
        peer.running = None
        peer.links_down = None
        peer.starting_seen = False
        self._me_pending = None
        peer.leaving = False
        peer.ping = None
        peer.ping_inferred = False
        peer.is_pyha = False  # a rolling migration may have swapped its daemon
        if self._sb.state != SB_NONE:
            self._log(INFO, "Cancelling pending standby operation")
            self._sb_to(SB_NONE, "%s restarted during the standby exchange" % self.peer)
        if self.config.auto_failback == "on":
            self._failback_needed = True
        if not self.config.nice_failback:
            self._decide("%s restarted (%s)" % (self.peer, ev.reason))
            return
        self._decide("%s restarted (%s): telling it what I hold (rsc_hold=%s)" % (
            self.peer, ev.reason, self._holding_word()))
        if self._phase in (P_STARTING, P_RUNNING, P_STOPPING):
            # Do not wait for its `starting` to answer it: the first messages of a new
            # generation are not retransmitted if lost, and without our report it would take
            # its groups after RQSTDELAY even while we run them.
            if _is_int(ev.old_generation) and _is_int(ev.new_generation) \
                    and ev.new_generation < ev.old_generation:
                # Membership undid a generation that never proved itself (forged packets
                # with a huge hg): the peer did not restart and will not say what it holds
                # unless asked.  `starting` asks (a stable genuine node simply answers); it
                # goes before our report, whose isstable=1 ends the "in flux" it causes.
                self._send([("t", "starting")])
            self._report(stable=self._stable())
            self._send_notes()

    def _on_partition_healed(self, ev, now):
        if ev.node != self.peer:
            return
        self._peer.state = PEER_UP
        self._peer_back(ev.reason)
        if self._phase in (P_WAITING, P_STOPPED):
            return
        if not self.config.nice_failback:
            theirs = [g for g in self._groups.values() if g.node == self.peer and g.want]
            if theirs:
                self._unclaim((), "partition healed", groups=theirs)
                self._decide("partition healed: %s is the preferred node of %s and keeps them; "
                             "releasing my copies (legacy mode)" % (self.peer, self._fmt(self._keys(groups=theirs))))
            for g in self._groups.values():
                if g.node == self.me and not g.want:
                    g.legacy_requested = True
                    self._send([("t", "ip-request"), ("ipaddr", g.key)])
            return
        self._decide("partition healed with %s: asking what it holds (starting) and telling it what I "
                     "hold (rsc_hold=%s)" % (self.peer, self._holding_word()))
        if self._peer.holds is None:
            # It may never have lost us (one-way cut) and so has no reason to report: a
            # `starting` is the protocol's way to ask (a stable genuine node just answers).
            self._send([("t", "starting")])
        self._report(stable=self._stable())
        self._send_notes()
        # Once more a keepalive later: membership restarts sequence tracking for a peer it
        # had declared dead, so if this first report is lost it is never retransmitted.
        self._heal_resend_at = now + self._keepalive_s

    def _on_ping_change(self, ev, now):
        before = self._my_ping()
        if isinstance(ev, PingUp):
            self._ping_up.add(ev.target)
        else:
            self._ping_up.discard(ev.target)
        after = self._my_ping()
        if after == before:
            return
        self._decide("ping %s %s: I now reach %d of %d ping nodes" % (
            ev.target, "answers" if isinstance(ev, PingUp) else "is dead", after,
            len(self.config.ping_targets) or after))
        if self._phase in (P_STARTING, P_RUNNING):
            self._send_ping_count()

    # messages from the peer

    def _on_deliver(self, ev, now):
        if not isinstance(ev.node, str) or ev.node.lower() != self.peer:
            self._log(WARNING, "resource message from unknown node %r ignored" % (ev.node,))
            return
        fields = ev.fields if isinstance(ev.fields, dict) else {}
        t = ev.t
        if self._peer.state in (PEER_DEAD, PEER_LEFT) and t in ("starting", "resource", "ask_resources"):
            # It speaks before membership calls it back (that waits for its next status):
            # stop chasing what it may hold.
            self._peer_back("it sends %s again" % t)
        if t == "starting":
            self._on_starting(ev, now)
        elif t == "resource":
            self._on_resource(ev, fields, now)
        elif t == "ask_resources":
            self._on_ask_resources(fields, now, ev.seq if isinstance(ev.seq, int) else None)
        elif t == "hb_takeover":
            self._on_hb_takeover(fields, now)
        elif t == "ip-request":
            self._on_ip_request(fields, now)
        elif t == "ip-request-resp":
            self._on_ip_request_resp(fields, now)
        elif t == PING_MSG:
            self._peer.is_pyha = True
            self._on_peer_ping(fields, now)
        elif t in IPFAIL_TYPES:
            self._on_ipfail(t, fields, now)
        elif t == GROUPS_MSG:
            self._peer.is_pyha = True
            self._on_peer_groups(fields, ev.seq if isinstance(ev.seq, int) else None)
        elif t == LINKS_MSG:
            self._peer.is_pyha = True
            self._on_peer_links(fields, ev.seq if isinstance(ev.seq, int) else None)
        elif t == "stonith":
            self._log(INFO, "%s reports stonith of %s: %s" % (self.peer, fields.get("node"), fields.get("result")))

    def _on_starting(self, ev, now):
        peer = self._peer
        peer.starting_seen = True
        seq = ev.seq if isinstance(ev.seq, int) else None
        if seq is not None and peer.report_seq is not None and seq < peer.report_seq:
            # Arrived after a newer report (a retransmission filled the gap): that report
            # already says what it holds now.  Still answer: it asked.
            self._log(DEBUG, "late starting from %s (seq %d < %d)" % (self.peer, seq, peer.report_seq))
            if self._phase not in (P_WAITING,):
                self._report(stable=self._stable())
            return
        peer.holds = set()
        peer.holds_word = "none"
        peer.running = (set(), seq)
        peer.stable = False
        peer.links_down = None  # it says again after its `starting` (a new generation numbers afresh)
        peer.leaving = False
        self._me_pending = None
        if seq is not None:
            peer.report_seq = seq
        if self._sb.state != SB_NONE:
            self._log(INFO, "Cancelling pending standby operation")
            self._sb_to(SB_NONE, "%s is starting (again) during the standby exchange" % self.peer)
        if self._phase == P_WAITING:
            return  # answered at comm-up
        self._report(stable=self._stable())
        self._send_notes()
        if self._phase == P_STARTING:
            self._startup_take("%s is starting too (its `starting` arrived), so it holds nothing" % self.peer)
        elif self.config.auto_failback == "on" and any(
                g.node == self.peer and g.state in _RUNNING_STATES for g in self._groups.values()):
            self._failback_needed = True
            self._decide("%s is starting; I hold its groups and will give them back once it is stable "
                         "(auto_failback on)" % self.peer)

    def _on_resource(self, ev, fields, now):
        peer = self._peer
        word = fields.get("rsc_hold")
        if word not in RSC_WORDS:
            self._log(ERROR, "resource message from %s with bad rsc_hold %r ignored" % (self.peer, word))
            return
        seq = ev.seq if isinstance(ev.seq, int) else None
        full = fields.get("rtype") == "full"
        if full and seq is not None and peer.report_seq is not None and seq < peer.report_seq:
            self._log(DEBUG, "stale resource report from %s (seq %d < %d) ignored" % (self.peer, seq, peer.report_seq))
            return
        if full and seq is not None:
            peer.report_seq = seq  # a partial (mach_down) update does not replace a full one
        cats = self._cats_from_word(word, self.peer)
        if peer.gave is not None and seq is not None and peer.gave[1] is not None and seq < peer.gave[1]:
            cats = cats - peer.gave[0]  # sent before it said `done` for these
        if full:
            holds = cats
        elif not cats:
            holds = set()
        else:
            holds = set(peer.holds or ()) | cats  # heartbeat's partial update (mach_down)
        peer.holds = holds
        peer.holds_word = self._word(holds, self.peer)
        peer.holds_at = now
        stable = fields.get("isstable")
        if stable == "1":
            peer.stable = True
        elif stable is not None:
            peer.stable = False
        self._overlap_reply = True
        info = fields.get("info")
        if info == "shutdown":
            peer.leaving = True
            self._decide("%s is shutting down and releasing its groups; waiting for its shutdone "
                         "before taking them" % self.peer)
        if self._phase == P_STARTING:
            if self.me in holds:
                self._startup_take("%s holds them" % self.peer)
            elif peer.stable:
                self._startup_take("%s reported rsc_hold=%s and is stable" % (self.peer, word))

    def _on_ask_resources(self, fields, now, seq=None):
        info = fields.get("info")
        word = fields.get("rsc_hold") or "all"
        if info is None or word not in RSC_WORDS + ("failback",):
            self._log(ERROR, "Received standby message without valid info/rsc_hold from %s" % self.peer)
            return
        if word == "failback":
            word = "foreign"
        if not self.config.nice_failback:
            self._log(INFO, "Standby mode only implemented when nice_failback on")
            return
        if self._phase in (P_STOPPING, P_STOPPED):
            self._log(DEBUG, "standby message ignored during shutdown")
            return
        sb = self._sb
        if info == "me":
            self._on_standby_request(word, now)
        elif info == "other":
            if sb.state != SB_ASKED:
                self._log(ERROR, "Ignored standby message 'other' from %s in state %s" % (self.peer, sb.state))
                return
            self._standby_give(now)
        elif info == "done":
            peer = self._peer
            if (sb.state == SB_ACCEPTED and seq is not None and peer.report_seq is not None
                    and seq < peer.report_seq):
                # Between its `done` and ours the giver sends no report; a newer one means it
                # left the exchange meanwhile (e.g. it thought us dead and took them back).
                reason = "stale standby done from %s (seq %d, but it reported rsc_hold=%s since): " \
                         "exchange abandoned" % (self.peer, seq, peer.holds_word)
                self._sb_to(SB_NONE, reason)
                self._decide(reason, WARNING)
                return
            if sb.state == SB_ACCEPTED:
                # Its `done` says these are released, whatever an older report still says.
                if peer.holds is not None:
                    peer.holds = peer.holds - sb.cats
                    peer.holds_word = self._word(peer.holds, self.peer)
                peer.gave = (set(sb.cats), seq)
                self._standby_take(now)
            elif sb.state == SB_RELEASED:
                reason = "Other node completed standby takeover of %s resources." % sb.word
                self._sb_to(SB_NONE, reason)
                self._decide(reason)
                self._report(stable=self._stable())
            else:
                self._log(ERROR, "Ignored standby message 'done' from %s in state %s" % (self.peer, sb.state))
        else:
            self._log(ERROR, "Ignored standby message %r from %s" % (info, self.peer))

    def _on_standby_request(self, word, now):
        """The peer asks us to take `word` (its point of view) from it (we are O)."""
        sb = self._sb
        peer = self._peer
        prefix = "standby message [me] from %s ignored." % self.peer
        if sb.state != SB_NONE:
            self._decide("Ignored standby message 'me' from %s in state %s" % (self.peer, sb.state), ERROR)
            return
        flux = None
        if not peer.stable:
            flux = "%s  Other side is in flux." % prefix
        elif not self._stable():
            flux = "%s  local resources in flux." % prefix
        if flux is not None:
            # Messages can arrive out of order (a retransmission fills a gap after newer
            # ones): its isstable=1 may still be on the way, or our own transition may end
            # in a moment.  Keep the request for a short grace instead of dropping it.
            if self._me_pending is None or self._me_pending[0] != word:
                self._me_pending = (word, now + self.config.standby_grace_ms / 1000.0, flux)
                self._log(INFO, "standby request [%s] from %s held for up to %d ms: %s" % (
                    word, self.peer, self.config.standby_grace_ms, flux))
            return
        self._me_pending = None
        cats = self._cats_from_word(word, self.peer)
        failed = [g for g in self._of(cats) if g.failed is not None and g.state not in _RUNNING_STATES]
        if failed:
            self._decide("%s  %s failed to start here (%s); not taking it back (run `pyha takeover` "
                         "here to try again)" % (prefix, self._fmt(self._keys(groups=failed)),
                                                 failed[0].failed["error"]), WARNING)
            return
        dark = [g for g in self._of(cats) if g.key in self._links_down]
        if dark:
            self._decide("%s  %s cannot be served here: %s has no carrier" % (
                prefix, self._fmt(self._keys(groups=dark)), self._links_down[dark[0].key]), WARNING)
            return
        sb.word = word
        sb.cats = cats
        sb.why = "peer"
        sb.deadline = now + self.config.standby_resource_timeout_ms / 1000.0
        reason = "%s wants to go standby [%s]: accepting, I will take %s" % (
            self.peer, word, self._fmt(self._keys(cats)))
        self._sb_to(SB_ACCEPTED, reason)
        peer.stable = False
        self._send([("t", "ask_resources"), ("rsc_hold", word), ("info", "other")])
        self._decide(reason)

    def _standby_give(self, now):
        """We are R and O accepted: announce, release, then say done."""
        sb = self._sb
        reason = "standby: %s can take our %s resources %s" % (self.peer, sb.word, self._fmt(self._keys(sb.cats)))
        self._sb_to(SB_RELEASING, reason)
        sb.deadline = now + self.config.standby_resource_timeout_ms / 1000.0
        self._peer.stable = False
        self._unclaim(sb.cats, reason)
        self._report(stable=False, info="standby", announce=True)
        self._waits.append(_Wait(W_STANDBY_RELEASE, self._keys(sb.cats)))
        self._decide(reason)

    def _standby_take(self, now):
        """We are O and R released: acquire."""
        sb = self._sb
        keys = self._keys(sb.cats)
        reason = "standby: acquire [%s] resources %s from %s" % (sb.word, self._fmt(keys), self.peer)
        self._sb_to(SB_ACQUIRING, reason)
        sb.deadline = now + self.config.standby_resource_timeout_ms / 1000.0
        self._claim(sb.cats, PROBE_HOLDER if self.config.probe_on_handover else PROBE_NONE, reason)
        self._waits.append(_Wait(W_STANDBY_ACQUIRE, keys))
        self._decide(reason)

    def _start_standby(self, word, reason, why):
        # type: (str, str, str) -> Tuple[bool, str]
        """Begin the exchange as R, giving up `word` (our point of view)."""
        if not self.config.nice_failback:
            return False, "Standby mode only implemented when nice_failback on (auto_failback is legacy)"
        if self._phase != P_RUNNING:
            return False, "cannot go standby: resources are %s" % self._phase
        if self._peer.state != PEER_UP:
            return False, "cannot go standby: %s is %s, nobody could take the groups" % (
                self.peer, self._peer.state)
        if self._sb.state != SB_NONE:
            return False, "cannot go standby: a standby exchange is already in progress (%s)" % self._sb.state
        if not self._peer.stable:
            return False, "standby message [me] from %s ignored.  Other side is in flux." % self.me
        if not self._stable():
            return False, "standby message [me] from %s ignored.  local resources in flux." % self.me
        if self._last_report is not None and not self._last_report[1]:
            # The peer last heard isstable=0 from us and would refuse as "Other side is in flux".
            self._report(stable=True)
        sb = self._sb
        sb.word = word
        sb.cats = self._cats_from_word(word, self.me)
        sb.why = why
        sb.deadline = self._now + self.config.standby_timeout_ms / 1000.0
        text = "%s: %s wants to go standby [%s], asking %s to take %s" % (
            reason, self.me, word, self.peer, self._fmt(self._keys(sb.cats)))
        self._sb_to(SB_ASKED, text)
        self._send([("t", "ask_resources"), ("rsc_hold", word), ("info", "me")])
        self._decide(text)
        return True, text

    def _on_hb_takeover(self, fields, now):
        word = fields.get("rsc_hold") or "all"
        mapped = {"all": "all", "local": "foreign", "foreign": "local", "failback": "foreign"}.get(word)
        if mapped is None:
            self._log(ERROR, "hb_takeover from %s with bad rsc_hold %r ignored" % (self.peer, word))
            return
        ok, why = self._start_standby(mapped, "%s asked to take over [%s] (hb_takeover)" % (self.peer, word),
                                      "hb_takeover")
        if not ok:
            self._decide("hb_takeover [%s] from %s refused: %s" % (word, self.peer, why), WARNING)

    def _on_ip_request(self, fields, now):
        key = fields.get("ipaddr")
        g = self._groups.get(key) if isinstance(key, str) else None
        if g is None:
            self._log(WARNING, "ip-request from %s for unknown group %r" % (self.peer, key))
            return
        if g.state == G_STUCK:
            self._decide("ip-request from %s for %s: cannot release it, its stop failed" % (self.peer, g.key),
                         ERROR)
            return
        reason = "%s asks for %s (ip-request): releasing it" % (self.peer, g.key)
        self._unclaim((), reason, groups=[g])
        if g.state in _RUNNING_STATES:
            g.legacy_reply = True  # answered once the stop is done
            self._decide(reason)
            return
        self._send([("t", "ip-request-resp"), ("dest", self.peer), ("ipaddr", g.key),
                    ("weown", "no"), ("ok", "OK")])

    def _on_ip_request_resp(self, fields, now):
        dest = fields.get("dest")
        if not isinstance(dest, str) or dest.lower() != self.me:
            return
        key = fields.get("ipaddr")
        g = self._groups.get(key) if isinstance(key, str) else None
        if g is None:
            self._log(WARNING, "ip-request-resp from %s for unknown group %r" % (self.peer, key))
            return
        if not g.legacy_requested:
            self._log(INFO, "ip-request-resp from %s for %s, which I did not ask for: ignored" % (self.peer, g.key))
            return
        g.legacy_requested = False
        weown = fields.get("weown") == "yes"
        reason = "%s %s %s (ip-request-resp weown=%s): taking it" % (
            self.peer, "released" if weown else "does not hold", g.key, "yes" if weown else "no")
        self._claim((), PROBE_NONE if weown else PROBE_CLAIM, reason, groups=[g])
        self._decide(reason)

    def _peer_group_word(self, fields, field, msg, current, seq):
        # type: (Dict[str, Any], str, str, Any, Optional[int]) -> Optional[Set[str]]
        """The group keys in a pyha peer's `msg` (field `field`), or None when the message is
        malformed (logged) or older than the (keys, seq) we hold already (`current`)."""
        value = fields.get(field)
        if not isinstance(value, str):
            self._log(WARNING, "%s from %s without %s field ignored" % (msg, self.peer, field))
            return None
        if seq is not None and current is not None and current[1] is not None and seq < current[1]:
            return None  # an older one, overtaken
        return set(k for k in value.split() if k in self._groups)

    def _on_peer_groups(self, fields, seq):
        keys = self._peer_group_word(fields, "running", GROUPS_MSG, self._peer.running, seq)
        if keys is not None:
            self._peer.running = (keys, seq)

    def _on_peer_links(self, fields, seq):
        peer = self._peer
        keys = self._peer_group_word(fields, "down", LINKS_MSG, peer.links_down, seq)
        if keys is None:
            return
        before = peer.links_down[0] if peer.links_down is not None else set()
        peer.links_down = (keys, seq)
        if keys - before:
            self._decide("%s has no carrier for %s" % (self.peer, self._fmt(sorted(keys - before))), WARNING)
        back = before - keys
        if back:
            self._decide("%s has its carrier back for %s" % (self.peer, self._fmt(sorted(back))))
            if self.config.auto_failback == "on" and any(
                    g.key in back and g.node == self.peer and g.state in _RUNNING_STATES
                    for g in self._groups.values()):
                self._failback_needed = True

    def _peer_link_down(self, groups):
        # type: (Iterable[_Group]) -> List[str]
        """Keys of `groups` the peer said it could not serve (no carrier there)."""
        down = self._peer.links_down
        if down is None:
            return []
        return [g.key for g in groups if g.key in down[0]]

    def _peer_runs(self, g):
        # type: (_Group) -> Optional[bool]
        """Does the peer run `g`, as far as it told us per group (None: no such word; a genuine
        peer, or nothing since its last category report)."""
        peer = self._peer
        if peer.running is None:
            return None
        keys, seq = peer.running
        if seq is not None and peer.report_seq is not None and seq < peer.report_seq:
            return None  # older than its last rsc_hold
        return g.key in keys

    def _on_ipfail(self, t, fields, now):
        """The genuine peer's ipfail (spec 5.10); we answer as the ipfail of this node."""
        if not self.config.ping_targets or not self.config.nice_failback:
            return  # no ping nodes here: no ipfail to play
        if fields.get("to_id") not in (None, IPFAIL):
            return
        if t == "num_ping_nodes":
            if not self._on_peer_ping(fields, now):
                return
            theirs, mine = self._peer.ping, self._my_ping()
            if theirs < mine:
                self._send_ipfail("you_are_dead")
                self._decide("ipfail on %s reaches %d ping nodes, I reach %d: told it you_are_dead" % (
                    self.peer, theirs, mine))
            else:
                self._send_ipfail("abort_giveup")
        elif t == "you_are_dead":
            mine = self._my_ping()
            peer = self._peer
            if peer.ping is None or peer.ping <= mine:
                peer.ping = mine + 1  # its verdict: it reaches more than we do
                peer.ping_inferred = True
            self._decide("ipfail on %s says it reaches more ping nodes than my %d" % (self.peer, mine), WARNING)

    def _on_peer_ping(self, fields, now):
        # type: (Dict[str, Any], float) -> bool
        n = parse_dec(fields.get("num_ping"))
        if n is None or n > MAX_PING:
            self._log(WARNING, "bad num_ping %r from %s ignored" % (fields.get("num_ping"), self.peer))
            return False
        before = self._peer.ping
        self._peer.ping = n
        self._peer.ping_inferred = False
        if before == n:
            return True
        mine = self._my_ping()
        self._decide("%s reaches %d ping nodes (I reach %d)" % (self.peer, n, mine))
        if (self.config.auto_failback == "on" and before is not None and before < mine <= n):
            self._failback_needed = True
        return True

    # shell results

    def _group_for(self, ev):
        g = self._groups.get(ev.group) if isinstance(ev.group, str) else None
        if g is None:
            self._log(WARNING, "%s for unknown group %r ignored" % (ev.kind, ev.group))
        return g

    def _on_acquired(self, ev, now):
        g = self._group_for(ev)
        if g is None:
            return
        if g.state != G_ACQUIRING:
            self._log(WARNING, "group %s reported started while %s: ignored" % (g.key, g.state))
            return
        self._group_to(g, G_HELD, "started here")
        self._log(INFO, "group %s is running here" % g.key)
        if g.yield_pending:
            g.yield_pending = False
            self._group_to(g, G_RELEASING, "yielding %s after an address conflict" % g.key)
            self._out.append(Release((g.key,), g.reason))

    def _on_acquire_failed(self, ev, now):
        g = self._group_for(ev)
        if g is None:
            return
        if g.state != G_ACQUIRING:
            self._log(WARNING, "group %s reported failed to start while %s: ignored" % (g.key, g.state))
            return
        error = str(ev.error)
        g.failed = {"at": now, "error": error}
        g.handover_pending = self.config.nice_failback
        g.yield_pending = False
        # No longer wanted here: once the failure is forgiven (peer death, operator
        # takeover) it is claimed again explicitly, never by a leftover wish while the
        # peer may have taken it meanwhile.
        g.want = False
        reason = "group %s failed to start here (%s): stopping what was started" % (g.key, error)
        self._group_to(g, G_RELEASING, reason)
        self._out.append(Release((g.key,), reason))
        self._decide("resource group %s failed to start on %s: %s; releasing it%s" % (
            g.key, self.me, error, " and letting %s try" % self.peer if self.config.nice_failback else ""),
            ERROR)

    def _on_released(self, ev, now):
        g = self._group_for(ev)
        if g is None:
            return
        if g.state != G_RELEASING:
            self._log(WARNING, "group %s reported stopped while %s: ignored" % (g.key, g.state))
            return
        was_stuck = g.stop_error is not None
        g.stop_error = None
        g.retry_at = None
        self._group_to(g, G_IDLE, "stopped here")
        self._log(INFO, "group %s is stopped here" % g.key)
        if was_stuck:
            self._decide("group %s finally stopped here" % g.key)
        if g.legacy_reply:
            g.legacy_reply = False
            self._send([("t", "ip-request-resp"), ("dest", self.peer), ("ipaddr", g.key),
                        ("weown", "yes"), ("ok", "OK")])

    def _on_release_failed(self, ev, now):
        g = self._group_for(ev)
        if g is None:
            return
        if g.state != G_RELEASING:
            self._log(WARNING, "group %s reported failed to stop while %s: ignored" % (g.key, g.state))
            return
        error = str(ev.error)
        g.stop_error = error
        g.retry_at = now + self.config.release_retry_ms / 1000.0
        self._group_to(g, G_STUCK, "stop failed: %s" % error)
        blocked = " and the shutdown waits" if self._phase == P_STOPPING else ""
        self._decide("resource group %s failed to stop on %s (%s): it may still be running, so I keep "
                     "reporting it as held%s; retrying in %d s" % (
                         g.key, self.me, error, blocked, self.config.release_retry_ms // 1000), CRITICAL)
        if self.config.nice_failback and self._peer.state == PEER_UP and self._last_report is not None \
                and self._last_report[0] != self._holding_word():
            self._report(stable=False)

    # the VIP witness

    def _on_vip_free(self, ev, now):
        g = self._group_for(ev)
        if g is None:
            return
        p = g.probe
        p.waiting = False
        if p.free_since is None or p.free_at is None or now - p.free_at > 2 * self._interval_s + _EPS:
            # A new run of free answers (the last one is too old to continue it).  The
            # answer says "free since the probe went out": nobody answered meanwhile.
            p.free_since = p.sent_at if p.sent_at is not None and p.sent_at <= now else now
        p.free_at = now
        self._log(DEBUG, "address of %s is free (nobody answered the ARP probe)" % g.key)

    def _on_vip_answered(self, ev, now):
        g = self._group_for(ev)
        if g is None:
            return
        p = g.probe
        p.waiting = False
        p.answered_at = now
        p.mac = str(ev.mac)
        p.free_since = None
        p.next_at = now + self._interval_s
        if g.state == G_PROBING and g.want:
            self._vip_answered_log(g)
        else:
            self._log(DEBUG, "address of %s answered from MAC %s" % (g.key, p.mac))

    def _vip_answered_log(self, g):
        p = g.probe
        if p.logged_mac == p.mac:
            self._log(DEBUG, "address of %s still answered from MAC %s" % (g.key, p.mac))
            return
        p.logged_mac = p.mac
        if self._peer.state in (PEER_DEAD, PEER_NEVER):
            text = "peer silent but VIP answered from MAC %s: not taking %s, probing again every %.1f s" % (
                p.mac, g.key, self._interval_s)
        else:
            text = "VIP of %s answered from MAC %s: not taking it, probing again every %.1f s" % (
                g.key, p.mac, self._interval_s)
        self._decide(text, WARNING)

    def _on_vip_link(self, ev, now):
        g = self._group_for(ev)
        if g is None:
            return
        was_down = g.key in self._links_down
        if bool(ev.up) != was_down:
            return  # no change
        if ev.up:
            del self._links_down[g.key]
            self._decide("the carrier is back for %s" % g.key)
        else:
            detail = ev.detail if isinstance(ev.detail, str) and ev.detail else "an interface"
            self._links_down[g.key] = detail
            self._carrier_next_try = None
            self._decide("%s has no carrier: %s cannot be served here%s" % (
                detail, g.key, " (I hold it)" if g.state == G_HELD else ""),
                WARNING if g.state in _RUNNING_STATES else INFO)
        if self._phase in (P_STARTING, P_RUNNING):
            self._send_links()

    def _on_vip_conflict(self, ev, now):
        g = self._group_for(ev)
        if g is None:
            return
        mac = str(ev.mac)
        if g.state not in (G_HELD, G_ACQUIRING):
            self._log(INFO, "address conflict for %s (MAC %s) while it is %s here: nothing to resolve" % (
                g.key, mac, g.state))
            return
        if g.node == self.me:
            self._decide("another station (MAC %s) announces the VIP of %s, which I hold; I am its preferred "
                         "node, so I keep it and announce it again" % (mac, g.key), WARNING)
            if g.state == G_HELD:
                self._out.append(AnnounceVip((g.key,), "address conflict with MAC %s" % mac))
            return
        reason = "VIP of %s is also announced by MAC %s; its preferred node is %s, so I release it " \
                 "(conflict rule)" % (g.key, mac, g.node)
        p = g.probe
        p.answered_at = now
        p.free_since = None
        p.mac = mac
        p.logged_mac = mac
        p.next_at = now + self._interval_s
        if self._peer.state == PEER_UP:
            self._unclaim({g.node}, reason)
        else:
            self._release_to_probe(g, reason)
        self._decide(reason, WARNING)

    def _release_to_probe(self, g, reason):
        """Give a group up while the peer is not up, and keep claiming it: it is taken
        again only when a probe finds its address free (release before acquire, whoever
        the other holder is)."""
        g.probe_mode = PROBE_CLAIM
        g.reason = reason
        if g.state == G_HELD:
            self._group_to(g, G_RELEASING, reason)
            self._out.append(Release((g.key,), reason))
        else:
            g.yield_pending = True

    # operator commands

    def _on_standby_cmd(self, ev, now):
        which = ev.which
        if which not in WHICH_WORDS:
            self._out.append(CommandResult(CMD_STANDBY, which, False,
                                           "unknown set %r: use all, local, foreign or failback" % (which,)))
            return
        word = "foreign" if which == "failback" else which
        ok, why = self._start_standby(word, "operator asked for standby [%s]" % which, "operator")
        if not ok:
            self._decide("standby [%s] refused: %s" % (which, why), WARNING)
        self._out.append(CommandResult(CMD_STANDBY, which, ok, why))

    def _on_takeover_cmd(self, ev, now):
        which = ev.which
        if which not in WHICH_WORDS:
            self._out.append(CommandResult(CMD_TAKEOVER, which, False,
                                           "unknown set %r: use all, local or foreign" % (which,)))
            return
        if not self.config.nice_failback:
            why = "Standby mode only implemented when nice_failback on (auto_failback is legacy)"
            self._out.append(CommandResult(CMD_TAKEOVER, which, False, why))
            return
        if self._phase != P_RUNNING:
            why = "cannot take over: resources are %s" % self._phase
            self._out.append(CommandResult(CMD_TAKEOVER, which, False, why))
            return
        cats = self._cats_from_word(which, self.me)
        if self._peer.state == PEER_UP and self._sb.state != SB_NONE:
            why = "cannot take over: a standby exchange is in progress (%s)" % self._sb.state
            self._out.append(CommandResult(CMD_TAKEOVER, which, False, why))
            return
        for g in self._of(cats):
            if g.failed is not None:
                self._log(INFO, "operator takeover clears the start failure of %s (%s)" % (g.key, g.failed["error"]))
                g.failed = None
                g.handover_pending = False
        if self._peer.state == PEER_UP:
            self._send([("t", "hb_takeover"), ("rsc_hold", which)])
            why = "asked %s to hand over [%s] groups %s (hb_takeover)" % (
                self.peer, which, self._fmt(self._keys(cats)))
            self._decide(why)
            self._out.append(CommandResult(CMD_TAKEOVER, which, True, why))
            return
        why = "operator takeover of [%s] groups %s while %s is %s" % (
            which, self._fmt(self._keys(cats)), self.peer, self._peer.state)
        self._claim(cats, PROBE_CLAIM, why)
        self._decide(why)
        self._out.append(CommandResult(CMD_TAKEOVER, which, True, why))

    def _on_shutdown(self, ev, now):
        if self._phase == P_STOPPING:
            self._out.append(CommandResult(CMD_SHUTDOWN, None, False, "already stopping"))
            return
        reason = "shutting down (%s): releasing all groups %s before saying shutdone" % (
            ev.reason, self._fmt(self._keys(groups=[g for g in self._groups.values() if g.state in _RUNNING_STATES])))
        if self._sb.state != SB_NONE:
            self._log(INFO, "Cancelling pending standby operation")
            self._sb_to(SB_NONE, "shutting down")
        self._phase_to(P_STOPPING, reason)
        self._unclaim({self.me, self.peer}, reason)
        for g in self._groups.values():
            g.handover_pending = False
            g.legacy_requested = False
        self._waits = [_Wait(W_SHUTDOWN, self._keys(groups=self._groups.values()))]
        self._report(stable=False, info="shutdown", announce=True)
        self._decide(reason)
        self._out.append(CommandResult(CMD_SHUTDOWN, None, True, reason))

    def _on_tick(self, ev, now):
        pass  # timers are handled in _progress

    _HANDLERS = {
        CommUp: _on_comm_up,
        NodeUp: _on_node_up,
        NodeStatus: _on_node_status,
        NodeWarn: _on_node_warn,
        NodeDead: _on_node_dead,
        NodeLeft: _on_node_left,
        NodeRestarted: _on_node_restarted,
        PartitionHealed: _on_partition_healed,
        PingUp: _on_ping_change,
        PingDead: _on_ping_change,
        Deliver: _on_deliver,
        GroupAcquired: _on_acquired,
        GroupAcquireFailed: _on_acquire_failed,
        GroupReleased: _on_released,
        GroupReleaseFailed: _on_release_failed,
        VipFree: _on_vip_free,
        VipAnswered: _on_vip_answered,
        VipConflict: _on_vip_conflict,
        VipLink: _on_vip_link,
        Standby: _on_standby_cmd,
        Takeover: _on_takeover_cmd,
        Shutdown: _on_shutdown,
        Tick: _on_tick,
        LinkUp: None,
        LinkDead: None,
    }

    # --- after every input: timers, group driving, waits, policy ---------------------------

    def _progress(self, now):
        self._timers(now)
        for _ in range(8):
            self._retry_pending_me(now)
            changed = self._drive_groups(now)
            changed = self._fire_waits(now) or changed
            changed = self._policy(now) or changed
            if not changed:
                break
        self._overlap_reply = False  # only the input that brought the report may answer it
        self._stability_report()

    def _retry_pending_me(self, now):
        pending = self._me_pending
        if pending is None:
            return
        word, until, why = pending
        if (self._peer.state != PEER_UP or self._phase != P_RUNNING or self._sb.state != SB_NONE
                or not self.config.nice_failback):
            self._me_pending = None
            return
        if self._peer.stable and self._stable():
            self._on_standby_request(word, now)
        elif now >= until - _EPS:
            self._me_pending = None
            self._decide(why, WARNING)

    def _should_ask_again(self):
        # type: () -> bool
        return (self._phase == P_STARTING and self._rqst_deadline is not None and not self._asked_again
                and self._peer.state == PEER_UP and self._peer.holds is None and not self._peer.starting_seen)

    def _timers(self, now):
        if self._heal_resend_at is not None and now >= self._heal_resend_at - _EPS:
            self._heal_resend_at = None
            if self._phase == P_RUNNING and self._peer.state == PEER_UP and self._sb.state == SB_NONE:
                self._log(INFO, "telling %s again what I hold after the partition (rsc_hold=%s)" % (
                    self.peer, self._holding_word()))
                self._report(stable=self._stable())
        sb = self._sb
        if sb.state != SB_NONE and sb.deadline is not None and now >= sb.deadline - _EPS:
            if sb.state == SB_ASKED:
                reason = "No reply to standby request.  Standby request cancelled."
                self._sb_to(SB_NONE, reason)
                self._decide(reason, WARNING)
            else:
                reason = "the standby exchange with %s (%s) did not finish in %d s: abandoned" % (
                    self.peer, sb.state, self.config.standby_resource_timeout_ms // 1000)
                self._sb_to(SB_NONE, reason)
                self._decide(reason, ERROR)
        if self._should_ask_again() and now >= self._rqst_deadline - self.config.rqst_delay_ms / 2000.0 - _EPS:
            # Nothing from it yet: our `starting` may have been lost (see _on_node_restarted).
            self._asked_again = True
            self._log(INFO, "no answer from %s to starting yet: asking again" % self.peer)
            self._send([("t", "starting")])
        if (self._phase == P_STARTING and self._rqst_deadline is not None
                and now >= self._rqst_deadline - _EPS):
            self._startup_take("no usable word from %s within %d ms (RQSTDELAY)" % (
                self.peer, self.config.rqst_delay_ms))
        if (self._prewarn_until is not None and self._peer.state == PEER_UP
                and self._prewarn_next is not None and now >= self._prewarn_next - _EPS):
            if now < self._prewarn_until:
                self._prewarn(now, "%s is still late: probing again" % self.peer)
            else:
                self._prewarn_until = None
        for g in self._groups.values():
            if g.state == G_STUCK and not g.want and g.retry_at is not None and now >= g.retry_at - _EPS:
                reason = "retrying the stop of %s (it failed: %s)" % (g.key, g.stop_error)
                self._group_to(g, G_RELEASING, reason)
                self._out.append(Release((g.key,), reason))
                g.retry_at = None

    def _drive_groups(self, now):
        # type: (float) -> bool
        """Move every group one step toward what we want; batch the shell actions."""
        acquire = OrderedDict()  # type: Dict[str, List[str]]
        release = OrderedDict()  # type: Dict[str, List[str]]
        probe = OrderedDict()  # type: Dict[str, List[str]]
        changed = False
        for g in self._groups.values():
            if g.state == G_HELD and not g.want:
                self._group_to(g, G_RELEASING, g.reason)
                release.setdefault(g.reason, []).append(g.key)
            elif g.state == G_STUCK and g.want:
                self._group_to(g, G_ACQUIRING, "taking %s back as a whole (its stop had failed)" % g.key)
                acquire.setdefault(g.reason, []).append(g.key)
            elif g.state == G_PROBING and not g.want:
                self._group_to(g, G_IDLE, "probe cancelled: no longer wanted here")
                changed = True
            elif g.want and g.failed is None and g.state in (G_IDLE, G_PROBING):
                if g.state == G_IDLE:
                    if not g.vip or g.probe_mode == PROBE_NONE:
                        self._group_to(g, G_ACQUIRING, g.reason)
                        acquire.setdefault(g.reason, []).append(g.key)
                        continue
                    self._group_to(g, G_PROBING, "checking that the address of %s is free" % g.key)
                    changed = True
                    entered = True
                else:
                    entered = False
                step = self._probe_step(g, now, entered)
                if step == "acquire":
                    self._group_to(g, G_ACQUIRING, g.reason)
                    acquire.setdefault(g.reason, []).append(g.key)
                elif step == "probe":
                    probe.setdefault(g.reason, []).append(g.key)
        for reason, keys in release.items():
            self._out.append(Release(tuple(keys), reason))
        for reason, keys in acquire.items():
            self._out.append(Acquire(tuple(keys), reason))
        for reason, keys in probe.items():
            self._out.append(ProbeVip(tuple(keys), reason))
        return changed or bool(release or acquire or probe)

    def _probe_step(self, g, now, entered):
        # type: (_Group, float, bool) -> Optional[str]
        """'acquire', 'probe' (a ProbeVip is due) or None (waiting)."""
        p = g.probe
        fresh = 1.5 * self._interval_s
        free = (p.free_at is not None and now - p.free_at <= fresh + _EPS
                and (p.answered_at is None or p.answered_at <= p.free_at))
        answered = (p.answered_at is not None and now - p.answered_at <= fresh + _EPS
                    and (p.free_at is None or p.free_at < p.answered_at))
        if entered and answered:
            self._vip_answered_log(g)
        wait_s = self._settle_s(g)
        since = p.free_since
        if since is not None and g.probe_mode != PROBE_HOLDER and g.claimed_at is not None:
            # Holder unknown: the preferred node had no reason to act before we claimed,
            # so only free answers since then count.  (A dead holder's address that went
            # free before its death was declared is evidence, and counts.)
            since = max(since, g.claimed_at)
        if free and (wait_s <= 0 or (since is not None and p.free_at - since >= wait_s - _EPS)):
            return "acquire"
        if free and not p.wait_logged:
            p.wait_logged = True
            why = ("its preferred node is %s" % g.node if g.node != self.me
                   else "%s may believe it runs here" % self.peer)
            self._log(INFO, "address of %s is free; %s, so I take it only after it stayed free for %.1f s" % (
                g.key, why, wait_s))
        if p.waiting and p.sent_at is not None and now - p.sent_at < 2 * self._interval_s - _EPS:
            return None  # an answer is on its way
        if p.next_at is not None and now < p.next_at - _EPS:
            return None  # one probe per probe_interval
        p.waiting = True
        p.sent_at = now
        p.next_at = now + self._interval_s
        return "probe"

    def _settle_s(self, g):
        # type: (_Group) -> float
        """How long the address must have stayed free before we take it.

        Distinct waits so that two nodes never take a free address at the same moment: the
        group's preferred node at once (its address comes up within claim_delay); the other
        node only after claim_delay of free answers, whether it takes it from a dead holder
        (the holder may be rebooting and, as preferred node, take it again) or from nobody
        known; a group that failed on its preferred node, retried there after a peer death,
        after twice that.  Probes made since the peer passed warntime count, so a dead
        holder's address normally has its run of free answers by deadtime already; for a
        dead holder the wait is capped at deadtime - warntime so that it always has.  A
        run starts when its first probe was sent (nobody answered from then on)."""
        cfg = self.config
        if g.probe_mode == PROBE_CLAIM_DELAYED:
            return 2 * cfg.claim_delay_ms / 1000.0
        if g.node != self.me and g.probe_mode == PROBE_HOLDER:
            # Never more than warntime..deadtime: a dead holder's free answers since
            # warntime are then enough at deadtime, whatever claim_delay says.
            return min(cfg.claim_delay_ms, max(0, cfg.deadtime_ms - cfg.warntime_ms)) / 1000.0
        if g.node != self.me and g.probe_mode == PROBE_CLAIM:
            return cfg.claim_delay_ms / 1000.0
        return 0.0

    def _acq_settled(self, g):
        # type: (_Group) -> bool
        return not self._in_flight(g)

    def _fire_waits(self, now):
        # type: (float) -> bool
        fired = False
        for w in list(self._waits):
            groups = [self._groups[k] for k in w.keys]
            if w.kind in _RELEASE_WAITS:
                done = all(g.state == G_IDLE for g in groups)
            else:
                done = all(self._acq_settled(g) for g in groups)
            if not done or w not in self._waits:
                continue
            self._waits.remove(w)
            fired = True
            self._fire(w)
        return fired

    def _fire(self, w):
        # type: (_Wait) -> None
        running = [g.key for g in self._groups.values() if g.state == G_HELD]
        if w.kind == W_STARTUP:
            self._decide("Initial resource acquisition complete: holding %s" % self._fmt(running))
            self._report(stable=self._stable(), info=INFO_STARTUP)
        elif w.kind == W_TAKEOVER:
            blocked = [g.key for g in self._groups.values() if g.want and g.state == G_PROBING]
            self._decide("mach_down takeover complete: holding %s%s" % (
                self._fmt(running), "; not taken (address answers): %s" % self._fmt(blocked) if blocked else ""))
            self._report(stable=self._stable())
            if self.config.nice_failback and self.peer in self._reported_cats():
                # heartbeat's mach_down note claims the peer's groups unconditionally: say it
                # only when they do run here.
                self._send([("t", "resource"), ("rsc_hold", "foreign"), ("info", "mach_down")])
        elif w.kind == W_STANDBY_RELEASE:
            sb = self._sb
            reason = "Local standby process completed [%s]: released %s" % (sb.word, self._fmt(w.keys))
            self._sb_to(SB_RELEASED, reason)
            self._send([("t", "ask_resources"), ("rsc_hold", sb.word), ("info", "done")])
            self._decide(reason)
        elif w.kind == W_STANDBY_ACQUIRE:
            sb = self._sb
            word = sb.word
            reason = "Standby resource acquisition done [%s]: holding %s" % (word, self._fmt(running))
            self._sb_to(SB_NONE, reason)
            self._report(stable=self._stable())
            self._send([("t", "ask_resources"), ("rsc_hold", word), ("info", "done")])
            self._decide(reason)
        elif w.kind == W_SHUTDOWN:
            reason = "All HA resources relinquished: sending shutdone"
            self._phase_to(P_STOPPED, reason)
            self._send([("t", "shutdone"), ("st", "dead")])
            self._decide(reason)
            self._out.append(ShutdownComplete(reason))

    def _policy(self, now):
        # type: (float) -> bool
        """Decisions that come from the situation rather than from one input."""
        cfg = self.config
        peer = self._peer
        if not cfg.nice_failback or self._phase != P_RUNNING or self._sb.state != SB_NONE:
            self._ping_worse_since = None
            return False
        # 0. A group I hold has no carrier and the peer is not up: nobody can be handed it
        #    and nobody reaches it here, while the peer (alive behind a cut heartbeat link)
        #    takes the address once it stops answering.  Keeping it would bring the address
        #    back beside the peer's the instant the carrier returns (the kernel answers ARP
        #    for it at once, before any probe of ours): release it and claim it again
        #    through the probe, so a healed partition never shows the VIP twice.
        if peer.state != PEER_UP:
            dark = [g for g in self._groups.values() if g.state == G_HELD and g.key in self._links_down]
            for g in dark:
                reason = "%s has no carrier and %s is %s: nobody can reach %s here or be handed it, so I " \
                         "release it and take it again only when a probe finds its address free" % (
                             self._links_down[g.key], self.peer, peer.state, g.key)
                self._release_to_probe(g, reason)
                self._decide(reason, WARNING)
            if dark:
                return True
        # A report heard after we declared it dead proves it is back (membership says so
        # only at its next status): enough to resolve an overlap, which only ever releases.
        heard_since = (peer.state == PEER_DEAD and peer.holds is not None and peer.holds_at is not None
                       and peer.dead_at is not None and peer.holds_at > peer.dead_at)
        if not (peer.state == PEER_UP or heard_since) or peer.holds is None:
            self._ping_worse_since = None
            return False
        # 1. Both hold the same groups (healed partition, crossed takeovers): the preferred node keeps them.
        mine = self._reported_cats()
        for cat in sorted(mine & peer.holds):
            keys = self._keys({cat})
            if not keys:
                continue  # both "hold" an empty category: nothing runs twice
            if cat == self.me:
                if cat not in self._overlap_logged:
                    self._overlap_logged.add(cat)
                    self._decide("both %s and I hold my groups %s; I am their preferred node and keep them, "
                                 "%s must release them" % (self.peer, self._fmt(keys), self.peer), WARNING)
                if self._overlap_reply:
                    # Its report shows it holds them too: make sure it hears that we do (it
                    # may not have heard our last report, e.g. after a one-way cut).
                    self._overlap_reply = False
                    self._report(stable=self._stable())
            elif cat in self._cats or any(g.want for g in self._of({cat})):
                reason = "both %s and I hold its groups %s; their preferred node %s keeps them, so I " \
                         "release mine" % (self.peer, self._fmt(keys), self.peer)
                self._unclaim({cat}, reason)
                self._decide(reason, WARNING)
                return True
        if peer.state != PEER_UP:
            self._ping_worse_since = None
            return False
        if not self._stable() or self._me_pending is not None:
            return False
        # 2. A group failed to start here: hand its category to the peer.
        failed = [g for g in self._groups.values() if g.handover_pending and g.state == G_IDLE]
        if failed and peer.stable:
            g = failed[0]
            cats = {g.node}
            for other in self._of(cats):
                other.handover_pending = False
            word = self._word(cats)
            ok, why = self._start_standby(word, "group %s failed to start here (%s)" % (
                g.key, g.failed["error"] if g.failed else "?"), "failure")
            if not ok:
                self._decide("cannot hand %s to %s after its start failure: %s" % (g.key, self.peer, why), ERROR)
            return True
        # 3. Carrier loss here, the peer can serve: hand over at once.
        if self._carrier_check(now):
            return True
        # 4. Ping arbitration: we reach fewer ping nodes than the peer.
        if self._ping_check(now):
            return True
        # 5. auto_failback on: give the peer's groups back once it is stable.
        if self._failback_needed and peer.stable:
            theirs = [g for g in self._groups.values() if g.node == self.peer and g.state in _RUNNING_STATES]
            if not theirs:
                self._failback_needed = False
            elif cfg.ping_targets and peer.ping is not None and peer.ping < self._my_ping():
                pass  # it would hand them straight back; wait for its ping count to recover
            elif self._peer_link_down(theirs):
                pass  # it cannot serve them; wait for its carrier (it tells us)
            else:
                self._failback_needed = False
                ok, why = self._start_standby("foreign", "auto_failback: %s is back and stable, giving its "
                                                         "groups back" % self.peer, "failback")
                if not ok:
                    self._decide("auto failback delayed: %s" % why, WARNING)
                return True
        # 6. Nobody holds my groups (e.g. the peer restarted after holding them): take them.
        if peer.stable and self.me not in mine and self.me not in peer.holds:
            mine_groups = [g for g in self._of({self.me}) if g.failed is None]
            if mine_groups:
                reason = "nobody holds my groups %s (%s reports rsc_hold=%s): taking them" % (
                    self._fmt(self._keys(groups=mine_groups)), self.peer, peer.holds_word)
                self._claim({self.me}, PROBE_CLAIM, reason)
                self._decide(reason, WARNING)
                return True
        return False

    def _carrier_check(self, now):
        # type: (float) -> bool
        cfg = self.config
        peer = self._peer
        dark = [g for g in self._groups.values() if g.state == G_HELD and g.key in self._links_down]
        if not dark or not peer.stable or peer.links_down is None:
            return False
        if self._carrier_next_try is not None and now < self._carrier_next_try - _EPS:
            return False
        if self._peer_link_down(dark):
            return False  # it cannot serve them either
        if cfg.ping_targets and (peer.ping is None or peer.ping < max(1, self._my_ping())):
            return False  # no evidence it is better placed; ping arbitration decides
        self._carrier_next_try = now + cfg.standby_timeout_ms / 1000.0
        cats = set(g.node for g in dark)
        ping = " and reaches %d of %d ping nodes" % (peer.ping, len(cfg.ping_targets)) if cfg.ping_targets else ""
        ok, why = self._start_standby(self._word(cats), "%s has no carrier (carrying %s); %s has carrier for "
                                      "them%s" % (self._links_down[dark[0].key], self._fmt([g.key for g in dark]),
                                                  self.peer, ping), "carrier")
        if not ok:
            self._decide("carrier hand-over delayed: %s" % why, WARNING)
        return True

    def _ping_check(self, now):
        # type: (float) -> bool
        cfg = self.config
        peer = self._peer
        holding = [g for g in self._groups.values() if g.state == G_HELD]
        if (not cfg.ping_targets or peer.ping is None or not peer.stable or not holding
                or self._my_ping() >= peer.ping):
            self._ping_worse_since = None
            return False
        if self._ping_worse_since is None:
            self._ping_worse_since = now
        if now - self._ping_worse_since < cfg.ping_giveup_delay_ms / 1000.0 - _EPS:
            return False
        if self._ping_next_try is not None and now < self._ping_next_try - _EPS:
            return False
        self._ping_next_try = now + (cfg.ping_giveup_delay_ms + cfg.standby_timeout_ms) / 1000.0
        ok, why = self._start_standby("all", "I reach %d of %d ping nodes, %s reaches %d" % (
            self._my_ping(), len(cfg.ping_targets), self.peer, peer.ping), "ping")
        if not ok:
            self._decide("ping giveup delayed: %s" % why, WARNING)
        return True

    def _stability_report(self):
        """A peer that last heard isstable=0 from us must hear when we are stable again."""
        if (self.config.nice_failback and self._last_report is not None and not self._last_report[1]
                and self._phase == P_RUNNING and self._peer.state == PEER_UP and self._stable()):
            self._report(stable=True)

    # --- reading the state ---------------------------------------------------------------------

    def next_deadline(self, now):
        # type: (float) -> Optional[float]
        """When `tick()` should next be called (None: nothing is timed right now)."""
        cands = []
        if self._me_pending is not None:
            cands.append(self._me_pending[1])
        if self._heal_resend_at is not None:
            cands.append(self._heal_resend_at)
        if self._sb.deadline is not None:
            cands.append(self._sb.deadline)
        if self._phase == P_STARTING and self._rqst_deadline is not None:
            cands.append(self._rqst_deadline)
            if self._should_ask_again():
                cands.append(self._rqst_deadline - self.config.rqst_delay_ms / 2000.0)
        if self._prewarn_until is not None and self._prewarn_next is not None:
            cands.append(self._prewarn_next)
        if self._carrier_next_try is not None and any(
                g.state == G_HELD and g.key in self._links_down for g in self._groups.values()):
            cands.append(self._carrier_next_try)
        if self._ping_worse_since is not None:
            cands.append(self._ping_worse_since + self.config.ping_giveup_delay_ms / 1000.0)
            if self._ping_next_try is not None:
                cands.append(self._ping_next_try)
        for g in self._groups.values():
            if g.state == G_STUCK and g.retry_at is not None:
                cands.append(g.retry_at)
            if g.state == G_PROBING:
                p = g.probe
                if p.waiting and p.sent_at is not None:
                    cands.append(p.sent_at + 2 * self._interval_s)
                if p.next_at is not None:
                    cands.append(p.next_at)
        # Only future instants: whatever is due now was handled by the call that just ran.
        cands = [c for c in cands if c > now + _EPS]
        return min(cands) if cands else None

    def snapshot(self, now=None):
        # type: (Optional[float]) -> Dict[str, Any]
        """A JSON-able picture for `pyha status`."""
        peer = self._peer
        groups = OrderedDict()  # type: Dict[str, Any]
        for g in self._groups.values():
            groups[g.key] = {
                "preferred": g.node, "state": g.state, "since": g.since, "wanted_here": g.want,
                "reason": g.reason, "note": g.note, "vip": g.vip, "probe_mode": g.probe_mode if g.vip else None,
                "probe": g.probe.to_dict() if g.vip else None,
                "start_failure": dict(g.failed) if g.failed else None,
                "stop_failure": g.stop_error,
            }
        pending = [w.to_dict() for w in self._waits]
        for g in self._groups.values():
            if self._in_flight(g):
                pending.append({"what": g.state, "groups": [g.key], "reason": g.reason})
        if self._phase == P_STARTING and self._rqst_deadline is not None:
            pending.append({"what": "startup", "deadline": self._rqst_deadline,
                            "reason": "waiting for %s's starting or stable report" % self.peer})
        peer_groups = None
        if peer.holds is not None:
            peer_groups = self._keys(peer.holds)
        return {
            "node": self.me,
            "peer": self.peer,
            "auto_failback": self.config.auto_failback,
            "phase": self._phase,
            "phase_reason": self._phase_reason,
            "stable": self._stable(),
            "holding": self._holding_word(),
            "holding_groups": [g.key for g in self._groups.values() if g.state == G_HELD],
            "responsible_for": sorted(self._cats),
            "groups": groups,
            "standby": self._sb.to_dict(),
            "pending": pending,
            "peer_state": {
                "state": peer.state, "status": peer.status, "holds": peer.holds_word,
                "holds_groups": peer_groups, "stable": peer.stable, "starting_seen": peer.starting_seen,
                "leaving": peer.leaving, "ping": peer.ping, "dead_reason": peer.dead_reason,
                "running_groups": sorted(peer.running[0]) if peer.running is not None else None,
                "no_carrier_groups": sorted(peer.links_down[0]) if peer.links_down is not None else None,
            },
            "no_carrier": dict(self._links_down),
            "ping": {"targets": list(self.config.ping_targets), "up": sorted(self._ping_up),
                     "count": self._my_ping()},
            "failback_needed": self._failback_needed,
            "standby_request_waiting": ({"rsc_hold": self._me_pending[0], "until": self._me_pending[1],
                                         "why": self._me_pending[2]} if self._me_pending else None),
            "last_decision": dict(self._last_decision) if self._last_decision else None,
            "decisions": [dict(d) for d in self._history],
        }
