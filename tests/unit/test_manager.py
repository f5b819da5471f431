"""The resource manager fed by hand: exact message shapes (spec 1.7, 5.3-5.5, Appendix A),
the reasons it gives, and robustness against bad input.  No network: the membership
notifications and the peer's messages are built here."""

import json

import pytest

from pyha.cluster.events import (
    CommUp, Deliver, Log, NodeDead, NodeLeft, NodeRestarted, NodeUp, NodeWarn, PartitionHealed,
    PingDead, PingUp, Send, Tick,
)
from pyha.cluster.manager import (
    G_HELD, G_IDLE, G_PROBING, G_STUCK, P_RUNNING, P_STARTING, P_STOPPED, P_STOPPING,
    IllegalTransition, ManagedGroup, Manager, ManagerConfig,
)
from pyha.cluster.manager_events import (
    Acquire, CommandResult, GroupAcquired, GroupAcquireFailed, GroupReleased, GroupReleaseFailed,
    ProbeVip, Release, Shutdown, ShutdownComplete, Standby, Takeover, VipAnswered, VipConflict, VipFree,
    VipLink,
)

VIP = "192.0.2.100/24/eth0"


def mk(local="ha1", peer="ha2", groups=((VIP, "ha1", True),), **kw):
    kw.setdefault("keepalive_ms", 1000)
    kw.setdefault("deadtime_ms", 6000)
    kw.setdefault("warntime_ms", 3000)
    return Manager(ManagerConfig(local, peer, groups, **kw))


class Drive(object):
    """Feeds one manager and keeps what it said."""

    def __init__(self, mgr, peer="ha2"):
        self.m = mgr
        self.peer = peer
        self.now = 0.0
        self.seq = 0
        self.out = []

    def __call__(self, event, dt=0.0):
        self.now += dt
        acts = self.m.handle(event, self.now)
        self.out += acts
        return acts

    def msg(self, t, dt=0.01, **fields):
        self.seq += 1
        f = {"t": t}
        f.update(fields)
        return self(Deliver(self.peer, t, f, "eth0", self.seq), dt)

    def tick(self, dt):
        return self(Tick(self.now + dt), dt)

    def up(self):
        self(NodeUp(self.peer, "active", "first heartbeat"))
        self(CommUp("communication is up"))


ASIDE = ("pyha-groups", "pyha-links", "hbapi-clstat", "num_ping_nodes", "you_are_dead", "abort_giveup")


def sends(acts, extensions=False):
    """Messages sent, as field tuples; pyha's own pyha-groups and pyha-links notes and the
    messages of its ipfail part left out unless asked (True: all of them; a type: that one)."""
    return [tuple(a.fields.items()) for a in acts
            if isinstance(a, Send) and (extensions is True or a.fields.get("t") == extensions
                                        or a.fields.get("t") not in ASIDE)]


def of(acts, kind):
    return [a for a in acts if isinstance(a, kind)]


def resource(rsc_hold, stable, info=None):
    out = (("t", "resource"), ("rsc_hold", rsc_hold), ("rtype", "full"), ("isstable", stable))
    return out + ((("info", info),) if info else ())


def probing(d, keys, seconds):
    """The shell answers every probe with VipFree, once a second, for `seconds`."""
    acts = []
    for _ in range(int(seconds)):
        acts += d.tick(0.95)
        for key in keys:
            acts += d(VipFree(key), 0.05 if key == keys[0] else 0.0)
    return acts


def take_from_dead(d, key):
    """After NodeDead: probe answers until the group is acquired, then started."""
    acts = d(VipFree(key), 0.05)
    for _ in range(6):
        if of(acts, Acquire):
            break
        acts += probing(d, [key], 1)
    assert of(acts, Acquire)
    return acts + d(GroupAcquired(key), 0.5)


def hold(d, key=VIP):
    """Walk an acquisition through the fake witness and shell."""
    acts = d.out
    if any(isinstance(a, ProbeVip) and key in a.groups for a in acts):
        d(VipFree(key), 0.05)
    d(GroupAcquired(key), 0.5)


# --- configuration ---------------------------------------------------------------------

def test_config_checks():
    with pytest.raises(ValueError):
        ManagerConfig("ha1", "ha1", [])
    with pytest.raises(ValueError):
        ManagerConfig("ha1", "ha2", [("a", "ha3")])
    with pytest.raises(ValueError):
        ManagerConfig("ha1", "ha2", [("a", "ha1"), ("a", "ha2")])
    with pytest.raises(ValueError):
        ManagerConfig("ha1", "ha2", [], auto_failback="maybe")
    with pytest.raises(ValueError):
        ManagerConfig("ha1", "ha2", [], keepalive_ms=0)
    cfg = ManagerConfig("HA1", "ha2", [("x", "HA1"), ManagedGroup("y", "ha2", True)])
    assert [g.node for g in cfg.groups] == ["ha1", "ha2"] and cfg.groups[1].vip
    assert cfg.claim_delay_ms == 3000 and cfg.probe_interval_ms == 1000
    # the daemon passes no claim delay: the fast profile gets production's 150 ms here too
    fast = ManagerConfig("ha1", "ha2", [], keepalive_ms=50, deadtime_ms=200, warntime_ms=150)
    assert fast.claim_delay_ms == 150
    json.dumps(cfg.to_dict())


