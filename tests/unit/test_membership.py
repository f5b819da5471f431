"""Membership: node, link and ping liveness on ha.cf timings (spec 1.7-1.12, 5.1, 5.7, 5.8).

Timings unless a test says otherwise: keepalive 1 s, warntime 3 s, deadtime 6 s,
initdead 12 s (the spec's lab).  Boundaries are exact: a node is declared dead when its
silence is strictly longer than its dead time, and `next_deadline()` asks for a tick
1 ms after that, so a daemon that ticks at `next_deadline()` decides within 1 ms.  A
daemon that only ticked once per keepalive would decide up to one keepalive late; the
end-to-end tests below allow for that (plus the up-to-one-keepalive age of the last
heartbeat sent before a crash).
"""

import json
import random

import pytest

from pyha.cluster.events import (
    CRITICAL, ERROR, LINK_INIT, LINK_UP, NODE_DEAD, NODE_LEFT, NODE_NEVER, NODE_UP,
    PING_DEAD, PING_UP, WARNING, Heard, PingReply, Tick,
)
from pyha.cluster.membership import Membership, MembershipConfig, default_initdead_ms

from simnet import FakePeer, ScriptedRng, acts, config, drive, logs, machine, of, sends


def up_pair(rng=None, t=0.5, **kw):
    """Machine `a` that has heard peer `b` once on eth0 and eth1 at time t."""
    m = machine(rng=rng, **kw)
    p = FakePeer("b")
    m.heard(p.status(t, medium="eth0"))
    m.heard(p.again(t, "eth1"))
    return m, p


# --- start-up and our own heartbeat ------------------------------------------------------

def test_start_sends_init_then_up_and_keeps_the_keepalive_cadence():
    m = Membership(config(), random.Random(1))
    out = m.tick(10.0)
    st = [s.fields["st"] for s in sends(out, "status")]
    assert st == ["init", "up"]
    assert [s.seq for s in sends(out)] == [1, 2]
    assert sends(out)[0].fields == {"t": "status", "st": "init", "dt": "1f40", "protocol": "1"}
    assert m.next_deadline(10.0) == pytest.approx(11.0)
    assert sends(m.tick(10.5)) == []
    assert [s.fields["st"] for s in sends(m.tick(11.0))] == ["up"]
    assert sends(m.tick(11.999)) == []
    assert len(sends(m.tick(12.0), "status")) == 1


def test_dt_is_deadtime_plus_2000_for_5_seconds_then_deadtime():
    m = machine(start=0.0, rng=random.Random(1))
    dts = {}
    t = 0.0
    while t <= 8.0:
        for s in sends(m.tick(t), "status"):
            dts.setdefault(t, []).append(s.fields["dt"])
        t = m.next_deadline(t)
    assert dts[4.0] == ["1f40"]
    assert dts[5.0] == ["1770"]          # the change and the keepalive: one message
    assert dts[6.0] == ["1770"]


def test_status_stays_up_until_comm_up_then_active():
    m = machine(nodes=("a", "b", "c"))
    assert m.local_status == "up"
    b = FakePeer("b")
    assert sends(m.heard(b.status(1.0)), "status") == []
    assert not m.comm_up
    out = m.heard(FakePeer("c").status(1.5))
    assert of(out, "CommUp")
    assert [s.fields["st"] for s in sends(out, "status")] == ["active"]
    assert m.local_status == "active"


def test_wakeups_only_depend_on_now_arguments():
    m = machine(start=100.0)
    assert m.next_deadline(100.0) == pytest.approx(101.0)
    assert m.next_deadline(100.9) == pytest.approx(101.0)


# --- node and link liveness --------------------------------------------------------------

def test_node_up_on_first_message():
    m = machine()
    out = m.heard(FakePeer("b").status(0.5, st="init"))
    up = of(out, "NodeUp")
    assert up and up[0].node == "b" and up[0].status == "init"
    assert up[0].reason == "node b: first heartbeat on eth0, status init"
    assert of(out, "LinkUp")[0].medium == "eth0"
    assert "Link b:eth0 up." in logs(out)
    assert "Status update for node b: status init" in logs(out)
    assert m.node_state("b") == NODE_UP
    assert m.link_state("b", "eth1") == LINK_INIT


def test_status_changes_are_reported():
    m = machine()
    p = FakePeer("b")
    m.heard(p.status(0.5, st="init"))
    out = m.heard(p.status(0.6, st="up"))
    assert [(a.node, a.status) for a in of(out, "NodeStatus")] == [("b", "up")]
    assert of(m.heard(p.status(0.7, st="up")), "NodeStatus") == []


