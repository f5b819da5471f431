"""Service checks against a real nginx in a network namespace (issue 14): the url= check
and an LSB status script pass while nginx runs and fail once it is SIGKILLed, seen by a
periodic Watch on the daemon's own event loop and process runner inside the namespace.
And an OCF agent's monitor (resource-agents' IPsrcaddr, no systemd, no resource.d).

nginx runs with a config of the test's own (its own prefix, pid file and port), started
and killed by pid by the test; traffic stays inside namespace `a` (192.0.2.10).
"""

import json
import os
import signal
import subprocess

import pytest

from nshelp import pair_fixture, py_env, run_in

pytestmark = pytest.mark.lab

PREFIX = "pyhahc%d" % os.getpid()
netns = pair_fixture(PREFIX)
URL = "http://192.0.2.10:8080/"

NGINX_CONF = """
user root;  # the test's files are in a private temp dir
worker_processes 1;
pid %(d)s/nginx.pid;
error_log %(d)s/error.log;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path %(d)s/tmp; proxy_temp_path %(d)s/tmp; fastcgi_temp_path %(d)s/tmp;
    uwsgi_temp_path %(d)s/tmp; scgi_temp_path %(d)s/tmp;
    server { listen 192.0.2.10:8080; root %(d)s/www; }
}
"""

# An LSB status script like EL's for this nginx: 0 running, 1 dead with a pid file.
STATUS = """#!/bin/sh
[ "$1" = status ] || exit 3
read p < %(d)s/nginx.pid 2>/dev/null || exit 3
[ "$(cat /proc/$p/comm 2>/dev/null)" = nginx ] && exit 0
exit 1
"""

# Inside the namespace: a Watch every 0.2 s; after the first passing check it SIGKILLs
# every process of the test's nginx (master and worker: its own process group, which the
# test created), then waits for a failing check.
DRIVER = """
import json, os, signal, time
from pyha.config.pyhacf_monitor import Monitor
from pyha.daemon.loop import EventLoop
from pyha.resources import agents, health
from pyha.resources.health_runner import HealthChecker, Watch
from pyha.resources.runner import ProcessRunner
d, url, nginx_pid = %(args)s
loop = EventLoop(); checker = HealthChecker(loop, ProcessRunner(loop))
agent = agents.resolve("nginx-status", resource_d=d + "/resource.d", init_dirs=[], systemd=False)
agent.kind = agents.KIND_LSB  # an LSB script, judged by exit code
probes = health.probes(Monitor("nginx-status", 200, 2000, 1, 300000, url), agent)
seen = []
def on_result(r):
    seen.append({"ok": r.ok, "detail": r.detail, "t": time.monotonic()})
    if r.ok and len([s for s in seen if s["ok"]]) == 1:
        os.killpg(nginx_pid, signal.SIGKILL)
        seen[-1]["killed"] = True
w = Watch(loop, checker, "nginx-status", probes, 0.2, 2.0, on_result)
w.start(first_after=0)
deadline = time.monotonic() + 20
while time.monotonic() < deadline and not (seen and not seen[-1]["ok"]):
    loop.run_once(0.05)
w.stop()
print(json.dumps(seen))
"""


