"""The fence gate (pyha/cluster/manager/fence.py) in the deterministic simulator: a dead
peer that may hold resources is fenced before anything is taken over.

The nodes are the daemon's own NodeCore; the fence device is clustersim's fake (a call
takes `fence_s`, success powers the target off with its resources, failure is
fence_ipmilan's exit 1).  Each node's fencing settings come from the daemon's own rule
(`composition.fence_options` over a real `FenceConfig` of `fence` lines and
`fence_delay`), so the delay that lets the preferred node (ha1, first in haresources)
fence first is production's.  Several tests use a group without a service address (a
DRBD disk): there the VIP witness cannot prevent a double start, only fencing can, so
without the gate they would see both nodes run it.
"""

from clustersim import Cluster
from pyha.cluster.manager_events import Acquire, FencePeer, FenceStateChanged, Shutdown
from pyha.daemon.composition import fence_options
from pyha.fencing.devices import AgentDevice, FenceConfig
from pyha.fencing.lines import FenceLine

VIP = "192.0.2.100/24/eth0"
DISK = "drbddisk::r0"
DEAD = 6.0  # deadtime


def fencing(fence_delay_s=5.0, nodes=("ha1", "ha2"), preferred="ha1"):
    """Each node's manager options for `fence NODE fence_ipmilan ...` lines of both nodes."""
    lines = [AgentDevice(FenceLine(n, "fence_ipmilan", (("ip", "192.0.2.1%d" % i), ("username", "u"))),
                         "/etc/ha.d/pyha.cf", i + 1) for i, n in enumerate(nodes)]
    config = FenceConfig(agents=lines, fence_delay=fence_delay_s)
    return dict((me, fence_options(config, me, [n for n in nodes if n != me][0], preferred)) for me in nodes)


def fence_calls(c, node):
    return [t for t, _ in c.actions(node, FencePeer)]


def acquires(c, node):
    return [t for t, a in c.actions(node, Acquire)]


def reasons(c, node):
    return [text for _, text in c.decisions(node)]


def stonith(c, node):
    return [dict(m[1:]) for m in c.resource_msgs(node) if m[0] == ("t", "stonith")]


def test_the_daemons_rule_gives_the_non_preferred_node_the_delay():
    opts = fencing(5.0)
    assert opts["ha1"] == {"fence_device": "fence_ipmilan (/etc/ha.d/pyha.cf:2)", "fence_delay_ms": 0}
    assert opts["ha2"] == {"fence_device": "fence_ipmilan (/etc/ha.d/pyha.cf:1)", "fence_delay_ms": 5000}
    assert fence_options(FenceConfig(), "ha1", "ha2", "ha1") == {}  # no device: heartbeat's n_stnth path


def test_dead_peer_is_fenced_then_taken_over():
    # ha1 hangs with its resources up (kernel stuck, daemon gone): its address still
    # answers, so without fencing ha2 would wait forever; with it, ha1 goes off first.
    c = Cluster(node_opts=fencing(2.0))
    c.crash(30, "ha1", resources="stay")
    c.run_until(50)
    calls = fence_calls(c, "ha2")
    assert len(calls) == 1
    assert 36.9 <= calls[0] <= 37.5  # last heartbeat ~29, dead 6 s later, then fence_delay
    assert [(f, t) for _, f, t in c.world.fenced] == [("ha2", "ha1")]
    fenced_at = c.world.fenced[0][0]
    assert acquires(c, "ha2") and min(acquires(c, "ha2")) >= fenced_at  # nothing taken before the fence
    assert c.holders() == {"ha2"}
    assert stonith(c, "ha2") == [{"node": "ha1", "result": "OK"}]
    assert any(r.startswith("ha1 is dead (node ha1: is dead") and "fencing it with fence_ipmilan" in r
               for r in reasons(c, "ha2"))
    assert any(r.startswith("taking over [%s] because node ha1: is dead" % VIP) and "fenced by fence_ipmilan" in r
               for r in reasons(c, "ha2"))
    states = [a.new for _, a in c.actions("ha2", FenceStateChanged)]
    assert states == ["delaying", "fencing", "fenced"]


