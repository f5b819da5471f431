"""The fence gate: a dead peer that may hold resources is fenced before anything is taken over.

Heartbeat 3 (hb_resource.c, spec/fencing.md): when the peer is declared dead and may hold
resources, the node resets it through its STONITH device and takes over only after the
reset succeeded; a failed reset is logged ("STONITH of NODE failed.  Retrying...") and
retried every 5 s with no takeover meanwhile; with no device it logs "No STONITH device
configured." and takes over; the result goes out as `t=stonith node=X result=...`.
pyha does the same, and makes the wait visible:

* When.  For every peer declared dead (membership's deadtime) that did not leave cleanly:
  a peer that said `shutdone` is not fenced (`result=unneeded`, takeover at once, as
  without a device).  Heartbeat also skips a peer heard to hold nothing; pyha does not:
  when only the heartbeat links are cut, that peer is alive, declares us dead too and,
  with a device of its own, fences us after its delay and takes everything over.  The
  node that runs the service fencing first is what keeps it running (the race below),
  and a peer is never safely idle when it may have been acquiring a group (isstable=0),
  was leaving without `shutdone` or was in a standby exchange.  The decision says which.
* With what.  `ManagerConfig.fence_device` says whether a device exists (the daemon knows
  which, `pyha.fencing`); None keeps today's behaviour byte for byte: `n_stnth` or
  `unneeded`, takeover at once.
* Who first.  Before its first attempt the gate waits `fence_delay_ms` (the daemon gives
  the non-preferred node `fence_delay`, the preferred node 0, `FenceConfig.delay_for`):
  when a cut heartbeat link makes both nodes declare each other dead, the preferred node
  fences first and the other is off before its own delay ends.
* Until when.  `FencePeer(node, reason)` goes to the shell, which answers
  `Fenced(node, ok, detail)`.  Success: `result=OK` on the wire, then the takeover.
  Failure: `result=bad` (once per episode), the reason in the step and in `pyha status`
  ("fencing ha2 failed: ...; retrying in 5 s; not taking over"), another attempt after
  `fence_retry_ms`.  While the gate waits, `Manager._claim` refuses every claim (start-up,
  operator takeover, rules), so no path takes a group around it.
* The peer answers again.  Heartbeat's STONITH child does not look back: it resets the
  node and the takeover follows, even if the node spoke meanwhile.  pyha is more careful
  about a node that answered, since then nothing proves it is gone: heard again before a
  call started (during the delay or between retries), the fencing is dropped and nothing
  is taken over (the healed partition is resolved as any other).  A call already running
  cannot be taken back (a BMC may be powering the node off): its result decides.
  Success means the device put the node off or reset it, so the takeover goes ahead
  (its resources stopped with it); failure ends the episode without retry or takeover.
  A node fenced and not heard since needs no second fence when membership declares it
  dead again (`result=OK`, takeover).

* Start-up fencing.  A node that starts alone (the peer never heard within initdead, or
  heard and silent again before communication was up) knows nothing of what the peer
  holds: it may have run everything since we crashed, and only the links are cut.
  Heartbeat 3.0.6 fences it then too: at initdead `check_for_timeouts` (heartbeat.c)
  marks the silent node dead, `mark_node_dead` calls `hb_rsc_recover_dead_resources`
  (hb_resource.c), where `anypacketsyet` is 0, so `need_stonith` stays TRUE and
  `Initiate_Reset` runs; `takeover_from_node`, which also calls
  `req_our_resources(TRUE)`, follows only when the reset succeeded (`StonithProcessDied`;
  a failure is retried every 5 s).  Until then the node takes nothing, not even its
  own groups: its own `starting` never counts (`process_resources` ignores T_STARTING
  from itself), so its resource state stays HB_R_STARTING.  Pacemaker does the same
  (startup-fencing, default true: a node never seen is fenced before resources that may
  run there start).  pyha: `peer_unseen` starts the same episode (fence_delay, retries,
  `t=stonith`) before the start-up takeover of every group, own groups included;
  success takes them all (`Manager._startup_alone`).  No switch: heartbeat does it
  whenever a device is configured.  The peer heard during the delay or between retries:
  the fencing is dropped and the start-up rules go on as if it had been up all along
  (`Manager._startup_resume`: its `starting` or stable report, else `starting` again and
  RQSTDELAY afresh).  Heard while the call runs: the call's result decides, as above.

A collaborator of `Manager` with its own state (core.py says why); it acts through the
Manager's `_decide`, `_log`, `_send_stonith`, `_takeover` and `_out`.  Every change of its
state goes through `_to`, which adds a `FenceStateChanged`.
Pure, like the whole package: see `pyha.cluster.manager` for what it must never do.
"""