@pytest.fixture
def nginx(netns, tmp_path):
    a, _ = netns
    d = tmp_path
    for sub in ("tmp", "www", "resource.d"):
        (d / sub).mkdir()
    (d / "www" / "index.html").write_text("ha1\n")
    (d / "nginx.conf").write_text(NGINX_CONF % {"d": d})
    (d / "resource.d" / "nginx-status").write_text(STATUS % {"d": d})
    os.chmod(str(d / "resource.d" / "nginx-status"), 0o755)
    proc = subprocess.Popen(["ip", "netns", "exec", a, "nginx", "-p", str(d), "-c", str(d / "nginx.conf"),
                             "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    yield d, proc
    # ours, by process group: `ip netns exec` execs nginx (same pid), its worker shares the
    # group; a worker left alive would keep serving the port
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(10)


def _wait_answering(ns, url):
    # a condition, not a sleep: nginx answers (or the test fails after 10 s)
    code = ("import sys, time\nsys.path.insert(0, %r)\nfrom pyha.resources import health_url\n"
            "end = time.monotonic() + 10\n"
            "while health_url.get(%r, 1)[0] and time.monotonic() < end: time.sleep(0.05)\n"
            "print(health_url.get(%r, 1))\n" % (os.getcwd(), url, url))
    return run_in(ns, code)


def test_url_and_status_checks_pass_while_nginx_runs_and_fail_once_it_is_killed(netns, nginx):
    a, _ = netns
    d, proc = nginx
    assert "HTTP 200 OK" in _wait_answering(a, URL)
    out = run_in(a, DRIVER % {"args": repr((str(d), URL, proc.pid))}, timeout=60)
    seen = json.loads(out.strip().splitlines()[-1])
    assert seen[0]["ok"] and seen[0]["detail"] == "status: running; HTTP 200 OK" and seen[0].get("killed")
    assert not seen[-1]["ok"]
    # the status script sees the pid file of a dead nginx first (LSB 1); the url check is
    # not even needed then, and if the script raced the kill the url check must catch it
    assert seen[-1]["detail"] in ("nginx-status status: status exit 1 (dead, pid file left)",
                                  "GET %s: connection refused" % URL), seen[-1]
    assert seen[-1]["t"] - seen[0]["t"] < 2.0  # noticed within a few 0.2 s intervals
    proc.wait(10)
    assert proc.returncode == -signal.SIGKILL
    assert "connection refused" in run_in(a, "import sys\nsys.path.insert(0, %r)\nfrom pyha.resources import "
                                          "health_url\nprint(health_url.get(%r, 2))\n" % (os.getcwd(), URL))


def test_url_check_alone_fails_on_a_server_error_page(netns, nginx):
    """A url check catches what a status script cannot: nginx up but the page broken."""
    a, _ = netns
    d, _ = nginx
    assert "HTTP 200 OK" in _wait_answering(a, URL)
    os.unlink(str(d / "www" / "index.html"))  # nginx now answers 403/404 for /
    out = run_in(a, "import sys\nsys.path.insert(0, %r)\nfrom pyha.resources import health_url\n"
                 "print(health_url.get(%r, 2))\n" % (os.getcwd(), URL))
    assert "(1, 'HTTP 40" in out


# A heartbeat standard resource without heartbeat's resource.d, init script or systemd:
# `IPsrcaddr::192.0.2.10` resolves to resource-agents' OCF agent (issue 13.1) and its check
# is the agent's `monitor` with heartbeat's argument mapping, judged by OCF exit code.
# After the first passing check the default route loses its `src` behind the agent's back
# (an admin's `ip route replace`, a DHCP client): the next check must fail with OCF 7.
OCF_DRIVER = """
import json, subprocess, time
from pyha.config.pyhacf_monitor import Monitor
from pyha.daemon.loop import EventLoop
from pyha.resources import agents, health
from pyha.resources.health_runner import HealthChecker, Watch
from pyha.resources.runner import ProcessRunner
d, = %(args)s
agent = agents.resolve("IPsrcaddr::192.0.2.10", resource_d=d + "/resource.d", init_dirs=[], systemd=False)
start = subprocess.run(agent.argv("start"), env=agent.env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
route = subprocess.run(["ip", "-4", "route", "show", "default"], stdout=subprocess.PIPE).stdout.decode()
loop = EventLoop(); checker = HealthChecker(loop, ProcessRunner(loop))
probes = health.probes(Monitor("IPsrcaddr", 200, 5000, 1, 300000, None), agent)
seen = []
def on_result(r):
    seen.append({"ok": r.ok, "detail": r.detail})
    if r.ok and len([s for s in seen if s["ok"]]) == 1:
        subprocess.run(["ip", "route", "replace", "default", "via", "192.0.2.11", "dev", "eth0"], check=True)
w = Watch(loop, checker, "IPsrcaddr", probes, 0.2, 5.0, on_result)
w.start(first_after=0)
deadline = time.monotonic() + 30
while time.monotonic() < deadline and not (seen and not seen[-1]["ok"]):
    loop.run_once(0.05)
w.stop()
print(json.dumps({"kind": agent.kind, "path": agent.path, "start": start.returncode, "route": route,
                  "seen": seen}))
"""


def test_ocf_monitor_of_a_standard_resource_without_systemd_or_resource_d(netns, tmp_path):
    a, _ = netns
    if not os.access("/usr/lib/ocf/resource.d/heartbeat/IPsrcaddr", os.X_OK):
        pytest.fail("needs resource-agents (scripts/setup-host.sh installs it)")
    (tmp_path / "resource.d").mkdir()  # empty, as on a node without heartbeat installed
    subprocess.run(["ip", "-n", a, "route", "replace", "default", "via", "192.0.2.11", "dev", "eth0"], check=True)
    out = run_in(a, OCF_DRIVER % {"args": repr((str(tmp_path),))}, timeout=90)
    res = json.loads(out.strip().splitlines()[-1])
    assert res["kind"] == "ocf" and res["path"] == "/usr/lib/ocf/resource.d/heartbeat/IPsrcaddr", res
    assert res["start"] == 0 and "src 192.0.2.10" in res["route"], res  # the agent really ran
    seen = res["seen"]
    assert seen[0] == {"ok": True, "detail": "monitor: running"}, seen
    assert seen[-1] == {"ok": False, "detail": "IPsrcaddr::192.0.2.10 monitor: monitor exit 7 (not running)"}, seen