def test_groups_from_haresources_model():
    from pyha.config.haresources import Haresources
    hr = Haresources.parse("hbnode1 198.51.100.100/24/eth0 specres::one\nhbnode2 specres::two\n")
    cfg = ManagerConfig("hbnode1", "hbnode2", hr.groups)
    assert [(g.key, g.node, g.vip) for g in cfg.groups] == [
        ("198.51.100.100/24/eth0", "hbnode1", True), ("specres::two", "hbnode2", False)]


# --- start-up (spec 5.3, A.1) -----------------------------------------------------------

def test_both_start_together_take_own_groups_without_rqstdelay():
    d = Drive(mk())
    d.up()
    assert sends(d.out) == [(("t", "starting"),)]
    assert d.m.phase == P_STARTING
    acts = d.msg("starting")
    # A.1: the answer while starting says isstable=0; then our own group, probed first.
    assert sends(acts)[0] == resource("none", "0")
    assert (("t", "ip-request-resp"), ("dest", "ha1"), ("ipaddr", VIP), ("weown", "yes"), ("ok", "OK")) in sends(acts)
    assert of(acts, ProbeVip) and not of(acts, Acquire)
    assert "ha2 is starting too" in d.m.last_decision
    acts = d(VipFree(VIP), 0.05)
    assert of(acts, Acquire)[0].groups == (VIP,)
    acts = d(GroupAcquired(VIP), 0.5)
    assert sends(acts) == [resource("local", "1", "req_our_resources()")]
    snap = d.m.snapshot(d.now)
    assert snap["holding"] == "local" and snap["holding_groups"] == [VIP] and snap["stable"]
    json.dumps(snap)


def test_start_when_peer_holds_our_groups_takes_nothing():
    d = Drive(mk())
    d.up()
    acts = d.msg("resource", rsc_hold="all", rtype="full", isstable="1")
    assert not of(acts, (Acquire, ProbeVip))
    assert d.m.last_decision == "not taking my groups [%s]: ha2 holds them (it reported rsc_hold=all)" % VIP
    assert sends(acts) == [resource("none", "1")]
    assert d.m.phase == P_RUNNING


def test_stable_peer_report_without_our_groups_lets_us_take_them():
    d = Drive(mk())
    d.up()
    d.msg("resource", rsc_hold="local", rtype="full", isstable="1")
    assert of(d.out, ProbeVip)
    assert "ha2 reported rsc_hold=local and is stable" in d.m.last_decision


def test_unstable_report_waits_for_rqstdelay():
    d = Drive(mk())
    d.up()
    d.msg("resource", rsc_hold="none", rtype="full", isstable="0")
    assert not of(d.out, ProbeVip)
    assert d.m.next_deadline(d.now) == pytest.approx(10.0)
    assert not of(d.tick(9.98 - d.now), ProbeVip)
    acts = d.tick(10.0 - d.now)
    assert of(acts, ProbeVip)
    assert "no usable word from ha2 within 10000 ms (RQSTDELAY)" in d.m.last_decision


def test_answer_to_starting_when_stable_is_isstable_1():
    d = Drive(mk())
    d.up()
    d.msg("starting")
    hold(d)
    acts = d.msg("starting", dt=5)
    assert sends(acts) == [resource("local", "1")]


def test_peer_dead_at_comm_up_takes_all():
    d = Drive(mk(groups=((VIP, "ha1", True), ("192.0.2.101/24/eth0", "ha2", True))))
    d(NodeDead("ha2", "node ha2: is dead (never heard within initdead 12000 ms)"), 12)
    acts = d(CommUp("communication is up: heard from [], declared dead [ha2]"))
    assert sends(acts)[0] == (("t", "starting"),)
    assert "taking all groups" in d.m.last_decision and "ha2 is dead at start-up" in d.m.last_decision
    assert of(acts, ProbeVip)[0].groups == (VIP, "192.0.2.101/24/eth0")
    acts = d(VipFree(VIP), 0.05) + d(VipFree("192.0.2.101/24/eth0"))
    # Our own group at once; the peer's (holder unknown) only once its address stayed free
    # for claim_delay (its preferred node would have brought it up by then).
    assert of(acts, Acquire)[0].groups == (VIP,)
    assert ("address of 192.0.2.101/24/eth0 is free; its preferred node is ha2, so I take it only after it "
            "stayed free for 3.0 s") in [a.text for a in of(acts, Log)]
    acts = probing(d, ["192.0.2.101/24/eth0"], 2)
    assert not of(acts, Acquire) and len(of(acts, ProbeVip)) == 2
    acts = probing(d, ["192.0.2.101/24/eth0"], 1)
    assert of(acts, Acquire)[0].groups == ("192.0.2.101/24/eth0",)
    assert d.now == pytest.approx(15.05)


# --- peer death, warntime probing, the VIP witness (issue item 6) -------------------------

def running_pair():
    """ha2 runs ha2's group, ha1 (us) runs ours; both stable."""
    d = Drive(mk(groups=((VIP, "ha1", True), ("192.0.2.101/24/eth0", "ha2", True))))
    d.up()
    d.msg("starting")
    hold(d)
    d.msg("resource", rsc_hold="local", rtype="full", isstable="1")
    d.out = []
    return d


