"""Service health on the simulated cluster (issue 14): the daemon's NodeCore on each node
(tests/unit/clustersim.py), whose fake shell checks the monitored service every interval
while its group runs there and carries out RestartResource.  A failed check restarts the
service in place up to `restarts` times within `window`, then the group goes to the
peer by the standby exchange (release before acquire: never two holders), never back
to a node whose copy failed within the window; with no healthy peer it keeps
restarting and says why.  Without the wiring nothing is restarted or moved and every
test here fails."""

from pyha.cluster.manager_events import CheckFailed, ResourceRestarted, RestartResource, Standby
from clustersim import Cluster

VIP = "192.0.2.100/24/eth0"
ADDR = "192.0.2.100"


def cluster(restarts=1, window_ms=300000, interval_s=1.0, **kw):
    monitor = dict(resource="nginx", group=VIP, interval_s=interval_s, restarts=restarts, window_ms=window_ms)
    c = Cluster(shell={"*": {"monitor": monitor}}, **kw)
    c.run_until(10)
    assert c.holders(VIP) == {"ha1"}
    return c


def restarts(c, node):
    return [t for t, _ in c.actions(node, RestartResource, group=VIP, resource="nginx")]


def reasons(c, node):
    return [text for _, text in c.decisions(node)]


def said(c, node, words):
    return [r for r in reasons(c, node) if words in r]


def no_duplicates(c):
    assert c.world.duplicates == [], c.world.duplicates


def test_a_crashed_service_is_restarted_in_place():
    c = cluster()
    c.fault(20.2, "ha1", "crash")
    c.run_until(30)
    assert len(restarts(c, "ha1")) == 1 and 20.2 < restarts(c, "ha1")[0] < 21.5
    assert c.holders(VIP) == {"ha1"}
    assert said(c, "ha1", "nginx failed its check once: restarting it here (restart 1 of 1 in 5 min)")
    assert said(c, "ha1", "nginx restarted here (group %s)" % VIP)
    assert c.stacks["ha1"].shell.checks[-1][1] is True  # passing again
    health = c.snapshot("ha1")["health"]
    assert health["last"]["nginx"]["action"] == "restarted" and health["restarting"] == []
    assert not restarts(c, "ha2")


def test_a_service_that_keeps_failing_is_handed_to_the_peer_release_before_acquire():
    c = cluster()
    c.fault(20.2, "ha1", "broken")
    c.run_until(40)
    assert len(restarts(c, "ha1")) == 1
    assert c.holders(VIP) == {"ha2"}
    words = "nginx failed its check 2 times in 5 min: handing %s to ha2" % ADDR
    assert said(c, "ha1", words)
    # the standby exchange, as hb_standby of the group's category
    assert (("t", "ask_resources"), ("rsc_hold", "local"), ("info", "me")) in c.resource_msgs("ha1")
    no_duplicates(c)
    # the reason is the core's step reason and is in `pyha status`
    snap = c.snapshot("ha1")
    assert snap["health"]["last"]["nginx"]["action"] == "hand-over"
    assert snap["health"]["last"]["nginx"]["reason"] == words
    assert any(words in d["reason"] for d in snap["decisions"])
    assert any(n["node"] == "ha1" and n["group"] == VIP for n in snap["health"]["not_fit"])
    # ha2 heard it (pyha-health) and counts ha1's copy as failed
    assert any(n["node"] == "ha1" for n in c.snapshot("ha2")["health"]["not_fit"])


def test_step_reason_carries_the_policys_words():
    c = cluster()
    c.fault(20.2, "ha1", "broken")
    c.run_until(40)
    steps = [(kind, reason) for _, kind, reason in c.stacks["ha1"].reasons if kind in ("CheckFailed", "ResourceRestarted")]
    assert steps[:3] == [
        ("CheckFailed", "nginx failed its check once: restarting it here (restart 1 of 1 in 5 min)"),
        ("ResourceRestarted", "nginx restarted here (group %s)" % VIP),
        ("CheckFailed", "nginx failed its check 2 times in 5 min: handing %s to ha2: ha1 wants to go standby "
                        "[local], asking ha2 to take [%s]" % (ADDR, VIP))], steps


def test_a_failed_restart_counts_as_a_failure():
    c = cluster()
    c.fault(20.2, "ha1", "unstartable")
    c.run_until(30)
    assert len(restarts(c, "ha1")) == 1
    assert c.holders(VIP) == {"ha2"}  # handed over right after the failed restart
    assert said(c, "ha1", "nginx failed its check 2 times in 5 min: handing %s to ha2" % ADDR)
    assert c.snapshot("ha1")["health"]["last"]["nginx"]["detail"] == "restart failed: nginx start exited 1"
    no_duplicates(c)


