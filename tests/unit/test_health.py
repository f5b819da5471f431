"""Service checks (issue 14): the verdicts (pure), the HTTP check child against real
loopback servers, and the check runner and its periodic Watch on a real event loop with
real child processes (as tests/unit/test_runner.py does)."""

import http.server
import os
import socket
import sys
import threading
import time

import pytest

from pyha.config.pyhacf_monitor import Monitor
from pyha.daemon.loop import EventLoop
from pyha.resources import agents, health, health_url
from pyha.resources.health import Probe, judge_heartbeat, judge_lsb, judge_ocf, judge_systemd, judge_url
from pyha.resources.health_runner import HealthChecker, Watch
from pyha.resources.runner import ProcessRunner
from test_daemon_shell import _run_until


def _monitor(url=None, timeout_ms=10000):
    return Monitor("nginx", 2000, timeout_ms, 1, 300000, url)


# -- verdicts -----------------------------------------------------------------------------

def test_lsb_status_exit_codes():
    assert judge_lsb(0, "") == (True, "status: running")
    assert judge_lsb(3, "nginx is not running") == (False, "status exit 3 (not running)")
    assert judge_lsb(1, "") == (False, "status exit 1 (dead, pid file left)")
    assert judge_lsb(150, "") == (False, "status exit 150 (failed)")
    assert judge_lsb(None, "") == (False, "status did not answer in time")
    assert judge_lsb(-9, "") == (False, "status killed by signal 9")


def test_systemd_ocf_and_url_verdicts():
    assert judge_systemd(0, "active\n") == (True, "active")
    assert judge_systemd(3, "failed\n") == (False, "systemctl is-active: failed")
    assert judge_ocf(0, "") == (True, "monitor: running") and judge_ocf(8, "")[0]
    assert judge_ocf(7, "") == (False, "monitor exit 7 (not running)")
    assert judge_url(0, "HTTP 200 OK\n") == (True, "HTTP 200 OK")
    assert judge_url(1, "HTTP 503 Service Unavailable\n") == (False, "HTTP 503 Service Unavailable")
    assert judge_url(None, "") == (False, "no answer in time")


def test_heartbeat_scripts_are_read_as_heartbeat_reads_them():
    agent = agents.Agent("svc", agents.KIND_HEARTBEAT, "svc", [], "/etc/ha.d/resource.d/svc")
    judge = judge_heartbeat(agent)
    assert judge(0, "svc is running\n") == (True, "status: svc is running")
    assert judge(0, "svc is stopped\n") == (False, "status: svc is stopped")


def test_probes_per_agent_kind():
    lsb = agents.Agent("nginx", agents.KIND_LSB, "nginx", [], "/etc/init.d/nginx")
    unit = agents.Agent("nginx", agents.KIND_SYSTEMD, "nginx.service", [])
    ip = agents.Agent("192.0.2.160/24/eth0", agents.KIND_IP, "IPaddr", ["192.0.2.160/24/eth0"])
    p = health.probes(_monitor(), lsb)
    assert [(x.argv, x.judge) for x in p] == [(["/etc/init.d/nginx", "status"], judge_lsb)]
    p = health.probes(_monitor("http://192.0.2.160/", 5000), unit, python="/usr/bin/python3")
    assert [x.argv for x in p] == [["systemctl", "is-active", "nginx.service"],
                                   ["/usr/bin/python3", "-I", os.path.abspath(health_url.__file__), "http://192.0.2.160/", "5.000"]]
    assert p[1].judge is judge_url and p[1].what == "GET http://192.0.2.160/"
    with pytest.raises(health.UnsupportedResource):
        health.probes(_monitor(), ip)


def test_ocf_agents_are_checked_with_monitor_in_their_environment(monkeypatch):
    """pyha.resources.agents gains OCF kinds in another change (issue 13): an agent of such
    a kind is checked by its `monitor` action with its own environment."""
    class OcfAgent(object):
        token, kind = "Filesystem::/dev/sdb1::/srv", "ocf"

        def argv(self, op):
            return ["/usr/lib/ocf/resource.d/heartbeat/Filesystem", {"status": "monitor"}[op]]

        def env(self):
            return {"OCF_ROOT": "/usr/lib/ocf", "OCF_RESKEY_device": "/dev/sdb1"}

    monkeypatch.setattr(agents, "OCF_KINDS", ("ocf",), raising=False)
    p = health.probes(_monitor(), OcfAgent())
    assert [(x.what, x.argv, x.judge, x.env["OCF_RESKEY_device"]) for x in p] == [
        ("Filesystem::/dev/sdb1::/srv monitor", ["/usr/lib/ocf/resource.d/heartbeat/Filesystem", "monitor"],
         judge_ocf, "/dev/sdb1")]


