"""The arbitration ladder: decisions that come from the situation rather than one input.

`RULES` is an ordered list of named rules; each looks at the Manager and either acts
(True), ends the ladder (False) or has nothing to say (None: the next rule is asked).
`run()` is what `Manager._policy` calls after every input.

Carrier loss (issue 4 item 9).  When an interface carrying the address of a group we hold
loses its carrier, clients cannot reach the group here, but heartbeat would wait for
deadtime and ipfail.  We hand the affected groups over at once with the standby exchange
(release before the peer acquires, as always) if the peer is up and stable, told us with
`pyha-links` that its own interfaces for them have carrier, and, with ping nodes, reaches
at least one and at least as many as we do.  A peer that never sent `pyha-links` (a
genuine node) gives no such evidence: then ping arbitration and deadtime decide, as in
heartbeat.  A node whose interface for a group has no carrier refuses to take it in a
standby exchange, and a holder does not give a group back (auto_failback) while the
peer's interface for it has no carrier; it does once the carrier returns.

Conflicts (partition heal, both reports overlapping, `VipConflict`): the group's
preferred node keeps it, the other releases it.  A start failure releases what was
started and hands the group's category to the peer with the standby exchange; a group
that failed here is not taken again automatically (only after the peer's death or an
operator takeover here).  A stop failure leaves the group `stuck`: it is still reported
as held, never omitted from a report, the stop is retried every `release_retry`, and
`shutdone` is not sent while it lasts.

Pure, like the whole package: see `pyha.cluster.manager` for what it must never do.
"""

from typing import Any

from pyha.cluster.events import ERROR, WARNING
from pyha.cluster.manager.states import (
    _EPS, G_HELD, G_IDLE, P_RUNNING, PEER_DEAD, PEER_UP, PROBE_CLAIM, _RUNNING_STATES, SB_NONE,
)
from pyha.wire import vocabulary as words


# A rule is `rule(m, now)` on the Manager `m`: None when it has nothing to say (the next
# rule is asked), True when it acted (the caller runs another pass), False when it ends
# the ladder without acting.  Guards are rules too, so the order is the whole policy.


def _not_running(m, now):
    """Only a running node outside any standby exchange decides from the situation."""
    if not m.config.nice_failback or m._phase != P_RUNNING or m._sb.state != SB_NONE:
        m._arb.ping_worse_since = None
        return False
    return None


def _dark_while_peer_away(m, now):
    """A group I hold has no carrier and the peer is not up: nobody can be handed it and
    nobody reaches it here, while the peer (alive behind a cut heartbeat link) takes the
    address once it stops answering.  Keeping it would bring the address back beside the
    peer's the instant the carrier returns (the kernel answers ARP for it at once, before
    any probe of ours): release it and claim it again through the probe, so a healed
    partition never shows the VIP twice."""
    peer = m._peer
    if peer.state == PEER_UP:
        return None
    dark = [g for g in m._groups.values() if g.state == G_HELD and g.key in m._arb.links_down]
    for g in dark:
        reason = "%s has no carrier and %s is %s: nobody can reach %s here or be handed it, so I " \
                 "release it and take it again only when a probe finds its address free" % (
                     m._arb.links_down[g.key], m.peer, peer.state, g.key)
        m._release_to_probe(g, reason)
        m._decide(reason, WARNING)
    return True if dark else None


def _no_word_from_peer(m, now):
    """Nothing to weigh without the peer's report.  A report heard after we declared it
    dead proves it is back (membership says so only at its next status): enough to
    resolve an overlap, which only ever releases."""
    peer = m._peer
    heard_since = (peer.state == PEER_DEAD and peer.holds is not None and peer.holds_at is not None
                   and peer.dead_at is not None and peer.holds_at > peer.dead_at)
    if not (peer.state == PEER_UP or heard_since) or peer.holds is None:
        m._arb.ping_worse_since = None
        return False
    return None


