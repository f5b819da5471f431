"""Scenarios of spec 5.3-5.8 and Appendix A on the simulated cluster (tests/unit/clustersim.py):
real membership + real manager per node, fake resource shells, fake clock and network.
Mixed-cluster tests script the genuine node's resource messages exactly as captured."""

import pytest

from pyha.cluster.manager_events import Acquire, CommandResult, Release, Shutdown, Standby, Takeover
from clustersim import Cluster

VIP = "192.0.2.100/24/eth0"
VIP2 = "192.0.2.101/24/eth0"
KA = 1.0          # keepalive
DEADTIME = 6.0
START = 0.5       # fake resource start time
STOP = 0.3        # fake resource stop time
PROBE = 0.05      # fake ARP probe time


def res(rsc_hold, stable, info=None):
    out = (("t", "resource"), ("rsc_hold", rsc_hold), ("rtype", "full"), ("isstable", stable))
    return out + ((("info", info),) if info else ())


def ask(rsc_hold, info):
    return (("t", "ask_resources"), ("rsc_hold", rsc_hold), ("info", info))


def when_held(c, node, key=VIP):
    """First time `node` alone held `key`."""
    for t, k, holders in c.world.changes:
        if k == key and holders == frozenset([node]):
            return t
    return None


def no_duplicates(c):
    assert c.world.duplicates == [], c.world.duplicates


def reasons(c, node):
    return [text for _, text in c.decisions(node)]


# --- start-up (spec 5.3, 5.8, A.1) --------------------------------------------------------

def test_both_start_together_group_up_without_10s_wait():
    c = Cluster()
    c.run_until(15)
    assert c.holders() == {"ha1"}
    # heartbeat needed 11.9 s here (RQSTDELAY); pyha: probe + start after comm-up.
    assert when_held(c, "ha1") < 1.0
    assert c.resource_msgs("ha1") == [
        (("t", "starting"),), res("none", "0"),
        (("t", "ip-request-resp"), ("dest", "ha1"), ("ipaddr", VIP), ("weown", "yes"), ("ok", "OK")),
        res("local", "1", "req_our_resources()")]
    assert c.resource_msgs("ha2") == [(("t", "starting"),), res("none", "0"), res("local", "1", "req_our_resources()")]
    no_duplicates(c)


def test_start_alone_takes_everything_after_initdead():
    c = Cluster(groups=[(VIP, "ha1", True), (VIP2, "ha2", True)], start_at={"ha2": 40})
    c.run_until(30)
    assert c.holders(VIP) == {"ha1"} and c.holders(VIP2) == {"ha1"}
    assert 12.0 < when_held(c, "ha1", VIP) < 13.0  # initdead 12 s, then at once
    # ha2's group (holder unknown): ha1 waited claim_delay and probed again first.
    assert when_held(c, "ha1", VIP2) == pytest.approx(when_held(c, "ha1", VIP) + 3.0, abs=0.2)
    c.run_until(50)
    # auto_failback on: ha2's group goes home when ha2 starts; ha1 keeps its own.
    assert c.holders(VIP) == {"ha1"} and c.holders(VIP2) == {"ha2"}
    assert when_held(c, "ha2", VIP2) < 42
    no_duplicates(c)


def test_preferred_node_restart_auto_failback_on():
    c = Cluster()
    c.crash(30, "ha1")
    c.restart(50, "ha1")
    c.run_until(60)
    assert c.holders() == {"ha1"}
    assert when_held(c, "ha1") - 50 < 3.8  # spec 5.8: 3.8 s with genuine nodes
    # A.3's shapes, from the holder's side (ha2 plays hbnode2).
    assert c.resource_msgs("ha2")[-5:] == [
        res("all", "1"), ask("foreign", "me"), res("local", "0", "standby"), ask("foreign", "done"),
        res("local", "1")]
    assert c.resource_msgs("ha1") == [
        (("t", "starting"),), res("none", "1"), ask("foreign", "other"), res("local", "1"),
        ask("foreign", "done")]
    no_duplicates(c)


def test_preferred_node_restart_auto_failback_off_stays_put():
    c = Cluster(auto_failback="off")
    c.crash(30, "ha1")
    c.restart(50, "ha1")
    c.run_until(80)
    assert c.holders() == {"ha2"}
    assert c.snapshot("ha1")["holding"] == "none"
    assert c.snapshot("ha2")["holding"] == "all"
    assert "ha2 holds them (it reported rsc_hold=all)" in c.snapshot("ha1")["last_decision"]["reason"]