def test_warn_at_warntime_then_dead_at_deadtime_exact_boundaries():
    m, p = up_pair(t=1.0)
    assert acts(drive(m, 4.0), "NodeWarn") == []            # silence 3000 ms == warntime
    assert m.next_deadline(4.0) == pytest.approx(4.001)
    out = m.tick(4.001)
    warn = of(out, "NodeWarn")
    assert warn and warn[0].silence_ms == 3001
    assert warn[0].reason == "Late heartbeat: Node b: no heartbeat for 3001 ms (warntime 3000 ms)"
    timed = drive(m, 7.0)
    assert acts(timed, "NodeWarn") == []                    # once per silence
    assert acts(timed, "NodeDead") == []                    # silence 6000 ms == deadtime
    assert m.next_deadline(7.0) == pytest.approx(7.001)
    out = m.tick(7.001)
    dead = of(out, "NodeDead")
    assert dead and dead[0].node == "b" and not dead[0].graceful
    assert dead[0].reason == "node b: is dead (silent for 6001 ms on all links, dead time 6000 ms)"
    assert dead[0].reason in logs(out, WARNING)          # heartbeat's "node b: is dead" + why
    assert sorted(a.medium for a in of(out, "LinkDead")) == ["eth0", "eth1"]
    assert m.node_state("b") == NODE_DEAD
    assert of(m.tick(20.0), "NodeDead") == []               # once


def test_late_heartbeat_logged_when_it_arrives():
    m, p = up_pair(t=1.0)
    out = m.heard(p.status(4.5))
    assert "Late heartbeat: Node b: interval 3500 ms" in logs(out, WARNING)


def test_dead_only_after_silence_on_all_links():
    m, p = up_pair(t=1.0)
    # b keeps talking on eth1 only: eth0 dies, b stays up.
    events = acts(drive(m, 20.0, [(t, p.status(t, medium="eth1")) for t in range(2, 21)]))
    t = 20.0
    assert of(events, "NodeDead") == []
    link_dead = of(events, "LinkDead")
    assert [(a.node, a.medium) for a in link_dead] == [("b", "eth0")]
    assert link_dead[0].reason == "link b:eth0 silent for 6001 ms (> 6000 ms)"
    assert "Link b:eth0 dead." in logs(events)
    assert m.node_state("b") == NODE_UP and m.link_state("b", "eth1") == LINK_UP
    out = m.heard(p.status(t + 0.5, medium="eth0"))
    assert [a.medium for a in of(out, "LinkUp")] == ["eth0"]
    assert of(out, "NodeUp") == []


def test_peer_advertised_dt_is_its_dead_time():
    m = machine()
    p = FakePeer("b", dt="2710")   # 10000 ms
    m.heard(p.status(1.0))
    assert of(m.tick(7.5), "NodeDead") == []
    assert m.snapshot()["nodes"]["b"]["dead_time_ms"] == 10000
    assert of(m.tick(11.0), "NodeDead") == []
    assert of(m.tick(11.001), "NodeDead")


def test_smaller_advertised_dt_is_honoured_too_and_missing_dt_falls_back():
    m = machine()
    p = FakePeer("b", dt="fa0")    # 4000 ms
    m.heard(p.status(1.0))
    assert of(m.tick(5.001), "NodeDead")
    m2 = machine()
    q = FakePeer("b", dt=None)
    m2.heard(q.status(1.0))
    assert m2.snapshot()["nodes"]["b"]["dead_time_ms"] == 6000
    assert of(m2.tick(7.0), "NodeDead") == [] and of(m2.tick(7.001), "NodeDead")


def test_bad_dt_is_ignored_and_counted():
    m = machine()
    p = FakePeer("b")
    for bad in ("", "xyz", "0", "-5", "0x10", "1_0", "f" * 40):
        m.heard(p.status(1.0, dt=bad))
    assert m.counters["bad_field"] == 7
    assert m.snapshot()["nodes"]["b"]["dead_time_ms"] == 6000


def test_initdead_at_start_up_for_a_never_heard_node():
    m = machine(start=0.0)
    assert acts(drive(m, 12.0), "NodeDead") == []
    assert m.next_deadline(12.0) == pytest.approx(12.001)
    out = m.tick(12.001)
    dead = of(out, "NodeDead")
    assert dead and dead[0].reason == "node b: is dead (never heard within initdead 12000 ms)"
    assert [a.reason for a in of(out, "LinkDead")] == [
        "link b:eth0 never heard within 12000 ms", "link b:eth1 never heard within 12000 ms"]
    assert of(out, "CommUp") and m.local_status == "active"
    assert m.node_state("b") == NODE_DEAD
    # It shows up later: a first contact, not a partition heal.
    out = m.heard(FakePeer("b").status(30.0))
    assert of(out, "PartitionHealed") == []
    assert of(out, "NodeUp")[0].reason == "node b: first heartbeat (declared dead at start-up), status active"


