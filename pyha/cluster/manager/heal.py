"""After a partition heals: say once when the two nodes agree again on who holds what.

Genuine heartbeat (haresources mode) answers a healed partition by restarting itself on
both nodes (spec 5.7: a full shutdown, deadtime + 1 s asleep, a new generation), so the
end of a heal is its "Initial resource acquisition complete" on both nodes, some 25 s
after the heal, with the service down meanwhile.  pyha resolves a heal in place: the
nodes exchange `starting` and reports again, the preferred node keeps a group both hold
(or the failback returns it), and nothing restarts.  An operator (and heartbeat's CTS,
whose Split_brain test waits for each node to finish after the heal) needs the matching
moment: this collaborator logs "Partition with <peer> resolved: ..." once the peer has
reported since the heal and is stable, we are stable (no group operation, no standby
exchange), no group is held on both sides and no failback is pending.

Holds no reference to the Manager; `Manager._progress` asks it after every input.
Pure, like the whole package: see `pyha.cluster.manager` for what it must never do.
"""

from typing import Any, Optional

RESOLVED = "Partition with %s resolved"


class HealResolution(object):
    __slots__ = ("pending",)

    def __init__(self):
        self.pending = False

    def healed(self):
        # type: () -> None
        self.pending = True

    def forget(self):
        # type: () -> None
        """The peer died, left or restarted: that heal has no end to report."""
        self.pending = False

    def line(self, m):
        # type: (Any) -> Optional[str]
        """The line to log now that the heal is resolved, once; else None."""
        if not self.pending or not m.config.nice_failback:
            return None
        peer = m._peer
        if peer.holds is None or not peer.stable or not m._stable() or m._me_pending is not None:
            return None
        if any(m._keys({c}) for c in m._reported_cats() & peer.holds):
            return None  # both still hold groups of one category: the overlap rule is at work
        running = m._running_keys()
        if m._failback_needed and any(g.node == m.peer and g.key in running for g in m._groups.values()):
            return None  # its groups go back to it first
        self.pending = False
        return "%s: holding %s, %s reports rsc_hold=%s" % (
            RESOLVED % m.peer, m._fmt(running), m.peer, peer.holds_word)
