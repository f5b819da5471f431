"""Everything timed: the deadlines checked after every input, and `next_deadline()`.

Heal re-report, standby deadlines, RQSTDELAY and its halfway re-ask, pre-warn probes,
stop retries; `next_deadline()` lists every instant that any part of the manager waits
for (probes, ping give-up, carrier retries too) so the shell ticks exactly then.

A mixin of `Manager` (core.py says why); it holds no state of its own.
Pure, like the whole package: see `pyha.cluster.manager` for what it must never do.
"""

from typing import Optional

from pyha.cluster.events import ERROR, INFO, WARNING
from pyha.cluster.manager.states import (
    _EPS, G_HELD, G_PROBING, G_RELEASING, G_STUCK, P_RUNNING, P_STARTING, PEER_UP, SB_ACCEPTED, SB_ASKED,
    SB_NONE,
)
from pyha.cluster.manager_events import Release
from pyha.wire import vocabulary as words


class TimersMixin(object):
    """Timed steps and the next deadline."""

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
            elif sb.state == SB_ACCEPTED and not sb.giver_started:
                reason = ("%s did not start releasing [%s] within %d ms of our `other` (it may have "
                          "dropped its own request as 'Other side is in flux'): exchange abandoned" % (
                              self.peer, sb.word, self.config.standby_timeout_ms))
                self._sb_to(SB_NONE, reason)
                self._peer.stable = True  # as heartbeat's standby timer: it never started moving
                self._decide(reason, WARNING)
                self._report(stable=self._stable())
            else:
                reason = "the standby exchange with %s (%s) did not finish in %d s: abandoned" % (
                    self.peer, sb.state, self.config.standby_resource_timeout_ms // 1000)
                self._sb_to(SB_NONE, reason)
                self._decide(reason, ERROR)
        if self._should_ask_again() and now >= self._rqst_deadline - self.config.rqst_delay_ms / 2000.0 - _EPS:
            # Nothing from it yet: our `starting` may have been lost (see _on_node_restarted).
            self._asked_again = True
            self._log(INFO, "no answer from %s to starting yet: asking again" % self.peer)
            self._send(words.starting())
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
        if self._arb.carrier_next_try is not None and any(
                g.state == G_HELD and g.key in self._arb.links_down for g in self._groups.values()):
            cands.append(self._arb.carrier_next_try)
        if self._arb.ping_worse_since is not None:
            cands.append(self._arb.ping_worse_since + self.config.ping_giveup_delay_ms / 1000.0)
            if self._arb.ping_next_try is not None:
                cands.append(self._arb.ping_next_try)
        if self._fence.next_deadline() is not None:
            cands.append(self._fence.next_deadline())
        for g in self._groups.values():
            if g.state == G_STUCK and g.retry_at is not None:
                cands.append(g.retry_at)
            if g.state == G_PROBING:
                cands.extend(self._timing.next_instants(g.probe))
        # Only future instants: whatever is due now was handled by the call that just ran.
        cands = [c for c in cands if c > now + _EPS]
        return min(cands) if cands else None
