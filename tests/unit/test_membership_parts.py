"""The parts `Membership` is composed of, each driven alone (issue 12: collaborators with
their own state, not mixins): one peer's generation rules, our status heartbeat, our side
of acks and retransmissions, and ping groups.  The whole machine is tested in
test_membership*.py; these pin each part's own contract.
"""

from pyha.cluster.events import (
    CRITICAL, ERROR, LOCAL_ACTIVE, LOCAL_INIT, LOCAL_UP, NODE_UP, PING_DEAD, PING_UP,
    Heard, Log, NodeRestarted, PingDead, PingUp, Send,
)
from pyha.cluster.membership import IllegalTransition, MembershipConfig
from pyha.cluster.membership_generations import AGAIN, DROP, PREVIOUS, RESTARTED, Generations
from pyha.cluster.membership_local import OurHeartbeat
from pyha.cluster.membership_peers import Peer
from pyha.cluster.membership_pings import Pings
from pyha.cluster.membership_rexmit import Reliability

import pytest

DEAD_S = 6.0


class Counts(dict):
    def __call__(self, name, n=1):
        self[name] = self.get(name, 0) + n


def pkt(now, seq, hg, t="status"):
    return Heard(now, "eth0", "b", t, seq, hg, 1, {"t": t, "st": "active"})


def gens_at(generation, last):
    counts = Counts()
    g = Generations("b", 0, counts)
    g.current.generation = generation
    g.current.last = last
    return g, counts


def test_higher_generation_waits_for_a_second_packet_then_restarts_with_both_in_order():
    g, counts = gens_at(100, 0.0)
    out = []
    assert g.other(1.0, pkt(1.0, 7, 200), DEAD_S, out) == (DROP, ())
    assert g.pending[0].hg == 200 and counts == {"generations_pending": 1}
    assert g.other(1.1, pkt(1.1, 7, 200), DEAD_S, out) == (DROP, ())  # the same packet again
    what, packets = g.other(1.2, pkt(1.2, 3, 200), DEAD_S, out)
    assert what == RESTARTED and [p.seq for p in packets] == [3, 7]
    assert (g.current.generation, g.current.last, g.previous.generation) == (200, 1.2, 100)
    assert g.restarted and g.pending is None
    assert [a for a in out if isinstance(a, NodeRestarted)] == [
        NodeRestarted("b", 100, 200, "Heartbeat restart on node b (generation 100 -> 200)")]


def test_a_lower_generation_is_a_replay():
    g, counts = gens_at(100, 0.0)
    out = []
    assert g.other(1.0, pkt(1.0, 9, 99), DEAD_S, out) == (DROP, ())
    assert counts == {"replay": 1}
    assert out[0].level == ERROR and "attempted replay attack" in out[0].text


def test_a_generation_seen_once_is_forgotten_after_the_dead_time():
    g, counts = gens_at(100, 0.0)
    out = []
    g.other(1.0, pkt(1.0, 1, 200), DEAD_S, out)
    assert g.deadlines(DEAD_S) == [pytest.approx(1.0 + DEAD_S + 0.001)]
    g.expire(1.0 + DEAD_S, DEAD_S, 0.0, out)
    assert g.pending is not None  # silence must be strictly longer
    g.expire(7.01, DEAD_S, 0.0, out)
    assert g.pending is None and g.current.generation == 100 and counts["bogus_generations"] == 1


def restarted_gens():
    g, counts = gens_at(100, 0.0)
    g.other(1.0, pkt(1.0, 1, 200), DEAD_S, [])
    g.other(1.1, pkt(1.1, 2, 200), DEAD_S, [])
    g.previous.track.last_seq = 10
    return g, counts


def test_newer_packets_of_the_previous_incarnation_count_older_ones_do_not():
    g, counts = restarted_gens()
    assert g.other(2.0, pkt(2.0, 10, 100), DEAD_S, []) == (DROP, ())  # seen already
    what, packets = g.other(2.0, pkt(2.0, 11, 100), DEAD_S, [])
    assert what == PREVIOUS and packets[0].seq == 11 and g.previous.last == 2.0
    assert g.previous_status(11) and not g.previous_status(11)
    assert counts["previous_generation"] == 1 and counts["duplicate"] == 1


def test_new_generation_silent_while_the_previous_talks_is_undone():
    g, counts = restarted_gens()
    g.other(5.0, pkt(5.0, 11, 100), DEAD_S, [])
    assert g.deadlines(DEAD_S) == [pytest.approx(1.1 + DEAD_S + 0.001)]
    out = []
    g.expire(7.2, DEAD_S, 0.0, out)
    assert (g.current.generation, g.previous, g.restarted) == (100, None, False)
    assert counts["generation_reverts"] == 1
    assert [a.level for a in out if isinstance(a, Log)] == [CRITICAL]
    assert [(a.old_generation, a.new_generation) for a in out if isinstance(a, NodeRestarted)] == [(200, 100)]


