"""The restart / hand-over policy for failing services (issue 14), on a fake clock:
restart in place up to `restarts` within `window`, then hand the group to a healthy peer,
never back to a node whose copy failed within the window, and keep restarting (saying
why) when no peer is healthy.  Flapping services and a peer whose copy fails too."""

from pyha.cluster.health_policy import HAND_OVER, RESTART, ServicePolicy
from pyha.config.pyhacf_monitor import Monitor

G = "192.0.2.160/24/eth0"
VIP = "192.0.2.160"


def _policy(local="ha1", restarts=1, window_ms=300000):
    return ServicePolicy(local, [Monitor("nginx", 2000, 10000, restarts, window_ms, None)])


def test_restart_once_then_hand_over_with_the_reason_status_shows():
    p = _policy()
    d = p.failed(G, "nginx", 100.0, ["ha2"], VIP)
    assert (d.action, d.to) == (RESTART, None)
    assert d.reason == "nginx failed its check once: restarting it here (restart 1 of 1 in 5 min)"
    p.passed("nginx", 102.0)
    d = p.failed(G, "nginx", 160.0, ["ha2"], VIP)
    assert (d.action, d.to, d.group) == (HAND_OVER, "ha2", G)
    assert d.reason == "nginx failed its check 2 times in 5 min: handing 192.0.2.160 to ha2"


def test_failures_further_apart_than_the_window_only_restart():
    p = _policy(restarts=1, window_ms=60000)
    for t in (0.0, 61.0, 122.5, 184.0):  # a failure a minute apart, each restart fixes it
        d = p.failed(G, "nginx", t, ["ha2"])
        assert d.action == RESTART, (t, d)
        p.passed("nginx", t + 2)
    assert p.restarts_in_window("nginx", 184.0) == 1


def test_a_flapping_service_runs_out_of_restarts_although_it_passes_in_between():
    p = _policy(restarts=3, window_ms=300000)
    actions = []
    for i in range(4):
        actions.append(p.failed(G, "nginx", 10.0 * i, ["ha2"]).action)
        p.passed("nginx", 10.0 * i + 2)
    assert actions == [RESTART, RESTART, RESTART, HAND_OVER]


def test_no_healthy_peer_keeps_restarting_and_says_why():
    p = _policy()
    assert p.failed(G, "nginx", 0.0, [], VIP).action == RESTART
    d = p.failed(G, "nginx", 5.0, [], VIP)
    assert d.action == RESTART
    assert d.reason == ("nginx failed its check 2 times in 5 min; no healthy peer to hand 192.0.2.160 to (no peer "
                        "is up): restarting it here again")
    d = p.failed(G, "nginx", 10.0, ["ha1"], VIP)  # ourselves listed among the living: still nobody else
    assert d.action == RESTART and "no peer is up" in d.reason


def test_never_back_to_a_node_whose_copy_failed_within_the_window():
    # ha2 handed the group to us because its nginx failed at t=0 (it tells us, or we saw it)
    p = _policy(local="ha1", restarts=0, window_ms=300000)
    p.record_failure("ha2", G, "nginx", 0.0)
    assert not p.may_hold("ha2", G, 299.0) and p.may_hold("ha2", G, 300.0)
    assert p.may_hold("ha1", G, 0.0) and p.may_hold("ha2", "other-group", 0.0)
    # our copy fails too: ha2 is not healthy for this group, so we keep restarting
    d = p.failed(G, "nginx", 100.0, ["ha2"], VIP)
    assert d.action == RESTART
    assert d.reason == ("nginx failed its check once; no healthy peer to hand 192.0.2.160 to (ha2's copy failed too "
                        "within 5 min): restarting it here again")
    # ... and once ha2's window has passed, it is healthy again
    d = p.failed(G, "nginx", 301.0, ["ha2"], VIP)
    assert (d.action, d.to) == (HAND_OVER, "ha2")
    # after handing over, we are the node whose copy failed: not to be given it back
    assert not p.may_hold("ha1", G, 600.9) and p.may_hold("ha1", G, 601.0)


def test_hand_over_picks_a_healthy_peer_among_several():
    p = _policy(restarts=0)
    p.record_failure("ha2", G, "nginx", 0.0)
    d = p.failed(G, "nginx", 1.0, ["ha3", "ha2"])
    assert (d.action, d.to) == (HAND_OVER, "ha3")


def test_the_operator_can_vouch_for_a_node():
    p = _policy(local="ha1")
    p.record_failure("ha1", G, "nginx", 0.0)
    assert p.unfit(1.0) == [("ha1", G, 0.0, 300000)]
    assert p.forget("ha1", G) and not p.forget("ha1", G)
    assert p.may_hold("ha1", G, 1.0) and p.unfit(1.0) == []