def test_warntime_starts_probing_so_deadtime_adds_no_delay():
    d = running_pair()
    acts = d(NodeWarn("ha2", 3001, "Late heartbeat: Node ha2: no heartbeat for 3001 ms"), 3)
    assert of(acts, ProbeVip)[0].groups == ("192.0.2.101/24/eth0",)
    d(VipFree("192.0.2.101/24/eth0"), 0.05)
    probing(d, ["192.0.2.101/24/eth0"], 2)  # every probe_interval while the peer stays late
    assert len(of(d.out, ProbeVip)) == 3
    acts = d.tick(0.95)  # deadtime: the fourth probe goes out as ha2 is declared dead
    assert of(acts, ProbeVip)
    dead = d(NodeDead("ha2", "node ha2: is dead (silent for 6001 ms on all links, dead time 6000 ms)"), 0.001)
    assert not of(dead, Acquire)
    assert (("t", "stonith"), ("node", "ha2"), ("result", "n_stnth")) in sends(dead)
    acts = d(VipFree("192.0.2.101/24/eth0"), 0.049)
    # free since warntime, i.e. for claim_delay already: taken at once
    assert of(acts, Acquire)[0].groups == ("192.0.2.101/24/eth0",)
    assert d.m.last_decision.startswith("taking over [192.0.2.101/24/eth0] because node ha2: is dead")
    acts = d(GroupAcquired("192.0.2.101/24/eth0"), 0.5)
    assert sends(acts) == [resource("all", "1"), (("t", "resource"), ("rsc_hold", "foreign"), ("info", "mach_down"))]


def test_vip_answered_blocks_takeover_and_keeps_probing():
    d = running_pair()
    acts = d(NodeDead("ha2", "node ha2: is dead (silent for 6001 ms)"), 6)
    assert of(acts, ProbeVip) and not of(acts, Acquire)
    acts = d(VipAnswered("192.0.2.101/24/eth0", "02:00:5e:00:00:02"), 0.05)
    assert not of(acts, Acquire)
    said = [e["reason"] for e in d.m.snapshot()["decisions"]]
    assert said[-2:] == [
        "peer silent but VIP answered from MAC 02:00:5e:00:00:02: not taking 192.0.2.101/24/eth0, "
        "probing again every 1.0 s",
        "mach_down takeover complete: holding [%s]; not taken (address answers): [192.0.2.101/24/eth0]" % VIP]
    assert d.m.snapshot()["groups"]["192.0.2.101/24/eth0"]["state"] == G_PROBING
    acts = d.tick(1.0)
    assert of(acts, ProbeVip)
    acts = d(VipAnswered("192.0.2.101/24/eth0", "02:00:5e:00:00:02"), 0.05)
    assert not [a for a in acts if isinstance(a, Log) and a.level == "WARNING"]  # said once
    acts = probing(d, ["192.0.2.101/24/eth0"], 2)
    assert not of(acts, Acquire)  # free, but not yet for claim_delay
    acts = probing(d, ["192.0.2.101/24/eth0"], 2)
    assert of(acts, Acquire)


def test_graceful_leave_takes_over_at_once_without_probe():
    d = running_pair()
    acts = d.msg("resource", rsc_hold="none", rtype="full", isstable="0", info="shutdown")
    assert not of(acts, (Acquire, ProbeVip))
    assert "waiting for its shutdone" in d.m.last_decision
    acts = d(NodeLeft("ha2", "Received shutdown notice from 'ha2'."), 0.1)
    assert of(acts, Acquire)[0].groups == ("192.0.2.101/24/eth0",)
    assert "at once because ha2 stopped gracefully" in d.m.last_decision
    acts = d(NodeDead("ha2", "node ha2: is dead (silent after its shutdown notice)", True), 6)
    assert sends(acts) == [(("t", "stonith"), ("node", "ha2"), ("result", "unneeded"))]
    assert not of(acts, (Acquire, Release))


# --- our graceful stop (spec 5.5, A.2) ---------------------------------------------------

def test_shutdown_announces_releases_then_shutdone():
    d = running_pair()
    acts = d(Shutdown(), 1)
    assert sends(acts) == [resource("none", "0", "shutdown")]
    assert of(acts, Release)[0].groups == (VIP,)
    assert of(acts, CommandResult)[0].accepted
    assert d.m.phase == P_STOPPING
    acts = d(GroupReleased(VIP), 0.3)
    assert sends(acts) == [(("t", "shutdone"), ("st", "dead"))]
    assert of(acts, ShutdownComplete)
    assert d.m.phase == P_STOPPED
    assert not d(NodeDead("ha2", "dead"), 10)  # a stopped manager does nothing more


def test_stop_failure_never_claims_release_and_blocks_shutdone():
    d = running_pair()
    d(Shutdown(), 1)
    acts = d(GroupReleaseFailed(VIP, "IPaddr stop exited 1"), 0.3)
    # The correction: the group may still run here, so it is reported again.
    assert sends(acts) == [resource("local", "0")]
    assert d.m.snapshot()["groups"][VIP]["state"] == G_STUCK
    assert "failed to stop" in d.m.last_decision and "shutdown waits" in d.m.last_decision
    assert not of(acts, ShutdownComplete)
    acts = d.tick(30.0)
    assert of(acts, Release)  # retried every release_retry
    acts = d(GroupReleaseFailed(VIP, "IPaddr stop exited 1"), 0.3)
    assert not any(s[0] == ("t", "shutdone") for s in sends(d.out))
    d.tick(30.0)
    acts = d(GroupReleased(VIP), 0.3)
    assert sends(acts) == [(("t", "shutdone"), ("st", "dead"))]