from typing import Any, Dict, Optional

from pyha.cluster.events import DEBUG, ERROR, INFO, WARNING
from pyha.cluster.manager.states import _EPS, P_STOPPED, P_STOPPING, SB_NONE
from pyha.cluster.manager_events import FencePeer, FenceStateChanged

F_IDLE = "idle"          # nothing to fence
F_DELAYING = "delaying"  # fence_delay before the first attempt
F_FENCING = "fencing"    # a call is running (FencePeer sent, Fenced awaited)
F_FAILED = "failed"      # the last attempt failed; the next one is due at `due`
F_FENCED = "fenced"      # the device did it: the peer is off (until it is heard again)
FENCE_STATES = (F_IDLE, F_DELAYING, F_FENCING, F_FAILED, F_FENCED)
_WAITING = (F_DELAYING, F_FENCING, F_FAILED)


def why_fence(m):
    # type: (Any) -> str
    """Why the dead peer must be fenced, in a few words for the decision."""
    peer = m._peer
    if peer.holds is None:
        return "it never said what it holds"
    if m._keys(peer.holds):  # categories with groups (an empty category holds nothing)
        return "it held %s" % m._fmt(m._keys(peer.holds))
    if peer.running is not None and peer.running[0]:
        return "it ran %s" % m._fmt(sorted(peer.running[0]))
    if not peer.stable:
        return "it was in flux (isstable=0) and may have been acquiring a group"
    if peer.leaving:
        return "it announced a shutdown but never said shutdone"
    if m._sb.state != SB_NONE:
        return "a standby exchange with it was under way"
    return "it held nothing, but if only the links are cut it fences us after its delay"


