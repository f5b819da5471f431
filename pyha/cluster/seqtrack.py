"""Sequence numbers: what we received from one peer, and what we sent (spec 1.10).

`SeqTrack` is the receiver side for one peer: it classifies every sequence number
(in order, gap, late arrival of a missing one, duplicate, old), remembers what is
missing, says when an acknowledgement is due and when a retransmission request for a
missing number should go out.  `SendHistory` is the sender side: our own last 500
sequenced messages as opaque bytes, and the answer to a peer's `NS_rexmit`.

Both are pure bookkeeping: no clock (times are passed in), no randomness (delays are
passed in), no I/O, no message building (membership.py turns answers into messages).
"""

from collections import OrderedDict
from typing import Any, Dict, List, Optional, Tuple

# Heartbeat's limits (spec 1.10), named as heartbeat names them.
MAXMISSING = 500          # missing seqs remembered per peer
FLOWCONTROL_LIMIT = 250   # more missing at once than this: give up and restart tracking
ACK_MSG_DIV = 10          # ack when seq % 10 == the peer's trigger
MAXMSGHIST = 500          # our sent messages kept for retransmission
MAX_REXMIT_BATCH = 50     # at most this many resends (and naks) per request

# Verdicts of SeqTrack.receive().
IN_ORDER = "in-order"     # next expected (or first ever): accept
GAP = "gap"               # newer than expected: accept, the skipped ones are missing
LATE = "late"             # older, but a recorded missing one: accept
DUPLICATE = "duplicate"   # same as the last one: only proves the link works
OLD = "old"               # older and not missing: drop as an old duplicate
RESET = "reset"           # too many missing at once: tracking restarted, accept

ACCEPTED = frozenset((IN_ORDER, GAP, LATE, RESET))


class Receipt(object):
    """What `SeqTrack.receive()` decided about one sequence number."""

    __slots__ = ("verdict", "lost", "ack", "gap_closed")

    def __init__(self, verdict, lost=(), ack=None, gap_closed=False):
        # type: (str, Any, Optional[int], bool) -> None
        self.verdict = verdict
        self.lost = list(lost)      # seqs newly recorded as missing (GAP only)
        self.ack = ack              # seq to acknowledge now, or None
        self.gap_closed = gap_closed  # the last missing seq arrived

    @property
    def accepted(self):
        # type: () -> bool
        return self.verdict in ACCEPTED

    def __repr__(self):
        return "Receipt(%s, lost=%r, ack=%r, gap_closed=%r)" % (
            self.verdict, self.lost, self.ack, self.gap_closed)


class SeqTrack(object):
    """Receiver-side sequence state for one peer."""

    def __init__(self, ack_trigger):
        # type: (int) -> None
        if not 0 <= ack_trigger < ACK_MSG_DIV:
            raise ValueError("ack_trigger must be 0..%d" % (ACK_MSG_DIV - 1))
        self.ack_trigger = ack_trigger
        self.last_seq = None   # type: Optional[int]
        self.missing = set()   # type: set
        self.rexmit_due = {}   # type: Dict[int, float]  # missing seq -> when to ask

    def reset(self):
        # type: () -> None
        """Forget everything (peer restarted, died, or we lost too much)."""
        self.last_seq = None
        self.missing.clear()
        self.rexmit_due.clear()

    def drop_missing(self):
        # type: () -> None
        """Forget holes and pending requests but keep the highest seq seen (for an
        incarnation we no longer ask anything of, whose old packets must stay old)."""
        self.missing.clear()
        self.rexmit_due.clear()

    @property
    def first_missing(self):
        # type: () -> Optional[int]
        return min(self.missing) if self.missing else None

    def _ack_if_needed(self, seq):
        # type: (int) -> Optional[int]
        # Ack only at the trigger, and never past a hole: the sender frees what we ack.
        first = self.first_missing
        if first is not None and seq > first:
            return None
        if seq % ACK_MSG_DIV != self.ack_trigger:
            return None
        return seq

    def receive(self, seq):
        # type: (int) -> Receipt
        """Classify `seq` (a positive int) and update the state."""
        last = self.last_seq
        if last is None or seq == last + 1:
            self.last_seq = seq
            return Receipt(IN_ORDER, ack=self._ack_if_needed(seq))
        if seq == last:
            return Receipt(DUPLICATE)
        if seq > last:
            nlost = seq - last - 1
            if nlost > FLOWCONTROL_LIMIT:
                self.reset()
                self.last_seq = seq
                return Receipt(RESET, lost=())
            lost = list(range(last + 1, seq))
            for k in lost:
                if len(self.missing) >= MAXMISSING:
                    # Make room by forgetting the oldest hole, as heartbeat does.
                    oldest = min(self.missing)
                    self.missing.discard(oldest)
                    self.rexmit_due.pop(oldest, None)
                self.missing.add(k)
            self.last_seq = seq
            return Receipt(GAP, lost=[k for k in lost if k in self.missing])
        if seq in self.missing:
            ack, closed = self._fill(seq)
            return Receipt(LATE, ack=ack, gap_closed=closed)
        return Receipt(OLD)

    def forget(self, seq):
        # type: (int) -> Tuple[bool, Optional[int], bool]
        """The sender cannot retransmit `seq`: stop waiting for it.

        Returns (was_missing, ack, gap_closed).
        """
        if seq not in self.missing:
            return False, None, False
        ack, closed = self._fill(seq)
        return True, ack, closed

    def _fill(self, seq):
        # type: (int) -> Tuple[Optional[int], bool]
        old_first = self.first_missing
        self.missing.discard(seq)
        self.rexmit_due.pop(seq, None)
        closed = not self.missing
        if seq != old_first or self.last_seq is None:
            return None, closed
        # The lowest hole moved up: acknowledge the newest trigger point now covered.
        upto = self.last_seq if closed else self.first_missing - 1
        x = upto % ACK_MSG_DIV
        if x >= self.ack_trigger:
            ack_seq = upto - x + self.ack_trigger
        else:
            ack_seq = upto - x - ACK_MSG_DIV + self.ack_trigger
        if ack_seq >= old_first and ack_seq > 0:
            return self._ack_if_needed(ack_seq), closed
        return None, closed

    # --- retransmission requests (times are monotonic seconds) -----------------------

    def schedule_rexmit(self, seq, when):
        # type: (int, float) -> None
        if seq in self.missing:
            self.rexmit_due[seq] = when

    def due_rexmits(self, now):
        # type: (float) -> List[int]
        """Missing seqs whose request is due at `now`, oldest first."""
        return sorted(s for s, when in self.rexmit_due.items() if when <= now)

    def cancel_rexmit(self, seq):
        # type: (int) -> None
        self.rexmit_due.pop(seq, None)

    def next_rexmit(self):
        # type: () -> Optional[float]
        return min(self.rexmit_due.values()) if self.rexmit_due else None

    def snapshot(self):
        # type: () -> Dict[str, Any]
        return {
            "last_seq": self.last_seq,
            "missing": sorted(self.missing),
            "ack_trigger": self.ack_trigger,
            "rexmit_pending": len(self.rexmit_due),
        }