def test_stuck_group_is_in_every_report():
    d = running_pair()
    d(Standby("local"))
    d.msg("ask_resources", rsc_hold="local", info="other")
    d(GroupReleaseFailed(VIP, "boom"), 0.3)
    acts = d.msg("starting", dt=1)
    assert sends(acts)[0][1] == ("rsc_hold", "local")
    assert not any(s == (("t", "ask_resources"), ("rsc_hold", "local"), ("info", "done")) for s in sends(d.out))


# --- standby / takeover (spec 5.4) ----------------------------------------------------------

def test_standby_as_giver_exact_exchange():
    d = running_pair()
    acts = d(Standby("all"))
    assert sends(acts) == [(("t", "ask_resources"), ("rsc_hold", "all"), ("info", "me"))]
    assert of(acts, CommandResult)[0].accepted
    acts = d.msg("ask_resources", rsc_hold="all", info="other")
    assert sends(acts) == [resource("none", "0", "standby")]
    assert of(acts, Release)[0].groups == (VIP,)
    acts = d(GroupReleased(VIP), 0.3)
    assert sends(acts) == [(("t", "ask_resources"), ("rsc_hold", "all"), ("info", "done"))]
    d.msg("resource", rsc_hold="all", rtype="full", isstable="1")
    acts = d.msg("ask_resources", rsc_hold="all", info="done")
    assert sends(acts) == [resource("none", "1")]
    assert d.m.last_decision == "Other node completed standby takeover of all resources."


def test_standby_as_taker_exact_exchange():
    d = running_pair()
    acts = d.msg("ask_resources", rsc_hold="local", info="me")
    assert sends(acts) == [(("t", "ask_resources"), ("rsc_hold", "local"), ("info", "other"))]
    assert d.m.last_decision == ("ha2 wants to go standby [local]: accepting, I will take "
                                 "[192.0.2.101/24/eth0]")
    acts = d.msg("resource", rsc_hold="none", rtype="full", isstable="0", info="standby")
    assert not of(acts, Acquire)
    acts = d.msg("ask_resources", rsc_hold="local", info="done")
    assert of(acts, Acquire)[0].groups == ("192.0.2.101/24/eth0",)  # confirmed hand-over: no probe
    acts = d(GroupAcquired("192.0.2.101/24/eth0"), 0.5)
    # The report first, then done (a genuine node processes its own done before sending it).
    assert sends(acts) == [resource("all", "1"), (("t", "ask_resources"), ("rsc_hold", "local"), ("info", "done"))]


def test_accepted_request_the_giver_never_acts_on_is_abandoned_after_standby_timeout():
    # Seen in CI with genuine heartbeat as R: its own `me` reached it while it still thought
    # us in flux ("standby message [me] from ha1 ignored.  Other side is in flux."), so it
    # ignored our `other` too ("Ignored standby message 'other' from ha2 in state 0") and
    # never released.  Heartbeat as O would wait an hour "in transition"; we wait 10 s.
    d = running_pair()
    d.msg("ask_resources", rsc_hold="local", info="me")
    assert d.m.snapshot()["standby"]["state"] == "accepted"
    acts = d.tick(9.9)
    assert d.m.snapshot()["standby"]["state"] == "accepted" and not sends(acts)
    acts = d.tick(0.2)
    assert d.m.snapshot()["standby"] is None
    assert d.m.last_decision == ("ha2 did not start releasing [local] within 10000 ms of our `other` (it may "
                                 "have dropped its own request as 'Other side is in flux'): exchange abandoned")
    assert sends(acts) == [resource("local", "1")]  # stable again, and says so
    assert not of(acts, Acquire)
    # The next request is accepted as usual.
    acts = d.msg("ask_resources", rsc_hold="local", info="me")
    assert sends(acts) == [(("t", "ask_resources"), ("rsc_hold", "local"), ("info", "other"))]


def test_giver_that_started_releasing_gets_the_long_resource_timeout():
    d = running_pair()
    d.msg("ask_resources", rsc_hold="local", info="me")
    d.msg("resource", rsc_hold="none", rtype="full", isstable="0", info="standby", dt=0.4)
    d.tick(600.0)  # a slow stop on R: still waiting for its done
    assert d.m.snapshot()["standby"]["state"] == "accepted"
    acts = d.msg("ask_resources", rsc_hold="local", info="done")
    assert of(acts, Acquire)[0].groups == ("192.0.2.101/24/eth0",)


