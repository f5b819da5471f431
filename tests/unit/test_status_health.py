"""`pyha status` exit codes (issue 13 item 3): 0 healthy pair, 1 degraded with the reasons,
3 not running, 4 starting or unknown, so a monitoring system needs no parsing.

The pure rules (pyha.cli.health) on status dicts shaped as the daemon answers, and the
command itself against a real Unix socket answering one canned status (a thread, no daemon).
"""

import copy
import json
import os
import socket
import threading

import pytest
from typer.testing import CliRunner

from pyha.cli import health
from pyha.cli.main import app

HEALTHY = {
    "config": {"media": ["eth1", "eth0"]},
    "daemon": {"stopping": False},
    "local": {"node": "ha2", "status": "active"},
    "nodes": {"ha1": {"state": "up", "links": {"eth0": {"state": "up"}, "eth1": {"state": "up"}}}},
    "ping_nodes": {"192.0.2.1": {"state": "up"}},
    "ping_groups": {},
    "resources": {"phase": "running", "stable": True, "peer_state": {"state": "up", "holds_groups": ["vip"]},
                  "groups": {"vip": {"state": "idle"}, "web": {"state": "held"}}},
}


def changed(edit):
    st = copy.deepcopy(HEALTHY)
    edit(st)
    return st


def test_a_healthy_pair_is_0():
    assert health.assess(HEALTHY) == (0, [])


@pytest.mark.parametrize("edit, reason", [
    (lambda st: st["nodes"]["ha1"].update(state="dead"), "peer ha1 is dead"),
    (lambda st: st["nodes"]["ha1"].update(state="never"), "peer ha1 is not heard yet"),
    (lambda st: st["nodes"]["ha1"]["links"]["eth0"].update(state="dead"), "link eth0 to ha1 is dead"),
    (lambda st: st["nodes"]["ha1"]["links"].pop("eth1"), "link eth1 to ha1 is unknown"),
    (lambda st: st["ping_nodes"]["192.0.2.1"].update(state="dead"), "ping node 192.0.2.1 does not answer"),
    (lambda st: st["local"].update(status="up"), "this node is up, not active (communication not up yet)"),
    (lambda st: st["daemon"].update(stopping=True), "this node's daemon is stopping"),
    (lambda st: st["resources"].update(stable=False), "resources are moving"),
    (lambda st: st["resources"].update(phase="starting"), "resources: starting"),
    (lambda st: st["resources"]["groups"]["web"].update(state="stuck", stop_failure="rc 1"),
     "group web failed to stop: it may still run here"),
    (lambda st: st["resources"]["groups"]["web"].update(state="idle", start_failure={"rc": 1}),
     "group web failed to start here"),
    (lambda st: st["resources"]["peer_state"].update(holds_groups=[]), "group vip runs on neither node"),
    (lambda st: st.update(monitors={"nginx": {"checking": True, "ok": False, "detail": "GET http://x/: refused"}}),
     "monitor nginx failed its last check: GET http://x/: refused"),
    (lambda st: st.update(fence_device={"device": "fence_ipmilan ha1", "last_check": {
        "ok": False, "message": "status: exit 1 (Unable to connect)"}}),
     "fence device fence_ipmilan ha1 failed its check: status: exit 1 (Unable to connect)"),
    (lambda st: st["resources"].update(fencing={"state": "failed", "reason": "attempt 2 failed: exit 1",
                                                "blocking_takeover": True}),
     "takeover waits for fencing (failed): attempt 2 failed: exit 1"),
])
def test_each_degradation_is_1_with_its_reason(edit, reason):
    code, problems = health.assess(changed(edit))
    assert code == 1 and reason in problems, problems


def test_checks_that_pass_or_do_not_run_here_are_healthy():
    st = changed(lambda st: st.update(
        monitors={"nginx": {"checking": True, "ok": True, "detail": "HTTP 200 OK"},
                  "db": {"checking": False, "ok": False, "detail": "stale: group not held here"},
                  "new": {"checking": True, "ok": None}},
        fence_device={"device": "fence_ipmilan ha1", "last_check": {"ok": True, "message": "on"}}))
    st["resources"]["fencing"] = {"state": "idle", "blocking_takeover": False}
    assert health.assess(st) == (0, [])


def test_membership_only_has_no_resource_verdict():
    st = changed(lambda st: st.update(resources={"mode": "membership only (resources not managed)"}))
    assert health.assess(st) == (0, [])


def serve_once(path, answer):
    """A Unix socket at `path` answering one request with `answer`, in a thread."""
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)

    def run():
        conn, _ = srv.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(json.dumps(answer).encode() + b"\n")
        srv.close()
        os.unlink(path)
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


@pytest.mark.parametrize("status, code, word", [
    (HEALTHY, 0, "healthy"),
    (changed(lambda st: st["nodes"]["ha1"].update(state="dead")), 1, "degraded"),
])
def test_the_command_exits_with_the_health(tmp_path, status, code, word):
    run_dir = str(tmp_path)
    for json_out in (False, True):
        t = serve_once(os.path.join(run_dir, "pyha.sock"), {"ok": True, "status": status})
        r = CliRunner().invoke(app, ["status", "--run-dir", run_dir] + (["--json"] if json_out else []))
        t.join(5)
        assert r.exit_code == code, r.output
        if json_out:
            assert json.loads(r.output)["health"] == {"state": word, "exit_code": code,
                                                      "problems": health.assess(status)[1]}
        else:
            assert "health: %s" % word in r.output
            if code:
                assert "  peer ha1 is dead" in r.output


def test_not_running_is_3_and_a_refusal_is_4(tmp_path):
    r = CliRunner().invoke(app, ["status", "--run-dir", str(tmp_path)])
    assert r.exit_code == 3
    r = CliRunner().invoke(app, ["status", "--run-dir", str(tmp_path), "--json"])
    assert r.exit_code == 3 and json.loads(r.output)["running"] is False
    t = serve_once(os.path.join(str(tmp_path), "pyha.sock"), {"ok": False, "error": "busy"})
    r = CliRunner().invoke(app, ["status", "--run-dir", str(tmp_path)])
    t.join(5)
    assert r.exit_code == 4