def test_a_probe_environment_reaches_the_child(tmp_path):
    loop = EventLoop()
    out = []
    probe = Probe("env", ["sh", "-c", 'test "$OCF_RESKEY_x" = 42'], judge_lsb, {"PATH": "/usr/bin:/bin",
                                                                              "OCF_RESKEY_x": "42"})
    HealthChecker(loop, ProcessRunner(loop)).check("r", [probe], 5, out.append)
    try:
        assert _run_until(loop, lambda: out)
    finally:
        loop.close()
    assert out[0].ok, out[0]


# -- the HTTP check, against real servers on loopback --------------------------------------

class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        code = int(self.path.strip("/") or 200)
        self.send_response(code)
        if 300 <= code < 400:
            self.send_header("Location", "http://127.0.0.1:9/elsewhere")  # never followed
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def web():
    server = http.server.HTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield "http://127.0.0.1:%d" % server.server_address[1]
    server.shutdown()
    server.server_close()


def test_url_check_2xx_3xx_pass_4xx_5xx_fail(web):
    assert health_url.get(web + "/200", 5) == (0, "HTTP 200 OK")
    assert health_url.get(web + "/204", 5)[0] == 0
    assert health_url.get(web + "/302", 5) == (0, "HTTP 302 Found")  # a redirect is an answer
    assert health_url.get(web + "/404", 5) == (1, "HTTP 404 Not Found")
    assert health_url.get(web + "/503", 5) == (1, "HTTP 503 Service Unavailable")


def test_url_check_refused_and_silent_servers_fail_within_the_timeout():
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    assert health_url.get("http://127.0.0.1:%d/" % port, 5) == (1, "connection refused")
    silent = socket.socket()  # accepts (the kernel does), never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen(5)
    try:
        t0 = time.monotonic()
        code, line = health_url.get("http://127.0.0.1:%d/" % silent.getsockname()[1], 0.3)
        assert (code, line) == (1, "no answer within 0.3 s") and time.monotonic() - t0 < 2
    finally:
        silent.close()


def test_url_check_usage_errors():
    assert health_url.main(["http://x/"]) == 2 and health_url.main(["http://x/", "soon"]) == 2


# -- the runner: real children, a real loop -------------------------------------------------

def _sh(what, code):
    return Probe(what, ["sh", "-c", code], judge_lsb)


def test_a_check_passes_only_if_every_probe_does_and_stops_at_the_first_failure(tmp_path, web):
    loop = EventLoop()
    checker = HealthChecker(loop, ProcessRunner(loop))
    out = []
    marker = tmp_path / "second-ran"
    url = Probe("GET", health.url_argv(web + "/200", 5), judge_url)
    checker.check("a", [_sh("status", "exit 0"), url], 5, out.append)
    checker.check("b", [_sh("status", "exit 3"), _sh("second", "touch %s" % marker)], 5, out.append)
    checker.check("c", [Probe("missing", ["/nonexistent/x"], judge_lsb)], 5, out.append)
    try:
        assert _run_until(loop, lambda: len(out) == 3)
    finally:
        loop.close()
    got = dict((r.resource, r) for r in out)
    assert got["a"].ok and got["a"].detail == "status: running; HTTP 200 OK"
    assert not got["b"].ok and got["b"].detail == "status: status exit 3 (not running)"
    assert not marker.exists()
    assert not got["c"].ok and "missing: cannot run" in got["c"].detail


def test_a_hung_check_is_killed_at_its_timeout_and_the_loop_keeps_its_cadence():
    loop = EventLoop()
    checker = HealthChecker(loop, ProcessRunner(loop))
    out, ticks = [], []

    def tick():
        ticks.append(time.monotonic())
        loop.call_later(0.05, tick)

    tick()
    checker.check("hung", [_sh("status", "sleep 30")], 0.4, out.append)
    try:
        assert _run_until(loop, lambda: out)
    finally:
        loop.close()
    assert not out[0].ok and out[0].detail == "status: no answer within 0.4 s (killed)"
    assert 0.3 < out[0].duration < 3
    assert max(b - a for a, b in zip(ticks, ticks[1:])) < 0.4


# -- Watch: the schedule, with a fake checker and a fake clock ------------------------------