def test_standby_refused_when_in_flux_and_cancelled_without_reply():
    d = running_pair()
    d.msg("resource", rsc_hold="local", rtype="full", isstable="0")
    acts = d(Standby())
    assert not of(acts, CommandResult)[0].accepted
    assert "Other side is in flux." in of(acts, CommandResult)[0].reason
    acts = d.msg("ask_resources", rsc_hold="all", info="me")
    assert not sends(acts)
    assert d.m.snapshot()["standby_request_waiting"]["rsc_hold"] == "all"
    d.tick(3.0)  # standby_grace: its isstable=1 never came
    assert d.m.last_decision == "standby message [me] from ha2 ignored.  Other side is in flux."
    assert d.m.snapshot()["standby_request_waiting"] is None
    d.msg("resource", rsc_hold="local", rtype="full", isstable="1")
    d(Standby())
    acts = d.tick(10.0)
    assert d.m.last_decision == "No reply to standby request.  Standby request cancelled."
    assert d.m.snapshot()["standby"] is None
    assert d.m.snapshot()["groups"][VIP]["state"] == G_HELD


def test_takeover_sends_hb_takeover_and_peer_hb_takeover_maps_sets():
    d = running_pair()
    acts = d(Takeover("foreign"))
    assert sends(acts) == [(("t", "hb_takeover"), ("rsc_hold", "foreign"))]
    # A genuine peer's hb_takeover local means "give me my groups": we go standby foreign.
    acts = d.msg("hb_takeover", rsc_hold="local")
    assert sends(acts) == [(("t", "ask_resources"), ("rsc_hold", "foreign"), ("info", "me"))]


def test_legacy_refuses_standby_and_takeover():
    d = Drive(mk(auto_failback="legacy"))
    d.up()
    for cmd in (Standby(), Takeover()):
        res = of(d(cmd), CommandResult)[0]
        assert not res.accepted and "nice_failback" in res.reason
    acts = d.msg("ask_resources", rsc_hold="all", info="me")
    assert not sends(acts)


def test_legacy_startup_with_active_peer_asks_with_ip_request():
    d = Drive(mk(auto_failback="legacy"))
    d.up()
    assert sends(d.out) == [(("t", "ip-request"), ("ipaddr", VIP))]
    acts = d.msg("ip-request-resp", dest="ha1", ipaddr=VIP, weown="yes", ok="OK")
    assert of(acts, Acquire)[0].groups == (VIP,)


def test_legacy_gives_group_on_ip_request_after_release():
    d = Drive(mk(auto_failback="legacy"))
    d(NodeUp("ha2", "up", "first"))
    d(CommUp("up"))
    hold(d)
    acts = d.msg("ip-request", ipaddr=VIP)
    assert of(acts, Release)
    assert not sends(acts)
    acts = d(GroupReleased(VIP), 0.3)
    assert sends(acts) == [(("t", "ip-request-resp"), ("dest", "ha2"), ("ipaddr", VIP), ("weown", "yes"),
                            ("ok", "OK"))]


# --- failures ------------------------------------------------------------------------------

def test_start_failure_releases_and_hands_over():
    d = running_pair()
    d(Standby("local"))
    d.msg("ask_resources", rsc_hold="local", info="other")
    d(GroupReleased(VIP), 0.3)
    d.msg("resource", rsc_hold="all", rtype="full", isstable="1")
    d.msg("ask_resources", rsc_hold="local", info="done")
    d.out = []
    # Now take it back with hb_takeover's exchange, and fail to start it.
    d(Takeover("local"))
    d.msg("ask_resources", rsc_hold="foreign", info="me")
    d.msg("ask_resources", rsc_hold="foreign", info="done")
    acts = d(GroupAcquireFailed(VIP, "specres::one start exited 1"), 0.5)
    assert of(acts, Release)[0].groups == (VIP,)
    assert "failed to start on ha1: specres::one start exited 1" in d.m.last_decision
    acts = d(GroupReleased(VIP), 0.3)
    # The exchange ends as usual (we still say done), then, once ha2 is stable again,
    # the failed group goes back to it with the standby protocol.
    # (our report no longer lists the group: it does not run here)
    assert sends(acts) == [resource("none", "1"), (("t", "ask_resources"), ("rsc_hold", "foreign"),
                                                    ("info", "done"))]
    acts = d.msg("resource", rsc_hold="local", rtype="full", isstable="1")
    assert sends(acts) == [(("t", "ask_resources"), ("rsc_hold", "local"), ("info", "me"))]
    assert d.m.last_decision.startswith("group %s failed to start here (specres::one start exited 1): "
                                        "ha1 wants to go standby [local]" % VIP)
    assert d.m.snapshot()["groups"][VIP]["start_failure"]["error"] == "specres::one start exited 1"


def test_failed_group_is_not_taken_back_automatically():
    d = running_pair()
    d.m._groups["192.0.2.101/24/eth0"].failed = {"at": 0, "error": "boom"}
    acts = d.msg("ask_resources", rsc_hold="local", info="me")
    assert not sends(acts)
    assert "failed to start here (boom)" in d.m.last_decision


# --- partition heal and conflicts (issue items 5, 6) -------------------------------------------

def test_heal_overlap_non_preferred_releases():
    d = running_pair()
    d(NodeDead("ha2", "dead"), 6)
    take_from_dead(d, "192.0.2.101/24/eth0")
    acts = d(PartitionHealed("ha2", "Cluster node ha2 returning after partition."), 10)
    # What it holds now is unknown: `starting` asks for its report (a genuine node answers it).
    assert sends(acts) == [(("t", "starting"),), resource("all", "1")]
    acts = d.msg("resource", rsc_hold="all", rtype="full", isstable="1")
    assert of(acts, Release)[0].groups == ("192.0.2.101/24/eth0",)
    assert d.m.last_decision == ("both ha2 and I hold its groups [192.0.2.101/24/eth0]; their preferred "
                                 "node ha2 keeps them, so I release mine")