class FenceGate(object):
    """Fencing of the one peer: when to ask, what came back, when to take over."""

    def __init__(self, m):
        # type: (Any) -> None
        self._m = m
        cfg = m.config
        self.device = cfg.fence_device  # type: Optional[str]
        self.delay_s = cfg.fence_delay_ms / 1000.0
        self.retry_s = cfg.fence_retry_ms / 1000.0
        self.state = F_IDLE
        self.reason = None      # type: Optional[str]  # the last state change, and why
        self.since = None       # type: Optional[float]
        self.due = None         # type: Optional[float]  # delaying/failed: the next attempt
        self.attempts = 0       # in this episode
        self.last_error = None  # type: Optional[str]
        self.answered = False   # the peer was heard while a call ran
        self.death = None       # type: Optional[str]  # membership's reason, for the takeover
        self.fenced_at = None   # type: Optional[float]  # success, not heard since
        self.startup = False    # this episode is start-up fencing (success: the start-up takeover)

    @property
    def blocking(self):
        # type: () -> bool
        """Nothing may be claimed while this is True."""
        return self.state in _WAITING

    def waiting_for(self):
        # type: () -> str
        return "waiting for the fencing of %s (%s)" % (self._m.peer, self.state)

    def _to(self, new, reason):
        # type: (str, str) -> None
        m = self._m
        if new != self.state:
            m._out.append(FenceStateChanged(m.peer, self.state, new, reason))
            m._log(DEBUG, "fencing of %s: %s -> %s: %s" % (m.peer, self.state, new, reason))
        self.state = new
        self.reason = reason
        self.since = m._now

    # --- inputs --------------------------------------------------------------------------

    def reconfigure(self, device, delay_ms):
        # type: (Optional[str], int) -> bool
        """A reload (SIGHUP) changed the peer's device or fence_delay (`FenceSettings`).
        A new device or delay applies from the next call on (a call that runs keeps its
        device; a delay already counting keeps its end), so an operator can fix a broken
        device while the gate retries.  Refused, the old settings kept: taking the
        device away while an episode is under way, since the gate would then have nothing
        to wait for and the takeover would go ahead unfenced.  True when applied."""
        m = self._m
        delay_s = max(0, int(delay_ms or 0)) / 1000.0
        if device == self.device and abs(delay_s - self.delay_s) < 1e-9:
            return True
        if device is None and self.blocking:
            m._log(ERROR, "reload: fencing settings not changed: the new configuration has no fence device for %s, "
                          "but its fencing with %s is under way (%s); without a device the takeover would go "
                          "ahead unfenced.  Keeping %s; restart pyha to drop it" % (
                              m.peer, self.device, self.state, self.device))
            return False
        was = (self.device, self.delay_s)
        self.device = device
        self.delay_s = delay_s
        if device is None:
            m._log(WARNING, "reload: no fence device for %s any more (was %s): a dead peer is taken over without "
                            "fencing" % (m.peer, was[0]))
            if self.state != F_IDLE:
                self._to(F_IDLE, "no fence device any more (reload)")
            self.fenced_at = None
            return True
        m._log(WARNING if was[0] != device else INFO,
               "reload: %s is fenced with %s (was %s), fence_delay %g s (was %g s)%s" % (
                   m.peer, device, was[0] or "no device", delay_s, was[1],
                   "; the next attempt of the fencing under way uses it" if self.blocking else ""))
        return True

    def peer_dead(self, why, now):
        # type: (str, float) -> bool
        """The peer was declared dead (not after shutdone).  True when the gate handles
        it (fencing first); False: no device or nothing to protect, take over as before."""
        m = self._m
        if self.device is None or m._phase in (P_STOPPING, P_STOPPED):
            return False
        if self.blocking:
            return True
        if self.fenced_at is not None:
            m._send_stonith("OK")
            m._takeover("because %s (fenced at %.1f and silent since)" % (why, self.fenced_at), graceful=False)
            return True
        self._begin(why, why_fence(m), False, now)
        return True

    def peer_unseen(self, why, now):
        # type: (str, float) -> bool
        """We start alone: the peer was not heard at comm-up (never, or dead again; not
        after shutdone).  True when the gate fences it before the start-up takeover (which
        it then does through `Manager._startup_alone`); False: no device, take as before."""
        m = self._m
        if self.device is None or m._phase in (P_STOPPING, P_STOPPED):
            return False
        if self.blocking:
            return True
        self._begin(why, "nothing says what it holds (it may run every group, cut off from us)", True, now)
        return True

    def _begin(self, why, risk, startup, now):
        # type: (str, str, bool, float) -> None
        """A new episode: fence_delay first, or the first call at once."""
        m = self._m
        self.death = why
        self.startup = startup
        self.attempts = 0
        self.answered = False
        self.last_error = None
        if startup:
            head = "%s was not heard at start-up (%s) and %s" % (m.peer, why, risk)
            taking = "taking any group, my own included (start-up fencing)"
        else:
            head = "%s is dead (%s) and %s" % (m.peer, why, risk)
            taking = "taking over"
        if self.delay_s > 0:
            self.due = now + self.delay_s
            reason = "%s: fencing it with %s in %g s (fence_delay: the preferred node fences first); not %s " \
                     "until then" % (head, self.device, self.delay_s, taking)
            self._to(F_DELAYING, reason)
            m._decide(reason, WARNING)
        else:
            self._call("%s: fencing it with %s before %s" % (head, self.device, taking))

    def _held_back(self):
        # type: () -> str
        """What the episode keeps us from taking, after "not taking" / "before taking"."""
        return "any group (start-up fencing)" if self.startup else "over"

    def _dropped(self, reason, level):
        # type: (str, int) -> None
        """The episode ends without a takeover; a start-up one lets the start-up rules go on."""
        self.due = None
        self._to(F_IDLE, reason)
        self._m._decide(reason, level)
        if self.startup:
            self.startup = False
            self._m._startup_resume(self._m._now)

    def _call(self, reason):
        # type: (str) -> None
        m = self._m
        self.attempts += 1
        self.due = None
        self._to(F_FENCING, reason)
        m._out.append(FencePeer(m.peer, reason))
        m._decide(reason, WARNING)

    def peer_back(self, why):
        # type: (str) -> None
        """The peer is heard again (membership or its own messages)."""
        m = self._m
        self.fenced_at = None
        if self.state in (F_DELAYING, F_FAILED):
            reason = "%s answers %s (%s) before it was fenced: no fencing and no takeover" % (
                m.peer, "at start-up" if self.startup else "again", why)
            self._dropped(reason, WARNING)
        elif self.state == F_FENCING and not self.answered:
            self.answered = True
            m._log(WARNING, "%s answers again (%s) while the fence call runs: the device's result decides" % (
                m.peer, why))
        elif self.state == F_FENCED:
            # The episode is over: status must not say "fenced" of a node that runs again.
            self._to(F_IDLE, "%s is back (%s) after it was fenced" % (m.peer, why))
            m._log(INFO, self.reason or "")

    def on_fenced(self, ev, now):
        # type: (Any, float) -> None
        m = self._m
        if not isinstance(ev.node, str) or ev.node.lower() != m.peer or self.state != F_FENCING:
            m._log(WARNING, "fence result for %r ignored (fencing of %s is %s)" % (ev.node, m.peer, self.state))
            return
        detail = str(ev.detail or "").strip()
        if ev.ok:
            self.fenced_at = now
            reason = "%s fenced by %s%s" % (m.peer, self.device, ": %s" % detail if detail else "")
            self._to(F_FENCED, reason)
            m._send_stonith("OK")
            if m._phase in (P_STOPPING, P_STOPPED):
                m._decide("%s; not taking over: we are shutting down" % reason)
                return
            if self.startup:
                self.startup = False
                m._startup_alone(self.death, fenced=reason)
            else:
                m._takeover("because %s; %s" % (self.death, reason), graceful=False)
            return
        self.last_error = detail or "the device gave no reason"
        if self.attempts == 1:
            m._send_stonith("bad")
        if self.answered or m._phase in (P_STOPPING, P_STOPPED):
            why = "%s answered meanwhile" % m.peer if self.answered else "we are shutting down"
            reason = "fencing %s failed: %s; %s: not retrying, not taking over" % (m.peer, self.last_error, why)
            self._dropped(reason, ERROR)
            return
        self.due = now + self.retry_s
        reason = "fencing %s failed: %s; retrying in %g s; not taking %s (attempt %d)" % (
            m.peer, self.last_error, self.retry_s, self._held_back(), self.attempts)
        self._to(F_FAILED, reason)
        m._decide(reason, ERROR)

    def tick(self, now):
        # type: (float) -> None
        if self.state not in (F_DELAYING, F_FAILED) or self.due is None:
            return
        m = self._m
        if m._phase in (P_STOPPING, P_STOPPED):
            self.due = None
            self.startup = False
            self._to(F_IDLE, "fencing of %s dropped: we are shutting down" % m.peer)
            m._log(INFO, self.reason or "")
            return
        if now < self.due - _EPS:
            return
        if self.state == F_DELAYING:
            self._call("fence_delay over: fencing %s with %s before taking %s" % (
                m.peer, self.device, self._held_back()))
        else:
            self._call("fencing %s with %s again (attempt %d; last: %s)" % (
                m.peer, self.device, self.attempts + 1, self.last_error))

    def next_deadline(self):
        # type: () -> Optional[float]
        return self.due if self.state in (F_DELAYING, F_FAILED) else None

    def to_dict(self):
        # type: () -> Dict[str, Any]
        return {"device": self.device, "state": self.state, "since": self.since, "reason": self.reason,
                "attempts": self.attempts, "last_error": self.last_error, "next_attempt": self.next_deadline(),
                "delay_s": self.delay_s, "retry_s": self.retry_s, "fenced_at": self.fenced_at,
                "blocking_takeover": self.blocking, "startup": self.startup}