# --- peer death and graceful stop (spec 5.5, 5.6, A.2) ---------------------------------------

def test_peer_crash_takeover_within_deadtime():
    c = Cluster()
    c.crash(30, "ha1")
    c.run_until(45)
    assert c.holders() == {"ha2"}
    # Probing began at warntime, so only the start time is added to the dead time.
    assert when_held(c, "ha2") - 30 <= DEADTIME + KA + START
    assert any(r.startswith("taking over [%s] because node ha1: is dead" % VIP) for r in reasons(c, "ha2"))
    assert (("t", "stonith"), ("node", "ha1"), ("result", "n_stnth")) in c.resource_msgs("ha2")


def test_crashed_holder_whose_address_still_answers_is_not_duplicated():
    c = Cluster()
    c.crash(30, "ha1", resources="stay")
    c.run_until(60)
    assert c.holders() == {"ha1"}
    assert "peer silent but VIP answered from MAC 02:00:5e:00:00:fa: not taking %s, probing again every " \
           "1.0 s" % VIP in reasons(c, "ha2")
    probes = [t for t, keys in c.stacks["ha2"].shell.probes if t > 35]
    assert len(probes) >= 20  # keeps probing, once a second
    c.at(60.2, lambda net: c.world.drop_node(net.now, "ha1"))  # the machine finally dies
    c.run_until(64.5)  # free for claim_delay (its preferred node could have come back), then started
    assert c.holders() == {"ha2"}


def test_graceful_stop_hands_over_at_once_and_in_order():
    c = Cluster()
    c.command(30, "ha1", Shutdown())
    c.run_until(45)
    assert c.holders() == {"ha2"}
    assert when_held(c, "ha2") - 30 < 1.0  # spec 5.8: 0.77 s with genuine nodes
    # The old holder released before the new one acquired.
    assert [sorted(h) for t, k, h in c.world.changes] == [["ha1"], [], ["ha2"]]
    assert c.resource_msgs("ha1")[-2:] == [res("none", "0", "shutdown"), (("t", "shutdone"), ("st", "dead"))]
    assert c.resource_msgs("ha2")[-3:] == [
        res("all", "1"), (("t", "resource"), ("rsc_hold", "foreign"), ("info", "mach_down")),
        (("t", "stonith"), ("node", "ha1"), ("result", "unneeded"))]
    assert c.actions("ha1", "ShutdownComplete")


def test_stop_failure_blocks_shutdone_until_the_stop_works():
    c = Cluster(shell={"ha1": {"fail_stop": [VIP]}}, manager_opts={"release_retry_ms": 5000})
    c.command(30, "ha1", Shutdown())
    c.run_until(45)
    assert c.holders() == {"ha1"}
    assert (("t", "shutdone"), ("st", "dead")) not in c.resource_msgs("ha1")
    assert res("local", "0") in c.resource_msgs("ha1")  # the correction after rsc_hold=none
    assert c.snapshot("ha1")["groups"][VIP]["state"] == "stuck"
    assert c.snapshot("ha2")["holding_groups"] == []
    c.stacks["ha1"].shell.fail_stop.clear()
    c.run_until(55)
    assert c.holders() == {"ha2"}
    no_duplicates(c)


# --- operator commands (spec 5.4) ------------------------------------------------------------

@pytest.mark.parametrize("which,moves", [
    ("all", True), ("local", True), ("failback", False), ("foreign", False)])
def test_standby_commands(which, moves):
    c = Cluster()
    c.command(30, "ha1", Standby(which))
    c.run_until(40)
    assert c.holders() == ({"ha2"} if moves else {"ha1"})
    result = c.actions("ha1", "CommandResult")[0][1]
    assert result.accepted
    if moves:
        assert when_held(c, "ha2") - 30 < 1.1  # spec 5.8: 1.1 s
    no_duplicates(c)


@pytest.mark.parametrize("which", ["all", "local", "foreign"])
def test_takeover_commands(which):
    c = Cluster(groups=[(VIP, "ha1", True), (VIP2, "ha2", True)])
    c.command(30, "ha2", Standby("all"))
    c.run_until(35)
    assert c.holders(VIP) == {"ha1"} and c.holders(VIP2) == {"ha1"}
    c.command(40, "ha2", Takeover(which))
    c.run_until(45)
    assert c.holders(VIP) == ({"ha2"} if which in ("all", "foreign") else {"ha1"})
    assert c.holders(VIP2) == ({"ha2"} if which in ("all", "local") else {"ha1"})
    assert c.resource_msgs("ha2")[-1][0] == ("t", "ask_resources")
    no_duplicates(c)


