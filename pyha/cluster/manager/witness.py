"""The VIP as last witness: probes, answers, conflicts and carrier changes.

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

A mixin of `Manager` (core.py says why); it holds no state of its own.  The arithmetic
(runs of free answers, when to probe, how long to wait) is `ProbeTiming`'s (timing.py).
Pure, like the whole package: see `pyha.cluster.manager` for what it must never do.
"""

from typing import Optional

from pyha.cluster.events import DEBUG, INFO, WARNING
from pyha.cluster.manager.records import _Group
from pyha.cluster.manager.states import (
    G_ACQUIRING, G_HELD, G_IDLE, G_PROBING, G_RELEASING, P_RUNNING, P_STARTING, P_STOPPED, P_STOPPING,
    PEER_DEAD, PEER_NEVER, PEER_UP, PROBE_CLAIM, _RUNNING_STATES,
)
from pyha.cluster.manager_events import AnnounceVip, ProbeVip, Release


class WitnessMixin(object):
    """The VIP witness: probes, answers, conflicts, carrier."""

    def _on_node_warn(self, ev, now):
        if ev.node != self.peer or self._phase in (P_STOPPING, P_STOPPED):
            return
        late_s = (self.config.deadtime_ms - self.config.warntime_ms) / 1000.0
        self._prewarn_until = now + late_s + 2 * self._timing.interval_s
        self._prewarn(now, "%s is late (%s): probing the addresses I would take" % (self.peer, ev.reason))

    def _prewarn(self, now, reason):
        keys = []
        for g in self._groups.values():
            if g.vip and g.state in (G_IDLE, G_PROBING) and not g.probe.waiting:
                g.probe.waiting = True
                g.probe.sent_at = now
                keys.append(g.key)
        self._prewarn_next = now + self._timing.interval_s
        if keys:
            self._out.append(ProbeVip(tuple(keys), reason))

    # the VIP witness

    def _on_vip_free(self, ev, now):
        g = self._group_for(ev)
        if g is None:
            return
        self._timing.note_free(g.probe, now)
        self._log(DEBUG, "address of %s is free (nobody answered the ARP probe)" % g.key)

    def _on_vip_answered(self, ev, now):
        g = self._group_for(ev)
        if g is None:
            return
        p = g.probe
        self._timing.note_answered(p, now, str(ev.mac))
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
                p.mac, g.key, self._timing.interval_s)
        else:
            text = "VIP of %s answered from MAC %s: not taking it, probing again every %.1f s" % (
                g.key, p.mac, self._timing.interval_s)
        self._decide(text, WARNING)

    def _on_vip_link(self, ev, now):
        g = self._group_for(ev)
        if g is None:
            return
        was_down = g.key in self._arb.links_down
        if bool(ev.up) != was_down:
            return  # no change
        if ev.up:
            del self._arb.links_down[g.key]
            self._decide("the carrier is back for %s" % g.key)
        else:
            detail = ev.detail if isinstance(ev.detail, str) and ev.detail else "an interface"
            self._arb.links_down[g.key] = detail
            self._arb.carrier_next_try = None
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
        p.next_at = now + self._timing.interval_s
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

    def _probe_step(self, g, now, entered):
        # type: (_Group, float, bool) -> Optional[str]
        """'acquire', 'probe' (a ProbeVip is due) or None (waiting); the timing is
        ProbeTiming's, the log lines are ours."""
        p = g.probe
        timing = self._timing
        if entered and timing.is_answered(p, now):
            self._vip_answered_log(g)
        if timing.may_take(g, now):
            return "acquire"
        if timing.is_free(p, now) and not p.wait_logged:
            p.wait_logged = True
            why = ("its preferred node is %s" % g.node if g.node != self.me
                   else "%s may believe it runs here" % self.peer)
            self._log(INFO, "address of %s is free; %s, so I take it only after it stayed free for %.1f s" % (
                g.key, why, timing.settle_s(g)))
        return "probe" if timing.probe_due(p, now) else None