def test_broken_device_no_takeover_retries_and_says_why():
    c = Cluster(groups=((DISK, "ha1", False),), node_opts=fencing(0.0),
                shell={"ha2": {"fence_ok": False}})
    c.crash(30, "ha1")  # its resources are gone, but ha2 cannot know that
    c.run_until(60)
    assert c.holders(DISK) == set()
    assert acquires(c, "ha2") == []
    calls = fence_calls(c, "ha2")
    assert len(calls) == 5  # 35, 41, 47, 53, 59: a 1 s call, then 5 s before the next
    assert all(4.9 < b - a < 6.1 for a, b in zip(calls, calls[1:]))
    snap = c.snapshot("ha2")["fencing"]
    assert snap["state"] == "fencing" and snap["blocking_takeover"] and snap["attempts"] == 5
    c.run_until(60.1)
    snap = c.snapshot("ha2")["fencing"]
    assert snap["state"] == "failed" and snap["blocking_takeover"] and snap["attempts"] == 5
    assert snap["reason"].startswith("fencing ha1 failed: fence_ipmilan exit 1: Failed: Unable to obtain")
    assert "retrying in 5 s; not taking over" in snap["reason"]
    assert c.stacks["ha2"].core.last_reason == snap["reason"]  # what `pyha status` shows as the last step
    assert stonith(c, "ha2") == [{"node": "ha1", "result": "bad"}]  # once, not every attempt
    # An operator's takeover is refused while the gate waits (it is what protects the data).
    from pyha.cluster.manager_events import CommandResult, Takeover
    c.command(60.2, "ha2", Takeover())
    c.run_until(61)
    assert acquires(c, "ha2") == []
    [(_, answer)] = c.actions("ha2", CommandResult)
    assert not answer.accepted and answer.reason.startswith(
        "cannot take over: waiting for the fencing of ha1 (failed); fencing ha1 failed: fence_ipmilan exit 1")
    # The BMC is repaired: the next attempt succeeds and only then is the group taken.
    c.stacks["ha2"].shell.fence_ok = True
    c.run_until(70)
    assert c.holders(DISK) == {"ha2"}
    assert stonith(c, "ha2")[-1] == {"node": "ha1", "result": "OK"}


def test_racing_nodes_the_preferred_fences_first():
    # Only the heartbeat links are cut: both nodes declare each other dead at once.
    c = Cluster(groups=((DISK, "ha1", False),), node_opts=fencing(5.0))
    c.cut(30)
    c.run_until(60)
    assert [(f, t) for _, f, t in c.world.fenced] == [("ha1", "ha2")]
    assert fence_calls(c, "ha2") == []  # it was off before its fence_delay ran out
    assert c.holders(DISK) == {"ha1"}
    assert c.world.duplicates == []
    assert acquires(c, "ha2") == []
    assert not c.net.nodes["ha2"].alive and c.net.nodes["ha1"].alive


def test_racing_nodes_without_a_delay_shoot_each_other():
    # Why fence_delay exists: with none, both calls run at once and both nodes go off.
    c = Cluster(groups=((DISK, "ha1", False),), node_opts=fencing(0.0))
    c.cut(30)
    c.run_until(60)
    assert sorted(t for _, _, t in c.world.fenced) == ["ha1", "ha2"]
    assert c.holders(DISK) == set()


def test_peer_back_during_the_delay_is_neither_fenced_nor_taken_over():
    # Only ha1 -> ha2 is cut: ha2 declares ha1 dead and waits fence_delay; ha1 is heard again.
    c = Cluster(groups=((DISK, "ha1", False),), node_opts=fencing(5.0))
    c.cut(30, "ha1", "ha2", both_ways=False)
    c.restore(38)
    c.run_until(60)
    assert fence_calls(c, "ha2") == [] and c.world.fenced == []
    assert c.holders(DISK) == {"ha1"} and c.world.duplicates == []
    assert any(r.startswith("ha1 answers again") and r.endswith("before it was fenced: no fencing and no takeover")
               for r in reasons(c, "ha2"))
    assert c.snapshot("ha2")["fencing"]["state"] == "idle"


