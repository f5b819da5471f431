"""Generation numbers that lie (issue 11 item 3): one signed packet with a huge `hg`, a
bogus generation that talks for a while, a real restart, replays of an old incarnation,
and state for senders that are not in ha.cf.

Timings: keepalive 1 s, deadtime 6 s (the peer advertises dt=1770), fake clock; the
machine is driven as the daemon drives it (a tick at every `next_deadline()`).
"""

from pyha.cluster.events import CRITICAL, ERROR, NODE_DEAD, NODE_UP, Heard
from pyha.cluster.membership import Membership

from simnet import FakePeer, config, drive, logs, machine, of

BOGUS = 0xffffffffffffffff


def talking(peer, start, stop, every=1.0, resource_at=()):
    """(time, Heard) inputs, numbered in time order: a status every `every` s, plus
    `resource` messages at the times given."""
    times = []
    t = start
    while t <= stop + 1e-9:
        times.append((t, "status"))
        t = round(t + every, 6)
    times += [(t, "resource") for t in resource_at]
    out = []
    for t, kind in sorted(times):
        out.append((t, peer.status(t) if kind == "status" else peer.msg(t, "resource", rsc_hold="all")))
    return out


def up_machine():
    m = machine()
    b = FakePeer("b", hg=100)
    m.heard(b.status(0.5))
    m.heard(b.status(0.6))
    assert m.node_state("b") == NODE_UP
    return m, b


def timed_of(timed, kind):
    return [(t, a) for t, a in timed if type(a).__name__ == kind]


def states(timed):
    return [a for _, a in timed if type(a).__name__ in ("NodeDead", "NodeUp", "NodeRestarted", "PartitionHealed")]


def test_one_bogus_packet_changes_nothing_and_is_ignored_after_deadtime():
    m, b = up_machine()
    bogus = FakePeer("b", hg=BOGUS)
    inputs = talking(b, 1.0, 30.0, resource_at=(5.2, 12.2))
    inputs += [(3.5, bogus.status(3.5)), (3.6, bogus.again(3.6, "eth1"))]  # the same packet twice
    timed = drive(m, 30.0, inputs)
    assert states(timed) == []  # no restart, no death, no failover
    assert m.node_state("b") == NODE_UP
    # every genuine message is still delivered, during the bogus generation's wait too
    assert [(t, a.t) for t, a in timed_of(timed, "Deliver")] == [(5.2, "resource"), (12.2, "resource")]
    ignored = [(t, text) for t, a in timed for text in logs([a], ERROR) if "was not followed" in text]
    assert ignored == [(9.501, "generation %d from node b was not followed by any packet for 6001 ms while "
                               "generation 100 kept talking: ignored" % BOGUS)]
    c = m.counters
    assert (c["generations_pending"], c["bogus_generations"], c["restarts"], c["replay"]) == (1, 1, 0, 0)
    assert c["duplicate"] >= 1  # its copy on the other link did not count as a second packet
    snap = m.snapshot()["nodes"]["b"]
    assert (snap["generation"], snap["pending_generation"], snap["previous_generation"]) == (100, None, None)


def test_a_bogus_generation_that_talked_is_undone_when_it_falls_silent():
    # A clone of b (same name, same key, its own hb_generation) talks for 2 s, then stops;
    # the real b never stopped.
    m, b = up_machine()
    clone = FakePeer("b", hg=BOGUS)
    inputs = talking(b, 1.0, 30.0, resource_at=(5.2, 20.2))
    inputs += talking(clone, 3.5, 5.5)
    inputs.sort(key=lambda pair: pair[0])
    timed = drive(m, 30.0, inputs)
    restarts = timed_of(timed, "NodeRestarted")
    assert [(t, a.old_generation, a.new_generation) for t, a in restarts] == [(4.5, 100, BOGUS), (11.501, BOGUS, 100)]
    assert states(timed) == [a for _, a in restarts]  # never dead: the real b kept it alive
    back = [(t, text) for t, a in timed for text in logs([a], CRITICAL)]
    assert back == [(11.501, "generation %d from node b was not followed by any packet for 6001 ms while "
                             "generation 100 kept talking: back to 100" % BOGUS)]
    # while the clone's generation was current, the real b's messages were not delivered;
    # after the revert they are again
    assert [(t, a.t) for t, a in timed_of(timed, "Deliver")] == [(20.2, "resource")]
    c = m.counters
    assert (c["restarts"], c["generation_reverts"], c["replay"]) == (1, 1, 0)
    assert c["previous_generation"] >= 7  # the real b's packets from 4.5 s to 11.5 s
    snap = m.snapshot()["nodes"]["b"]
    assert (snap["generation"], snap["previous_generation"], m.node_state("b")) == (100, None, NODE_UP)
    assert snap["seq"]["last_seq"] == b.seq  # sequence tracking went on, no loss logged
    assert not any("lost packet" in text for _, a in timed for text in logs([a]))


