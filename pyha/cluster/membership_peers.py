"""What we know of another normal node and its links, and their state changes.

`Peer` and `Link` are the records the membership machine keeps per configured peer and
medium.  A state changes only through `Peer.change()` and `Peer.link_to()`, which check it
against the transition tables (an illegal one is a bug and raises `IllegalTransition`) and
say it as log lines and notifications; a record also renders itself for the snapshot.  Per-generation state lives in `peer.gens`
(`membership_generations`).

What it must never do: decide when a node or link dies (that is the machine's timing),
open sockets, read a clock, or import a third-party library.
"""

from collections import OrderedDict
from typing import Any, Callable, Dict, Iterable, List, Optional

from pyha.cluster.events import (
    CRITICAL, DEBUG, INFO, WARNING,
    LINK_DEAD, LINK_INIT, LINK_UP, NODE_DEAD, NODE_LEFT, NODE_NEVER, NODE_UP,
    IllegalTransition, LinkDead, LinkUp, Log, NodeDead, NodeLeft, NodeStatus, NodeUp, NodeWarn, PartitionHealed,
)
from pyha.cluster.membership_config import DEADLINE_SLACK_S, EPS, ms, since
from pyha.cluster.membership_generations import Generations, Incarnation

# Legal transitions: new state -> states it may come from.  Anything else is a bug.
_NODE_FROM = {
    NODE_UP: (NODE_NEVER, NODE_DEAD, NODE_LEFT),
    NODE_DEAD: (NODE_NEVER, NODE_UP, NODE_LEFT),
    NODE_LEFT: (NODE_NEVER, NODE_UP, NODE_DEAD),
}
_LINK_FROM = {
    LINK_UP: (LINK_INIT, LINK_DEAD),
    LINK_DEAD: (LINK_INIT, LINK_UP),
}


class Link(object):
    """One medium to one peer: up while that peer is heard on it."""

    __slots__ = ("medium", "state", "last_heard")

    def __init__(self, medium):
        # type: (str) -> None
        self.medium = medium
        self.state = LINK_INIT
        self.last_heard = None  # type: Optional[float]