def test_peer_back_while_a_failing_call_runs_ends_the_episode():
    opts = fencing(0.0)
    opts["ha2"]["fence_delay_ms"] = 0
    c = Cluster(groups=((DISK, "ha1", False),), node_opts=opts, shell={"ha2": {"fence_ok": False, "fence_s": 4.0}})
    c.cut(30, "ha1", "ha2", both_ways=False)
    c.at(37.5, lambda net: c.net.media["eth0"].restore())  # the call started at ~36 and runs 4 s
    c.run_until(60)
    assert len(fence_calls(c, "ha2")) == 1  # no retry
    assert c.holders(DISK) == {"ha1"} and acquires(c, "ha2") == []
    assert any("answered meanwhile: not retrying, not taking over" in r for r in reasons(c, "ha2"))


def test_peer_back_while_a_successful_call_runs_is_taken_over():
    # The device switched it off: whatever it said a moment before, it runs nothing now.
    c = Cluster(groups=((DISK, "ha1", False),), node_opts=fencing(0.0), shell={"ha2": {"fence_s": 4.0}})
    c.cut(30, "ha1", "ha2", both_ways=False)
    c.at(37.5, lambda net: c.net.media["eth0"].restore())
    c.run_until(60)
    assert [(f, t) for _, f, t in c.world.fenced] == [("ha2", "ha1")]
    assert c.holders(DISK) == {"ha2"} and c.world.duplicates == []
    assert len(fence_calls(c, "ha2")) == 1  # declared dead again later: fenced and silent since, no second call


def test_an_idle_peer_is_fenced_too_but_not_one_that_left_cleanly():
    # ha2 holds nothing: heartbeat would not fence it (unneeded), pyha does (if it is only
    # cut off it would fence ha1 after its delay); ha1 keeps its group throughout.
    c = Cluster(node_opts=fencing(0.0))
    c.crash(30, "ha2")
    c.run_until(45)
    assert len(fence_calls(c, "ha1")) == 1
    assert any("it held nothing, but if only the links are cut it fences us" in r for r in reasons(c, "ha1"))
    assert stonith(c, "ha1") == [{"node": "ha2", "result": "OK"}]
    assert [sorted(h) for _, _, h in c.world.changes] == [["ha1"]]  # never interrupted
    # ha1 stops gracefully (shutdone): ha2 takes over at once, no fence.
    c = Cluster(node_opts=fencing(0.0))
    c.command(30, "ha1", Shutdown())
    c.run_until(45)
    assert fence_calls(c, "ha2") == [] and c.holders() == {"ha2"}
    assert stonith(c, "ha2") == [{"node": "ha1", "result": "unneeded"}]


def test_pyha_status_shows_why_nothing_is_taken_over():
    from pyha.cli.daemon_cmd import format_status, format_transition
    c = Cluster(groups=((DISK, "ha1", False),), node_opts=fencing(0.0), shell={"ha2": {"fence_ok": False}})
    c.crash(30, "ha1")
    c.run_until(40)
    st = c.stacks["ha2"].core.snapshot(c.now)
    text = format_status(st)
    assert "  fencing ha1 with fence_ipmilan (/etc/ha.d/pyha.cf:1): failed (fencing ha1 failed: fence_ipmilan " \
           "exit 1: Failed: Unable to obtain correct plug status; retrying in 5 s; not taking over (attempt 1))" in text
    assert format_transition({"kind": "FenceStateChanged", "node": "ha1", "old": "fencing", "new": "failed",
                              "reason": "x"}) == "fencing of ha1: fencing -> failed (x)"


def test_a_fenced_peer_that_runs_again_is_no_longer_shown_fenced():
    # Seen by the fencing drills: after the fenced node booted and rejoined, `pyha status`
    # still said "fenced" (with no fenced_at) for good.
    c = Cluster(node_opts=fencing(2.0))
    c.crash(30, "ha1", resources="stay")
    c.run_until(50)
    assert c.snapshot("ha2")["fencing"]["state"] == "fenced"
    c.restart(60, "ha1")
    c.run_until(80)
    fence = c.snapshot("ha2")["fencing"]
    assert fence["state"] == "idle" and fence["fenced_at"] is None, fence
    assert fence["reason"].startswith("ha1 is back (") and fence["reason"].endswith(") after it was fenced")
    states = [a.new for _, a in c.actions("ha2", FenceStateChanged)]
    assert states == ["delaying", "fencing", "fenced", "idle"]
    assert len(fence_calls(c, "ha2")) == 1 and len(c.holders()) == 1
