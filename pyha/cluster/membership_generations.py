"""Generation numbers of one peer (`hg`, spec 1.8): which incarnation of it is current.

Genuine heartbeat drops a lower generation as a replay and takes a higher one as a restart at
once, so one authentic packet with a huge `hg` (a cloned VM, a broken generation file, a key
holder) makes every later packet of the real peer a "replay" until the receiver restarts.
pyha keeps replay protection but recovers:

* The first generation heard from a peer is believed (nothing to compare with), and a
  lower one than the current is a replay, dropped and counted, as in heartbeat.  (So a
  bogus generation that is the very first packet we hear of a peer still needs this
  node restarted; it can only happen in the moments after our start.)
* A higher generation counts only when a second, distinct packet of it arrives within
  the peer's dead time (a restarting node sends a burst of status messages).  Until then
  the current generation stays current: its packets are delivered and keep the node
  alive, and nothing is reported.  A generation seen once and never again is logged
  (ERROR) and forgotten after the dead time.
* The second packet is the restart: `NodeRestarted`, sequence tracking starts afresh,
  and both packets are processed in sequence order.  The previous incarnation is kept
  (its generation and highest seq): its packets newer than anything seen of it refresh
  its links and liveness but are not delivered; older ones are old duplicates.
* If the new generation is then silent for the dead time while the previous one talked
  since, the new one was bogus: back to the previous one (CRIT "generation X from node N
  was not followed by any packet for D ms while generation Y kept talking: back to Y"),
  reported to the manager as another `NodeRestarted` (what it learnt is void).
* The previous incarnation is forgotten once it has been silent for the dead time (a
  real restart: the old process stopped), after which its packets are replays.  So a
  replay of an old incarnation never keeps a dead node alive; the one exception is a
  packet of it we never received, replayed within the dead time of the restart (the
  same exposure heartbeat has to a lost packet of the current generation).

Per configured peer at most one pending generation and one previous incarnation are kept.
`Generations` decides and says what the membership machine is to do with the packet
(`DROP`, `RESTARTED`, `PREVIOUS`, `AGAIN`); node and link liveness stay with the machine.

What it must never do: open sockets, read any clock (time only comes in as `now`), start
processes, import a third-party library, or raise on a packet (odd ones are counted).
"""

from typing import Any, Callable, List, Optional, Sequence, Tuple

from pyha.cluster.events import CRITICAL, ERROR, INFO, WARNING, Heard, Log, NodeRestarted
from pyha.cluster.membership_config import DEADLINE_SLACK_S, EPS, ms, since
from pyha.cluster.seqtrack import SeqTrack

# What the membership machine does with a packet of another generation than the current.
DROP = "drop"            # counted (and logged) here: nothing more
RESTARTED = "restarted"  # the peer restarted: take the packets, in order, as its first ones
PREVIOUS = "previous"    # a newer packet of the previous incarnation: its link works
AGAIN = "again"          # back to the previous incarnation: process the packet anew


class Incarnation(object):
    """One generation of a peer and what is tracked per generation: its sequence numbers,
    the newest status used, its advertised dead time, our seqs it acknowledged, and when a
    fresh packet of it was last accepted."""

    __slots__ = ("generation", "track", "status_seq", "dt_ms", "acked", "last")

    def __init__(self, generation, track, last=None):
        # type: (Optional[int], SeqTrack, Optional[float]) -> None
        self.generation = generation
        self.track = track
        self.status_seq = 0
        self.dt_ms = None  # type: Optional[int]
        self.acked = 0
        self.last = last


