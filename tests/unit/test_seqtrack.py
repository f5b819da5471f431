"""Sequence tracking and the retransmit history (spec 1.10), without the membership machine."""

import pytest

from pyha.cluster import seqtrack
from pyha.cluster.seqtrack import (
    DUPLICATE, GAP, IN_ORDER, LATE, NOT_FOUND, OLD, RESET, TOO_LOW, SendHistory, SeqTrack,
)


def feed(track, seqs):
    return [track.receive(s) for s in seqs]


def test_in_order_duplicate_and_old():
    t = SeqTrack(ack_trigger=9)
    assert [r.verdict for r in feed(t, [5, 6, 6, 7])] == [IN_ORDER, IN_ORDER, DUPLICATE, IN_ORDER]
    assert t.receive(5).verdict == OLD
    assert t.last_seq == 7 and not t.missing


def test_first_seq_is_accepted_whatever_it_is():
    t = SeqTrack(0)
    assert t.receive(1234).verdict == IN_ORDER
    assert t.last_seq == 1234


def test_gap_records_missing_and_late_arrival_closes_it():
    t = SeqTrack(0)
    feed(t, [1, 2])
    r = t.receive(5)
    assert r.verdict == GAP and r.lost == [3, 4]
    assert t.missing == {3, 4} and t.first_missing == 3
    r = t.receive(4)
    assert r.verdict == LATE and not r.gap_closed
    assert t.receive(4).verdict == OLD  # no longer missing: an old duplicate now
    r = t.receive(3)
    assert r.verdict == LATE and r.gap_closed
    assert not t.missing


def test_more_than_250_missing_resets_tracking():
    t = SeqTrack(0)
    t.receive(1)
    r = t.receive(1 + seqtrack.FLOWCONTROL_LIMIT + 1)  # exactly 250 missing: still a gap
    assert r.verdict == GAP and len(r.lost) == 250
    t2 = SeqTrack(0)
    t2.receive(1)
    r = t2.receive(1 + seqtrack.FLOWCONTROL_LIMIT + 2)  # 251 missing: start over
    assert r.verdict == RESET and r.lost == []
    assert not t2.missing and t2.last_seq == 253


def test_missing_list_is_bounded_to_500_dropping_the_oldest():
    t = SeqTrack(0)
    t.receive(1)
    seq = 1
    for _ in range(4):  # 4 gaps of 200 = 800 missing, more than MAXMISSING
        seq += 201
        t.receive(seq)
    assert len(t.missing) == seqtrack.MAXMISSING
    # 2..201, 203..402, 404..603, 605..804 were missing; the oldest 300 were forgotten.
    assert min(t.missing) == 303 and max(t.missing) == 804
    assert t.receive(2).verdict == OLD


def test_ack_at_trigger_only_in_order_and_without_holes():
    t = SeqTrack(ack_trigger=3)
    acks = [r.ack for r in feed(t, range(1, 25)) if r.ack is not None]
    assert acks == [3, 13, 23]
    t.receive(26)  # 25 missing
    assert [r.ack for r in feed(t, [27, 28, 29, 30, 31, 32, 33]) if r.ack] == []


def test_gap_closing_acks_the_newest_trigger_point_covered():
    t = SeqTrack(ack_trigger=3)
    feed(t, range(1, 31))
    t.receive(32)            # 31 missing
    feed(t, [33, 34, 35])
    r = t.receive(31)
    assert r.verdict == LATE and r.gap_closed
    assert r.ack == 33       # newest seq <= 35 with seq % 10 == 3


def test_gap_closing_below_trigger_point_sends_no_ack():
    t = SeqTrack(ack_trigger=9)
    feed(t, range(1, 31))
    t.receive(32)            # 31 missing; newest trigger point <= 32 is 29 < 31
    r = t.receive(31)
    assert r.gap_closed and r.ack is None


def test_forget_on_nak():
    t = SeqTrack(0)
    feed(t, [1, 4])
    t.schedule_rexmit(2, 1.0)
    assert t.forget(2)[0] is True
    assert 2 not in t.rexmit_due
    assert t.forget(2) == (False, None, False)
    was, ack, closed = t.forget(3)
    assert was and closed


def test_rexmit_schedule_only_for_missing_and_cleared_on_reset():
    t = SeqTrack(0)
    feed(t, [1, 4])
    t.schedule_rexmit(2, 1.0)
    t.schedule_rexmit(3, 2.0)
    t.schedule_rexmit(9, 0.5)  # not missing: ignored
    assert t.due_rexmits(1.5) == [2]
    assert t.next_rexmit() == 1.0
    t.receive(2)
    assert t.due_rexmits(5.0) == [3]
    t.reset()
    assert t.next_rexmit() is None and t.last_seq is None


def test_bad_trigger_rejected():
    with pytest.raises(ValueError):
        SeqTrack(10)


# --- sender side ------------------------------------------------------------------------

def history(n, delay_ms=250):
    h = SendHistory(delay_ms)
    for _ in range(n):
        seq = h.next_seq()
        h.record(seq, b"msg%d" % seq)
    return h


def test_history_keeps_last_500():
    h = history(600)
    assert len(h) == 500 and h.hiseq == 600 and h.lowseq == 100
    ans = h.answer(0.0, 100, 101, acked=0)
    assert ans.nak == [(100, TOO_LOW)]
    assert ans.resend == [(101, b"msg101")]


def test_history_resend_throttled_within_max_rexmit_delay_minus_10ms():
    h = history(10)
    assert h.answer(1.0, 5, 5, 0).resend == [(5, b"msg5")]
    ans = h.answer(1.2, 5, 5, 0)           # 200 ms < 240 ms
    assert ans.resend == [] and ans.throttled == 1
    assert h.answer(1.25, 5, 5, 0).resend == [(5, b"msg5")]   # 250 ms >= 240 ms


def test_history_not_found_too_high_and_acked():
    h = SendHistory(250)
    for _ in range(10):
        h.next_seq()
    for seq in (1, 2, 3, 5):
        h.record(seq, seq)
    ans = h.answer(0.0, 4, 12, acked=0)
    assert (4, NOT_FOUND) in ans.nak
    assert ans.too_high == 11
    assert h.answer(0.0, 1, 3, acked=2).resend == [(3, 3)]  # 1..2 already acknowledged


def test_history_at_most_50_per_request():
    h = history(200)
    ans = h.answer(0.0, 1, 200, 0)
    assert len(ans.resend) == seqtrack.MAX_REXMIT_BATCH
    assert [s for s, _ in ans.resend] == list(range(1, 51))


def test_history_hostile_range_is_bounded():
    h = history(600)
    ans = h.answer(0.0, 1, 10 ** 15, 0)
    assert len(ans.nak) == seqtrack.MAX_REXMIT_BATCH  # too-low naks capped
    assert len(ans.resend) == seqtrack.MAX_REXMIT_BATCH
    assert ans.too_high == 601


def test_history_out_of_order_record_evicts_oldest():
    h = SendHistory(250)
    for _ in range(502):
        h.next_seq()
    h.record(2, "two")
    h.record(1, "one")
    for seq in range(3, 503):
        h.record(seq, seq)
    assert len(h) == 500 and h.lowseq == 2