class FakeLoop(object):
    def __init__(self):
        self.now = 0.0
        self.timers = []

    def clock(self):
        return self.now

    def call_later(self, delay, fn):
        timer = _Timer(self.now + delay, fn)
        self.timers.append(timer)
        return timer

    def advance(self, seconds):
        end = self.now + seconds
        while True:
            due = sorted((t for t in self.timers if not t.cancelled and t.when <= end), key=lambda t: t.when)
            if not due:
                break
            t = due[0]
            self.timers.remove(t)
            self.now = max(self.now, t.when)
            t.fn()
        self.now = end


class _Timer(object):
    def __init__(self, when, fn):
        self.when, self.fn, self.cancelled = when, fn, False

    def cancel(self):
        self.cancelled = True


class FakeChecker(object):
    """Checks that finish when the test says so."""

    def __init__(self):
        self.pending = []

    def check(self, resource, probes, timeout_s, callback):
        self.pending.append(callback)

    def finish(self, ok, loop):
        cb = self.pending.pop(0)
        cb(health.CheckResult("nginx", ok, "fake", 0.0))


def test_watch_checks_every_interval_never_overlaps_and_drops_results_after_stop():
    loop, checker, results = FakeLoop(), FakeChecker(), []
    w = Watch(loop, checker, "nginx", [], 2.0, 10.0, results.append)
    w.start()
    loop.advance(1.9)
    assert checker.pending == []           # the first check comes one interval after start
    loop.advance(0.2)
    assert len(checker.pending) == 1
    loop.advance(5.0)                      # a slow check: no second one while it runs
    assert len(checker.pending) == 1 and w.checks == 1
    checker.finish(True, loop)             # took 5 s > interval: the next starts at once
    loop.advance(0.0)
    assert len(checker.pending) == 1 and w.checks == 2 and [r.ok for r in results] == [True]
    checker.finish(False, loop)
    loop.advance(1.9)
    assert checker.pending == []           # on time: an interval after the previous start
    loop.advance(0.2)
    assert len(checker.pending) == 1
    w.stop()
    checker.finish(False, loop)            # the group was released meanwhile: dropped
    assert [r.ok for r in results] == [True, False]
    loop.advance(10)
    assert checker.pending == [] and w.checks == 3
    w.start(first_after=0)                 # held again: checks resume
    loop.advance(0)
    assert len(checker.pending) == 1


# -- ServiceMonitors: the daemon's monitors, driven by the resource shell's events ----------

class FakeRunner(object):
    """Answers each probe at once with the exit code the test set for its argv[0]."""

    def __init__(self, loop):
        self.loop = loop
        self.codes = {}
        self.started = []

    def start(self, argv, callback, timeout, env=None):
        from pyha.resources.runner import Completed
        self.started.append(argv[0])
        callback(Completed(list(argv), self.codes.get(argv[0], 0), "", False, 0.01))


def _monitors(text, hares="ha1 192.0.2.160/24/eth0 nginx mysql\nha2 192.0.2.161/24/eth0 httpd\n"):
    from pyha.config import Haresources
    from pyha.config.pyhacf import PyhaCf
    from pyha.config.pyhacf_monitor import monitors
    from pyha.resources.health_watch import ServiceMonitors
    loop = FakeLoop()
    runner = FakeRunner(loop)

    def resolve(token):
        if token == "mysql":
            raise agents.AgentError("Cannot locate resource script mysql")
        return agents.Agent(token, agents.KIND_LSB, token, [], "/etc/init.d/" + token)

    seen = []
    sm = ServiceMonitors(loop, runner, Haresources.parse(hares), on_result=lambda g, m, r: seen.append((g, r.ok)),
                         resolve=resolve)
    sm.configure(monitors(PyhaCf.parse(text, "pyha.cf").settings))
    return loop, runner, sm, seen


