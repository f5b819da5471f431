"""heartbeat's "Initial resource acquisition complete (<reason>)" on every start path, once
per start, with heartbeat's reason word (pyha/cluster/manager/initial.py says where each
comes from in hb_resource.c), and never where heartbeat would not log it."""

from pyha.cluster.events import Log
from pyha.cluster.manager.initial import INITMSG, InitialAcquisition
from pyha.cluster.manager_events import Shutdown
from clustersim import Cluster
from test_manager_heal import links_cut_then_nic_dark_then_healed
from test_manager_sim import GVIP, VIP, VIP2, ask, genuine_cluster, res


def initial(c, node):
    """(time, text) of the node's current run."""
    return [(t, a.text) for t, a in c.stacks[node].log if isinstance(a, Log) and a.text.startswith(INITMSG)]


def said(c, node):
    return [text for _, text in initial(c, node)]


def held_at(c, node, key):
    for t, k, holders in c.world.changes:
        if k == key and node in holders:
            return t
    return None


def test_flags_make_one_line_with_the_last_reason():
    a = InitialAcquisition()
    assert a.note("comm_up", foreign=True) is None
    assert a.note("T_RESOURCES(us)", local=True) == INITMSG + " (T_RESOURCES(us))"
    assert a.note("mach_down", local=True, foreign=True) is None  # once per start
    assert a.reason == "T_RESOURCES(us)"


def test_both_start_together():
    c = Cluster(groups=[(VIP, "ha1", True), (VIP2, "ha2", True)])
    c.run_until(15)
    assert said(c, "ha1") == [INITMSG + " (T_RESOURCES(us))"]
    assert said(c, "ha2") == [INITMSG + " (T_RESOURCES(us))"]
    # logged once its own groups run, not before
    assert initial(c, "ha1")[0][0] >= held_at(c, "ha1", VIP)


def test_a_node_without_groups_of_its_own_still_says_it():
    c = Cluster()  # ha2 prefers nothing: heartbeat's req_our_resources still sets its flag
    c.run_until(15)
    assert said(c, "ha2") == [INITMSG + " (T_RESOURCES(us))"]


def test_start_alone_is_mach_down():
    c = Cluster(groups=[(VIP, "ha1", True), (VIP2, "ha2", True)], start_at={"ha2": 40})
    c.run_until(30)
    assert said(c, "ha1") == [INITMSG + " (mach_down)"]
    t = initial(c, "ha1")[0][0]
    assert t >= held_at(c, "ha1", VIP) and t >= held_at(c, "ha1", VIP2)
    c.run_until(50)  # ha2 comes, takes its group back (failback): still once on ha1
    assert said(c, "ha1") == [INITMSG + " (mach_down)"]
    assert said(c, "ha2") == [INITMSG + " (auto_failback)"]


def test_joining_a_holder_auto_failback_off_is_them():
    c = Cluster(auto_failback="off")
    c.crash(30, "ha1")
    c.restart(50, "ha1")
    c.run_until(80)
    assert c.holders() == {"ha2"}
    assert said(c, "ha1") == [INITMSG + " (T_RESOURCES(them))"]  # the restarted run
    assert said(c, "ha2") == [INITMSG + " (T_RESOURCES(us))"]    # its first start only


def test_joining_a_holder_auto_failback_on_waits_for_the_failback():
    c = Cluster()
    c.crash(30, "ha1")
    c.restart(50, "ha1")
    c.run_until(50.6)
    assert said(c, "ha1") == []  # the peer holds our group: not complete yet
    c.run_until(60)
    assert c.holders() == {"ha1"}
    assert said(c, "ha1") == [INITMSG + " (auto_failback)"]
    assert initial(c, "ha1")[0][0] >= held_at(c, "ha1", VIP)


def test_peer_death_during_start_up_is_announced_by_the_takeover():
    # ha2 holds everything, ha1 (auto_failback on) waits for it to give back, ha2 dies
    c = Cluster()
    c.crash(30, "ha1")
    c.restart(50, "ha1")
    c.run_until(50.25)
    assert said(c, "ha1") == [] and c.holders() == {"ha2"}
    c.crash(50.3, "ha2")
    c.run_until(70)
    assert c.holders() == {"ha1"}
    assert said(c, "ha1") == [INITMSG + " (T_RESOURCES(us))"]