def test_a_flapping_service_runs_out_of_restarts_and_moves():
    c = cluster(restarts=2)
    for t in (20.2, 30.2, 40.2):  # crashes again after every restart mended it
        c.fault(t, "ha1", "crash")
    c.run_until(55)
    assert len(restarts(c, "ha1")) == 2
    assert c.holders(VIP) == {"ha2"}
    assert said(c, "ha1", "nginx failed its check 3 times in 5 min: handing %s to ha2" % ADDR)
    no_duplicates(c)


def test_window_expiry_failures_further_apart_only_restart():
    c = cluster(restarts=1, window_ms=8000)
    for t in (20.2, 30.2, 40.2, 50.2):  # one crash every 10 s, window 8 s
        c.fault(t, "ha1", "crash")
    c.run_until(60)
    assert len(restarts(c, "ha1")) == 4
    assert c.holders(VIP) == {"ha1"}
    assert not said(c, "ha1", "handing")
    assert len(said(c, "ha1", "nginx failed its check once: restarting it here (restart 1 of 1 in 8 s)")) == 4


def test_a_peer_whose_copy_failed_too_is_not_handed_it_back():
    c = cluster()
    c.fault(20.2, "ha1", "broken")
    c.run_until(35)
    assert c.holders(VIP) == {"ha2"}
    c.fault(40.2, "ha2", "broken")
    c.run_until(60)
    assert c.holders(VIP) == {"ha2"}  # no ping-pong
    assert len(restarts(c, "ha2")) >= 2
    assert said(c, "ha2", "nginx failed its check 2 times in 5 min; no healthy peer to hand %s to (ha1's copy failed "
                "too within 5 min): restarting it here again" % ADDR)
    # ha1's decisions after the hand-over: no takeover of the group
    assert not [t for t, a in c.actions("ha1", "Acquire") if t > 25]
    no_duplicates(c)


def test_a_dead_peer_keeps_restarting_in_place_and_says_so():
    c = cluster()
    c.crash(12, "ha2")
    c.fault(25.2, "ha1", "broken")
    c.run_until(32)
    assert c.holders(VIP) == {"ha1"}
    times = restarts(c, "ha1")
    assert len(times) >= 4  # one per failed check, never in a tight loop
    assert all(b - a >= 1.0 for a, b in zip(times, times[1:])), times
    assert said(c, "ha1", "nginx failed its check 2 times in 5 min; no healthy peer to hand %s to (no peer is up): "
                "restarting it here again" % ADDR)


def test_restart_failing_without_a_peer_waits_for_the_next_check():
    c = cluster()
    c.crash(12, "ha2")
    c.fault(25.2, "ha1", "unstartable")
    c.run_until(32)
    times = restarts(c, "ha1")
    assert 4 <= len(times) <= 8 and all(b - a >= 1.0 for a, b in zip(times, times[1:])), times
    assert said(c, "ha1", "the next failed check restarts it again")
    assert c.holders(VIP) == {"ha1"}


def test_the_node_whose_copy_failed_refuses_to_take_it_back():
    c = cluster()
    c.fault(20.2, "ha1", "broken")
    c.run_until(35)
    assert c.holders(VIP) == {"ha2"}
    c.command(36, "ha2", Standby("all"))
    c.run_until(50)
    assert c.holders(VIP) == {"ha2"}
    assert said(c, "ha1", "nginx failed its check here within its window: not taking [%s] back" % VIP)


def test_auto_failback_waits_for_the_window_of_the_preferred_nodes_failure():
    c = cluster(window_ms=40000)
    c.fault(20.2, "ha1", "broken")
    c.run_until(30)
    assert c.holders(VIP) == {"ha2"}
    c.fault(30, "ha1", None)  # an admin mended nginx on ha1 and restarts its daemon
    c.crash(31, "ha1")
    c.restart(33, "ha1")
    c.run_until(55)
    assert c.holders(VIP) == {"ha2"}  # ha1's copy failed at ~22: not back before ~62
    c.run_until(75)
    assert c.holders(VIP) == {"ha1"}  # the window passed: auto_failback on gives it back
    no_duplicates(c)