def test_vip_conflict_rule():
    d = running_pair()
    acts = d(VipConflict(VIP, "02:00:5e:00:00:09"))
    assert not of(acts, Release)
    assert "I am its preferred node, so I keep it" in d.m.last_decision
    d(NodeDead("ha2", "dead"), 6)
    take_from_dead(d, "192.0.2.101/24/eth0")
    acts = d(VipConflict("192.0.2.101/24/eth0", "02:00:5e:00:00:02"), 1)
    assert of(acts, Release)[0].groups == ("192.0.2.101/24/eth0",)
    assert "its preferred node is ha2, so I release it (conflict rule)" in d.m.last_decision


# --- ping arbitration (issue item 4) -------------------------------------------------------------

def pinging_holder():
    """We hold our group and reach our one ping node; the peer is up and stable."""
    d = Drive(mk(ping_targets=("192.0.2.254",)))
    d(PingUp("192.0.2.254", "answers"))
    d.up()
    d.msg("starting")
    hold(d)
    d.msg("resource", rsc_hold="local", rtype="full", isstable="1")
    return d


def test_ping_loss_hands_over_only_with_evidence():
    d = pinging_holder()
    assert (("t", "pyha-ping"), ("num_ping", "1")) in sends(d.out)
    acts = d(PingDead("192.0.2.254", "silent"), 5)
    assert sends(acts) == [(("t", "pyha-ping"), ("num_ping", "0"))]
    d.tick(5.0)
    assert not of(d.out, Release)  # no count from the peer (a genuine node): no evidence
    d.msg("pyha-ping", num_ping="1")
    acts = d.tick(2.0)
    assert sends(acts) == [(("t", "ask_resources"), ("rsc_hold", "all"), ("info", "me"))]
    assert "I reach 0 of 1 ping nodes, ha2 reaches 1" in d.m.last_decision


# --- ipfail's part for a genuine peer (spec 5.10, capture t11) ---------------------------------

IPF = (("dest", "ha2"), ("from_id", "ipfail"), ("to_id", "ipfail"), ("client_gen", "0"))


def test_we_play_ipfail_for_a_genuine_peer():
    d = pinging_holder()
    assert (("t", "hbapi-clstat"), ("st", "join"), ("from_id", "ipfail"), ("to_id", "ipfail"),
            ("info", "signon"), ("client_gen", "0")) in sends(d.out, True)
    # its ipfail lost its ping node: we reach more, so it is told it is dead (it gives up)
    acts = d.msg("num_ping_nodes", num_ping="0", dest="ha1", from_id="ipfail", to_id="ipfail", client_gen="0")
    assert [m for m in sends(acts, True) if m[0][1] in ASIDE] == [(("t", "you_are_dead"),) + IPF]
    acts = d.msg("num_ping_nodes", num_ping="1", dest="ha1", from_id="ipfail", to_id="ipfail", client_gen="0")
    assert [m for m in sends(acts, True) if m[0][1] in ASIDE] == [(("t", "abort_giveup"),) + IPF]
    # we lose ours: our count goes to its ipfail, and its you_are_dead makes us hand over
    acts = d(PingDead("192.0.2.254", "silent"), 1)
    assert (("t", "num_ping_nodes"), ("num_ping", "0")) + IPF in sends(acts, True)
    d.msg("you_are_dead", dest="ha1", from_id="ipfail", to_id="ipfail", client_gen="0")
    assert "ipfail on ha2 says it reaches more ping nodes than my 0" in [x["reason"] for x in
                                                                         d.m.snapshot()["decisions"]]
    acts = d.tick(2.5)
    assert sends(acts) == [(("t", "ask_resources"), ("rsc_hold", "all"), ("info", "me"))]


def test_no_ipfail_part_for_a_pyha_peer_or_without_ping_nodes():
    d = pinging_holder()
    d.msg("pyha-ping", num_ping="1")
    acts = d(PingDead("192.0.2.254", "silent"), 1)
    assert not [m for m in sends(acts, True) if m[0] == ("t", "num_ping_nodes")]  # pyha-ping says it
    d = running_pair()  # no ping nodes configured here
    acts = d.msg("num_ping_nodes", num_ping="0", dest="ha1", from_id="ipfail", to_id="ipfail", client_gen="0")
    assert not sends(acts, True)


# --- carrier loss on the service interface (issue 4 item 9) ------------------------------------

def links(down=""):
    return (("t", "pyha-links"), ("down", down))