def test_initdead_is_the_dead_time_of_everyone_until_comm_is_up():
    m = machine(nodes=("a", "b", "c"))
    m.heard(FakePeer("b").status(1.0))
    assert of(m.tick(8.0), "NodeDead") == []     # b silent 7 s, but comm is not up
    out = m.tick(12.001)
    assert sorted(a.node for a in of(out, "NodeDead")) == ["c"]   # b: 11 s < 12 s
    out = m.tick(13.002)
    assert [a.node for a in of(out, "NodeDead")] == ["b"]         # now deadtime applies


def test_default_initdead_follows_heartbeat():
    assert default_initdead_ms(30000) == 30000
    assert default_initdead_ms(6000) == 12000
    assert default_initdead_ms(8000) == 16000
    assert default_initdead_ms(3000) == 12000


# --- generations: restart, replay, healed partition ---------------------------------------

def test_restart_with_higher_generation_resets_sequence_tracking():
    m = machine()
    p = FakePeer("b", hg=100)
    for t in (1.0, 2.0, 3.0):
        m.heard(p.status(t))
    restarted = FakePeer("b", hg=101)
    # a restarted node starts with a burst (status init, up): the second packet of the
    # new generation makes it a restart, and both are processed in order
    out = m.heard(restarted.status(3.5, st="init"))
    assert of(out, "NodeRestarted") == [] and m.snapshot()["nodes"]["b"]["pending_generation"] == 101
    out = m.heard(restarted.status(3.501, st="up"))
    r = of(out, "NodeRestarted")
    assert r and (r[0].old_generation, r[0].new_generation) == (100, 101)
    assert "Heartbeat restart on node b" in logs(out)
    assert of(out, "NodeUp") == []               # it never stopped being up
    assert [s.status for s in of(out, "NodeStatus")] == ["init", "up"]
    assert m.counters["old_duplicate"] == 0 and m.counters["restarts"] == 1
    assert m.snapshot()["nodes"]["b"]["seq"]["last_seq"] == 2


def test_restart_of_a_dead_node_is_not_a_partition_heal():
    m = machine()
    p = FakePeer("b", hg=100)
    m.heard(p.status(1.0))
    m.tick(8.0)
    assert m.node_state("b") == NODE_DEAD
    q = FakePeer("b", hg=200)
    q.seq = 1
    out = m.heard(q.status(20.0, st="init"))      # its first message is lost; one proves nothing
    assert of(out, "NodeRestarted") == [] and m.node_state("b") == NODE_DEAD
    out = m.heard(q.msg(20.1, "starting"))        # the second, a non-status: restart, still dead
    assert of(out, "NodeRestarted") and of(out, "PartitionHealed") == []
    # processed in seq order: the status (seq 2) before the starting (seq 3)
    kinds = [type(a).__name__ for a in out if type(a).__name__ in ("NodeRestarted", "NodeUp", "Deliver")]
    assert kinds == ["NodeRestarted", "NodeUp", "Deliver"]
    assert of(out, "NodeUp")[0].reason == "node b restarted (generation 200) and is up, status init"


def test_replay_with_lower_generation_is_dropped_and_counted():
    m = machine()
    p = FakePeer("b", hg=100)
    m.heard(p.status(1.0))
    old = FakePeer("b", hg=99)
    old.seq = 50
    out = m.heard(old.status(5.0))
    assert m.counters["replay"] == 1
    assert any("attempted replay attack [b]? [gen = 99, curgen = 100]" in t for t in logs(out, ERROR))
    assert of(m.tick(7.001), "NodeDead")         # the replay did not keep b alive


def test_partition_heal_detected_on_same_generation_newer_seq():
    m = machine()
    p = FakePeer("b", hg=100)
    m.heard(p.status(1.0))
    m.heard(p.status(2.0))
    assert of(m.tick(8.001), "NodeDead")
    stale = Heard(9.0, "eth0", "b", "status", 2, 100, 1, {"t": "status", "st": "active"})
    assert of(m.heard(stale), "NodeUp") == []
    assert m.counters["stale_status"] == 1
    p.seq = 12                                    # it kept counting while we were apart
    out = m.heard(p.status(10.0))
    healed = of(out, "PartitionHealed")
    assert healed and healed[0].reason == "Cluster node b returning after partition."
    assert "Cluster node b returning after partition." in logs(out, CRITICAL)
    assert of(out, "NodeUp")[0].reason == "Cluster node b returning after partition."
    assert m.node_state("b") == NODE_UP
    assert m.counters["lost_packets"] == 0        # no retransmissions for the silence
    assert sends(m.tick(11.0), "NS_rexmit") == []


