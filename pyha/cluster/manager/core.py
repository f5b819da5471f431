"""`Manager`: the resource manager's state, its transitions and the input loop.

`handle(event, now)` routes one input to its handler (the mixins listed in the package
docstring), then runs `_progress`: timers, moving groups, waits and the rules ladder
until nothing changes.  Every state change goes through `_phase_to`, `_group_to`, `_sb_to`
or `_peer_to` (peer.py), each logging it as before and adding its typed event
(`PhaseChanged`, `GroupStateChanged`, `StandbyStateChanged`, `NodeStateChanged`) to the
actions; every decision goes through `_decide`.

Mixins where the state is shared, collaborators where it is their own.  The handlers in
startup, peer, standby, compat (ipfail, pyha's words), witness, commands, groups and
timers all read and change the same state (the group table, the peer record, the phase,
the standby record, the arbitration state, the output queue), so an object of their own
would need most of the Manager: they are mixins, every field lives in `Manager.__init__`
and the mixins hold none.  A job whose state is its own is an object the Manager owns,
with a small interface: `ProbeTiming` (timing.py, the VIP witness's arithmetic),
`RscWords` (compat.py, rsc_hold words), `InitialAcquisition` (initial.py, heartbeat's
start line), `HealResolution` (heal.py, a healed partition's end), `FenceGate` (fence.py,
fencing a dead peer before a takeover), `LegacyFailback`
(legacy.py, the ip-request exchange's bookkeeping; it acts through `_claim`, `_unclaim`,
`_decide`, `_send`) and `ServiceHealth` (health.py, the restart / hand-over policy's
counters and restarts in flight; it acts through `_decide`, `_send`, `_start_standby`).
The rules ladder (rules.py) and the status view (view.py) are plain functions of the
Manager.

Pure, like the whole package: see `pyha.cluster.manager` for what it must never do.
"""

import math
from collections import deque, OrderedDict
from typing import Any, Callable, Dict, Iterable, List, Optional, Set, Tuple

from pyha.cluster.events import (
    DEBUG, INFO, CommUp, Deliver, LinkDead, LinkUp, Log, NodeDead, NodeLeft, NodeRestarted, NodeStatus,
    NodeUp, NodeWarn, PartitionHealed, PingDead, PingUp, Send, Tick,
)
from pyha.cluster.manager import rules, view
from pyha.cluster.manager.commands import CommandsMixin
from pyha.cluster.manager.compat import CompatMixin, RscWords
from pyha.cluster.manager.config import ManagerConfig
from pyha.cluster.manager.fence import FenceGate
from pyha.cluster.manager.groups import GroupsMixin
from pyha.cluster.manager.heal import HealResolution
from pyha.cluster.manager.health import ServiceHealth
from pyha.cluster.manager.initial import InitialAcquisition
from pyha.cluster.manager.legacy import LegacyFailback
from pyha.cluster.manager.peer import PeerMixin
from pyha.cluster.manager.records import _Arbitration, _Group, _Peer, _Standby, _Wait
from pyha.cluster.manager.standby import StandbyMixin
from pyha.cluster.manager.startup import StartupMixin
from pyha.cluster.manager.states import (
    G_ACQUIRING, G_IDLE, G_PROBING, G_RELEASING, _GROUP_FROM, P_RUNNING,
    P_STOPPED, P_STOPPING, P_WAITING, PEER_UP, _PHASE_FROM, _SB_FROM, SB_NONE, W_STANDBY_ACQUIRE,
    W_STANDBY_RELEASE, IllegalTransition,
)
from pyha.cluster.manager.timers import TimersMixin
from pyha.cluster.manager.timing import ProbeTiming
from pyha.cluster.manager.witness import WitnessMixin
from pyha.cluster.manager_events import (
    CMD_SHUTDOWN, CMD_STANDBY, CMD_TAKEOVER, CheckFailed, CommandResult, Fenced, FenceSettings, GroupAcquired,
    GroupAcquireFailed,
    GroupReleased, GroupReleaseFailed, GroupStateChanged, PhaseChanged, Shutdown, Standby,
    ResourceRestarted, StandbyStateChanged, Takeover, VipAnswered, VipConflict, VipFree, VipLink,
)
from pyha.wire import vocabulary as words