def test_carrier_loss_hands_over_at_once_when_the_peer_can_serve():
    d = running_pair()
    d.msg("pyha-links", down="")
    acts = d(VipLink(VIP, False, "eth0"), 1.0)
    # the peer hears it (it must not give the group back to us) and is asked to take it
    assert sends(acts, "pyha-links") == [links(VIP), (("t", "ask_resources"), ("rsc_hold", "local"), ("info", "me"))]
    assert "eth0 has no carrier (carrying [%s]); ha2 has carrier for them" % VIP in d.m.last_decision
    acts = d.msg("ask_resources", rsc_hold="local", info="other")
    assert of(acts, Release)[0].groups == (VIP,)
    acts = d(GroupReleased(VIP), 0.1)
    assert sends(acts, "pyha-links") == [(("t", "ask_resources"), ("rsc_hold", "local"), ("info", "done"))]
    # the carrier comes back: we say so, and take nothing back by ourselves
    acts = d(VipLink(VIP, True), 5.0)
    assert sends(acts, "pyha-links") == [links("")] and not of(acts, Acquire)


def test_carrier_loss_without_evidence_from_the_peer_waits():
    d = running_pair()  # the peer never said pyha-links: a genuine heartbeat node
    acts = d(VipLink(VIP, False, "eth0"), 1.0)
    acts += d.tick(30.0)
    assert sends(acts, "pyha-links") == [links(VIP)]
    # nor when the peer has no carrier either
    d = running_pair()
    d.msg("pyha-links", down=VIP + " 192.0.2.101/24/eth0")
    acts = d(VipLink(VIP, False, "eth0"), 1.0) + d.tick(30.0)
    assert sends(acts, "pyha-links") == [links(VIP)]
    assert d.m.snapshot()["peer_state"]["no_carrier_groups"] == [VIP, "192.0.2.101/24/eth0"]
    # and with ping nodes only when the peer reaches at least as many as we do
    d = pinging_holder()
    d.msg("pyha-links", down="")
    d.msg("pyha-ping", num_ping="0")
    acts = d(VipLink(VIP, False, "eth0"), 1.0) + d.tick(1.0)
    assert not [m for m in sends(acts, "pyha-links") if m[0] == ("t", "ask_resources")]
    acts = d.msg("pyha-ping", num_ping="1")
    assert (("t", "ask_resources"), ("rsc_hold", "local"), ("info", "me")) in sends(acts, "pyha-links")


def test_no_carrier_here_refuses_a_standby_request():
    d = running_pair()
    d(VipLink("192.0.2.101/24/eth0", False, "eth0"))
    acts = d.msg("ask_resources", rsc_hold="local", info="me")
    assert not sends(acts, "pyha-links")
    assert d.m.last_decision == ("standby message [me] from ha2 ignored.  [192.0.2.101/24/eth0] cannot be "
                                 "served here: eth0 has no carrier")


def test_failback_waits_for_the_peers_carrier():
    d = running_pair()
    # we took ha2's group after its death; ha2 returns but its eth0 has no carrier
    d(NodeDead("ha2", "dead"), 1.0)
    take_from_dead(d, "192.0.2.101/24/eth0")
    d(NodeRestarted("ha2", 1, 2, "Heartbeat restart on node ha2"), 5.0)
    d(NodeUp("ha2", "active", "back"))
    d.msg("starting")
    d.msg("pyha-links", down="192.0.2.101/24/eth0")
    d.out = []
    d.msg("resource", rsc_hold="none", rtype="full", isstable="1")
    d.tick(10.0)
    assert not [m for m in sends(d.out, "pyha-links") if m[0] == ("t", "ask_resources")]
    acts = d.msg("pyha-links", down="")
    assert (("t", "ask_resources"), ("rsc_hold", "foreign"), ("info", "me")) in sends(acts, "pyha-links")
    assert "auto_failback" in d.m.last_decision


def test_bad_links_messages_are_ignored():
    d = running_pair()
    d(Deliver("ha2", "pyha-links", {"t": "pyha-links"}, "eth0", 50))
    d(Deliver("ha2", "pyha-links", {"t": "pyha-links", "down": "nosuch " + VIP}, "eth0", 51))
    d(Deliver("ha2", "pyha-links", {"t": "pyha-links", "down": ""}, "eth0", 49))  # older: overtaken
    assert d.m.snapshot()["peer_state"]["no_carrier_groups"] == [VIP]
    d(VipLink("nosuch", False, "eth0"))
    d(VipLink(VIP, True))  # no change: nothing said
    assert not sends(d.out, "pyha-links")


# --- robustness ----------------------------------------------------------------------------------

def test_bad_input_is_logged_not_raised():
    d = running_pair()
    for ev in (Deliver("ha2", "resource", {"t": "resource", "rsc_hold": "lots"}, "eth0", 99),
               Deliver("ha2", "ask_resources", {"t": "ask_resources"}, "eth0", 100),
               Deliver("ha9", "starting", {}, "eth0", 1),
               Deliver("ha2", "pyha-ping", {"num_ping": "-1"}, "eth0", 101),
               Deliver("ha2", "hb_takeover", {"rsc_hold": "x"}, "eth0", 102),
               Deliver("ha2", "ip-request", {"ipaddr": None}, "eth0", 103),
               Deliver("ha2", "whatever", None, "eth0", None),
               GroupAcquired("nosuch"), GroupReleased(VIP), VipFree(None), Standby("half"),
               Takeover(7), "not an event", None):
        d(ev)
    d(Tick(float("nan")))
    assert d.m.snapshot()["groups"][VIP]["state"] == G_HELD
    json.dumps(d.m.snapshot(d.now))