def test_a_real_restart_works_as_before_and_replays_of_the_old_incarnation_stay_dead():
    m, b = up_machine()
    old_packets = [h for _, h in talking(b, 1.0, 5.0)]
    drive(m, 5.0, [(h.now, h) for h in old_packets])
    new = FakePeer("b", hg=101)
    # the old daemon stopped at 5.0; the new one starts at 6.0 and crashes after 9.0
    inputs = [(6.0, new.status(6.0, st="init")), (6.0, new.status(6.0, st="up"))] + talking(new, 7.0, 9.0)

    def replays(at):
        return [(at, Heard(at, "eth0", h.src, h.t, h.seq, h.hg, h.ts, h.fields)) for h in old_packets]

    inputs += replays(9.5) + replays(12.0) + replays(14.5)
    inputs.sort(key=lambda pair: pair[0])
    timed = drive(m, 20.0, inputs)
    kinds = [(t, type(a).__name__) for t, a in timed if type(a).__name__ in ("NodeRestarted", "NodeDead", "NodeUp")]
    assert kinds == [(6.0, "NodeRestarted"), (15.001, "NodeDead")]  # declared dead on time
    assert m.node_state("b") == NODE_DEAD
    c = m.counters
    # the replays kept nothing alive: old ones of the previous incarnation while it was
    # remembered, replays once it was forgotten (it fell silent at 5.0)
    assert c["previous_generation"] == 0 and c["generation_reverts"] == 0
    assert c["old_duplicate"] + c["duplicate"] == 5 and c["replay"] == 10
    assert m.snapshot()["nodes"]["b"]["generation"] == 101
    # and the newer incarnation's own packets are welcome again
    out = m.heard(new.status(21.0))
    assert of(out, "PartitionHealed")


def test_replay_of_unseen_old_packets_cannot_revive_a_dead_node():
    # Packets of the old incarnation we never received, replayed long after it stopped.
    m, b = up_machine()
    drive(m, 3.0, talking(b, 1.0, 3.0))
    unseen = [b.status(3.5), b.status(4.0)]  # sent, lost on the way to us, captured
    new = FakePeer("b", hg=101)
    drive(m, 6.0, [(5.0, new.status(5.0, st="init")), (5.0, new.status(5.0, st="up"))])
    timed = drive(m, 30.0, [(20.0, Heard(20.0, "eth0", "b", "status", h.seq, 100, h.ts, h.fields))
                            for h in unseen])
    assert [type(a).__name__ for _, a in timed if type(a).__name__ in ("NodeDead", "NodeUp", "NodeRestarted",
                                                                       "PartitionHealed")] == ["NodeDead"]
    assert m.node_state("b") == NODE_DEAD and m.counters["replay"] == 2


def test_senders_not_in_ha_cf_leave_no_state():
    m = Membership(config(), None)
    m.tick(0.0)
    before = m.snapshot()
    for i in range(2000):
        h = Heard(1.0 + i * 0.001, "eth0", "stranger%d" % i, "status", 1, 1000 + i, 1,
                  {"t": "status", "st": "active", "dt": "1770"})
        m.heard(h)
    after = m.snapshot()
    assert list(after["nodes"]) == list(before["nodes"]) == ["b"]
    assert after["nodes"]["b"]["generation"] is None
    assert after["counters"]["unknown_node"] == 2000
    assert len(m._bad_names) <= 32  # only so many names are logged (and remembered)
