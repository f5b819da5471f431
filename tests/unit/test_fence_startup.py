"""Start-up fencing (pyha/cluster/manager/fence.py, `FenceGate.peer_unseen`) in the
deterministic simulator: a node that starts alone fences the peer it never heard before
it takes any group, its own included, as heartbeat 3.0.6 does (hb_resource.c,
hb_rsc_recover_dead_resources: `anypacketsyet` 0 -> need_stonith -> Initiate_Reset;
takeover_from_node only after the reset succeeded).

Same set-up as test_fence_gate.py: the daemon's own fencing options over real `fence`
lines; the fence device is clustersim's fake (a 1 s call; success powers the target off,
failure is fence_ipmilan's exit 1).  ha2 is "never started" by starting it far beyond
the end of the run (the namespace exists, its daemon does not run).  initdead is 12 s.
"""

from clustersim import Cluster
from pyha.cluster.manager_events import Acquire, FencePeer, FenceStateChanged
from test_fence_gate import DISK, VIP, acquires, fence_calls, fencing, reasons, stonith

NEVER = 10 ** 6


def states(c, node):
    return [a.new for _, a in c.actions(node, FenceStateChanged)]


def test_alone_with_a_working_device_fences_then_takes_everything():
    c = Cluster(groups=((VIP, "ha1", True), (DISK, "ha2", False)), node_opts=fencing(0.0),
                start_at={"ha2": NEVER})
    c.run_until(30)
    calls = fence_calls(c, "ha1")
    assert len(calls) == 1 and 11.9 <= calls[0] <= 13.0  # at initdead, no fence_delay on the preferred node
    assert [(f, t) for _, f, t in c.world.fenced] == [("ha1", "ha2")]
    fenced_at = c.world.fenced[0][0]
    taken = acquires(c, "ha1")
    assert taken and min(taken) >= fenced_at  # not even its own group before the fence
    assert c.holders(VIP) == {"ha1"} and c.holders(DISK) == {"ha1"}
    assert stonith(c, "ha1") == [{"node": "ha2", "result": "OK"}]
    assert states(c, "ha1") == ["fencing", "fenced"]
    rs = reasons(c, "ha1")
    assert any(r.startswith("ha2 was not heard at start-up (") and "nothing says what it holds" in r
               and r.endswith("fencing it with fence_ipmilan (/etc/ha.d/pyha.cf:2) before taking any group, "
                              "my own included (start-up fencing)") for r in rs)
    assert any(r.startswith("taking all groups") and "at start-up" in r and "ha2 fenced by fence_ipmilan" in r
               for r in rs)


def test_alone_without_a_device_takes_at_once_as_before():
    c = Cluster(start_at={"ha2": NEVER})
    c.run_until(30)
    assert fence_calls(c, "ha1") == [] and c.holders() == {"ha1"}
    assert stonith(c, "ha1") == []


def test_the_non_preferred_node_waits_its_fence_delay_too():
    c = Cluster(node_opts=fencing(5.0), start_at={"ha1": NEVER})
    c.run_until(13)
    snap = c.snapshot("ha2")["fencing"]
    assert snap["state"] == "delaying" and snap["startup"] and snap["blocking_takeover"]
    assert "not taking any group, my own included (start-up fencing) until then" in snap["reason"]
    c.run_until(30)
    assert 16.9 <= fence_calls(c, "ha2")[0] <= 18.0
    assert c.holders() == {"ha2"}


def test_broken_device_no_takeover_retries_and_status_says_so():
    from pyha.cli.daemon_cmd import format_status
    c = Cluster(groups=((VIP, "ha1", True), (DISK, "ha2", False)), node_opts=fencing(0.0),
                start_at={"ha2": NEVER}, shell={"ha1": {"fence_ok": False}})
    c.run_until(40)
    assert acquires(c, "ha1") == [] and c.holders(VIP) == set() and c.holders(DISK) == set()
    calls = fence_calls(c, "ha1")
    assert len(calls) == 5 and all(5.9 < b - a < 6.1 for a, b in zip(calls, calls[1:]))  # 1 s call + 5 s
    c.run_until(40.5)
    snap = c.snapshot("ha1")["fencing"]
    assert snap["state"] == "failed" and snap["startup"] and snap["blocking_takeover"]
    assert "retrying in 5 s; not taking any group (start-up fencing)" in snap["reason"]
    assert stonith(c, "ha1") == [{"node": "ha2", "result": "bad"}]
    text = format_status(c.stacks["ha1"].core.snapshot(c.now))
    assert "  fencing ha2 with fence_ipmilan (/etc/ha.d/pyha.cf:2): failed (fencing ha2 failed: fence_ipmilan " \
           "exit 1: Failed: Unable to obtain correct plug status; retrying in 5 s; not taking any group" in text
    # RQSTDELAY (10 s after comm-up) ran out long ago: it took nothing either.
    assert not any(r.startswith("taking my groups") for r in reasons(c, "ha1"))
    # The BMC is repaired: the next attempt succeeds and only then is everything taken.
    c.stacks["ha1"].shell.fence_ok = True
    c.run_until(50)
    assert c.holders(VIP) == {"ha1"} and c.holders(DISK) == {"ha1"}
    assert stonith(c, "ha1")[-1] == {"node": "ha2", "result": "OK"}


