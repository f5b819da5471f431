"""The daemon's side of a restart in place (issue 14): the resource shell stops and starts
the one resource of a held group as child processes (real ones here, a heartbeat
resource.d script in a temporary directory), answers ResourceRestarted, lets a release
asked for meanwhile wait for it; the monitors make no check while it restarts and drop
one begun before; a failed check goes to the core as CheckFailed with its line's
settings."""

import os

from pyha.cluster import manager_events as me
from pyha.config import Haresources
from pyha.daemon.loop import EventLoop
from pyha.daemon.resources_shell import ResourceShell
from test_daemon_shell import _run_until
from test_health import _monitors

SCRIPT = """#!/bin/sh
echo "$1" >> {d}/calls
case "$1" in
  start) [ -e {d}/failstart ] && exit 1; touch {d}/running; exit 0;;
  stop) rm -f {d}/running; exit 0;;
  status) if [ -e {d}/running ]; then echo running; else echo stopped; fi; exit 0;;
esac
exit 1
"""


def _shell(tmp_path):
    rd = tmp_path / "resource.d"
    rd.mkdir()
    (rd / "svc").write_text(SCRIPT.format(d=tmp_path))
    os.chmod(str(rd / "svc"), 0o755)
    (rd / "other").write_text("#!/bin/sh\necho running\nexit 0\n")
    os.chmod(str(rd / "other"), 0o755)
    loop = EventLoop()
    events = []
    shell = ResourceShell(loop, Haresources.parse("ha1 svc other\n"), events.append, resource_d=str(rd))
    assert shell.problems == []
    return loop, shell, events


def _calls(tmp_path):
    return (tmp_path / "calls").read_text().split()


def test_the_resource_shell_restarts_one_resource_and_reports_the_outcome(tmp_path):
    loop, shell, events = _shell(tmp_path)
    told = []
    shell.before_restart = told.append
    shell.do(me.Acquire(("svc",), "start"))
    assert _run_until(loop, lambda: me.GroupAcquired("svc") in events, 10)
    assert _calls(tmp_path) == ["status", "start"]
    action = me.RestartResource("svc", "svc", "svc failed its check once")
    shell.do(action)
    assert told == [action]
    assert _run_until(loop, lambda: any(isinstance(e, me.ResourceRestarted) for e in events), 10)
    assert events[-1] == me.ResourceRestarted("svc", "svc", True, "")
    assert _calls(tmp_path) == ["status", "start", "stop", "status", "start"]  # `other` left alone
    (tmp_path / "failstart").write_text("")
    shell.do(me.RestartResource("svc", "svc", "again"))
    assert _run_until(loop, lambda: len([e for e in events if isinstance(e, me.ResourceRestarted)]) == 2, 10)
    assert events[-1].ok is False and events[-1].detail.startswith("start: "), events[-1]
    shell.close()


def test_a_release_asked_for_during_a_restart_waits_for_it(tmp_path):
    loop, shell, events = _shell(tmp_path)
    shell.do(me.Acquire(("svc",), "start"))
    assert _run_until(loop, lambda: me.GroupAcquired("svc") in events, 10)
    shell.do(me.RestartResource("svc", "svc", "check failed"))
    shell.do(me.Release(("svc",), "shutting down"))
    assert _run_until(loop, lambda: me.GroupReleased("svc") in events, 10)
    kinds = [type(e).__name__ for e in events]
    assert kinds == ["GroupAcquired", "ResourceRestarted", "GroupReleased"], events
    assert _calls(tmp_path)[-1] == "stop" and not (tmp_path / "running").exists()
    shell.close()


def test_restart_of_an_unknown_resource_is_answered_not_raised(tmp_path):
    loop, shell, events = _shell(tmp_path)
    shell.do(me.RestartResource("svc", "nginx", "x"))
    assert _run_until(loop, lambda: bool(events), 5)
    assert events == [me.ResourceRestarted("svc", "nginx", False, "nginx is not a resource of group svc")]
    shell.close()


def test_no_check_while_a_resource_restarts_and_none_begun_before_counts():
    loop, runner, sm, seen = _monitors("monitor nginx interval=1s\n")
    g1 = "192.0.2.160/24/eth0"
    sm.on_event(me.GroupAcquired(g1))
    loop.advance(1.0)
    assert len(runner.started) == 1
    sm.on_event(me.RestartResource(g1, "nginx", "failed"))
    loop.advance(5.0)
    assert len(runner.started) == 1 and not sm.snapshot()["nginx"]["checking"]
    sm.on_event(me.ResourceRestarted(g1, "nginx", True))
    loop.advance(0.9)
    assert len(runner.started) == 1  # the next check an interval after the outcome
    loop.advance(0.2)
    assert len(runner.started) == 2
    sm.on_event(me.GroupReleased(g1))
    sm.on_event(me.ResourceRestarted(g1, "nginx", True))  # a late outcome: the group is gone
    loop.advance(3)
    assert len(runner.started) == 2


