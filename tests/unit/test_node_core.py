"""NodeCore: the composition the daemon and the simulator share (issue 12 item 1)."""

from pyha.cluster import events as ev
from pyha.cluster import manager_events as me
from pyha.cluster.manager import Manager, ManagerConfig
from pyha.cluster.membership import MembershipConfig
from pyha.cluster.node_core import NodeCore, Step
from pyha.cluster.null_manager import NullManager
from pyha.daemon import node as daemon_node

import clustersim

MCONF = MembershipConfig("ha1", ["ha1", "ha2"], ["eth0"], keepalive_ms=1000, deadtime_ms=6000,
                         warntime_ms=3000, initdead_ms=12000)
RCONF = ManagerConfig("ha1", "ha2", [("192.0.2.100/24/eth0", "ha1", True)], keepalive_ms=1000,
                      deadtime_ms=6000, warntime_ms=3000)


def test_the_daemon_and_the_simulator_import_the_same_composition():
    assert daemon_node.NodeCore is NodeCore and clustersim.NodeCore is NodeCore


def test_build_gives_the_manager_or_membership_only():
    assert isinstance(NodeCore.build(MCONF, RCONF).manager, Manager)
    core = NodeCore.build(MCONF)
    assert isinstance(core.manager, NullManager) and not core.managing


def test_every_step_has_a_reason_and_routes_membership_conclusions_inside():
    core = NodeCore.build(MCONF, RCONF)
    step = core.start(0.0)
    assert isinstance(step, Step) and step.reason
    assert step.of(ev.Send)  # the start burst
    # initdead passes with nobody heard: membership declares ha2 dead, the manager (inside
    # the same step) starts taking its groups; the shell only sees what to carry out
    now, steps = 0.0, []
    while now < 30.0:
        now = core.next_deadline(now)
        steps.append(core.handle(ev.Tick(now), now))
    probes = [s for s in steps if s.of(me.ProbeVip) or s.of(me.Acquire)]
    assert probes, [s.reason for s in steps]
    assert not any(isinstance(a, ev.Deliver) for s in steps for a in s.actions)  # routed inside
    assert probes[0].reason != "no decision (time passed)"
    assert core.snapshot(now)["last_step"]["reason"]


def test_an_operator_command_answers_in_its_own_step():
    core = NodeCore.build(MCONF, RCONF)
    core.start(0.0)
    step = core.handle(me.Standby("all"), 1.0)
    results = step.of(me.CommandResult)
    assert len(results) == 1 and results[0].command == "standby" and not results[0].accepted
    assert step.reason == "standby [all] refused: %s" % results[0].reason