def test_standby_refused_while_peer_dead():
    c = Cluster()
    c.crash(20, "ha2")
    c.command(30, "ha1", Standby())
    c.run_until(31)
    result = c.actions("ha1", "CommandResult")[0][1]
    assert not result.accepted and "ha2 is dead" in result.reason
    assert c.holders() == {"ha1"}


# --- ping nodes (spec 5.10) ---------------------------------------------------------------

def test_ping_loss_hands_over_and_comes_back():
    c = Cluster(ping=("192.0.2.254",))
    c.at(30, lambda net: net.pings["192.0.2.254"].unreachable_from.add("ha1"))
    c.at(60, lambda net: net.pings["192.0.2.254"].unreachable_from.clear())
    c.run_until(59)
    assert c.holders() == {"ha2"}
    assert when_held(c, "ha2") - 30 < 10.8  # spec 5.8: 10.8 s with ipfail
    assert any("I reach 0 of 1 ping nodes, ha2 reaches 1" in r for r in reasons(c, "ha1"))
    c.run_until(70)
    assert c.holders() == {"ha1"}
    no_duplicates(c)


def test_ping_loss_on_both_sides_moves_nothing():
    c = Cluster(ping=("192.0.2.254",))
    c.at(30, lambda net: net.pings["192.0.2.254"].unreachable_from.add("*"))
    c.run_until(60)
    assert c.holders() == {"ha1"}
    assert not [a for t, a in c.actions("ha1", "Release")]


# --- carrier loss on the service interface (issue 4 item 9) ---------------------------------

def test_nic_down_on_the_holder_hands_over_at_once_and_comes_back():
    c = Cluster(ping=("192.0.2.254",))
    c.nic(30, "ha1", up=False)
    c.nic(45, "ha1", up=True)
    c.run_until(44)
    assert c.holders() == {"ha2"}
    # the holder's shell notices within ms; the exchange takes a few messages, the release
    # 0.3 s and the acquisition 0.5 s of the fake shell: no deadtime, no ping arbitration
    assert when_held(c, "ha2") - 30 < 1.0
    assert any("eth0 has no carrier (carrying" in r for r in reasons(c, "ha1"))
    c.run_until(60)
    assert c.holders() == {"ha1"}  # auto_failback on, once its carrier is back
    no_duplicates(c)


def test_nic_down_on_both_nodes_moves_nothing():
    c = Cluster()
    c.nic(30, "ha2", up=False)
    c.nic(31, "ha1", up=False)
    c.run_until(60)
    assert c.holders() == {"ha1"}
    assert not [a for t, a in c.actions("ha1", "Release")]


def test_nic_down_on_the_standby_never_gets_it_the_group():
    c = Cluster(ping=("192.0.2.254",))
    c.nic(30, "ha2", up=False)
    c.command(35, "ha1", Standby("all"))
    c.run_until(50)
    assert c.holders() == {"ha1"}
    assert any("cannot be served here: eth0 has no carrier" in r for r in reasons(c, "ha2"))


# --- partitions (spec 5.7) -------------------------------------------------------------------

def test_heartbeat_cut_with_vip_witness_never_two_holders():
    c = Cluster(groups=[(VIP, "ha1", True), (VIP2, "ha2", True)])
    c.cut(30)
    c.restore(60)
    c.run_until(80)
    no_duplicates(c)
    assert c.holders(VIP) == {"ha1"} and c.holders(VIP2) == {"ha2"}


def test_cut_from_the_start_both_take_only_their_own():
    c = Cluster(groups=[(VIP, "ha1", True), (VIP2, "ha2", True)])
    c.cut(0.0)
    c.run_until(40)
    no_duplicates(c)
    assert c.holders(VIP) == {"ha1"} and c.holders(VIP2) == {"ha2"}


