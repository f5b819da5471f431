"""One node's pure core: membership and the resource manager, composed once.

The daemon shell and the unit simulator both drive exactly this class, so the tests run
the program production runs: the same routing of membership's notifications and
deliveries to the manager, the same ticks, the same claim delay (ManagerConfig's
default, from the same timings).  An input goes in with `handle(event, now)`; what the
shell must carry out comes back as one `Step`: the actions in order and a one-sentence
reason (the manager's decision if it made one, else what happened).  Everything the core
routes to itself is done inside the step, so the shell never re-enters it: it executes
the actions and feeds outcomes (resource results, operator commands) back as new inputs.

Inputs: `Heard`, `PingReply`, `Tick` (membership first, then the manager hears what
membership concluded), and the manager's inputs (`GroupAcquired`..., `Standby`,
`Shutdown`...).  Outputs: membership's and the manager's actions (`Send`, `Retransmit`,
`Log`, `Acquire`, `Release`, `ProbeVip`, `AnnounceVip`, `CommandResult`,
`ShutdownComplete`) plus the notifications themselves (`NodeDead`, `PartitionHealed`...),
which a shell may act on or ignore, and the manager's typed state changes
(`GroupStateChanged`, `NodeStateChanged`...: `pyha.cluster.manager_events.TRANSITIONS`), of
which the core keeps the last `TRANSITIONS_KEPT`, with the monotonic time of their step, for
`pyha status` (`snapshot()["transitions"]`).

Never: touch a socket, a clock, a process, or call back into the shell.
"""

from collections import deque
from typing import Any, Callable, Dict, List, Optional

from pyha.cluster.events import NOTIFICATIONS, Deliver, Heard, PingReply, Tick
from pyha.cluster.manager import Manager, ManagerConfig
from pyha.cluster.manager_events import TRANSITIONS
from pyha.cluster.membership import Membership, MembershipConfig
from pyha.cluster.null_manager import NullManager

_MEMBERSHIP_INPUTS = (Heard, PingReply, Tick)
TRANSITIONS_KEPT = 20  # state changes shown by `pyha status`


class Step(object):
    """What one input calls for: `actions` in order, and why, in one sentence."""
    __slots__ = ("actions", "reason")

    def __init__(self, actions, reason):
        # type: (List[Any], str) -> None
        self.actions = actions
        self.reason = reason

    def of(self, cls):
        # type: (type) -> List[Any]
        return [a for a in self.actions if isinstance(a, cls)]

    def __repr__(self):
        return "Step(%r, %d actions)" % (self.reason, len(self.actions))


class NodeCore(object):
    def __init__(self, membership, manager):
        # type: (Membership, Any) -> None
        self.membership = membership
        self.manager = manager
        self.last_reason = None  # type: Optional[str]
        self.last_reason_at = None  # type: Optional[float]
        self.transitions = deque(maxlen=TRANSITIONS_KEPT)  # type: deque  # of JSON-able dicts

    @classmethod
    def build(cls, mconfig, rconfig=None, rng=None):
        # type: (MembershipConfig, Optional[ManagerConfig], Any) -> NodeCore
        """Membership plus the resource manager, or membership only (rconfig None:
        `pyha daemon --no-resources`, heartbeat's -M)."""
        membership = Membership(mconfig, rng)
        if rconfig is None:
            manager = NullManager(mconfig.local, send=membership.send)  # type: Any
        else:
            manager = Manager(rconfig, send=membership.send)
        return cls(membership, manager)

    @property
    def managing(self):
        # type: () -> bool
        return isinstance(self.manager, Manager)

    def start(self, now):
        # type: (float) -> Step
        return self._run([lambda: self.membership.start(now)], now, "started")

    def handle(self, event, now):
        # type: (Any, float) -> Step
        if isinstance(event, Tick):
            # membership's timeouts first, and the manager hears them before its own tick
            return self._run([lambda: self.membership.tick(now), lambda: self.manager.tick(now)],
                             now, "time passed")
        if isinstance(event, _MEMBERSHIP_INPUTS):
            return self._run([lambda: self.membership.handle(event)], now, "%s heard" % type(event).__name__)
        return self._run([lambda: self.manager.handle(event, now)], now, "%s handled" % type(event).__name__)

    def next_deadline(self, now):
        # type: (float) -> float
        when = self.membership.next_deadline(now)
        mine = self.manager.next_deadline(now)
        return when if mine is None else min(when, mine)

    def snapshot(self, now):
        snap = self.membership.snapshot(now)
        snap["resources"] = self.manager.snapshot(now)
        snap["last_step"] = {"reason": self.last_reason, "at": self.last_reason_at}
        snap["transitions"] = [dict(t, ago_s=round(now - t["at"], 3)) for t in self.transitions]
        return snap

    def _run(self, producers, now, default):
        # type: (List[Callable[[], List[Any]]], float, str) -> Step
        before = self.manager.decision_count
        out = []  # type: List[Any]
        told = None  # type: Optional[str]
        for produce in producers:
            pending = list(produce())
            while pending:
                action = pending.pop(0)
                if isinstance(action, (Deliver,) + NOTIFICATIONS):
                    # membership's conclusions go to the manager within this step, in
                    # order; notifications also go out (a shell acts on a healed partition)
                    if told is None and not isinstance(action, Deliver):
                        told = getattr(action, "reason", None)
                    if not isinstance(action, Deliver):
                        out.append(action)
                    pending[0:0] = self.manager.handle(action, now)
                    continue
                out.append(action)
                if isinstance(action, TRANSITIONS):
                    self._record(action, now)
        decided = self.manager.decision_count != before
        if decided:
            reason = self.manager.last_decision
        elif told:
            reason = told
        else:
            reason = "no decision (%s)" % default
        if decided or told:
            self.last_reason, self.last_reason_at = reason, now
        return Step(out, reason)

    def _record(self, change, now):
        # type: (Any, float) -> None
        entry = {"at": now}  # type: Dict[str, Any]
        entry.update(change.to_dict())
        self.transitions.append(entry)