def test_bad_shell_inputs_are_logged_and_ignored():
    c = cluster()
    for bad in (CheckFailed("nope", "nginx", "x"), CheckFailed(VIP, "nginx", "x", restarts=-1),
                CheckFailed(VIP, "", "x"), ResourceRestarted(VIP, "nginx", True)):
        c.command(20, "ha1", bad)
    c.run_until(22)
    assert c.holders(VIP) == {"ha1"} and not restarts(c, "ha1")


def test_pyha_status_shows_the_reason_and_who_is_not_given_the_group():
    from pyha.cli.daemon_cmd import format_status
    c = cluster()
    c.fault(20.2, "ha1", "broken")
    c.run_until(35)
    st = c.stacks["ha1"].core.snapshot(c.now)
    st["monitors"] = {"nginx": {"group": VIP, "checking": False, "ok": False, "detail": "status exit 3",
                                "age_s": 13.0, "failures_in_window": 2}}
    text = format_status(st)
    assert "    why: nginx failed its check 2 times in 5 min: handing %s to ha2 (13.0 s ago)" % ADDR in text, text
    assert "  not given ha1: its copy of nginx failed 13.0 s ago (for 287.0 s more)" in text, text
    st2 = c.stacks["ha2"].core.snapshot(c.now)
    assert "not given ha1: its copy of nginx failed" in format_status(st2)


def test_an_operator_takeover_on_the_node_whose_copy_failed_brings_it_back():
    from pyha.cluster.manager_events import Takeover
    c = cluster()
    c.fault(20.2, "ha1", "broken")
    c.run_until(35)
    assert c.holders(VIP) == {"ha2"}
    c.fault(36, "ha1", None)  # the admin mended it
    c.command(37, "ha1", Takeover("all"))
    c.run_until(45)
    assert c.holders(VIP) == {"ha1"}
    assert said(c, "ha1", "asked ha2 to hand over [all]")
    no_duplicates(c)


def test_hand_over_to_a_genuine_heartbeat_peer_is_its_standby_exchange():
    """hbnode2 is genuine heartbeat (scripted as spec Appendix A): it is asked exactly as
    hb_standby asks, answers `other`, and takes the group after our `done`."""
    gvip = "198.51.100.100/24/eth0"
    monitor = dict(resource="nginx", group=gvip, interval_s=1.0, restarts=1, window_ms=300000)
    c = Cluster(groups=[(gvip, "hbnode1", True)], nodes=("hbnode1", "hbnode2"), genuine=["hbnode2"],
                shell={"*": {"monitor": monitor}})
    c.say(0.1, "hbnode2", [("t", "starting")])
    c.say(0.2, "hbnode2", [("t", "resource"), ("rsc_hold", "none"), ("rtype", "full"), ("isstable", "0")])
    c.say(1.0, "hbnode2", [("t", "resource"), ("rsc_hold", "local"), ("rtype", "full"), ("isstable", "1"),
                           ("info", "req_our_resources()")])
    c.fault(20.2, "hbnode1", "broken")
    c.run_until(24)
    ask_me = (("t", "ask_resources"), ("rsc_hold", "local"), ("info", "me"))
    assert c.resource_msgs("hbnode1")[-1] == ask_me
    assert said(c, "hbnode1", "nginx failed its check 2 times in 5 min: handing 198.51.100.100 to hbnode2")
    assert c.holders(gvip) == {"hbnode1"}  # nothing released before the peer accepts
    c.say(c.now + 0.1, "hbnode2", [("t", "ask_resources"), ("rsc_hold", "local"), ("info", "other")])
    c.run_until(c.now + 1)
    assert c.holders(gvip) == set()
    assert c.resource_msgs("hbnode1")[-1] == (("t", "ask_resources"), ("rsc_hold", "local"), ("info", "done"))
    c.genuine_holds(c.now + 0.1, "hbnode2", gvip)
    c.say(c.now + 0.2, "hbnode2", [("t", "resource"), ("rsc_hold", "all"), ("rtype", "full"), ("isstable", "1")])
    c.say(c.now + 0.2, "hbnode2", [("t", "ask_resources"), ("rsc_hold", "local"), ("info", "done")])
    c.run_until(c.now + 1)
    assert c.holders(gvip) == {"hbnode2"} and c.snapshot("hbnode1")["standby"] is None
    # it was told why (pyha-health); a genuine node ignores the type
    assert [f["resource"] for _, f in c.scripted["hbnode2"].said_to_it("pyha-health")] == ["nginx"]
    no_duplicates(c)