def test_heartbeat_after_a_long_stall_is_dead_then_healed():
    # Our loop was stalled past deadtime: the late status finds b dead first (as a tick
    # at that instant would), then heals it -- heartbeat's "(> deadtime)" case.
    m, p = up_pair(t=1.0)
    out = m.heard(p.status(9.0))
    kinds = [type(a).__name__ for a in out if type(a).__name__ in ("NodeDead", "PartitionHealed", "NodeUp")]
    assert kinds == ["NodeDead", "PartitionHealed", "NodeUp"]


# --- sequence tracking inside membership ---------------------------------------------------

def test_duplicate_over_two_links_processed_once_refreshes_both():
    m = machine()
    p = FakePeer("b")
    m.heard(p.status(1.0, medium="eth0"))
    out0 = m.heard(p.msg(1.1, "starting", medium="eth0"))
    out1 = m.heard(p.again(1.102, "eth1"))
    assert [a.t for a in of(out0, "Deliver")] == ["starting"]
    assert of(out1, "Deliver") == []
    assert [a.medium for a in of(out1, "LinkUp")] == ["eth1"]
    assert m.counters["duplicate"] == 1
    snap = m.snapshot()["nodes"]["b"]["links"]
    assert snap["eth0"]["last_heard"] == 1.1 and snap["eth1"]["last_heard"] == 1.102


def test_older_copy_on_a_slower_link_still_refreshes_that_link():
    m = machine()
    p = FakePeer("b")
    first = p.status(1.0, medium="eth0")
    m.heard(first)
    m.heard(p.status(1.5, medium="eth0"))
    late = Heard(1.6, "eth1", first.src, first.t, first.seq, first.hg, first.ts, first.fields)
    out = m.heard(late)
    assert m.counters["old_duplicate"] == 1
    assert of(out, "LinkUp") and of(out, "NodeStatus") == []


def test_gap_schedules_decimal_rexmit_repeats_and_ack_when_it_closes():
    m = machine(rng=ScriptedRng(trigger=5, delay_ms=120))
    p = FakePeer("b")
    t = 1.0
    for _ in range(34):
        m.heard(p.status(t))
        t += 0.01
    p.seq += 1                                    # 35 (0x23) is lost on the wire
    out = m.heard(p.status(2.0))                  # seq 36
    assert "1 lost packet(s) for [b] [34:36]" in logs(out, WARNING)
    assert sends(out, "NS_rexmit") == []          # never before the random delay
    assert sends(m.tick(2.0), "NS_rexmit") == []  # (our keepalive)
    assert m.next_deadline(2.0) == pytest.approx(2.12)
    assert sends(m.tick(2.119), "NS_rexmit") == []
    req = sends(m.tick(2.12), "NS_rexmit")
    assert [r.fields for r in req] == [{"t": "NS_rexmit", "dest": "b", "firstseq": "35", "lastseq": "35"}]
    assert req[0].seq is None and req[0].dest == "b"
    assert sends(m.tick(2.3), "NS_rexmit") == []
    assert len(sends(m.tick(2.37), "NS_rexmit")) == 1   # every max_rexmit_delay
    late = Heard(2.4, "eth0", "b", "status", 35, 100, 1, {"t": "status", "st": "active"})
    out = m.heard(late)
    assert "No pkts missing from b!" in logs(out)
    acks = sends(out, "NS_ackmsg")
    assert [a.fields for a in acks] == [{"t": "NS_ackmsg", "dest": "b", "ackseq": "23"}]   # 35
    assert sends(m.tick(3.0), "NS_rexmit") == []
    assert m.counters["late_packets"] == 1


def test_rexmit_requests_stop_when_peer_is_not_up():
    m = machine(rng=ScriptedRng(delay_ms=100))
    p = FakePeer("b")
    m.heard(p.status(1.0))
    p.seq += 3
    m.heard(p.status(1.1))
    assert len(sends(m.tick(1.2), "NS_rexmit")) == 3
    m.tick(8.0)
    assert m.node_state("b") == NODE_DEAD
    assert sends(m.tick(8.5), "NS_rexmit") == []
    assert m.snapshot()["nodes"]["b"]["seq"]["rexmit_pending"] == 0


def test_more_than_250_missing_resets():
    m = machine()
    p = FakePeer("b")
    m.heard(p.status(1.0))
    p.seq += 251
    out = m.heard(p.status(1.5))
    assert "lost a lot of packets!" in logs(out, ERROR)
    assert "251 lost packet(s) for [b] [1:253]" in logs(out, WARNING)
    assert m.snapshot()["nodes"]["b"]["seq"]["missing"] == []
    assert sends(m.tick(2.0), "NS_rexmit") == [] and m.counters["seq_resets"] == 1


