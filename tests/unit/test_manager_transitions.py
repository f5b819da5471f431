"""Typed state changes (issue 12 item 2): every transition of the manager is an action of
its step (`PhaseChanged`, `GroupStateChanged`, `StandbyStateChanged`, `NodeStateChanged`),
beside the unchanged log line, and NodeCore keeps the last ones for `pyha status`."""

import pytest

from pyha.cluster.events import Log
from pyha.cluster.manager_events import (
    TRANSITIONS, GroupStateChanged, NodeStateChanged, PhaseChanged, Standby, StandbyStateChanged,
)
from pyha.cluster.node_core import TRANSITIONS_KEPT
from clustersim import Cluster
from simnet import event_class

VIP = "192.0.2.100/24/eth0"


def changes(c, who, kind, **attrs):
    return [(a.old, a.new) for _, a in c.actions(who, kind, **attrs)]


def test_start_up_phase_and_group_changes_are_actions():
    c = Cluster()
    c.run_until(15)
    assert changes(c, "ha1", PhaseChanged) == [("waiting", "starting"), ("starting", "running")]
    assert changes(c, "ha1", GroupStateChanged, group=VIP) == [
        ("idle", "probing"), ("probing", "acquiring"), ("acquiring", "held")]
    assert changes(c, "ha2", GroupStateChanged) == []  # never moved there
    assert changes(c, "ha1", NodeStateChanged, node="ha2") == [("never", "up")]
    # the log lines are still there, word for word, beside the typed events
    logs = [a.text for _, a in c.stacks["ha1"].log if isinstance(a, Log)]
    assert any(t.startswith("group %s: probing -> acquiring: " % VIP) for t in logs)
    assert any(t.startswith("resource phase now running: ") for t in logs)


def test_takeover_after_a_crash():
    c = Cluster()
    c.crash(30, "ha1")
    c.run_until(45)
    dead = c.actions("ha2", NodeStateChanged, node="ha1", new="dead")
    assert len(dead) == 1 and dead[0][1].old == "up" and "dead" in dead[0][1].reason
    held = c.actions("ha2", GroupStateChanged, group=VIP, new="held")
    assert len(held) == 1 and held[0][0] > dead[0][0]
    # the death and the claim are one step: the node's change comes first
    log = [a for _, a in c.stacks["ha2"].log]
    probing = GroupStateChanged(VIP, "idle", "probing", "checking that the address of %s is free" % VIP)
    assert log.index(dead[0][1]) < log.index(probing) < log.index(held[0][1])


def test_standby_hand_over_both_roles():
    c = Cluster()
    c.command(30, "ha1", Standby("all"))
    c.run_until(40)
    assert changes(c, "ha1", StandbyStateChanged) == [
        ("none", "asked"), ("asked", "releasing"), ("releasing", "released"), ("released", "none")]
    assert changes(c, "ha2", StandbyStateChanged) == [
        ("none", "accepted"), ("accepted", "acquiring"), ("acquiring", "none")]
    assert changes(c, "ha1", GroupStateChanged, group=VIP)[-2:] == [("held", "releasing"), ("releasing", "idle")]
    assert changes(c, "ha2", GroupStateChanged, group=VIP) == [("idle", "acquiring"), ("acquiring", "held")]
    (t_idle, idle), = c.actions("ha1", GroupStateChanged, group=VIP, new="idle")
    (t_acq, acq), = c.actions("ha2", GroupStateChanged, group=VIP, new="acquiring")
    assert t_idle <= t_acq  # release before acquire, visible in the typed events too
    assert acq.reason.startswith("standby: acquire [all] resources")


def test_failback_after_the_preferred_node_returns():
    c = Cluster()
    c.crash(30, "ha1")
    c.restart(50, "ha1")
    c.run_until(60)
    assert ("dead", "up") in changes(c, "ha2", NodeStateChanged, node="ha1") or \
        ("never", "up") in changes(c, "ha2", NodeStateChanged, node="ha1")
    gave = c.actions("ha2", StandbyStateChanged, new="asked")
    assert gave and "auto_failback" in gave[-1][1].reason
    assert changes(c, "ha2", GroupStateChanged, group=VIP)[-2:] == [("held", "releasing"), ("releasing", "idle")]
    assert changes(c, "ha1", GroupStateChanged, group=VIP)[-2:] == [("idle", "acquiring"), ("acquiring", "held")]


def test_core_keeps_the_last_transitions_for_status():
    c = Cluster()
    c.command(30, "ha1", Standby("all"))
    c.command(40, "ha2", Standby("all"))
    c.command(50, "ha1", Standby("all"))
    c.run_until(60)
    core = c.stacks["ha1"].core
    every = [a for _, a in c.stacks["ha1"].log if isinstance(a, TRANSITIONS)]
    assert len(every) > TRANSITIONS_KEPT  # so the window matters
    kept = core.snapshot(c.now)["transitions"]
    assert len(kept) == TRANSITIONS_KEPT
    assert [dict((k, v) for k, v in t.items() if k not in ("at", "ago_s")) for t in kept] == \
        [a.to_dict() for a in every[-TRANSITIONS_KEPT:]]
    assert all(t["ago_s"] == round(c.now - t["at"], 3) for t in kept)
    ats = [t["at"] for t in kept]
    assert ats == sorted(ats) and ats[-1] <= c.now
    assert kept[-1]["kind"] in ("GroupStateChanged", "StandbyStateChanged")


def test_filters_know_the_new_classes():
    for cls in TRANSITIONS:
        assert event_class(cls.__name__) is cls
    c = Cluster()
    c.run_until(1)
    with pytest.raises(AttributeError):
        c.actions("ha1", "GroupStateChanged", grup=VIP)  # a misspelt field is an error
