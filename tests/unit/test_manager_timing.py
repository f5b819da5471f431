"""ProbeTiming, the VIP witness's arithmetic, on its own: how long each node waits for a free
address, runs of free answers, and one probe per interval."""

from pyha.cluster.manager import PROBE_CLAIM, PROBE_CLAIM_DELAYED, PROBE_HOLDER, ManagerConfig
from pyha.cluster.manager.records import _Group
from pyha.cluster.manager.timing import ProbeTiming

VIP_MINE = "192.0.2.100/24/eth0"
VIP_THEIRS = "192.0.2.101/24/eth0"


def timing(**kw):
    kw.setdefault("keepalive_ms", 1000)
    kw.setdefault("deadtime_ms", 6000)
    kw.setdefault("warntime_ms", 3000)
    cfg = ManagerConfig("ha1", "ha2", [(VIP_MINE, "ha1", True), (VIP_THEIRS, "ha2", True)], **kw)
    groups = dict((g.key, _Group(g)) for g in cfg.groups)
    return ProbeTiming(cfg), groups[VIP_MINE], groups[VIP_THEIRS]


def test_waits_differ_by_preference_and_mode():
    t, mine, theirs = timing(claim_delay_ms=2500)
    mine.probe_mode = PROBE_CLAIM
    assert t.settle_s(mine) == 0.0            # preferred node: at once
    theirs.probe_mode = PROBE_CLAIM
    assert t.settle_s(theirs) == 2.5          # the other node: claim_delay
    t2, _, theirs2 = timing(claim_delay_ms=5000)
    theirs2.probe_mode = PROBE_HOLDER
    assert t2.settle_s(theirs2) == 3.0        # capped at deadtime - warntime
    mine.probe_mode = PROBE_CLAIM_DELAYED
    assert t.settle_s(mine) == 5.0            # retry after a failure here: twice claim_delay


def test_the_other_node_takes_only_after_a_run_of_free_answers_since_its_claim():
    t, _, g = timing(claim_delay_ms=2000)
    g.probe_mode = PROBE_CLAIM
    g.claimed_at = 10.0
    p = g.probe
    assert t.probe_due(p, 10.0) and p.waiting and p.sent_at == 10.0
    assert not t.probe_due(p, 10.5)           # its answer is on its way
    t.note_free(p, 10.1)
    assert p.free_since == 10.0               # free since the probe went out
    assert t.is_free(p, 10.1) and not t.may_take(g, 10.1)
    for now in (11.0, 12.0):
        assert t.probe_due(p, now)
        t.note_free(p, now + 0.05)
    assert t.may_take(g, 12.05)               # free from 10.0 to 12.05: 2 s and more
    t.note_answered(p, 12.5, "02:00:00:00:00:02")
    assert p.free_since is None and t.is_answered(p, 12.5) and not t.may_take(g, 12.5)
    assert t.next_instants(p) == [13.5]       # next probe one interval after the answer


def test_a_stale_free_answer_starts_a_new_run():
    t, _, g = timing()
    p = g.probe
    t.probe_due(p, 1.0)
    t.note_free(p, 1.1)
    t.probe_due(p, 5.0)
    t.note_free(p, 5.1)                       # more than two intervals after the last one
    assert p.free_since == 5.0
    assert not t.is_free(p, 5.1 + 1.6)        # an answer older than 1.5 intervals is not fresh