def test_heal_with_both_holding_one_holder_within_three_keepalives():
    c = Cluster(groups=[("httpd", "ha1", False), ("mysql", "ha2", False)])
    c.cut(30)
    c.restore(50)
    c.run_until(49)
    assert c.holders("httpd") == {"ha1", "ha2"} and c.holders("mysql") == {"ha1", "ha2"}
    c.run_until(70)
    assert c.holders("httpd") == {"ha1"} and c.holders("mysql") == {"ha2"}
    for start, end, key, holders in c.world.duplicates:
        assert end is not None and end - 50 <= 3 * KA
    assert ("both ha1 and I hold its groups [httpd]; their preferred node ha1 keeps them, so I release mine"
            in reasons(c, "ha2"))


def test_vip_conflict_preferred_node_keeps_it():
    c = Cluster(groups=[(VIP, "ha1", True)])
    c.crash(30, "ha2")
    c.run_until(40)
    # A rogue node (ha2's machine, daemon dead) brings the address up.
    c.at(40, lambda net: c.world.bring_up(net.now, "ha2", VIP))
    c.run_until(45)
    acts = c.actions("ha1", "AnnounceVip")
    assert acts and acts[0][1].groups == (VIP,)
    assert c.holders() == {"ha1", "ha2"}  # the other one must yield; ha1 keeps and re-announces


# --- failures -------------------------------------------------------------------------------------

def test_start_failure_lets_the_peer_try():
    c = Cluster(shell={"ha1": {"fail_start": [VIP]}})
    c.run_until(20)
    assert c.holders() == {"ha2"}
    r = reasons(c, "ha1")
    assert ("resource group %s failed to start on ha1: specres::one start exited 1; releasing it and letting "
            "ha2 try" % VIP) in r
    assert c.snapshot("ha1")["groups"][VIP]["start_failure"]["error"] == "specres::one start exited 1"
    # The failed node does not take it back by itself (no ping-pong), even with auto_failback on.
    c.run_until(60)
    assert c.holders() == {"ha2"}


def test_start_failure_on_both_nodes_ends_quietly_down():
    c = Cluster(shell={"*": {"fail_start": [VIP]}})
    c.run_until(60)
    assert c.holders() == set()
    assert len(c.actions("ha1", "Acquire")) == 1 and len(c.actions("ha2", "Acquire")) == 1


# --- mixed cluster: the other node is genuine heartbeat (scripted, Appendix A) ------------------

def genuine_cluster(pyha, start_at=None, **kw):
    nodes = ("hbnode1", "hbnode2")
    genuine = [n for n in nodes if n != pyha]
    return Cluster(groups=[("198.51.100.100/24/eth0", "hbnode1", True)], nodes=nodes, genuine=genuine,
                   start_at=start_at, **kw)


GVIP = "198.51.100.100/24/eth0"


def test_a1_pyha_without_groups_lets_genuine_start_fast():
    """A.1 with pyha as hbnode2: genuine waits for our isstable=1; we send it at once."""
    c = genuine_cluster("hbnode2", start_at={"hbnode2": 3.0})
    c.run_until(3.4)
    assert c.resource_msgs("hbnode2") == [(("t", "starting"),)]
    c.say(3.5, "hbnode1", [("t", "starting")])
    c.say(3.6, "hbnode1", res("none", "0"))
    c.run_until(4.0)
    msgs = c.resource_msgs("hbnode2")
    assert msgs == [(("t", "starting"),), res("none", "0"), res("local", "1", "req_our_resources()")]
    # Genuine received the stable report at ~3.5 s instead of ~14 s (10 s RQSTDELAY).
    got = c.scripted["hbnode1"].said_to_it("resource")
    assert got[-1][1]["isstable"] == "1" and got[-1][0] < 3.6


def test_a1_pyha_preferred_node_takes_its_group_on_genuine_starting():
    c = genuine_cluster("hbnode1", start_at={"hbnode2": 3.0})
    c.say(3.5, "hbnode2", [("t", "starting")])
    c.say(3.6, "hbnode2", res("none", "0"))
    c.run_until(6)
    assert c.holders(GVIP) == {"hbnode1"}
    assert when_held(c, "hbnode1", GVIP) < 4.2
    assert c.resource_msgs("hbnode1")[-1] == res("local", "1", "req_our_resources()")


