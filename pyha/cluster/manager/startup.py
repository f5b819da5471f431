"""Start-up: `starting`, the first `resource` reports and RQSTDELAY.

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

A mixin of `Manager` (core.py says why); it holds no state of its own.
Pure, like the whole package: see `pyha.cluster.manager` for what it must never do.
"""

from typing import Optional

from pyha.cluster.events import DEBUG, ERROR, INFO
from pyha.cluster.manager.records import _Wait
from pyha.cluster.manager.states import (
    P_RUNNING, P_STARTING, P_WAITING, PEER_DEAD, PEER_LEFT, PEER_NEVER, PEER_UP, PROBE_CLAIM, RSC_WORDS,
    _RUNNING_STATES, SB_NONE, W_STARTUP,
)
from pyha.wire import vocabulary as words


class StartupMixin(object):
    """Handlers of start-up (see the module docstring)."""

    # membership notifications

    def _on_comm_up(self, ev, now):
        if self._phase != P_WAITING:
            return
        peer = self._peer
        if peer.state == PEER_UP:
            self._initial_note("comm_up", foreign=True)  # heartbeat: deadcount 0 at comm-up
        if self.config.nice_failback:
            self._send(words.starting())
            self._phase_to(P_STARTING, "communication is up; asked %s what it holds (starting)" % self.peer)
            self._rqst_deadline = now + self.config.rqst_delay_ms / 1000.0
            self._send_notes()
            if peer.state in (PEER_DEAD, PEER_LEFT, PEER_NEVER):
                self._startup_alone(ev.reason)
            elif peer.starting_seen:
                self._initial_note("HB_R_BOTHSTARTING", foreign=True)
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
            self._legacy.ask(mine)
            if mine:
                self._decide("asking %s to release my groups %s (legacy ip-request)" % (
                    self.peer, self._fmt(self._keys(groups=mine))))
        else:
            reason = "taking my groups %s: %s is not active yet (legacy start-up)" % (
                self._fmt(self._keys(groups=mine)), self.peer)
            self._legacy.take_own(mine, reason)

    def _send_self_resp(self, key):
        self._send(words.ip_request_resp(self.me, key, weown=True))

    def _startup_alone(self, why, fenced=None):
        # type: (str, Optional[str]) -> None
        """The peer is not up at comm-up: take every group, after fencing it when a device
        is configured and it did not leave cleanly (fence.py, start-up fencing; `fenced`:
        the gate's success, which calls this again)."""
        left = self._peer.state == PEER_LEFT
        if fenced is None and not left and self._fence.peer_unseen(why, self._now):
            return  # the gate calls back with `fenced` once the device put the peer off
        keys = self._keys(groups=self._groups.values())
        reason = "taking all groups %s: %s is %s at start-up (%s)%s" % (
            self._fmt(keys), self.peer, "dead" if not left else "gone", why, "; %s" % fenced if fenced else "")
        if self._phase == P_STARTING:
            self._phase_to(P_RUNNING, reason)
        self._claim({self.me, self.peer}, PROBE_CLAIM, reason)
        self._initial.alone = True
        self._waits.append(_Wait(W_STARTUP, keys))
        self._failback_needed = self.config.auto_failback == "on"
        self._decide(reason)

    def _startup_resume(self, now):
        # type: (float) -> None
        """Start-up fencing was dropped (the peer answered before it was fenced): go on
        with the start-up rules as if it had been up at comm-up."""
        peer = self._peer
        if self._phase == P_STARTING:
            if peer.starting_seen:
                self._startup_take("%s is starting too (its `starting` arrived), so it holds nothing" % self.peer)
            elif peer.holds is not None and peer.stable:
                self._startup_take("%s reported rsc_hold=%s and is stable" % (self.peer, peer.holds_word))
            else:
                self._send(words.starting())
                self._rqst_deadline = now + self.config.rqst_delay_ms / 1000.0
                self._asked_again = False
                self._decide("asked %s again what it holds (starting); RQSTDELAY starts afresh" % self.peer)
        elif not self.config.nice_failback and self._phase == P_RUNNING:
            mine = self._of({self.me})
            if peer.status == "active":
                self._legacy.ask(mine)
            else:
                self._legacy.take_own(mine, "taking my groups %s: %s is not active yet (legacy start-up)" % (
                    self._fmt(self._keys(groups=mine)), self.peer))

    def _startup_take(self, why):
        # type: (str) -> None
        if self._phase != P_STARTING or self._fence.blocking:
            return  # start-up fencing: nothing before the peer is off (fence.py)
        peer = self._peer
        mine = self._keys({self.me})
        if peer.holds is not None and self.me in peer.holds:
            reason = "not taking my groups %s: %s holds them (it reported rsc_hold=%s)" % (
                self._fmt(mine), self.peer, peer.holds_word)
            self._phase_to(P_RUNNING, reason)
            self._decide(reason)
            self._report(stable=True)
            # heartbeat: with auto_failback on our half waits for the failback
            self._initial_note("T_RESOURCES(them)", local=self.config.auto_failback != "on", foreign=True)
            return
        reason = "taking my groups %s: %s" % (self._fmt(mine), why)
        self._initial_note("T_RESOURCES(them)", foreign=True)
        self._phase_to(P_RUNNING, reason)
        self._claim({self.me}, PROBE_CLAIM, reason)
        for key in mine:
            self._send_self_resp(key)
        self._waits.append(_Wait(W_STARTUP, mine))
        self._decide(reason)

    def _should_ask_again(self):
        # type: () -> bool
        return (self._phase == P_STARTING and self._rqst_deadline is not None and not self._asked_again
                and self._peer.state == PEER_UP and self._peer.holds is None and not self._peer.starting_seen)

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
        peer.holds_word = words.RSC_NONE
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
            self._initial_note("HB_R_BOTHSTARTING", foreign=True)
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
        cats = self._rsc.cats(word, self.peer)
        if peer.gave is not None and seq is not None and peer.gave[1] is not None and seq < peer.gave[1]:
            cats = cats - peer.gave[0]  # sent before it said `done` for these
        if full:
            holds = cats
        elif not cats:
            holds = set()
        else:
            holds = set(peer.holds or ()) | cats  # heartbeat's partial update (mach_down)
        peer.holds = holds
        peer.holds_word = self._rsc.word(holds, self.peer)
        peer.holds_at = now
        stable = fields.get("isstable")
        if stable == "1":
            peer.stable = True
        elif stable is not None:
            peer.stable = False
        self._overlap_reply = True
        info = fields.get("info")
        if info == "standby":
            self._standby_giver_started(now)
        if info == "shutdown":
            peer.leaving = True
            self._decide("%s is shutting down and releasing its groups; waiting for its shutdone "
                         "before taking them" % self.peer)
        if self._phase == P_STARTING:
            if self.config.auto_failback == "off":
                self._initial_note("T_RESOURCES", foreign=True)
            if self.me in holds:
                self._startup_take("%s holds them" % self.peer)
            elif peer.stable:
                self._startup_take("%s reported rsc_hold=%s and is stable" % (self.peer, word))

    # heartbeat's "Initial resource acquisition complete (<reason>)" (initial.py)

    def _initial_note(self, reason, local=False, foreign=False):
        # type: (str, bool, bool) -> None
        line = self._initial.note(reason, local, foreign)
        if line is not None:
            self._log(INFO, line)

    def _initial_acquired(self, takeover):
        # type: (bool) -> None
        """Our own acquisition (start-up or takeover from a dead peer) is done."""
        mach_down = takeover or self._initial.alone
        if self.config.nice_failback:
            self._initial_note("T_RESOURCES(us)", local=True)
            if mach_down:
                self._initial_note("mach_down", foreign=True)
        else:
            self._initial_note("req_our_resources", local=True)
            if mach_down:
                self._initial_note("status", foreign=True)
