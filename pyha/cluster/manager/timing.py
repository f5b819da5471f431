"""The VIP witness's arithmetic: when a group's address is probed again, whether the last
answers say free or answered, and how long it must have stayed free before this node
takes it.

`ProbeTiming` is a collaborator the Manager owns (`Manager._timing`): it knows only the
configuration and works on the probe record of one group (`records._Probe`); the
handlers in witness.py feed it answers, and the Manager logs and acts on what it says.
Pure: no clock (times come in), no I/O, no logging.
"""

from typing import Any, List

from pyha.cluster.manager.states import _EPS, PROBE_CLAIM, PROBE_CLAIM_DELAYED, PROBE_HOLDER


class ProbeTiming(object):
    """Probe interval and claim waits of one node (see the module docstring)."""

    def __init__(self, config):
        # type: (Any) -> None
        self.config = config
        self.local = config.local
        self.interval_s = config.probe_interval_ms / 1000.0

    def note_free(self, p, now):
        # type: (Any, float) -> None
        """Nobody answered the probe: extend the current run of free answers or start one."""
        p.waiting = False
        if p.free_since is None or p.free_at is None or now - p.free_at > 2 * self.interval_s + _EPS:
            # A new run of free answers (the last one is too old to continue it).  The
            # answer says "free since the probe went out": nobody answered meanwhile.
            p.free_since = p.sent_at if p.sent_at is not None and p.sent_at <= now else now
        p.free_at = now

    def note_answered(self, p, now, mac):
        # type: (Any, float, str) -> None
        """Somebody answered: the run of free answers ends; probe again an interval later."""
        p.waiting = False
        p.answered_at = now
        p.mac = mac
        p.free_since = None
        p.next_at = now + self.interval_s

    def is_free(self, p, now):
        # type: (Any, float) -> bool
        """The latest fresh answer says nobody has the address."""
        return (p.free_at is not None and now - p.free_at <= 1.5 * self.interval_s + _EPS
                and (p.answered_at is None or p.answered_at <= p.free_at))

    def is_answered(self, p, now):
        # type: (Any, float) -> bool
        """The latest fresh answer came from a station holding the address."""
        return (p.answered_at is not None and now - p.answered_at <= 1.5 * self.interval_s + _EPS
                and (p.free_at is None or p.free_at < p.answered_at))

    def may_take(self, g, now):
        # type: (Any, float) -> bool
        """The address of group `g` has stayed free long enough for this node."""
        p = g.probe
        if not self.is_free(p, now):
            return False
        wait_s = self.settle_s(g)
        since = p.free_since
        if since is not None and g.probe_mode != PROBE_HOLDER and g.claimed_at is not None:
            # Holder unknown: the preferred node had no reason to act before we claimed,
            # so only free answers since then count.  (A dead holder's address that went
            # free before its death was declared is evidence, and counts.)
            since = max(since, g.claimed_at)
        return wait_s <= 0 or (since is not None and p.free_at - since >= wait_s - _EPS)

    def probe_due(self, p, now):
        # type: (Any, float) -> bool
        """Is a probe due now?  If so the record says it went out (waiting, sent at `now`)."""
        if p.waiting and p.sent_at is not None and now - p.sent_at < 2 * self.interval_s - _EPS:
            return False  # an answer is on its way
        if p.next_at is not None and now < p.next_at - _EPS:
            return False  # one probe per probe_interval
        p.waiting = True
        p.sent_at = now
        p.next_at = now + self.interval_s
        return True

    def next_instants(self, p):
        # type: (Any) -> List[float]
        """When a probing group next needs a look: its answer is overdue, or a probe is due."""
        out = []
        if p.waiting and p.sent_at is not None:
            out.append(p.sent_at + 2 * self.interval_s)
        if p.next_at is not None:
            out.append(p.next_at)
        return out

    def settle_s(self, g):
        # type: (Any) -> float
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
        if g.node != self.local and g.probe_mode == PROBE_HOLDER:
            # Never more than warntime..deadtime: a dead holder's free answers since
            # warntime are then enough at deadtime, whatever claim_delay says.
            return min(cfg.claim_delay_ms, max(0, cfg.deadtime_ms - cfg.warntime_ms)) / 1000.0
        if g.node != self.local and g.probe_mode == PROBE_CLAIM:
            return cfg.claim_delay_ms / 1000.0
        return 0.0