def test_a2_genuine_holder_stops_gracefully():
    c = genuine_cluster("hbnode2")
    c.say(0.1, "hbnode1", [("t", "starting")])
    c.genuine_holds(0.5, "hbnode1", GVIP)
    c.say(1.0, "hbnode1", res("local", "1", "req_our_resources()"))
    c.run_until(54)
    assert c.holders(GVIP) == {"hbnode1"} and c.snapshot("hbnode2")["peer_state"]["holds"] == "local"
    # A.2, hbnode1's side, exactly.
    c.say(54.128, "hbnode1", res("none", "0", "shutdown"))
    c.genuine_holds(54.2, "hbnode1", GVIP, up=False)
    c.say(54.235, "hbnode1", [("t", "shutdone"), ("st", "dead")])
    c.at(56.0, lambda net: net.kill("hbnode1"))
    c.run_until(70)
    acquires = c.actions("hbnode2", "Acquire")
    assert acquires and acquires[0][0] >= 54.235  # never before shutdone
    assert when_held(c, "hbnode2", GVIP) - 54.128 < 0.8
    msgs = c.resource_msgs("hbnode2")
    assert msgs[-3:] == [res("all", "1"), (("t", "resource"), ("rsc_hold", "foreign"), ("info", "mach_down")),
                         (("t", "stonith"), ("node", "hbnode1"), ("result", "unneeded"))]
    no_duplicates(c)


def test_a3_genuine_preferred_node_returns_pyha_gives_back():
    c = genuine_cluster("hbnode2", start_at={"hbnode1": 30.0})
    c.run_until(30)
    assert c.holders(GVIP) == {"hbnode2"}
    c.say(30.5, "hbnode1", [("t", "starting")])
    c.say(30.6, "hbnode1", res("none", "0"))
    c.say(30.6, "hbnode1", res("none", "1"))
    c.run_until(30.9)
    c.say(31.0, "hbnode1", ask("foreign", "other"))
    c.run_until(31.9)
    assert c.holders(GVIP) == set()  # released before done
    c.genuine_holds(32.0, "hbnode1", GVIP)
    c.say(32.1, "hbnode1", res("local", "1"))
    c.say(32.1, "hbnode1", ask("foreign", "done"))
    c.run_until(35)
    # A.3, hbnode2's side, exactly.
    assert c.resource_msgs("hbnode2")[-5:] == [
        res("all", "1"), ask("foreign", "me"), res("local", "0", "standby"), ask("foreign", "done"),
        res("local", "1")]
    no_duplicates(c)


def test_a3_pyha_returns_genuine_gives_back():
    c = genuine_cluster("hbnode1", start_at={"hbnode1": 30.0})
    c.genuine_holds(1.0, "hbnode2", GVIP)
    c.run_until(30.2)
    assert c.resource_msgs("hbnode1") == [(("t", "starting"),)]
    c.say(30.3, "hbnode2", res("all", "1"))
    c.run_until(30.7)
    assert c.holders(GVIP) == {"hbnode2"}  # not taken: the genuine node holds it
    c.say(30.8, "hbnode2", ask("foreign", "me"))
    c.run_until(31.1)
    c.say(31.2, "hbnode2", res("local", "0", "standby"))
    c.genuine_holds(31.3, "hbnode2", GVIP, up=False)
    c.say(31.4, "hbnode2", ask("foreign", "done"))
    c.run_until(32.4)
    c.say(32.5, "hbnode2", res("local", "1"))
    c.run_until(34)
    assert c.holders(GVIP) == {"hbnode1"}
    assert c.resource_msgs("hbnode1") == [
        (("t", "starting"),), res("none", "1"), ask("foreign", "other"), res("local", "1"), ask("foreign", "done")]
    no_duplicates(c)


def test_pyha_standby_against_genuine():
    c = genuine_cluster("hbnode1")
    c.say(0.1, "hbnode2", [("t", "starting")])
    c.say(0.2, "hbnode2", res("none", "0"))
    c.say(1.0, "hbnode2", res("local", "1", "req_our_resources()"))
    c.command(20, "hbnode1", Standby())
    c.run_until(20.1)
    assert c.resource_msgs("hbnode1")[-1] == ask("all", "me")
    c.say(20.2, "hbnode2", ask("all", "other"))
    c.run_until(21)
    assert c.holders(GVIP) == set()
    assert c.resource_msgs("hbnode1")[-2:] == [res("none", "0", "standby"), ask("all", "done")]
    c.genuine_holds(21.1, "hbnode2", GVIP)
    c.say(21.2, "hbnode2", res("all", "1"))
    c.say(21.2, "hbnode2", ask("all", "done"))
    c.run_until(22)
    assert c.resource_msgs("hbnode1")[-1] == res("none", "1")
    assert c.snapshot("hbnode1")["standby"] is None