def test_stale_resource_report_is_ignored():
    d = running_pair()
    d(Deliver("ha2", "resource", {"t": "resource", "rsc_hold": "all", "rtype": "full", "isstable": "1"},
              "eth0", 1))
    assert d.m.snapshot()["peer_state"]["holds"] == "local"


def test_illegal_transition_is_a_bug():
    m = mk()
    with pytest.raises(IllegalTransition):
        m._group_to(m._groups[VIP], G_HELD, "never acquired")
    with pytest.raises(IllegalTransition):
        m._phase_to(P_STOPPED, "not stopping")


def test_peer_restart_during_exchange_cancels_it():
    d = running_pair()
    d(Standby())
    d(NodeRestarted("ha2", 1, 2, "Heartbeat restart on node ha2"), 1)
    assert d.m.snapshot()["standby"] is None
    assert d.m.snapshot()["peer_state"]["holds"] is None
    assert d.m.snapshot()["groups"][VIP]["state"] == G_HELD


def test_next_deadline_is_never_now():
    d = running_pair()
    d(NodeDead("ha2", "dead"), 6)
    d(VipAnswered("192.0.2.101/24/eth0", "m"), 0.05)
    for _ in range(20):
        nd = d.m.next_deadline(d.now)
        assert nd is None or nd > d.now
        d(Tick(nd if nd is not None else d.now + 1), (nd - d.now) if nd is not None else 1)
    assert d.m.snapshot()["groups"][VIP]["state"] == G_HELD
    assert G_IDLE != d.m.snapshot()["groups"]["192.0.2.101/24/eth0"]["state"]


def test_standby_request_overtaking_the_stable_report_is_kept():
    """Out of order: ask_resources me (seq n+1) arrives before resource isstable=1 (seq n)."""
    d = running_pair()
    d.msg("resource", rsc_hold="local", rtype="full", isstable="0")
    acts = d(Deliver("ha2", "ask_resources", {"t": "ask_resources", "rsc_hold": "local", "info": "me"}, "eth0", 20),
             0.01)
    assert not sends(acts)
    acts = d(Deliver("ha2", "resource", {"t": "resource", "rsc_hold": "local", "rtype": "full", "isstable": "1"},
                     "eth0", 19), 0.01)
    assert sends(acts) == [(("t", "ask_resources"), ("rsc_hold", "local"), ("info", "other"))]


def test_late_starting_does_not_undo_a_newer_report():
    d = Drive(mk())
    d.up()
    d(Deliver("ha2", "resource", {"t": "resource", "rsc_hold": "all", "rtype": "full", "isstable": "1"},
              "eth0", 8), 0.01)
    acts = d(Deliver("ha2", "starting", {"t": "starting"}, "eth0", 6), 0.01)
    assert d.m.snapshot()["peer_state"]["holds"] == "all"
    assert not of(d.out, (ProbeVip, Acquire))
    assert sends(acts) == [resource("none", "1")]


def test_every_report_is_followed_by_the_exact_groups_for_a_pyha_peer():
    d = Drive(mk(groups=((VIP, "ha1", True), ("192.0.2.102/24/eth0", "ha1", True),
                         ("192.0.2.101/24/eth0", "ha2", True))))
    d.up()
    d.msg("starting")
    d(VipFree(VIP), 0.05)
    d(VipFree("192.0.2.102/24/eth0"))
    d(GroupAcquired(VIP), 0.5)
    acts = d(GroupAcquireFailed("192.0.2.102/24/eth0", "boom"))
    acts += d(GroupReleased("192.0.2.102/24/eth0"), 0.3)
    # rsc_hold says "local" (one of our two groups runs); the note says which.
    assert sends(acts, extensions=True)[:2] == [
        resource("local", "1", "req_our_resources()"), (("t", "pyha-groups"), ("running", VIP))]


def test_peer_groups_note_decides_what_a_dead_peer_held():
    """ha2 reported "local" but runs only one of its two groups: on its death the other one is
    not taken at once as if ha2 had held it (its preferred node... is ha2, so we wait)."""
    d = Drive(mk(groups=((VIP, "ha1", True), ("192.0.2.101/24/eth0", "ha2", True),
                         ("192.0.2.103/24/eth0", "ha2", True))))
    d.up()
    d.msg("starting")
    hold(d)
    d.msg("resource", rsc_hold="local", rtype="full", isstable="1")
    d.msg("pyha-groups", running="192.0.2.101/24/eth0")
    assert d.m.snapshot()["peer_state"]["running_groups"] == ["192.0.2.101/24/eth0"]
    both = ["192.0.2.101/24/eth0", "192.0.2.103/24/eth0"]
    d(NodeWarn("ha2", 3001, "late"), 3)
    for key in both:
        d(VipFree(key), 0.05 if key == both[0] else 0)
    probing(d, both, 3)
    acts = d(NodeDead("ha2", "dead"), 0.01)
    # It ran .101 and the address has been free since warntime: taken at once.  For .103
    # nobody is known to hold it: free answers count only from our claim on.
    assert [a.groups for a in of(acts, Acquire)] == [("192.0.2.101/24/eth0",)]
    snap = d.m.snapshot()["groups"]["192.0.2.103/24/eth0"]
    assert snap["state"] == G_PROBING and snap["probe_mode"] == "claim"
