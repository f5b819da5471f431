"""What membership says about the peer: up, dead, left, restarted, partition healed, ping
changes, and the routing of the peer's resource messages (`Deliver`) to their handlers.

Messages may arrive out of order (a retransmission fills a gap after newer ones), as
with heartbeat.  So: a report older than the last one is ignored, and so is a `starting`
older than a report; a `done` older than a newer report of the giver is stale (it left
the exchange, e.g. it thought us dead) and ends ours; a `done` makes the groups it gave
no longer the giver's, whatever a report sent before it says; a standby request that
finds either side "in flux" waits `standby_grace` for the isstable=1 that may still be
on its way instead of being dropped at once.  After a partition heals we ask with
`starting` (a stable genuine node simply answers it) and report twice, one keepalive
apart, since the first messages after the heal are not retransmitted either.

A mixin of `Manager` (core.py says why); it holds no state of its own.
Pure, like the whole package: see `pyha.cluster.manager` for what it must never do.
"""

from pyha.cluster.events import INFO, WARNING, PingUp, is_int
from pyha.cluster.manager_events import NodeStateChanged
from pyha.cluster.manager.records import _Wait
from pyha.cluster.manager.states import (
    G_IDLE, G_PROBING, GROUPS_MSG, IPFAIL_TYPES, LINKS_MSG, P_RUNNING, P_STARTING, P_STOPPED, P_STOPPING,
    P_WAITING, PEER_DEAD, PEER_LEFT, PEER_UP, PING_MSG, PROBE_CLAIM, PROBE_CLAIM_DELAYED, PROBE_HOLDER,
    PROBE_NONE, _RUNNING_STATES, SB_NONE, W_TAKEOVER,
)
from pyha.wire import vocabulary as words


class PeerMixin(object):
    """Handlers of membership notifications about the peer."""

    def _peer_to(self, new, reason):
        # type: (str, str) -> str
        """The peer's state as we see it (PEER_*): the only place it changes.  Any state may
        follow any other (membership decides); a change is an action, a repeat is not.
        Returns the state before."""
        peer = self._peer
        old = peer.state
        if old != new:
            peer.state = new
            self._out.append(NodeStateChanged(self.peer, old, new, reason))
        return old

    def _on_node_up(self, ev, now):
        if ev.node != self.peer:
            return
        peer = self._peer
        was = self._peer_to(PEER_UP, ev.reason)
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
        # Last: a start-up fencing it cancels goes on with the start-up rules, which may
        # claim our own groups (not to be dropped above as "never got here").
        self._fence.peer_back(why)

    def _on_node_status(self, ev, now):
        if ev.node == self.peer:
            self._peer.status = ev.status

    def _on_node_dead(self, ev, now):
        if ev.node != self.peer:
            return
        self._heal.forget()
        peer = self._peer
        was = self._peer_to(PEER_DEAD, ev.reason)
        peer.dead_reason = ev.reason
        peer.dead_at = now
        self._me_pending = None
        peer.ping = None
        peer.ping_inferred = False
        self._arb.ping_worse_since = None
        graceful = ev.graceful or was == PEER_LEFT
        if self._phase == P_WAITING:
            return
        if graceful:
            self._log(INFO, "%s is silent after its shutdown notice (%s)" % (self.peer, ev.reason))
            self._send_stonith("unneeded")
            return
        if self._fence.peer_dead(ev.reason, now):
            return  # fencing first (fence.py): it takes over once the device says the peer is off
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
        self._peer_to(PEER_LEFT, ev.reason)
        peer.holds = set()
        self._me_pending = None
        peer.holds_word = words.RSC_NONE
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
        self._heal.forget()
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
            if is_int(ev.old_generation) and is_int(ev.new_generation) \
                    and ev.new_generation < ev.old_generation:
                # Membership undid a generation that never proved itself (forged packets
                # with a huge hg): the peer did not restart and will not say what it holds
                # unless asked.  `starting` asks (a stable genuine node simply answers); it
                # goes before our report, whose isstable=1 ends the "in flux" it causes.
                self._send(words.starting())
            self._report(stable=self._stable())
            self._send_notes()

    def _on_partition_healed(self, ev, now):
        if ev.node != self.peer:
            return
        self._peer_to(PEER_UP, ev.reason)
        self._peer_back(ev.reason)
        if self._phase in (P_WAITING, P_STOPPED):
            return
        if not self.config.nice_failback:
            theirs = [g for g in self._groups.values() if g.node == self.peer and g.want]
            if theirs:
                self._unclaim((), "partition healed", groups=theirs)
                self._decide("partition healed: %s is the preferred node of %s and keeps them; "
                             "releasing my copies (legacy mode)" % (self.peer, self._fmt(self._keys(groups=theirs))))
            self._legacy.ask([g for g in self._groups.values() if g.node == self.me and not g.want])
            return
        self._heal.healed()
        self._decide("partition healed with %s: asking what it holds (starting) and telling it what I "
                     "hold (rsc_hold=%s)" % (self.peer, self._holding_word()))
        if self._peer.holds is None:
            # It may never have lost us (one-way cut) and so has no reason to report: a
            # `starting` is the protocol's way to ask (a stable genuine node just answers).
            self._send(words.starting())
        self._report(stable=self._stable())
        self._send_notes()
        # Once more a keepalive later: membership restarts sequence tracking for a peer it
        # had declared dead, so if this first report is lost it is never retransmitted.
        self._heal_resend_at = now + self._keepalive_s

    def _on_ping_change(self, ev, now):
        before = self._my_ping()
        if isinstance(ev, PingUp):
            self._arb.ping_up.add(ev.target)
        else:
            self._arb.ping_up.discard(ev.target)
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
        if self._peer.state in (PEER_DEAD, PEER_LEFT) and t in (
                words.T_STARTING, words.T_RESOURCE, words.T_ASK_RESOURCES):
            # It speaks before membership calls it back (that waits for its next status):
            # stop chasing what it may hold.
            self._peer_back("it sends %s again" % t)
        if t == words.T_STARTING:
            self._on_starting(ev, now)
        elif t == words.T_RESOURCE:
            self._on_resource(ev, fields, now)
        elif t == words.T_ASK_RESOURCES:
            self._on_ask_resources(fields, now, ev.seq if isinstance(ev.seq, int) else None)
        elif t == words.T_HB_TAKEOVER:
            self._on_hb_takeover(fields, now)
        elif t == words.T_IP_REQUEST:
            self._legacy.on_ip_request(fields)
        elif t == words.T_IP_REQUEST_RESP:
            self._legacy.on_ip_request_resp(fields)
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
        elif t == words.HEALTH_MSG:
            self._peer.is_pyha = True
            self._health.on_peer_word(fields, now)
        elif t == words.T_STONITH:
            self._log(INFO, "%s reports stonith of %s: %s" % (self.peer, fields.get("node"), fields.get("result")))