def test_acks_at_the_peer_trigger():
    m = machine(rng=ScriptedRng(trigger=4))
    p = FakePeer("b")
    acked = []
    for i in range(25):
        for s in sends(m.heard(p.msg(1.0 + i * 0.01, "resource")), "NS_ackmsg"):
            acked.append(s.fields["ackseq"])
            assert s.dest == "b" and s.seq is None
    assert acked == ["4", "e", "18"]            # 4, 14, 24 in hex


def test_no_acks_once_flow_control_is_off():
    m = machine(rng=ScriptedRng(trigger=1))
    p = FakePeer("b")
    out = m.heard(p.msg(1.0, "status", st="up"))          # no `protocol` field
    assert "flow control disabled due to different version heartbeat" in logs(out)
    assert not m.flow_control
    assert all(sends(m.heard(p.status(1.0 + i)), "NS_ackmsg") == [] for i in range(12))


def test_ns_messages_for_someone_else_are_dropped():
    m = machine(nodes=("a", "b", "c"))
    p = FakePeer("b")
    m.heard(p.status(1.0))
    assert m.send({"t": "resource"}).seq == 3
    m.record_sent(3, "p3")
    out = m.heard(p.msg(1.2, "NS_rexmit", dest="c", firstseq="3", lastseq="3"))
    out += m.heard(p.msg(1.3, "NS_ackmsg", dest="c", ackseq="3"))
    assert of(out, "Retransmit") == [] and sends(out) == []
    assert m.counters["ns_not_for_us"] == 2
    assert m.snapshot()["nodes"]["b"]["seq"]["peer_acked"] == 0


def test_sequenced_message_for_someone_else_is_tracked_not_delivered():
    m = machine(nodes=("a", "b", "c"))
    p = FakePeer("b")
    m.heard(p.status(1.0))
    out = m.heard(p.msg(1.1, "query-cstatus", dest="c"))
    assert of(out, "Deliver") == [] and m.counters["not_for_us"] == 1
    out = m.heard(p.msg(1.2, "query-cstatus", dest="a"))
    assert [(d.node, d.t, d.seq) for d in of(out, "Deliver")] == [("b", "query-cstatus", 3)]
    assert m.counters["lost_packets"] == 0


# --- answering retransmission requests ------------------------------------------------------

def sent_history(m, n):
    seqs = []
    for _ in range(n):
        s = m.send({"t": "resource", "rsc_hold": "none"})
        m.record_sent(s.seq, b"wire-%d" % s.seq)
        seqs.append(s.seq)
    return seqs


def test_rexmit_request_answered_from_history():
    m = machine()            # statuses 1, 2 were not recorded
    p = FakePeer("b")
    m.heard(p.status(1.0))
    seqs = sent_history(m, 5)      # 4..8 (3 was the "active" status at comm up)
    out = m.heard(p.msg(1.5, "NS_rexmit", dest="a", firstseq=str(seqs[1]), lastseq=str(seqs[1])))
    re = of(out, "Retransmit")
    assert [(r.seq, r.payload, r.requester) for r in re] == [(seqs[1], b"wire-%d" % seqs[1], "b")]
    # asked again within max_rexmit_delay - 10 ms: not resent
    assert of(m.heard(p.msg(1.7, "NS_rexmit", dest="a", firstseq=str(seqs[1]), lastseq=str(seqs[1]))),
              "Retransmit") == []
    assert of(m.heard(p.msg(1.75, "NS_rexmit", dest="a", firstseq=str(seqs[1]),
                            lastseq=str(seqs[1]))), "Retransmit")


def test_rexmit_not_found_too_high_and_invalid():
    m = machine()
    p = FakePeer("b")
    m.heard(p.status(1.0))
    out = m.heard(p.msg(1.1, "NS_rexmit", dest="a", firstseq="1", lastseq="1"))
    naks = sends(out, "NS_nak_rexmit")
    assert [n.fields for n in naks] == [
        {"t": "NS_nak_rexmit", "firstseq": "1", "dest": "b", "info": "seqno not found"}]
    out = m.heard(p.msg(1.2, "NS_rexmit", dest="a", firstseq="99", lastseq="99"))
    assert "Rexmit of seq 99 requested. 3 is max." in logs(out, WARNING)
    assert sends(out) == []
    for first, last in (("x", "1"), ("5", "4"), ("0", "0"), ("-1", "2"), ("1f", "1f")):
        m.heard(p.msg(1.3, "NS_rexmit", dest="a", firstseq=first, lastseq=last))
    assert m.counters["bad_field"] == 5