def _overlap(m, now):
    """Both hold the same groups (healed partition, crossed takeovers): the preferred
    node keeps them."""
    peer = m._peer
    mine = m._reported_cats()
    for cat in sorted(mine & peer.holds):
        keys = m._keys({cat})
        if not keys:
            continue  # both "hold" an empty category: nothing runs twice
        if cat == m.me:
            if cat not in m._overlap_logged:
                m._overlap_logged.add(cat)
                m._decide("both %s and I hold my groups %s; I am their preferred node and keep them, "
                          "%s must release them" % (m.peer, m._fmt(keys), m.peer), WARNING)
            if m._overlap_reply:
                # Its report shows it holds them too: make sure it hears that we do (it
                # may not have heard our last report, e.g. after a one-way cut).
                m._overlap_reply = False
                m._report(stable=m._stable())
        elif cat in m._cats or any(g.want for g in m._of({cat})):
            reason = "both %s and I hold its groups %s; their preferred node %s keeps them, so I " \
                     "release mine" % (m.peer, m._fmt(keys), m.peer)
            m._unclaim({cat}, reason)
            m._decide(reason, WARNING)
            return True
    return None


def _peer_not_up(m, now):
    """The rest hands groups over or takes them back: only with a peer that is up."""
    if m._peer.state != PEER_UP:
        m._arb.ping_worse_since = None
        return False
    return None


def _in_flux(m, now):
    """Never start an exchange while a group operation or a held standby request runs."""
    if not m._stable() or m._me_pending is not None:
        return False
    return None


def _start_failure(m, now):
    """A group failed to start here: hand its category to the peer."""
    failed = [g for g in m._groups.values() if g.handover_pending and g.state == G_IDLE]
    if not failed or not m._peer.stable:
        return None
    g = failed[0]
    cats = {g.node}
    for other in m._of(cats):
        other.handover_pending = False
    word = m._rsc.word(cats)
    ok, why = m._start_standby(word, "group %s failed to start here (%s)" % (
        g.key, g.failed["error"] if g.failed else "?"), "failure")
    if not ok:
        m._decide("cannot hand %s to %s after its start failure: %s" % (g.key, m.peer, why), ERROR)
    return True


def _carrier(m, now):
    """Carrier loss here and the peer can serve the groups: hand them over at once."""
    cfg = m.config
    peer = m._peer
    dark = [g for g in m._groups.values() if g.state == G_HELD and g.key in m._arb.links_down]
    if not dark or not peer.stable or peer.links_down is None:
        return None
    if m._arb.carrier_next_try is not None and now < m._arb.carrier_next_try - _EPS:
        return None
    if m._peer_link_down(dark):
        return None  # it cannot serve them either
    if cfg.ping_targets and (peer.ping is None or peer.ping < max(1, m._my_ping())):
        return None  # no evidence it is better placed; ping arbitration decides
    m._arb.carrier_next_try = now + cfg.standby_timeout_ms / 1000.0
    cats = set(g.node for g in dark)
    ping = " and reaches %d of %d ping nodes" % (peer.ping, len(cfg.ping_targets)) if cfg.ping_targets else ""
    ok, why = m._start_standby(m._rsc.word(cats), "%s has no carrier (carrying %s); %s has carrier for "
                               "them%s" % (m._arb.links_down[dark[0].key], m._fmt([g.key for g in dark]),
                                           m.peer, ping), "carrier")
    if not ok:
        m._decide("carrier hand-over delayed: %s" % why, WARNING)
    return True


