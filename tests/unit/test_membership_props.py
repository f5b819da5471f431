"""Property tests: random and hostile event sequences never crash the membership machine
and never make it declare a node dead that was heard within its dead time.

Hypothesis runs derandomized (fixed examples per run), so these tests are deterministic.
"""

import json
import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyha.cluster.events import (
    LINK_DEAD, LINK_INIT, LINK_UP, NODE_DEAD, NODE_LEFT, NODE_NEVER, NODE_STATES, NODE_UP,
    Heard, PingReply,
)
from pyha.cluster.membership import Membership

from simnet import config

SETTINGS = settings(max_examples=250, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])

NAMES = ["a", "b", "c", "mallory", "", "B"]
TYPES = ["status", "NS_ackmsg", "NS_rexmit", "NS_nak_rexmit", "NS_st", "shutdone", "reqnodes",
         "repnodes", "resource", "starting", "", "NS_", "x"]
FIELD_NAMES = ["st", "dt", "dest", "protocol", "firstseq", "lastseq", "ackseq", "info", "nodelist"]
VALUES = st.one_of(
    st.sampled_from(["1", "23", "1f40", "1770", "a", "b", "c", "up", "active", "init", "dead", "0",
                     "-1", "", " ", "ffffffffffffffffffff", "1_0", "0x10", "35", "99999999"]),
    st.text(max_size=8),
    st.integers(),          # wrong type on purpose
    st.none(),
)
FIELDS = st.dictionaries(st.sampled_from(FIELD_NAMES), VALUES, max_size=6)
STEP = st.integers(min_value=0, max_value=9000).map(lambda ms: ms / 1000.0)
INTS = st.one_of(st.none(), st.integers(min_value=-3, max_value=700), st.just(2 ** 70),
                 st.sampled_from([True, "5", 1.5]))

GARBAGE = st.one_of(
    st.tuples(st.just("tick"), STEP),
    st.tuples(st.just("heard"), STEP, st.sampled_from(["eth0", "eth1", None, "bogus"]),
              st.sampled_from(NAMES), st.sampled_from(TYPES), INTS,
              st.one_of(st.none(), st.integers(min_value=0, max_value=4)),
              st.one_of(st.none(), st.integers(min_value=0, max_value=3)), FIELDS),
    # plausible messages from real peers, so that nodes come and go, restart and heal
    st.tuples(st.just("heard"), STEP, st.sampled_from(["eth0", "eth1"]), st.sampled_from(["b", "c"]),
              st.sampled_from(["status", "status", "status", "shutdone", "resource", "reqnodes",
                               "NS_rexmit", "NS_ackmsg", "NS_nak_rexmit"]),
              st.integers(min_value=1, max_value=40), st.integers(min_value=1, max_value=3), st.just(1),
              st.fixed_dictionaries({"st": st.sampled_from(["init", "up", "active"])}).flatmap(
                  lambda base: FIELDS.map(lambda extra: dict(extra, **base)))),
    st.tuples(st.just("ping"), STEP, st.sampled_from(["192.0.2.1", "192.0.2.2", "g", "x", None])),
    st.tuples(st.just("send"), st.sampled_from(["resource", "NS_ackmsg", "starting"])),
)


def new_machine(seed):
    cfg = config("a", ("a", "b", "c"), ("eth0", "eth1"), ping_nodes=("192.0.2.1",),
                 ping_groups={"g": ["192.0.2.2", "192.0.2.3"]})
    m = Membership(cfg, random.Random(seed))
    return m


class Model(object):
    """What the notifications alone say about node and link states."""

    def __init__(self, m):
        self.nodes = dict((n, NODE_NEVER) for n in m.config.peers)
        self.links = dict(((n, md), LINK_INIT) for n in m.config.peers for md in m.config.media)

    def apply(self, actions):
        for a in actions:
            kind = type(a).__name__
            if kind == "NodeUp":
                self.nodes[a.node] = NODE_UP
            elif kind == "NodeDead":
                self.nodes[a.node] = NODE_DEAD
            elif kind == "NodeLeft":
                self.nodes[a.node] = NODE_LEFT
            elif kind == "LinkUp":
                self.links[(a.node, a.medium)] = LINK_UP
            elif kind == "LinkDead":
                self.links[(a.node, a.medium)] = LINK_DEAD


def check_step(m, model, before, now, actions):
    snap = m.snapshot(now)
    assert json.loads(json.dumps(snap)) == snap
    model.apply(actions)
    started = snap["local"]["started_at"]
    for name, node in snap["nodes"].items():
        assert node["state"] in NODE_STATES
        assert model.nodes[name] == node["state"], (name, actions)
        for medium, link in node["links"].items():
            assert model.links[(name, medium)] == link["state"]
        assert len(node["seq"]["missing"]) <= 500
    for a in actions:
        if type(a).__name__ == "NodeDead":
            # Declared dead only if silent longer than its dead time, as known before.
            prev = before["nodes"][a.node]
            ref = prev["last_heard"] if prev["last_heard"] is not None else started
            assert now - ref > prev["dead_time_ms"] / 1000.0, (a, prev, now)
    for name, prev in before["nodes"].items():
        if prev["state"] in (NODE_UP, NODE_NEVER, NODE_LEFT) and prev["last_heard"] is not None:
            if now - prev["last_heard"] <= prev["dead_time_ms"] / 1000.0:
                assert not any(type(a).__name__ == "NodeDead" and a.node == name for a in actions)