# --- sender side ---------------------------------------------------------------------

TOO_LOW = "seqno too low"
NOT_FOUND = "seqno not found"


class RexmitAnswer(object):
    """What to do about one `NS_rexmit`: resend these, nak those, maybe warn."""

    __slots__ = ("resend", "nak", "too_high", "throttled")

    def __init__(self):
        self.resend = []     # type: List[Tuple[int, Any]]  # (seq, payload)
        self.nak = []        # type: List[Tuple[int, str]]  # (seq, reason)
        self.too_high = None  # type: Optional[int]  # first requested seq above our max
        self.throttled = 0   # requests skipped because resent very recently


class SendHistory(object):
    """Our own sequence counter and the last MAXMSGHIST sequenced messages we sent."""

    def __init__(self, max_rexmit_delay_ms):
        # type: (int) -> None
        self.resend_guard_s = max(0, max_rexmit_delay_ms - 10) / 1000.0
        self.hiseq = 0    # highest seq handed out
        self.lowseq = 0   # highest seq no longer kept (seq <= lowseq: "too low")
        self._msgs = OrderedDict()  # type: OrderedDict  # seq -> [payload, last_resend]

    def next_seq(self):
        # type: () -> int
        self.hiseq += 1
        return self.hiseq

    def record(self, seq, payload):
        # type: (int, Any) -> None
        """Keep the encoded bytes of our message `seq` (called after encoding)."""
        if not isinstance(seq, int) or seq <= self.lowseq:
            return
        self.hiseq = max(self.hiseq, seq)
        self._msgs[seq] = [payload, None]
        if len(self._msgs) > 1 and next(reversed(self._msgs)) != seq:
            # Recorded out of order: keep the dict sorted so eviction drops the oldest.
            self._msgs = OrderedDict(sorted(self._msgs.items()))
        while len(self._msgs) > MAXMSGHIST:
            old, _ = self._msgs.popitem(last=False)
            self.lowseq = max(self.lowseq, old)

    def __len__(self):
        return len(self._msgs)

    def answer(self, now, firstseq, lastseq, acked):
        # type: (float, int, int, int) -> RexmitAnswer
        """Answer a request for firstseq..lastseq from a peer that acked up to `acked`."""
        ans = RexmitAnswer()
        seq = max(firstseq, acked + 1)  # what the peer acknowledged it has
        # Bounded work whatever the request says: at most a batch of "too low" naks,
        # then only the seqs we can actually hold.
        while seq <= lastseq and seq <= self.lowseq:
            if len(ans.nak) < MAX_REXMIT_BATCH:
                ans.nak.append((seq, TOO_LOW))
                seq += 1
            else:
                seq = self.lowseq + 1
        top = min(lastseq, self.hiseq)
        if lastseq > self.hiseq:
            ans.too_high = max(seq, self.hiseq + 1)
        while seq <= top:
            entry = self._msgs.get(seq)
            if entry is None:
                if len(ans.nak) >= 2 * MAX_REXMIT_BATCH:
                    break
                ans.nak.append((seq, NOT_FOUND))
            elif entry[1] is not None and now - entry[1] < self.resend_guard_s:
                ans.throttled += 1
            else:
                if len(ans.resend) >= MAX_REXMIT_BATCH:
                    break
                entry[1] = now
                ans.resend.append((seq, entry[0]))
            seq += 1
        return ans

    def snapshot(self):
        # type: () -> Dict[str, Any]
        return {"last_seq": self.hiseq, "kept": len(self._msgs), "lowest_dropped": self.lowseq}