def _ping(m, now):
    """Ping arbitration: we reach fewer ping nodes than the peer (for ping_giveup_delay)."""
    cfg = m.config
    peer = m._peer
    holding = [g for g in m._groups.values() if g.state == G_HELD]
    if (not cfg.ping_targets or peer.ping is None or not peer.stable or not holding
            or m._my_ping() >= peer.ping):
        m._arb.ping_worse_since = None
        return None
    if m._arb.ping_worse_since is None:
        m._arb.ping_worse_since = now
    if now - m._arb.ping_worse_since < cfg.ping_giveup_delay_ms / 1000.0 - _EPS:
        return None
    if m._arb.ping_next_try is not None and now < m._arb.ping_next_try - _EPS:
        return None
    m._arb.ping_next_try = now + (cfg.ping_giveup_delay_ms + cfg.standby_timeout_ms) / 1000.0
    ok, why = m._start_standby(words.RSC_ALL, "I reach %d of %d ping nodes, %s reaches %d" % (
        m._my_ping(), len(cfg.ping_targets), m.peer, peer.ping), "ping")
    if not ok:
        m._decide("ping giveup delayed: %s" % why, WARNING)
    return True


def _failback(m, now):
    """auto_failback on: give the peer's groups back once it is stable (and can serve
    them: it reaches as many ping nodes as we do and has carrier for them)."""
    peer = m._peer
    if not (m._failback_needed and peer.stable):
        return None
    theirs = [g for g in m._groups.values() if g.node == m.peer and g.state in _RUNNING_STATES]
    if not theirs and not _empty_share_back(m):
        m._failback_needed = False
        return None
    if m.config.ping_targets and peer.ping is not None and peer.ping < m._my_ping():
        return None  # it would hand them straight back; wait for its ping count to recover
    if m._peer_link_down(theirs):
        return None  # it cannot serve them; wait for its carrier (it tells us)
    if m._health.peer_unfit(theirs, now):
        return None  # its copy failed its check within the window (pyha-health): not yet
    m._failback_needed = False
    ok, why = m._start_standby(words.RSC_FOREIGN, "auto_failback: %s is back and stable, giving its "
                                               "groups back" % m.peer, "failback")
    if not ok:
        m._decide("auto failback delayed: %s" % why, WARNING)
    return True


def _empty_share_back(m):
    """A peer without groups of its own that reports holding nothing, while we report
    holding its (empty) share, gets that share back: heartbeat's PerformAutoFailback
    tests the foreign bit, not the groups behind it, and a joining node completes its
    start-up ("Initial resource acquisition complete (auto_failback)") only when that
    standby acquisition is done (CTS found it).  Only when the peer holds nothing: after
    a partition heal the peer reports what it took over (our groups), and its own
    failback of them must be the only exchange (two crossing exchanges each ignore the
    other's `me` and stall: simulator test of the heal race)."""
    peer = m._peer
    return (not m._keys({m.peer}) and peer.holds is not None and not peer.holds
            and m.peer in m._reported_cats())


def _orphans(m, now):
    """Nobody holds my groups (e.g. the peer restarted after holding them): take them."""
    peer = m._peer
    if not peer.stable or m.me in m._reported_cats() or m.me in peer.holds:
        return None
    mine_groups = [g for g in m._of({m.me}) if g.failed is None]
    if not mine_groups:
        return None
    reason = "nobody holds my groups %s (%s reports rsc_hold=%s): taking them" % (
        m._fmt(m._keys(groups=mine_groups)), m.peer, peer.holds_word)
    m._claim({m.me}, PROBE_CLAIM, reason)
    m._decide(reason, WARNING)
    return True


# The ladder, in order: the first rule that says something ends it.
RULES = (
    ("not-running", _not_running),
    ("dark-while-peer-away", _dark_while_peer_away),
    ("no-word-from-peer", _no_word_from_peer),
    ("overlap", _overlap),
    ("peer-not-up", _peer_not_up),
    ("in-flux", _in_flux),
    ("start-failure", _start_failure),
    ("carrier", _carrier),
    ("ping", _ping),
    ("failback", _failback),
    ("orphans", _orphans),
)


def run(m, now):
    # type: (Any, float) -> bool
    """Ask the rules in order; True when one acted."""
    for _name, rule in RULES:
        verdict = rule(m, now)
        if verdict is not None:
            return verdict
    return False