def test_rexmit_too_low_naks_and_batch_limit():
    m = machine()
    p = FakePeer("b")
    m.heard(p.status(1.0))
    sent_history(m, 600)
    out = m.heard(p.msg(2.0, "NS_rexmit", dest="a", firstseq="50", lastseq="300"))
    naks = sends(out, "NS_nak_rexmit")
    assert naks and all(n.fields["info"] == "seqno too low" for n in naks)
    assert len(of(out, "Retransmit")) == 50


def test_nak_received_forgets_the_seq():
    m = machine(rng=ScriptedRng(delay_ms=100))
    p = FakePeer("b")
    m.heard(p.status(1.0))
    p.seq += 1
    m.heard(p.status(1.1))
    out = m.heard(p.msg(1.15, "NS_nak_rexmit", firstseq="2", dest="a", info="seqno too low"))
    assert "Irretrievably lost packet: node b seq 2" in logs(out, ERROR)
    assert "No pkts missing from b!" in logs(out)
    assert sends(m.tick(1.3), "NS_rexmit") == []
    assert m.counters["naks_received"] == 1


def test_acks_from_peer_are_recorded_and_skip_rexmit():
    m = machine()
    p = FakePeer("b")
    m.heard(p.status(1.0))
    sent_history(m, 5)
    m.heard(p.msg(1.1, "NS_ackmsg", dest="a", ackseq="6"))
    assert m.snapshot()["nodes"]["b"]["seq"]["peer_acked"] == 6
    out = m.heard(p.msg(1.2, "NS_rexmit", dest="a", firstseq="5", lastseq="7"))
    assert [r.seq for r in of(out, "Retransmit")] == [7]
    m.heard(p.msg(1.3, "NS_ackmsg", dest="a", ackseq="ffff"))   # we never sent that
    assert m.counters["bad_field"] == 1


# --- shutdone, reqnodes, other messages -----------------------------------------------------

def test_shutdone_is_an_immediate_graceful_leave():
    m, p = up_pair(t=1.0)
    m.heard(p.status(2.0))
    out = m.heard(p.msg(2.1, "shutdone", st="dead"))
    left = of(out, "NodeLeft")
    assert left and left[0].reason == "Received shutdown notice from 'b'."
    assert left[0].reason in logs(out)
    assert of(out, "NodeDead") == [] and m.node_state("b") == NODE_LEFT
    # it keeps sending status for ~2 s: still "left", no NodeUp
    for t in (3.0, 4.0):
        assert of(m.heard(p.status(t)), "NodeUp") == []
    out = m.tick(10.001)
    dead = of(out, "NodeDead")
    assert dead and dead[0].graceful
    assert dead[0].reason == "node b: is dead (silent for 6001 ms after its shutdown notice)"
    # comes back as a new process
    q = FakePeer("b", hg=101)
    m.heard(q.status(20.0, st="init"))
    out = m.heard(q.status(20.0, st="up"))
    assert of(out, "NodeRestarted") and of(out, "NodeUp") and not of(out, "PartitionHealed")


def test_reqnodes_answered_with_repnodes_listing_all_nodes():
    m = machine(nodes=("hbnode1", "hbnode2", "hbnode3"), local="hbnode2")
    p = FakePeer("hbnode1")
    m.heard(p.status(1.0))
    out = m.heard(p.msg(1.1, "reqnodes", dest="hbnode2"))
    rep = sends(out, "repnodes")
    assert len(rep) == 1
    assert list(rep[0].fields.items()) == [
        ("dest", "hbnode1"), ("t", "repnodes"),
        ("nodelist", "hbnode1 hbnode2 hbnode3 "), ("delnodelist", " ")]
    assert rep[0].seq is not None and rep[0].dest == "hbnode1"
    assert sends(m.heard(p.msg(1.2, "reqnodes", dest="hbnode3")), "repnodes") == []


def test_other_messages_are_delivered_for_the_manager():
    m = machine()
    p = FakePeer("b")
    m.heard(p.status(1.0))
    out = m.heard(p.msg(1.1, "resource", rsc_hold="none", rtype="full", isstable="1"))
    d = of(out, "Deliver")
    assert d[0].t == "resource" and d[0].fields["rsc_hold"] == "none" and d[0].medium == "eth0"
    out = m.heard(p.msg(1.2, "starting"))
    assert [a.t for a in of(out, "Deliver")] == ["starting"]


# --- ping nodes --------------------------------------------------------------------------------

