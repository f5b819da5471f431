"""The manager's small mutable records: a group, its probe, the peer, the standby
exchange, a pending protocol step and what ping/carrier arbitration remembers.

Plain attribute holders (most with `to_dict()` for the status view); they never change a state
themselves (the Manager's transition methods do).
"""

from collections import OrderedDict
from typing import Any, Dict, Optional, Set, Tuple

from pyha.cluster.manager.config import ManagedGroup
from pyha.cluster.manager.states import (
    G_IDLE, PEER_NEVER, PROBE_CLAIM, SB_ASKED, SB_NONE, SB_RELEASED, SB_RELEASING,
)


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
        self.giver_started = False  # O: R's `resource info=standby` (its release began) arrived

    def to_dict(self):
        if self.state == SB_NONE:
            return None
        return {"state": self.state, "role": "giver" if self.state in (SB_ASKED, SB_RELEASING, SB_RELEASED)
                else "taker", "rsc_hold": self.word, "groups_of": sorted(self.cats),
                "deadline": self.deadline, "reason": self.reason, "initiator": self.why}


class _Arbitration(object):
    """What ping and carrier arbitration remember between inputs (rules.py decides on it)."""

    __slots__ = ("ping_up", "ping_worse_since", "ping_next_try", "links_down", "carrier_next_try")

    def __init__(self):
        self.ping_up = set()            # type: Set[str]  # the ping nodes we reach
        self.ping_worse_since = None    # type: Optional[float]  # we reach fewer than the peer since
        self.ping_next_try = None       # type: Optional[float]  # no ping hand-over before
        self.links_down = OrderedDict()  # type: Dict[str, str]  # group key -> which interface
        self.carrier_next_try = None    # type: Optional[float]  # no carrier hand-over before
