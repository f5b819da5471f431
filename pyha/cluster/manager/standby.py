"""The standby exchange (spec 5.4) in both roles, and `hb_takeover`.

Protocol (spec 1.7, 5.2-5.8, Appendix A), in heartbeat's own message shapes:
* auto_failback on/off ("nice_failback"): `starting` at comm-up; `resource rsc_hold=...
  rtype=full isstable=0|1 [info=...]` reports; the standby exchange `ask_resources
  rsc_hold=S info=me|other|done` in both roles; `hb_takeover` mapped all->all,
  local->foreign, foreign->local; graceful stop = `resource rsc_hold=none ... info=shutdown`,
  release everything, then `shutdone st=dead`.  auto_failback on: the holder of the peer's
  groups gives them back with `ask_resources rsc_hold=foreign info=me` once the peer is
  back and stable.

A mixin of `Manager` (core.py says why); it holds no state of its own.
Pure, like the whole package: see `pyha.cluster.manager` for what it must never do.
"""

from typing import Tuple

from pyha.cluster.events import DEBUG, ERROR, INFO, WARNING
from pyha.cluster.manager.records import _Wait
from pyha.cluster.manager.states import (
    _EPS, P_RUNNING, P_STOPPED, P_STOPPING, PEER_UP, PROBE_HOLDER, PROBE_NONE, RSC_WORDS, _RUNNING_STATES,
    SB_ACCEPTED, SB_ACQUIRING, SB_ASKED, SB_NONE, SB_RELEASED, SB_RELEASING, W_STANDBY_ACQUIRE,
    W_STANDBY_RELEASE,
)
from pyha.wire import vocabulary as words


class StandbyMixin(object):
    """The standby exchange, as giver (R) and taker (O)."""

    def _on_ask_resources(self, fields, now, seq=None):
        info = fields.get("info")
        word = fields.get("rsc_hold") or words.RSC_ALL
        if info is None or word not in RSC_WORDS + (words.RSC_FAILBACK,):
            self._log(ERROR, "Received standby message without valid info/rsc_hold from %s" % self.peer)
            return
        if word == words.RSC_FAILBACK:
            word = words.RSC_FOREIGN
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
                    peer.holds_word = self._rsc.word(peer.holds, self.peer)
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
        cats = self._rsc.cats(word, self.peer)
        failed = [g for g in self._of(cats) if g.failed is not None and g.state not in _RUNNING_STATES]
        if failed:
            self._decide("%s  %s failed to start here (%s); not taking it back (run `pyha takeover` "
                         "here to try again)" % (prefix, self._fmt(self._keys(groups=failed)),
                                                 failed[0].failed["error"]), WARNING)
            return
        unhealthy = self._health.refusal(self._of(cats), now)
        if unhealthy:
            self._decide("%s  %s" % (prefix, unhealthy), WARNING)
            return
        dark = [g for g in self._of(cats) if g.key in self._arb.links_down]
        if dark:
            self._decide("%s  %s cannot be served here: %s has no carrier" % (
                prefix, self._fmt(self._keys(groups=dark)), self._arb.links_down[dark[0].key]), WARNING)
            return
        sb.word = word
        sb.cats = cats
        sb.why = "peer"
        # R announces its release (`resource ... info=standby`) at once on our `other`; if that
        # does not come, R dropped its own request (genuine heartbeat does when it thinks us
        # in flux, and then ignores our `other`), and waiting an hour for its `done` as
        # heartbeat does would leave both nodes "in transition" that long.
        sb.deadline = now + self.config.standby_timeout_ms / 1000.0
        reason = "%s wants to go standby [%s]: accepting, I will take %s" % (
            self.peer, word, self._fmt(self._keys(cats)))
        self._sb_to(SB_ACCEPTED, reason)
        peer.stable = False
        self._send(words.ask_resources(word, words.ASK_OTHER))
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

    def _standby_giver_started(self, now):
        """R's `resource ... info=standby`: its release began, so its `done` may take as long
        as its stop scripts do."""
        sb = self._sb
        if sb.state == SB_ACCEPTED and not sb.giver_started:
            sb.giver_started = True
            sb.deadline = now + self.config.standby_resource_timeout_ms / 1000.0
            self._log(DEBUG, "%s started releasing %s for us" % (self.peer, self._fmt(self._keys(sb.cats))))

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
        sb.cats = self._rsc.cats(word, self.me)
        sb.why = why
        sb.deadline = self._now + self.config.standby_timeout_ms / 1000.0
        text = "%s: %s wants to go standby [%s], asking %s to take %s" % (
            reason, self.me, word, self.peer, self._fmt(self._keys(sb.cats)))
        self._sb_to(SB_ASKED, text)
        self._send(words.ask_resources(word, words.ASK_ME))
        self._decide(text)
        return True, text

    def _on_hb_takeover(self, fields, now):
        word = fields.get("rsc_hold") or words.RSC_ALL
        mapped = {words.RSC_ALL: words.RSC_ALL, words.RSC_LOCAL: words.RSC_FOREIGN, words.RSC_FOREIGN: words.RSC_LOCAL,
                  words.RSC_FAILBACK: words.RSC_FOREIGN}.get(word)
        if mapped is None:
            self._log(ERROR, "hb_takeover from %s with bad rsc_hold %r ignored" % (self.peer, word))
            return
        ok, why = self._start_standby(mapped, "%s asked to take over [%s] (hb_takeover)" % (self.peer, word),
                                      "hb_takeover")
        if not ok:
            self._decide("hb_takeover [%s] from %s refused: %s" % (word, self.peer, why), WARNING)

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