class Generations(object):
    """The current incarnation of one peer, the one before its last restart, and a higher
    generation seen once (see the module docstring)."""

    def __init__(self, name, ack_trigger, count):
        # type: (str, int, Callable[[str], None]) -> None
        self.name = name
        self._count = count
        self.current = Incarnation(None, SeqTrack(ack_trigger))
        self.previous = None  # type: Optional[Incarnation]
        self.pending = None   # type: Optional[Tuple[Heard, float]]
        self.restarted = False  # new generation taken, no status from it used yet

    def other(self, now, h, dead_s, out):
        # type: (float, Heard, float, List[Any]) -> Tuple[str, Sequence[Heard]]
        """A packet whose generation is set and not the current one: what to do with it."""
        prev = self.previous
        if prev is not None and h.hg == prev.generation:
            return self._of_previous(now, h, dead_s, out)
        current = self.current.generation
        if h.hg < current:
            self._count("replay")
            out.append(Log(ERROR, "should_drop_message: attempted replay attack [%s]? "
                                  "[gen = %d, curgen = %d]" % (self.name, h.hg, current)))
            return DROP, ()
        pending = self.pending
        if pending is None or pending[0].hg != h.hg:
            # One packet proves nothing: it waits for a second one of its generation.
            # (Genuine peers start with a burst of status messages; so does pyha.)
            self._count("generations_pending")
            self.pending = (h, now)
            out.append(Log(WARNING, "node %s sends generation %d (current %d): taken as a restart "
                                    "when another packet of it follows" % (self.name, h.hg, current)))
            return DROP, ()
        first = pending[0]
        if first.seq == h.seq:
            self._count("duplicate")  # the same packet again (another link)
            return DROP, ()
        self.pending = None
        self._restart(now, h.hg, out)
        return RESTARTED, sorted((first, h), key=lambda x: x.seq)

    def _of_previous(self, now, h, dead_s, out):
        # type: (float, Heard, float, List[Any]) -> Tuple[str, Sequence[Heard]]
        """A packet of the incarnation before the last restart: newer ones keep the node
        alive (its restart may have been bogus) but are not delivered."""
        prev = self.previous
        if prev.last is not None and now - prev.last > dead_s + EPS:
            # It stopped talking long ago: a real restart, so this is a replay.
            self.previous = None
            return self.other(now, h, dead_s, out)
        if self.revert_due(now, dead_s, talking=True):
            self._revert(now, out)
            return AGAIN, (h,)
        last = prev.track.last_seq
        if last is not None and h.seq <= last:
            # Only newer than anything seen of it: a replay of its old packets stays old.
            self._count("duplicate" if h.seq == last else "old_duplicate")
            return DROP, ()
        prev.track.last_seq = h.seq
        prev.last = now
        self._count("previous_generation")
        return PREVIOUS, (h,)

    def previous_status(self, seq):
        # type: (int) -> bool
        """A status `seq` of the previous incarnation: newer than any used of it (and now used)?"""
        if seq <= self.previous.status_seq:
            return False
        self.previous.status_seq = seq
        return True

    def expire(self, now, dead_s, started_at, out):
        # type: (float, float, float, List[Any]) -> None
        """A generation seen once and nothing more within the dead time is ignored; a new
        one silent for the dead time while the previous one talks is undone."""
        if self.pending is not None and now - self.pending[1] > dead_s + EPS:
            first, at = self.pending
            self.pending = None
            self._count("bogus_generations")
            current = self.current
            talked = current.last is not None and current.last > at
            out.append(Log(ERROR, "generation %d from node %s was not followed by any packet for %d ms%s: "
                                  "ignored" % (first.hg, self.name, ms(now - at),
                                               " while generation %d kept talking" % current.generation
                                               if talked else "")))
        prev = self.previous
        if self.revert_due(now, dead_s):
            self._revert(now, out)
        elif prev is not None and now - since(prev.last, started_at) > dead_s + EPS:
            self.previous = None  # a real restart: the old incarnation has stopped

    def deadlines(self, dead_s):
        # type: (float) -> List[float]
        """When `expire()` has something to decide (monotonic seconds)."""
        cands = []  # type: List[float]
        if self.pending is not None:
            cands.append(self.pending[1] + dead_s + DEADLINE_SLACK_S)
        prev, current = self.previous, self.current
        if prev is not None and prev.last is not None and current.last is not None \
                and prev.last > current.last:
            cands.append(current.last + dead_s + DEADLINE_SLACK_S)
        return cands

    def revert_due(self, now, dead_s, talking=False):
        # type: (float, float, bool) -> bool
        """Has the current generation been silent for the dead time while the previous one
        talked since (or `talking` now)?"""
        prev, current = self.previous, self.current
        if prev is None or current.last is None:
            return False
        if now - current.last <= dead_s + EPS:
            return False
        return talking or (prev.last is not None and prev.last > current.last)

    def _revert(self, now, out):
        # type: (float, List[Any]) -> None
        prev = self.previous
        bogus = self.current.generation
        self._count("generation_reverts")
        reason = ("generation %d from node %s was not followed by any packet for %d ms while "
                  "generation %d kept talking: back to %d" % (
                      bogus, self.name, ms(now - self.current.last), prev.generation, prev.generation))
        out.append(Log(CRITICAL, reason))
        self.current = prev  # its sequence tracking, status seq, dt, acks and last packet
        self.previous = None
        self.restarted = False
        # What the manager learnt from the bogus generation is void: to it this is one
        # more restart of the peer (it forgets what the peer holds and reports to it).
        out.append(NodeRestarted(self.name, bogus, prev.generation, reason))

    def _restart(self, now, hg, out):
        # type: (float, int, List[Any]) -> None
        old = self.current
        self._count("restarts")
        reason = "Heartbeat restart on node %s (generation %d -> %d)" % (self.name, old.generation, hg)
        out.append(Log(INFO, "Heartbeat restart on node %s" % self.name))
        old.track.drop_missing()  # nothing is asked of the old incarnation any more
        self.previous = old
        self.current = Incarnation(hg, SeqTrack(old.track.ack_trigger), now)
        self.restarted = True
        out.append(NodeRestarted(self.name, old.generation, hg, reason))