def test_peer_appearing_during_the_delay_cancels_and_start_up_goes_on():
    # ha1 is the non-preferred node here (ha2 is preferred: first in haresources), so it
    # waits fence_delay; ha2's daemon starts within it.  Nobody is fenced, nothing is
    # taken twice, and each node ends with its own group (the normal start-up rules).
    groups = ((DISK, "ha2", False), (VIP, "ha1", True))
    c = Cluster(groups=groups, node_opts=fencing(5.0, preferred="ha2"), start_at={"ha2": 14.0})
    c.run_until(13.5)
    assert c.snapshot("ha1")["fencing"]["state"] == "delaying"
    c.run_until(40)
    assert fence_calls(c, "ha1") == [] and c.world.fenced == []
    assert c.holders(VIP) == {"ha1"} and c.holders(DISK) == {"ha2"}
    assert c.world.duplicates == []
    assert any(r.startswith("ha2 answers at start-up") and r.endswith("before it was fenced: no fencing and no "
                                                                       "takeover") for r in reasons(c, "ha1"))
    assert c.snapshot("ha1")["fencing"]["state"] == "idle"
    assert min(acquires(c, "ha1")) > 14.0


def test_peer_appearing_while_the_call_runs_the_result_decides():
    # A successful call: ha2 went off (its resources with it), ha1 takes everything.
    c = Cluster(groups=((VIP, "ha1", True), (DISK, "ha2", False)), node_opts=fencing(0.0),
                start_at={"ha2": 12.6}, shell={"ha1": {"fence_s": 4.0}})
    c.run_until(40)
    assert [(f, t) for _, f, t in c.world.fenced] == [("ha1", "ha2")]
    assert c.holders(VIP) == {"ha1"} and c.holders(DISK) == {"ha1"} and c.world.duplicates == []
    # A failing call: no retry, no takeover; the start-up rules go on with the live peer.
    c = Cluster(groups=((VIP, "ha1", True), (DISK, "ha2", False)), node_opts=fencing(0.0),
                start_at={"ha2": 12.6}, shell={"ha1": {"fence_ok": False, "fence_s": 4.0}})
    c.run_until(40)
    assert len(fence_calls(c, "ha1")) == 1 and c.world.fenced == []
    assert any("answered meanwhile: not retrying, not taking over" in r for r in reasons(c, "ha1"))
    assert c.holders(VIP) == {"ha1"} and c.holders(DISK) == {"ha2"} and c.world.duplicates == []


def test_acquire_actions_carry_no_group_before_the_fence():
    c = Cluster(groups=((VIP, "ha1", True),), node_opts=fencing(0.0), start_at={"ha2": NEVER},
                shell={"ha1": {"fence_s": 3.0}})
    c.run_until(14.5)
    assert c.actions("ha1", Acquire) == [] and c.snapshot("ha1")["fencing"]["state"] == "fencing"
    assert len(c.actions("ha1", FencePeer)) == 1


def test_legacy_start_alone_fences_first_too():
    # auto_failback legacy (nice_failback off) starts through its own path; the gate is the same.
    c = Cluster(auto_failback="legacy", node_opts=fencing(0.0), start_at={"ha2": NEVER})
    c.run_until(30)
    assert [(f, t) for _, f, t in c.world.fenced] == [("ha1", "ha2")]
    assert c.holders() == {"ha1"} and min(acquires(c, "ha1")) >= c.world.fenced[0][0]


def test_legacy_peer_appearing_during_the_delay_cancels_and_start_up_goes_on():
    groups = ((DISK, "ha2", False), (VIP, "ha1", True))
    c = Cluster(groups=groups, auto_failback="legacy", node_opts=fencing(5.0, preferred="ha2"),
                start_at={"ha2": 14.0})
    c.run_until(13.5)
    assert c.snapshot("ha1")["fencing"]["state"] == "delaying"
    c.run_until(40)
    assert fence_calls(c, "ha1") == [] and c.world.fenced == [] and c.world.duplicates == []
    assert c.holders(VIP) == {"ha1"} and c.holders(DISK) == {"ha2"}