def test_legacy_paths():
    c = Cluster(groups=[(VIP, "ha1", True), (VIP2, "ha2", True)], auto_failback="legacy")
    c.run_until(15)
    assert said(c, "ha1") == [INITMSG + " (ip-request-resp)"]
    assert said(c, "ha2") == [INITMSG + " (ip-request-resp)"]
    alone = Cluster(auto_failback="legacy", start_at={"ha2": 40})
    alone.run_until(30)
    assert said(alone, "ha1") == [INITMSG + " (status)"]


def test_legacy_node_without_groups_never_says_it():
    # heartbeat: req_our_resources(ask) with nothing to ask for, no ip-request-resp, the
    # peer alive: neither flag's last event ever comes
    c = Cluster(auto_failback="legacy")
    c.run_until(20)
    assert said(c, "ha1") == [INITMSG + " (ip-request-resp)"]
    assert said(c, "ha2") == []


def test_stopped_before_the_acquisition_finished_never_says_it():
    c = Cluster(start_at={"ha2": 40}, initdead_ms=12000)
    c.command(5, "ha1", Shutdown("operator"))
    c.run_until(30)
    assert said(c, "ha1") == []


def test_mixed_pyha_joins_a_genuine_holder_and_gets_its_group_back():
    c = genuine_cluster("hbnode1", start_at={"hbnode1": 30.0})
    c.genuine_holds(1.0, "hbnode2", GVIP)
    c.run_until(30.2)
    c.say(30.3, "hbnode2", res("all", "1"))
    c.run_until(30.7)
    assert said(c, "hbnode1") == []
    c.say(30.8, "hbnode2", ask("foreign", "me"))
    c.run_until(31.1)
    c.say(31.2, "hbnode2", res("local", "0", "standby"))
    c.genuine_holds(31.3, "hbnode2", GVIP, up=False)
    c.say(31.4, "hbnode2", ask("foreign", "done"))
    c.run_until(32.4)
    c.say(32.5, "hbnode2", res("local", "1"))
    c.run_until(34)
    assert c.holders(GVIP) == {"hbnode1"}
    assert said(c, "hbnode1") == [INITMSG + " (auto_failback)"]


def test_mixed_pyha_starts_beside_a_starting_genuine_node():
    c = genuine_cluster("hbnode1", start_at={"hbnode2": 3.0})
    c.say(3.5, "hbnode2", [("t", "starting")])
    c.say(3.6, "hbnode2", res("none", "0"))
    c.run_until(6)
    assert said(c, "hbnode1") == [INITMSG + " (T_RESOURCES(us))"]


def test_a_node_without_groups_joining_a_holder_of_all_gets_the_empty_failback():
    # CTS found this: ha2 prefers nothing; once it died, ha1 reports rsc_hold=all (its
    # mach_down took ha2's empty share).  heartbeat's holder still hands that share back
    # (PerformAutoFailback looks at the foreign bit, not at how many groups it covers),
    # and the joiner logs the line when that standby acquisition is done.
    c = Cluster()
    c.crash(30, "ha2")
    c.restart(50, "ha2")
    c.run_until(70)
    assert c.holders() == {"ha1"}
    assert said(c, "ha2") == [INITMSG + " (auto_failback)"]
    assert said(c, "ha1") == [INITMSG + " (T_RESOURCES(us))"]
    assert c.manager("ha1").snapshot(70)["standby"] is None
    assert c.manager("ha2").snapshot(70)["standby"] is None


def test_after_a_partition_heal_only_the_holder_of_the_peers_groups_fails_back():
    # The heal race the empty failback once caused (CI, link-then-nic drill): the links are
    # cut, then ha1's NIC goes dark, so ha2's witness finds the address free and takes it.
    # After the heal ha2 gives ha1's group back, and ha1 must not start a crossing exchange
    # for ha2's empty share (each side then ignored the other's `me` and the failback
    # stalled with ha2 still holding the group).
    c = links_cut_then_nic_dark_then_healed()
    assert c.holders() == {"ha1"}
    for node in ("ha1", "ha2"):
        texts = [a.text for _, a in c.stacks[node].log if isinstance(a, Log)]
        assert not [t for t in texts if "Ignored standby message" in t], node
        assert c.manager(node).snapshot(60)["standby"] is None