def test_a_failed_check_goes_to_the_core_with_its_settings():
    from pyha.config.pyhacf import PyhaCf
    from pyha.daemon.health_shell import HealthShell

    class Resources(object):
        def __init__(self, runner):
            self.runner = runner
            self.before_restart = None
            self.emitted = []
            self.emit = self.emitted.append

    loop, runner, _sm, _seen = _monitors("")
    res = Resources(runner)
    hs = HealthShell(loop, res, Haresources.parse("ha1 192.0.2.160/24/eth0 nginx\n"), "/nonexistent", "ha1")
    hs.monitors.resolve = lambda token: __import__("pyha.resources.agents", fromlist=["Agent"]).Agent(
        token, "lsb", token, [], "/etc/init.d/" + token)
    hs.configure(PyhaCf.parse("monitor nginx interval=1s restarts=2 window=1min\n", "pyha.cf"))
    assert res.before_restart == hs.monitors.on_event
    g1 = "192.0.2.160/24/eth0"
    hs.on_event(me.GroupAcquired(g1))
    runner.codes["/etc/init.d/nginx"] = 3
    loop.advance(1.0)
    assert res.emitted == [me.CheckFailed(g1, "nginx", "nginx status: status exit 3 (not running)", 2, 60000, 1000)]


# -- the manager fed by hand: the peer's pyha-health word and the shell's late results -------

def test_the_peers_pyha_health_word_is_checked_and_counted():
    from pyha.cluster.events import Log
    from test_manager import VIP, of, running_pair
    d = running_pair()
    for bad in ({"group": "nope", "resource": "nginx", "window": "300000"},
                {"group": VIP, "resource": "nginx", "window": "5min"},
                {"group": VIP, "resource": "", "window": "1000"},
                {"group": VIP, "resource": "nginx", "window": str(10 ** 12)},
                {"resource": "nginx", "window": "1000"}):
        acts = d.msg("pyha-health", **bad)
        assert any("pyha-health from ha2 with bad group/resource/window" in a.text for a in of(acts, Log)), bad
    assert d.m.snapshot()["health"]["not_fit"] == []
    d.msg("pyha-health", group=VIP, resource="nginx", window="60000")
    unfit = d.m.snapshot()["health"]["not_fit"]
    assert [(u["node"], u["group"], u["resource"], u["for_s"]) for u in unfit] == [("ha2", VIP, "nginx", 60.0)]
    assert d.m._peer.is_pyha
    d.tick(60.0)
    assert d.m.snapshot()["health"]["not_fit"] == []


def test_check_results_for_a_group_not_held_or_during_a_restart_are_not_acted_on():
    from pyha.cluster.events import Log
    from test_manager import VIP, of, running_pair
    d = running_pair()
    other = "192.0.2.101/24/eth0"  # ha2's group: not held here
    acts = d(me.CheckFailed(other, "httpd", "exit 3"), 1.0)
    assert not of(acts, me.RestartResource)
    assert any("not acted on: group %s is idle here" % other in a.text for a in of(acts, Log))
    acts = d(me.CheckFailed(VIP, "nginx", "exit 3"), 1.0)
    assert of(acts, me.RestartResource) == [me.RestartResource(
        VIP, "nginx", "nginx failed its check once: restarting it here (restart 1 of 1 in 5 min)")]
    acts = d(me.CheckFailed(VIP, "nginx", "exit 3"), 0.1)  # a check begun before the restart
    assert not of(acts, me.RestartResource) and any("it is being restarted" in a.text for a in of(acts, Log))
    d(me.ResourceRestarted(VIP, "nginx", True), 0.5)
    assert d.m.snapshot()["health"]["restarting"] == []
    acts = d(me.ResourceRestarted(VIP, "nginx", True), 0.5)  # twice: not asked for
    assert any("that was not asked for" in a.text for a in of(acts, Log))


def test_hostile_shell_values_never_raise():
    from test_manager import VIP, of, running_pair
    d = running_pair()
    for bad in (me.CheckFailed(["x"], {}, None), me.CheckFailed(VIP, "nginx", b"\xff", "1", 1000, 1000),
                me.CheckFailed(VIP, "nginx", "x", 1, 0, 1000), me.CheckFailed(VIP, "nginx", "x", True, 1000, 1000),
                me.ResourceRestarted([1], None, "yes"), me.ResourceRestarted(VIP, {"a": 1}, False)):
        acts = d(bad, 0.1)
        assert not of(acts, me.RestartResource), bad


def test_legacy_mode_restarts_in_place_and_says_why():
    from test_manager import VIP, Drive, mk, of
    from test_manager import hold
    from pyha.cluster.events import CommUp, NodeUp
    d = Drive(mk(auto_failback="legacy"))
    d(NodeUp("ha2", "up", "first heartbeat"))
    d(CommUp("communication is up"))
    hold(d)
    for _ in range(2):
        acts = d(me.CheckFailed(VIP, "nginx", "exit 3", 0, 60000, 1000), 1.0)
        assert of(acts, me.RestartResource), acts
        d(me.ResourceRestarted(VIP, "nginx", True), 0.2)
    assert of(acts, me.RestartResource)[0].reason.endswith(
        "(auto_failback legacy has no standby exchange): restarting it here again")


def test_a_reload_during_a_restart_does_not_check_the_resource_being_restarted():
    from pyha.config.pyhacf import PyhaCf
    from pyha.config.pyhacf_monitor import monitors
    loop, runner, sm, seen = _monitors("monitor nginx interval=1s\n")
    g1 = "192.0.2.160/24/eth0"
    sm.on_event(me.GroupAcquired(g1))
    sm.on_event(me.RestartResource(g1, "nginx", "failed"))
    sm.configure(monitors(PyhaCf.parse("monitor nginx interval=2s\n", "pyha.cf").settings))  # SIGHUP meanwhile
    loop.advance(5.0)
    assert runner.started == [] and not sm.snapshot()["nginx"]["checking"]
    sm.on_event(me.ResourceRestarted(g1, "nginx", False, "start: exit 1"))
    loop.advance(2.1)
    assert len(runner.started) == 1  # the new interval, from the outcome on