class Manager(StartupMixin, PeerMixin, StandbyMixin, CompatMixin, WitnessMixin, CommandsMixin, GroupsMixin, TimersMixin):
    """The resource manager for the local node (see the package docstring)."""

    def __init__(self, config, send=None):
        # type: (ManagerConfig, Optional[Callable[..., Send]]) -> None
        """`send`: membership's `send(fields)` so our messages are numbered by the same
        counter as membership's (required by retransmission); without it, `Send` actions
        carry seq=None and the shell must number them."""
        self.config = config
        self.me = config.local
        self._send_fn = send
        self._keepalive_s = config.keepalive_ms / 1000.0
        self._timing = ProbeTiming(config)  # the VIP witness's arithmetic
        self._initial = InitialAcquisition()  # heartbeat's "Initial resource acquisition complete"
        self._heal = HealResolution()  # "Partition with X resolved" (heal.py)
        self._legacy = LegacyFailback(self)  # auto_failback legacy's ip-request exchange
        self._fence = FenceGate(self)  # fencing a dead peer before any takeover (fence.py)
        self._health = ServiceHealth(self)  # pyha.cf monitors: restart in place or hand over
        self._groups = OrderedDict((g.key, _Group(g)) for g in config.groups)  # type: Dict[str, _Group]
        self._peer = _Peer(config.peer)
        self._rsc = RscWords(self.me, config.peer)  # rsc_hold words <-> categories
        self._sb = _Standby()
        self._now = None  # type: Optional[float]
        self._out = []  # type: List[Any]
        self._phase = P_WAITING
        self._phase_reason = "waiting for communication to come up"
        self._cats = set()  # type: Set[str]  # categories (preferred nodes) we are responsible for
        self._waits = []  # type: List[_Wait]
        self._rqst_deadline = None  # type: Optional[float]
        self._failback_needed = False
        self._arb = _Arbitration()  # ping and carrier arbitration
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

    def _my_ping(self):
        # type: () -> int
        return len(self._arb.ping_up)

    # --- transitions (the only places states change) -------------------------------------

    def _phase_to(self, new, reason):
        # type: (str, str) -> None
        if self._phase not in _PHASE_FROM[new]:
            raise IllegalTransition("phase %s -> %s (%s)" % (self._phase, new, reason))
        old, self._phase = self._phase, new
        self._phase_reason = reason
        self._log(DEBUG, "resource phase now %s: %s" % (new, reason))
        self._out.append(PhaseChanged(old, new, reason))

    def _group_to(self, g, new, reason):
        # type: (_Group, str, str) -> None
        if g.state not in _GROUP_FROM[new]:
            raise IllegalTransition("group %s: %s -> %s (%s)" % (g.key, g.state, new, reason))
        self._log(DEBUG, "group %s: %s -> %s: %s" % (g.key, g.state, new, reason))
        self._out.append(GroupStateChanged(g.key, g.state, new, reason))
        g.state = new
        g.since = self._now
        g.note = reason

    def _sb_to(self, new, reason):
        # type: (str, str) -> None
        if self._sb.state not in _SB_FROM[new]:
            raise IllegalTransition("standby %s -> %s (%s)" % (self._sb.state, new, reason))
        self._log(DEBUG, "standby exchange %s -> %s: %s" % (self._sb.state, new, reason))
        self._out.append(StandbyStateChanged(self._sb.state, new, reason))
        self._sb.state = new
        self._sb.reason = reason
        if new == SB_NONE:
            self._sb.word = None
            self._sb.cats = set()
            self._sb.deadline = None
            self._sb.why = None
            self._sb.giver_started = False
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
        if self._fence.blocking:
            self._log(INFO, "not taking %s: %s" % (self._fmt(self._keys(cats, groups)), self._fence.waiting_for()))
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
        word = self._rsc.word(self._reported_cats(announce))
        self._send(words.resource(word, stable, info))
        self._last_report = (word, bool(stable))
        # rsc_hold cannot say "one of my two groups": tell a pyha peer exactly (a genuine
        # node ignores the unknown type, spec 1.7).
        self._send(words.pyha_groups(self._running_keys(announce)))

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
            getattr(self, handler)(event, now)
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

    def _on_tick(self, ev, now):
        pass  # timers are handled in _progress

    def _on_fenced(self, ev, now):
        self._fence.on_fenced(ev, now)

    def _on_fence_settings(self, ev, now):
        self._fence.reconfigure(ev.device, ev.delay_ms)

    def _on_check_failed(self, ev, now):
        self._health.on_check_failed(ev, now)

    def _on_restarted(self, ev, now):
        self._health.on_restarted(ev, now)

    _HANDLERS = {
        CommUp: "_on_comm_up",
        NodeUp: "_on_node_up",
        NodeStatus: "_on_node_status",
        NodeWarn: "_on_node_warn",
        NodeDead: "_on_node_dead",
        NodeLeft: "_on_node_left",
        NodeRestarted: "_on_node_restarted",
        PartitionHealed: "_on_partition_healed",
        PingUp: "_on_ping_change",
        PingDead: "_on_ping_change",
        Deliver: "_on_deliver",
        GroupAcquired: "_on_acquired",
        GroupAcquireFailed: "_on_acquire_failed",
        GroupReleased: "_on_released",
        GroupReleaseFailed: "_on_release_failed",
        VipFree: "_on_vip_free",
        VipAnswered: "_on_vip_answered",
        VipConflict: "_on_vip_conflict",
        VipLink: "_on_vip_link",
        Standby: "_on_standby_cmd",
        Takeover: "_on_takeover_cmd",
        Shutdown: "_on_shutdown",
        Fenced: "_on_fenced",
        FenceSettings: "_on_fence_settings",
        Tick: "_on_tick",
        CheckFailed: "_on_check_failed",
        ResourceRestarted: "_on_restarted",
        LinkUp: None,
        LinkDead: None,
    }

    # --- after every input: timers, group driving, waits, policy ---------------------------

    def _progress(self, now):
        self._timers(now)
        self._fence.tick(now)
        for _ in range(8):
            self._retry_pending_me(now)
            changed = self._drive_groups(now)
            changed = self._fire_waits(now) or changed
            changed = self._policy(now) or changed
            if not changed:
                break
        self._overlap_reply = False  # only the input that brought the report may answer it
        self._stability_report()
        resolved = self._heal.line(self)
        if resolved:
            self._log(INFO, resolved)

    def _policy(self, now):
        # type: (float) -> bool
        """Decisions that come from the situation rather than from one input (rules.py)."""
        return rules.run(self, now)

    def _stability_report(self):
        """A peer that last heard isstable=0 from us must hear when we are stable again."""
        if (self.config.nice_failback and self._last_report is not None and not self._last_report[1]
                and self._phase == P_RUNNING and self._peer.state == PEER_UP and self._stable()):
            self._report(stable=True)

    def snapshot(self, now=None):
        # type: (Optional[float]) -> Dict[str, Any]
        """A JSON-able picture for `pyha status` (view.py)."""
        return view.snapshot(self)