@SETTINGS
@given(seed=st.integers(min_value=0, max_value=2 ** 32), events=st.lists(GARBAGE, max_size=60))
def test_random_garbage_never_crashes_and_keeps_invariants(seed, events):
    m = new_machine(seed)
    model = Model(m)
    now = 0.0
    model.apply(m.tick(now))
    for ev in events:
        before = m.snapshot(now)
        kind = ev[0]
        if kind == "send":
            s = m.send({"t": ev[1]})
            if s.seq is not None:
                m.record_sent(s.seq, b"x")
            continue
        now += ev[1]
        if kind == "tick":
            actions = m.tick(now)
        elif kind == "ping":
            actions = m.ping_reply(PingReply(now, ev[2]))
        else:
            _, _, medium, src, t, seq, hg, ts, fields = ev
            actions = m.heard(Heard(now, medium, src, t, seq, hg, ts, fields))
        assert isinstance(actions, list)
        for a in actions:
            json.dumps(a.to_dict())
        check_step(m, model, before, now, actions)
        assert m.next_deadline(now) >= now


# --- a legitimate peer among hostile noise -------------------------------------------------

NOISE = st.one_of(
    # replays: older generation, any seq
    st.tuples(st.just("replay"), st.integers(min_value=0, max_value=99), st.integers(min_value=1, max_value=400)),
    # unknown or malformed senders
    st.tuples(st.just("stranger"), st.sampled_from(["mallory", "", "c"]), st.integers(min_value=1, max_value=400)),
    # broken control fields from b itself
    st.tuples(st.just("broken"), st.sampled_from([None, 0, -1, "x"]), st.sampled_from([None, 100, -1])),
    # NS traffic, for us or for others, with random fields
    st.tuples(st.just("ns"), st.sampled_from(["NS_ackmsg", "NS_rexmit", "NS_nak_rexmit", "NS_whatever"]),
              FIELDS),
)
LEGIT = st.tuples(st.just("legit"), st.sampled_from(["eth0", "eth1"]),
                  st.sampled_from(["status", "status", "status", "resource"]))
STEPS = st.lists(st.tuples(STEP, st.one_of(LEGIT, NOISE, st.just(("tick",)))), max_size=80)


@SETTINGS
@given(seed=st.integers(min_value=0, max_value=2 ** 32), steps=STEPS)
def test_peer_heard_within_its_dead_time_is_never_dead(seed, steps):
    m = Membership(config("a", ("a", "b"), ("eth0", "eth1")), random.Random(seed))
    model = Model(m)
    now = 0.0
    model.apply(m.tick(now))
    seq = 0
    last_status = None     # when b's last fresh status reached us
    for step, what in steps:
        now += step
        before = m.snapshot(now)
        kind = what[0]
        if kind == "tick":
            actions = m.tick(now)
        elif kind == "legit":
            seq += 1
            fields = {"t": what[2], "src": "b", "st": "active", "dt": "1770", "protocol": "1"}
            actions = m.heard(Heard(now, what[1], "b", what[2], seq, 100, 1, fields))
            if what[2] == "status":
                last_status = now
        elif kind == "replay" and seq == 0:
            actions = m.tick(now)  # nothing to replay yet (and a first hg would be believed)
        elif kind == "replay":
            fields = {"t": "status", "st": "active", "dt": "1"}
            actions = m.heard(Heard(now, "eth0", "b", "status", what[2], what[1], 1, fields))
        elif kind == "stranger":
            actions = m.heard(Heard(now, "eth0", what[1], "status", what[2], 100, 1, {"st": "up", "dt": "1"}))
        elif kind == "broken":
            actions = m.heard(Heard(now, "eth1", "b", "status", what[1], what[2], 1, {"st": "up", "dt": "1"}))
        else:
            actions = m.heard(Heard(now, "eth0", "b", what[1], None, 100, 1, dict(what[2], t=what[1])))
        check_step(m, model, before, now, actions)
        state = m.node_state("b")
        if last_status is None:
            assert state == (NODE_DEAD if now > 12.0 else NODE_NEVER)
        elif now - last_status <= 6.0:
            assert state == NODE_UP, (now, last_status, actions)
        else:
            assert state == NODE_DEAD
        # The hostile traffic never changed b's generation or dead time.
        snap = m.snapshot(now)["nodes"]["b"]
        assert snap["generation"] in (None, 100)
        assert snap["dead_time_ms"] == (6000 if m.comm_up else 12000)