def test_previous_incarnation_talking_after_the_dead_time_reverts_and_is_processed_again():
    g, _ = restarted_gens()
    g.previous.last = 1.5  # it talked after the restart
    what, packets = g.other(7.2, pkt(7.2, 11, 100), DEAD_S, [])
    assert what == AGAIN and packets[0].seq == 11 and g.current.generation == 100


def test_previous_incarnation_silent_for_the_dead_time_is_forgotten_its_packets_are_replays():
    g, counts = restarted_gens()
    g.current.last = 7.0  # the new generation keeps talking
    g.expire(7.2, DEAD_S, 0.0, [])
    assert g.previous is None
    assert g.other(7.3, pkt(7.3, 11, 100), DEAD_S, []) == (DROP, ())
    assert counts["replay"] == 1


def cfg(**kw):
    return MembershipConfig("a", ("a", "b"), ("eth0",), keepalive_ms=1000, deadtime_ms=6000, **kw)


def test_our_heartbeat_start_burst_cadence_and_settling_dt():
    sent = []
    hb = OurHeartbeat(cfg(), lambda fields: sent.append(dict(fields)) or Send(dict(fields), None, len(sent)))
    out = []
    assert hb.status == LOCAL_INIT
    hb.start(10.0, out)
    hb.set_status(10.0, LOCAL_UP, "started", out)
    hb.set_status(10.0, LOCAL_UP, "again", out)  # no change, nothing sent
    assert [(f["st"], f["dt"]) for f in sent] == [(LOCAL_INIT, "%x" % 8000), (LOCAL_UP, "%x" % 8000)]
    assert hb.deadlines() == [11.0, 15.0]
    hb.tick(10.5, out)
    assert len(sent) == 2
    hb.tick(11.0, out)
    hb.tick(15.0, out)  # the dt settles: an extra status with the plain deadtime
    assert [f["dt"] for f in sent[2:]] == ["%x" % 8000, "%x" % 6000]
    hb.tick(40.0, out)  # after a pause: one status, the cadence resumes from now
    assert len(sent) == 5 and hb.deadlines() == [41.0]
    hb.set_status(40.5, LOCAL_ACTIVE, "comm up", out)
    assert sent[-1]["st"] == LOCAL_ACTIVE and sent[-1]["protocol"] == "1"


def test_reliability_numbers_sequenced_messages_only_and_answers_rexmit():
    counts = Counts()
    r = Reliability(cfg(), counts, lambda a, b: b)
    assert r.send({"t": "status"}).seq == 1 and r.send({"t": "NS_ackmsg"}, "b").seq is None
    r.history.record(1, b"one")
    peer = Peer("b", ("eth0",), 0, counts)
    r.on_ack(peer, {"ackseq": "5"})  # beyond what we sent
    assert counts["bad_field"] == 1 and peer.cur.acked == 0
    r.on_ack(peer, {"ackseq": "1"})
    assert peer.cur.acked == 1
    out = []
    r.on_rexmit(0.0, peer, {"firstseq": "2", "lastseq": "1"}, out)
    assert counts["bad_field"] == 2 and out[0].level == ERROR
    r.flow_control = False
    r.ack(peer, 3, out)
    assert "acks_sent" not in counts


def test_reliability_asks_only_peers_that_are_up():
    counts = Counts()
    r = Reliability(cfg(max_rexmit_delay_ms=250), counts, lambda a, b: b)
    peer = Peer("b", ("eth0",), 0, counts)
    peer.cur.track.receive(1)
    peer.cur.track.receive(3)
    r.missing(0.0, peer, [2])
    assert peer.cur.track.next_rexmit() == pytest.approx(0.25)
    out = []
    r.fire(1.0, [peer], out)
    assert out == [] and peer.cur.track.next_rexmit() is None
    peer.state = NODE_UP
    r.missing(1.0, peer, [2])
    r.fire(2.0, [peer], out)
    assert [(s.fields["t"], s.fields["firstseq"]) for s in out] == [("NS_rexmit", "2")]
    assert counts["rexmit_requests_sent"] == 1


def test_ping_group_is_up_while_any_member_answers_and_transitions_are_checked():
    pings = Pings(cfg(ping_nodes=("192.0.2.1",), ping_groups={"g": ["192.0.2.2", "192.0.2.3"]}))
    out = []
    assert not pings.reply(1.0, "198.51.100.9", out) and out == []
    assert pings.reply(1.0, "192.0.2.3", out)
    assert [type(a) for a in out if isinstance(a, (PingUp, PingDead))] == [PingUp]
    assert pings.names_in(PING_UP) == ["g"] and pings.by_name["g"].last_member == "192.0.2.3"
    out = []
    pings.expire(7.01, 6000, 0.0, out)
    assert pings.names_in(PING_DEAD) == ["192.0.2.1", "g"]
    assert "never answered within 6000 ms" in pings.by_name["192.0.2.1"].reason
    with pytest.raises(IllegalTransition):
        pings.by_name["g"].change(PING_DEAD, "twice", out)