def test_ping_node_up_and_dead_after_deadping():
    m = machine(ping_nodes=("198.51.100.254",), deadping_ms=5000)
    m.heard(FakePeer("b").status(0.5))
    assert not m.comm_up                      # the ping node counts for comm up
    out = m.ping_reply(PingReply(1.0, "198.51.100.254"))
    assert [a.target for a in of(out, "PingUp")] == ["198.51.100.254"]
    assert of(out, "CommUp")
    assert of(m.tick(6.0), "PingDead") == []
    out = m.tick(6.001)
    assert [a.reason for a in of(out, "PingDead")] == [
        "ping node 198.51.100.254 silent for 5001 ms (> deadping 5000 ms)"]
    assert m.ping_state("198.51.100.254") == PING_DEAD
    assert of(m.ping_reply(PingReply(7.0, "198.51.100.254")), "PingUp")


def test_ping_reply_as_ns_st_message_and_unknown_ping():
    m = machine(ping_nodes=("198.51.100.254",))
    h = Heard.from_fields(1.0, "198.51.100.254", {"t": "NS_st", "st": "ping", "info": "ping",
                                                   "src": "198.51.100.254", "ts": "1"})
    assert of(m.heard(h), "PingUp")
    m.ping_reply(PingReply(1.1, "192.0.2.9"))
    assert m.counters["unknown_ping"] == 1


def test_ping_group_up_while_any_member_answers():
    m = machine(ping_groups={"routers": ["192.0.2.1", "192.0.2.2"]})
    out = m.ping_reply(PingReply(1.0, "192.0.2.1"))
    assert [a.reason for a in of(out, "PingUp")] == ["ping group routers answers (member 192.0.2.1)"]
    events = []
    for t in range(2, 15):           # member 1 fell silent, member 2 answers
        events += m.ping_reply(PingReply(float(t), "192.0.2.2"))
        events += m.tick(t + 0.5)
    assert of(events, "PingDead") == []
    out = m.tick(20.001)
    assert [a.target for a in of(out, "PingDead")] == ["routers"]
    assert m.snapshot()["ping_groups"]["routers"]["members"] == ["192.0.2.1", "192.0.2.2"]


def test_never_answering_ping_node_dead_after_initdead():
    m = machine(ping_nodes=("192.0.2.7",))
    m.heard(FakePeer("b").status(0.5))
    out = m.tick(12.001)
    assert [a.reason for a in of(out, "PingDead")] == ["ping node 192.0.2.7 never answered within 12000 ms"]
    assert of(out, "CommUp")


# --- hostile and broken input --------------------------------------------------------------------

def test_bad_messages_are_dropped_and_counted():
    m = machine()
    p = FakePeer("b")
    m.heard(p.status(1.0))
    bad = [
        Heard(1.1, "eth0", None, "status", 5, 100, 1, {}),
        Heard(1.1, "eth0", "b", "", 5, 100, 1, {}),
        Heard(1.1, "eth0", "b", "status", None, 100, 1, {"st": "up"}),
        Heard(1.1, "eth0", "b", "status", 0, 100, 1, {"st": "up"}),
        Heard(1.1, "eth0", "b", "status", "7", 100, 1, {"st": "up"}),
        Heard(1.1, "eth0", "b", "status", 7, None, 1, {"st": "up"}),
        Heard(1.1, "eth0", "b", "status", 7, 100, 0, {"st": "up"}),
        Heard(1.1, "eth0", "mallory", "status", 7, 100, 1, {"st": "up"}),
        Heard(1.1, "eth0", "mallory", "status", 8, 100, 1, {"st": "up"}),
        Heard(1.1, "eth0", "b", "status", 9, 100, 1, {"dt": "1770"}),
        Heard(1.1, "eth0", "b", "status", 10, 100, 1, None),
        Heard(1.1, ["weird"], "b", "resource", 11, 100, 1, {"x": 1}),
    ]
    outs = [m.heard(h) for h in bad]
    c = m.counters
    assert (c["malformed"], c["bad_seq"], c["bad_hg"], c["bad_ts"], c["unknown_node"]) == (2, 3, 1, 1, 2)
    assert c["bad_status"] == 2 and c["unknown_medium"] == 1
    assert sum(1 for o in outs for t in logs(o) if "bad node [mallory]" in t) == 1
    assert m.node_state("b") == NODE_UP


def test_own_messages_are_counted_not_tracked():
    m = machine()
    h = Heard.from_fields(1.0, "eth0", {"t": "status", "src": "A", "seq": "1", "hg": "1", "ts": "1",
                                        "st": "up"})
    assert of(m.heard(h), "NodeUp") == []
    assert m.counters["loopback"] == 1
    assert m.snapshot()["local"]["links"]["eth0"]["last_heard"] == 1.0