def test_genuine_hb_standby_and_hb_takeover_against_pyha():
    c = genuine_cluster("hbnode1")
    c.say(0.1, "hbnode2", [("t", "starting")])
    c.say(1.0, "hbnode2", res("local", "1", "req_our_resources()"))
    # hb_takeover on the genuine node: it wants our (its foreign) groups -> we go standby local.
    c.say(20.0, "hbnode2", [("t", "hb_takeover"), ("rsc_hold", "foreign")])
    c.run_until(20.1)
    assert c.resource_msgs("hbnode1")[-1] == ask("local", "me")
    c.say(20.2, "hbnode2", ask("local", "other"))
    c.run_until(21)
    assert c.holders(GVIP) == set()
    c.genuine_holds(21.1, "hbnode2", GVIP)
    c.say(21.2, "hbnode2", res("all", "1"))
    c.say(21.2, "hbnode2", ask("local", "done"))
    # hb_standby on the genuine node, with our isstable=1 answer seen.
    c.say(30.0, "hbnode2", ask("all", "me"))
    c.run_until(30.1)
    assert c.resource_msgs("hbnode1")[-1] == ask("all", "other")
    c.say(30.2, "hbnode2", res("none", "0", "standby"))
    c.genuine_holds(30.5, "hbnode2", GVIP, up=False)
    c.say(30.6, "hbnode2", ask("all", "done"))
    c.run_until(32)
    assert c.holders(GVIP) == {"hbnode1"}
    assert c.resource_msgs("hbnode1")[-2:] == [res("all", "1"), ask("all", "done")]
    no_duplicates(c)


def test_crossing_hb_standby_calls_against_genuine_end_stable():
    """CI (test_compat_mixed): `hb_standby local` on pyha (holding nothing), then at once on
    the genuine node.  Genuine read its own `me` before our isstable=1 and dropped it ("Other
    side is in flux"), then ignored our `other`; it sends nothing more.  We must not stay "in
    transition" (heartbeat as taker would, for an hour): 10 s later the exchange is abandoned."""
    c = genuine_cluster("hbnode2", start_at={"hbnode2": 3.0})
    c.genuine_holds(0.5, "hbnode1", GVIP)
    c.say(3.5, "hbnode1", [("t", "starting")])
    c.say(3.6, "hbnode1", res("local", "1", "req_our_resources()"))
    c.command(20, "hbnode2", Standby("local"))
    c.run_until(20.1)
    assert c.resource_msgs("hbnode2")[-1] == ask("local", "me")
    c.say(20.2, "hbnode1", ask("local", "other"))
    c.run_until(20.5)
    assert c.resource_msgs("hbnode2")[-2:] == [res("none", "0", "standby"), ask("local", "done")]
    c.say(20.6, "hbnode1", res("all", "1"))
    c.say(20.6, "hbnode1", ask("local", "done"))
    c.say(20.7, "hbnode1", ask("local", "me"))  # its own hb_standby, dropped by itself
    c.run_until(20.8)
    assert c.resource_msgs("hbnode2")[-2:] == [res("none", "1"), ask("local", "other")]
    assert c.snapshot("hbnode2")["standby"]["state"] == "accepted"
    c.run_until(30.6)
    assert c.snapshot("hbnode2")["standby"]["state"] == "accepted"
    c.run_until(31)
    assert c.snapshot("hbnode2")["standby"] is None and c.snapshot("hbnode2")["stable"]
    assert c.resource_msgs("hbnode2")[-1] == res("none", "1")
    assert c.holders(GVIP) == {"hbnode1"}
    no_duplicates(c)


def test_genuine_peer_sends_no_ping_count_so_no_ping_handover():
    c = genuine_cluster("hbnode1", ping=("192.0.2.254",))
    c.say(0.1, "hbnode2", [("t", "starting")])
    c.say(1.0, "hbnode2", res("local", "1", "req_our_resources()"))
    c.at(20, lambda net: net.pings["192.0.2.254"].unreachable_from.add("hbnode1"))
    c.run_until(40)
    assert c.holders(GVIP) == {"hbnode1"}
    assert (("t", "pyha-ping"), ("num_ping", "0")) in c.resource_msgs("hbnode1")