class Peer(object):
    """Everything we know about one other normal node."""

    def __init__(self, name, media, ack_trigger, count):
        # type: (str, Iterable[str], int, Callable[[str], None]) -> None
        self.name = name
        self.state = NODE_NEVER
        self.status = None        # type: Optional[str]  # its last `st`
        self.last_heard = None    # type: Optional[float]  # last fresh status
        self.warned = False
        self.gens = Generations(name, ack_trigger, count)
        self._count = count
        self.links = OrderedDict((m, Link(m)) for m in media)
        self.reason = "not heard yet"

    @property
    def cur(self):
        # type: () -> Incarnation
        """Its current incarnation (generation, sequence tracking, dt, acks)."""
        return self.gens.current

    def change(self, new, reason, out, level=INFO):
        # type: (str, str, List[Any], str) -> None
        """Change the node's state; the reason is logged (it starts with heartbeat's wording)."""
        if self.state not in _NODE_FROM[new]:
            raise IllegalTransition("node %s: %s -> %s (%s)" % (self.name, self.state, new, reason))
        self.state = new
        self.reason = reason
        out.append(Log(level, reason))

    def link_to(self, link, new, reason, out):
        # type: (Link, str, str, List[Any]) -> None
        if link.state not in _LINK_FROM[new]:
            raise IllegalTransition("link %s:%s: %s -> %s" % (self.name, link.medium, link.state, new))
        link.state = new
        out.append(Log(INFO, "Link %s:%s %s." % (self.name, link.medium, new)))
        out.append(Log(DEBUG, reason))
        if new == LINK_UP:
            out.append(LinkUp(self.name, link.medium, reason))
        else:
            out.append(LinkDead(self.name, link.medium, reason))

    def touch(self, now, medium, out):
        # type: (float, Optional[str], List[Any]) -> bool
        """An authentic packet of it arrived on `medium`: that link works.  False when
        `medium` is none of ours."""
        link = self.links.get(medium) if medium is not None else None
        if link is None:
            return False
        link.last_heard = now
        if link.state != LINK_UP:
            self.link_to(link, LINK_UP, "heard %s on %s" % (self.name, medium), out)
        return True

    def expire(self, now, dead_ms, warntime_ms, started_at, out):
        # type: (float, int, int, float, List[Any]) -> None
        """Declare dead (or late) what of it has been silent too long, as of `now`: its
        generations, the node, its links."""
        dead_s, warn_s = dead_ms / 1000.0, warntime_ms / 1000.0
        self.gens.expire(now, dead_s, started_at, out)
        if self.state in (NODE_NEVER, NODE_UP, NODE_LEFT):
            silence = now - since(self.last_heard, started_at)
            if silence > dead_s + EPS:
                self.dies(silence, dead_ms, out)
            elif self.state == NODE_UP and not self.warned and warn_s < dead_s and silence > warn_s + EPS:
                self.warned = True
                reason = "Late heartbeat: Node %s: no heartbeat for %d ms (warntime %d ms)" % (
                    self.name, ms(silence), warntime_ms)
                out.append(Log(WARNING, reason))
                out.append(NodeWarn(self.name, ms(silence), reason))
        for link in self.links.values():
            if link.state == LINK_DEAD:
                continue
            silence = now - since(link.last_heard, started_at)
            if silence > dead_s + EPS:
                if link.state == LINK_INIT:
                    why = "link %s:%s never heard within %d ms" % (self.name, link.medium, dead_ms)
                else:
                    why = "link %s:%s silent for %d ms (> %d ms)" % (
                        self.name, link.medium, ms(silence), dead_ms)
                self.link_to(link, LINK_DEAD, why, out)

    def deadlines(self, dead_ms, warntime_ms, started_at):
        # type: (int, int, float) -> List[float]
        """When `expire()` (or a retransmission request) has something to do."""
        dead_s, warn_s = dead_ms / 1000.0, warntime_ms / 1000.0
        cands = []  # type: List[float]
        if self.state in (NODE_NEVER, NODE_UP, NODE_LEFT):
            ref = since(self.last_heard, started_at)
            cands.append(ref + dead_s + DEADLINE_SLACK_S)
            if self.state == NODE_UP and not self.warned and warn_s < dead_s:
                cands.append(ref + warn_s + DEADLINE_SLACK_S)
        for link in self.links.values():
            if link.state != LINK_DEAD:
                cands.append(since(link.last_heard, started_at) + dead_s + DEADLINE_SLACK_S)
        when = self.cur.track.next_rexmit()
        if when is not None:
            cands.append(when)
        return cands + self.gens.deadlines(dead_s)

    def status_heard(self, now, seq, st, medium, heal, restart, out):
        # type: (float, int, str, Optional[str], bool, bool, List[Any]) -> None
        """A fresh status `st` of it (seq `seq`, on `medium`): it is alive, maybe up again
        (after a restart, or a healed partition when `heal`)."""
        previous = self.state
        restart = restart or self.gens.restarted
        self.gens.restarted = False
        self.last_heard = now
        self.warned = False
        self.cur.status_seq = seq
        if previous in (NODE_NEVER, NODE_DEAD) or (previous == NODE_LEFT and restart):
            if heal:
                self._count("partition_heals")
                reason = "Cluster node %s returning after partition." % self.name
                self.change(NODE_UP, reason, out, CRITICAL)
                out.append(Log(WARNING, "Deadtime value may be too small."))
                out.append(PartitionHealed(self.name, reason))
            elif restart:
                reason = "node %s restarted (generation %d) and is up, status %s" % (
                    self.name, self.cur.generation, st)
            elif previous == NODE_NEVER:
                reason = "node %s: first heartbeat on %s, status %s" % (self.name, medium, st)
            else:
                reason = "node %s: first heartbeat (declared dead at start-up), status %s" % (self.name, st)
            if not heal:
                self.change(NODE_UP, reason, out)
            out.append(NodeUp(self.name, st, reason))
        if st != self.status:
            self.status = st
            out.append(Log(INFO, "Status update for node %s: status %s" % (self.name, st)))
            out.append(NodeStatus(self.name, st, "node %s advertises status %s" % (self.name, st)))

    def dies(self, silence, dead_ms, out):
        # type: (float, int, List[Any]) -> None
        """Silent for longer than its dead time (`silence` in seconds)."""
        graceful = self.state == NODE_LEFT
        if self.state == NODE_NEVER:
            reason = "node %s: is dead (never heard within initdead %d ms)" % (self.name, dead_ms)
        elif graceful:
            reason = "node %s: is dead (silent for %d ms after its shutdown notice)" % (
                self.name, ms(silence))
        else:
            reason = "node %s: is dead (silent for %d ms on all links, dead time %d ms)" % (
                self.name, ms(silence), dead_ms)
        self.change(NODE_DEAD, reason, out, WARNING)
        out.append(NodeDead(self.name, reason, graceful))
        self.status = "dead"
        self.warned = False
        # Like heartbeat: a node that comes back starts a fresh sequence history, so no
        # retransmissions are asked for what was sent during the silence.
        self.cur.track.reset()

    def leaves(self, out):
        # type: (List[Any]) -> None
        """Its `shutdone`: it is leaving on purpose."""
        if self.state == NODE_LEFT:
            return
        reason = "Received shutdown notice from '%s'." % self.name
        self.change(NODE_LEFT, reason, out)
        out.append(NodeLeft(self.name, reason))

    def view(self, silence, dead_ms, our_hiseq):
        # type: (Callable[[Optional[float]], Optional[int]], int, int) -> Dict[str, Any]
        """Its entry in the status snapshot; `silence(last_heard)` in ms."""
        gens, cur = self.gens, self.cur
        seqinfo = cur.track.snapshot()
        seqinfo["peer_acked"] = cur.acked
        seqinfo["our_unacked"] = max(0, our_hiseq - cur.acked)
        seqinfo["last_status_seq"] = cur.status_seq
        return {
            "state": self.state,
            "status": self.status,
            "reason": self.reason,
            "last_heard": self.last_heard,
            "silence_ms": silence(self.last_heard),
            "generation": cur.generation,
            "pending_generation": gens.pending[0].hg if gens.pending is not None else None,
            "previous_generation": gens.previous.generation if gens.previous is not None else None,
            "advertised_dt_ms": cur.dt_ms,
            "dead_time_ms": dead_ms,
            "links": OrderedDict((m, {"state": lk.state, "last_heard": lk.last_heard,
                                      "silence_ms": silence(lk.last_heard)})
                                 for m, lk in self.links.items()),
            "seq": seqinfo,
        }
