"""The VIP as last witness: probe timing, answers, conflicts and carrier changes.

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

A mixin of `Manager` (core.py says why); it holds no state of its own.
Pure, like the whole package: see `pyha.cluster.manager` for what it must never do.
"""

from typing import Optional

from pyha.cluster.events import DEBUG, INFO, WARNING
from pyha.cluster.manager.records import _Group
from pyha.cluster.manager.states import (
    _EPS, G_ACQUIRING, G_HELD, G_IDLE, G_PROBING, G_RELEASING, P_RUNNING, P_STARTING, P_STOPPED,
    P_STOPPING, PEER_DEAD, PEER_NEVER, PEER_UP, PROBE_CLAIM, PROBE_CLAIM_DELAYED, PROBE_HOLDER,
    _RUNNING_STATES,
)
from pyha.cluster.manager_events import AnnounceVip, ProbeVip, Release


class WitnessMixin(object):
    """The VIP witness: probes, answers, conflicts, carrier."""

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