# --- legacy (spec 5.2) -------------------------------------------------------------------------------

def test_legacy_failover_and_failback_with_ip_request():
    c = Cluster(auto_failback="legacy")
    c.run_until(15)
    assert c.holders() == {"ha1"}
    c.crash(30, "ha1")
    c.run_until(40)
    assert c.holders() == {"ha2"}
    c.restart(50, "ha1")
    c.run_until(55)
    assert c.holders() == {"ha1"}
    assert (("t", "ip-request"), ("ipaddr", VIP)) in c.resource_msgs("ha1")
    assert not [m for m in c.resource_msgs("ha1") + c.resource_msgs("ha2") if m[0][1] in ("starting", "resource")]
    no_duplicates(c)


def test_isolated_holder_whose_nic_comes_back_never_duplicates_the_vip():
    """Issue 11 item 7: heartbeat link cut (ha2 hears ha1's VIP answer: no takeover), then
    ha1's public NIC dark too (ha2 takes the free address), then both back at once.  ha1
    cannot hand over (its peer is dead to it), so it gives the dark group up: the address
    must not reappear beside ha2's when the carrier returns, and the healed partition
    brings the group back to its preferred node with release before acquire."""
    c = Cluster(ping=("192.0.2.254",))
    c.cut(30)
    c.nic(45, "ha1", up=False)
    c.run_until(60)
    assert c.holders() == {"ha2"}
    assert any("no carrier" in r and "release" in r for r in reasons(c, "ha1"))
    c.nic(70, "ha1", up=True)
    c.restore(70)
    c.run_until(100)
    no_duplicates(c)
    assert c.holders() == {"ha1"}  # auto_failback on: back to the preferred node


def test_lone_holder_with_a_dead_peer_restarts_its_group_after_a_carrier_flap():
    """The price of the rule above: a dark group is released even when the peer is
    really dead, and taken again (probe first) once the carrier is back."""
    c = Cluster()
    c.crash(30, "ha2")
    c.nic(45, "ha1", up=False)
    c.run_until(50)
    assert c.holders() == set()
    c.nic(52, "ha1", up=True)
    c.run_until(60)
    assert c.holders() == {"ha1"}
    no_duplicates(c)


def test_an_undone_generation_makes_the_manager_ask_what_the_peer_holds():
    """Two forged packets with a huge generation look like a restart of ha1 to ha2, and
    membership undoes it after deadtime because ha1's real generation kept talking.  ha1
    never restarted, so it will not report on its own: ha2 must ask (`starting`), or it
    would stay blind to what ha1 holds and refuse every standby exchange."""
    from pyha.cluster.events import Heard
    c = Cluster()
    for i, when in enumerate((30.0, 30.2)):
        fields = {"t": "status", "st": "active", "src": "ha1", "seq": "%x" % (i + 1),
                  "hg": "ffffffffffffffff", "ts": "5f000000", "dt": "1770", "protocol": "1"}
        c.net.inject(when, "ha2", lambda now, fields=fields: Heard.from_fields(now, "eth0", fields))
    c.run_until(45)
    assert any("restarted" in r for r in reasons(c, "ha2"))
    peer = c.snapshot("ha2")["peer_state"]
    assert peer["holds"] == "local" and peer["stable"], peer
    c.command(46, "ha1", Standby("all"))
    c.run_until(55)
    assert c.holders() == {"ha2"}
    no_duplicates(c)


def test_late_report_of_a_crashed_holder_does_not_take_the_group_from_the_survivor():
    # Lab, kill drill: ha1's report "I hold my groups", sent just before its daemon was
    # killed, was read by ha2 after ha2 had declared ha1 dead and taken over.  Delivered,
    # it made ha2 release ("ha1 keeps them") and nobody served for 30 s.
    c = Cluster()
    c.run_until(20)
    ha1 = c.net.nodes["ha1"]
    report = dict([w for w in ha1.sent if w.get("t") == "resource"][-1])
    report["seq"] = "%x" % (max(int(w["seq"], 16) for w in ha1.sent if "seq" in w) + 1)
    c.crash(20, "ha1")
    c.run_until(27)
    assert c.holders() == {"ha2"}
    c.net.deliver(27.5, "ha2", "eth0", report)   # in flight since before the crash
    c.run_until(40)
    assert c.holders() == {"ha2"}
    assert c.manager("ha2").snapshot(40)["groups"][VIP]["state"] == "held"