def test_time_going_backwards_is_clamped():
    m = machine(start=10.0)
    m.tick(5.0)
    assert m.counters["clock_backwards"] == 1
    m.tick(float("nan"))
    assert m.counters["clock_backwards"] == 2
    assert m.next_deadline(10.0) == pytest.approx(11.0)


def test_config_validation():
    with pytest.raises(ValueError):
        MembershipConfig("", ["a"], ["eth0"])
    with pytest.raises(ValueError):
        MembershipConfig("a", ["a", "b", "B"], ["eth0"])
    with pytest.raises(ValueError):
        MembershipConfig("a", ["a", "b"], ["eth0"], keepalive_ms=0)
    with pytest.raises(ValueError):
        MembershipConfig("a", ["a", "b"], ["eth0"], ping_nodes=["b"])
    with pytest.raises(ValueError):
        MembershipConfig("a", ["a"], ["eth0"], ping_groups={"g": []})
    cfg = MembershipConfig("A", ["b"], ["eth0"], deadtime_ms=6000)
    assert cfg.nodes == ("b", "a") and cfg.peers == ("b",)
    assert (cfg.warntime_ms, cfg.initdead_ms, cfg.deadping_ms) == (3000, 12000, 6000)


def test_rng_may_be_a_function():
    m = Membership(config(), lambda a, b: b)
    assert m.snapshot()["nodes"]["b"]["seq"]["ack_trigger"] == 9
    with pytest.raises(TypeError):
        Membership(config(), rng=42)


def test_alone_in_the_cluster_comm_is_up_at_once():
    m = Membership(config(nodes=("a",)), random.Random(0))
    out = m.tick(0.0)
    assert of(out, "CommUp") and m.local_status == "active"


# --- snapshot --------------------------------------------------------------------------------------

def test_snapshot_is_json_and_complete():
    m = machine(nodes=("a", "b", "c"), ping_nodes=("192.0.2.1",), ping_groups={"g": ["192.0.2.2"]})
    p = FakePeer("b")
    m.heard(p.status(1.0))
    m.ping_reply(PingReply(1.0, "192.0.2.1"))
    snap = m.snapshot(now=2.5)
    again = json.loads(json.dumps(snap))
    assert again == snap
    b = snap["nodes"]["b"]
    assert (b["state"], b["status"], b["last_heard"], b["generation"], b["silence_ms"]) == (
        NODE_UP, "active", 1.0, 100, 1500)
    assert b["links"]["eth0"]["state"] == LINK_UP and b["links"]["eth1"]["state"] == LINK_INIT
    assert snap["nodes"]["c"]["state"] == NODE_NEVER
    assert snap["ping_nodes"]["192.0.2.1"]["state"] == PING_UP
    assert snap["ping_groups"]["g"]["state"] == "never"
    assert set(snap["counters"]) >= {"replay", "unknown_node", "old_duplicate", "ns_not_for_us", "bad_seq"}
    assert snap["local"]["node"] == "a" and snap["local"]["status"] == "up"


# --- events and actions are values ------------------------------------------------------------

def test_actions_compare_by_value_and_serialise():
    m = machine()
    out = m.heard(FakePeer("b").status(1.0))
    again = machine().heard(FakePeer("b").status(1.0))
    assert out == again
    for a in out:
        json.dumps(a.to_dict())
    with pytest.raises(AttributeError):
        out[0].text = "x"
    assert isinstance(m.handle(Tick(2.0)), list)
    with pytest.raises(TypeError):
        m.handle("nonsense")


def test_a_dead_nodes_late_messages_are_not_delivered_until_a_status_heals_it():
    # Lab (kill drill, fast timings): the peer's resource report, sent before its daemon
    # was killed, was read after we had declared it dead; delivered, it made the manager
    # hand the group back to the dead node (30 s outage until it restarted).
    m = machine()
    p = FakePeer("b", hg=100)
    m.heard(p.status(1.0))
    assert of(m.tick(7.001), "NodeDead")
    out = m.heard(p.msg(7.2, "ip-request-resp", rsc_hold="all"))
    assert of(out, "Deliver") == [] and m.node_state("b") == NODE_DEAD
    assert m.counters["from_dead_node"] == 1
    assert "ignored ip-request-resp from b: declared dead, and no newer status since" in logs(out)
    out = m.heard(p.status(8.0))                      # alive after all: healed
    assert of(out, "PartitionHealed")
    out = m.heard(p.msg(8.1, "ip-request-resp", rsc_hold="all"))
    assert [d.t for d in of(out, "Deliver")] == ["ip-request-resp"]