def test_monitors_run_only_while_their_group_is_held_here(caplog, monkeypatch):
    import logging
    from pyha.cluster import manager_events as me
    monkeypatch.setattr(logging.getLogger("pyha"), "propagate", True)  # logsetup may have turned it off
    loop, runner, sm, seen = _monitors("monitor nginx interval=1s window=10s\nmonitor httpd interval=1s\n")
    g1 = "192.0.2.160/24/eth0"  # a group's key: its first resource
    assert list(sm.watched) == ["nginx", "httpd"] and sm.watched["nginx"].group == g1 and sm.problems == []
    loop.advance(5)
    assert runner.started == []                        # nothing held, nothing checked
    sm.on_event(me.GroupAcquired(g1))
    loop.advance(2.5)
    assert runner.started == ["/etc/init.d/nginx"] * 2 and seen == [(g1, True)] * 2
    runner.codes["/etc/init.d/nginx"] = 3
    with caplog.at_level(logging.WARNING, logger="pyha"):
        loop.advance(2)
    assert "monitor nginx (group %s): check failed (2 in a row, 2 in 10 s): nginx status: status " \
           "exit 3 (not running)" % g1 in caplog.text
    snap = sm.snapshot()["nginx"]
    assert (snap["checking"], snap["ok"], snap["failed_in_a_row"], snap["failures_in_window"], snap["checks"]) == \
        (True, False, 2, 2, 4)
    assert sm.snapshot()["httpd"]["checking"] is False and sm.snapshot()["httpd"]["ok"] is None
    sm.on_event(me.GroupReleased(g1))
    n = len(runner.started)
    loop.advance(10)
    assert len(runner.started) == n and not sm.snapshot()["nginx"]["checking"]
    assert sm.snapshot()["nginx"]["failures_in_window"] == 0  # the window moved on


def test_monitors_are_reconfigured_on_reload_and_unusable_ones_reported():
    from pyha.cluster import manager_events as me
    from pyha.config.pyhacf import PyhaCf
    from pyha.config.pyhacf_monitor import monitors
    loop, runner, sm, seen = _monitors("monitor nginx interval=1s\nmonitor mysql\n")
    assert sm.problems == ["monitor mysql: Cannot locate resource script mysql"] and list(sm.watched) == ["nginx"]
    g1 = "192.0.2.160/24/eth0"  # a group's key: its first resource
    sm.on_event(me.GroupAcquired(g1))
    loop.advance(1.0)
    assert len(runner.started) == 1
    sm.configure(monitors(PyhaCf.parse("monitor nginx interval=5s\n", "pyha.cf").settings))
    loop.advance(4.9)
    assert len(runner.started) == 1                    # the new interval applies, the group is still watched
    loop.advance(0.2)
    assert len(runner.started) == 2
    sm.on_event(me.GroupAcquireFailed(g1, "x"))
    sm.configure(monitors(PyhaCf.parse("monitor nginx interval=1s\n", "pyha.cf").settings))
    loop.advance(5)
    assert len(runner.started) == 2                    # not held: a reload does not start it


# -- notify PROGRAM: real children, a real loop -------------------------------------------

def test_notify_runs_the_program_with_arguments_and_environment_in_order(tmp_path):
    from pyha.resources.health_notify import Notifier
    out = tmp_path / "calls"
    prog = tmp_path / "notify.sh"
    prog.write_text('#!/bin/sh\necho "$* | $PYHA_KIND $PYHA_NAME $PYHA_OLD>$PYHA_NEW on $PYHA_NODE: $PYHA_REASON" '
                    '>> %s\n' % out)
    prog.chmod(0o755)
    loop = EventLoop()
    n = Notifier(ProcessRunner(loop), [str(prog), "--fixed"], "ha1", wall=lambda: 1e9, parallel=1)
    n.notify("group", "192.0.2.160/24/eth0", "held", "released", "nginx failed its check 2 times in 5 min")
    n.notify("node", "ha2", "up", "dead", "silent for 30 s")
    try:
        assert _run_until(loop, lambda: n.sent == 2 and n.running == 0)
    finally:
        loop.close()
    assert out.read_text().splitlines() == [
        "--fixed group 192.0.2.160/24/eth0 held released nginx failed its check 2 times in 5 min | group "
        "192.0.2.160/24/eth0 held>released on ha1: nginx failed its check 2 times in 5 min",
        "--fixed node ha2 up dead silent for 30 s | node ha2 up>dead on ha1: silent for 30 s"]
    assert n.failed == 0


def test_notify_never_waits_for_a_hung_program_and_bounds_its_backlog(tmp_path):
    from pyha.resources.health_notify import Notifier
    loop = EventLoop()
    n = Notifier(ProcessRunner(loop), ["sh", "-c", "sleep 30"], "ha1", timeout_s=0.3, parallel=1, backlog=2)
    t0 = time.monotonic()
    for i in range(4):
        n.notify("node", "ha2", "up", "dead", "r%d" % i)
    assert time.monotonic() - t0 < 0.5 and n.dropped == 1 and n.running == 1
    try:
        assert _run_until(loop, lambda: n.running == 0 and not n.waiting)
    finally:
        loop.close()
    assert (n.sent, n.failed, n.dropped) == (3, 3, 1)
