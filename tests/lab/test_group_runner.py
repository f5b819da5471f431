"""A resource group started and stopped for real inside a namespace: order, rollback on a
failed start, refusal to claim a release when a stop keeps failing, ARP announcements.

The group runner and its event loop run inside namespace `a` (a subprocess through
`ip netns exec`); the resource scripts are small shell scripts that log their calls.
"""

import json
import os

import pytest

from nshelp import addrs, pair_fixture, run_in, sh

pytestmark = pytest.mark.lab

PREFIX = "pyhagr%d" % os.getpid()

DRIVER = """
import json, logging, sys, time
from pyha.daemon.loop import EventLoop
from pyha.resources import agents
from pyha.resources.group import ArpAnnouncer, GroupRunner
from pyha.resources.runner import ProcessRunner
rd, op, tokens = sys.argv[1], sys.argv[2], sys.argv[3:]
loop = EventLoop(); runner = ProcessRunner(loop); arp = ArpAnnouncer(loop, count=2, interval=0.05)
ag = [agents.resolve(t, resource_d=rd, init_dirs=[], systemd=False) for t in tokens]
g = GroupRunner(loop, runner, tokens[0], ag, arp, stop_retries=2, stop_retry_delay=0.05)
out = []
getattr(g, op)(out.append)
deadline = time.monotonic() + 20
while not out and time.monotonic() < deadline:
    loop.run_once(0.05)
for _ in range(5):
    loop.run_once(0.05)
r = out[0]
print(json.dumps({"ok": r.ok, "failed": r.failed, "detail": r.detail}))
"""


netns = pair_fixture(PREFIX)


@pytest.fixture
def rd(tmp_path):
    d = tmp_path / "resource.d"
    d.mkdir()
    calls = tmp_path / "calls"
    state = tmp_path / "state"
    state.mkdir()
    # a well-behaved LSB-ish service: records calls, status by a state file
    (d / "svc").write_text("""#!/bin/sh
name=$1; op=$2
echo "$name $op" >> %(calls)s
case $op in
  start) [ "$name" = badstart ] && exit 1; touch %(state)s/$name ;;
  stop) [ "$name" = badstop ] && exit 1; rm -f %(state)s/$name ;;
  status) [ -f %(state)s/$name ] && echo running || echo stopped ;;
esac
exit 0
""" % {"calls": calls, "state": state})
    os.chmod(str(d / "svc"), 0o755)
    return d, calls


def drive(ns, rd, op, *tokens):
    out = run_in(ns, DRIVER.replace("sys.argv[1], sys.argv[2], sys.argv[3:]",
                                    repr(str(rd)) + ", " + repr(op) + ", " + repr(list(tokens))))
    return json.loads(out.strip().splitlines()[-1])


def calls(path):
    return path.read_text().split("\n")[:-1] if path.exists() else []


def test_start_in_order_stop_in_reverse(netns, rd):
    a, b = netns
    d, log = rd
    sh("ip", "netns", "exec", b, "sysctl", "-qw", "net.ipv4.conf.eth0.arp_accept=1")
    res = drive(a, d, "start", "192.0.2.160/24/eth0", "svc::one", "svc::two")
    assert res["ok"], res
    assert "192.0.2.160/24" in addrs(a)
    assert calls(log) == ["one status", "one start", "two status", "two start"]
    mac_a = sh("ip", "netns", "exec", a, "cat", "/sys/class/net/eth0/address").stdout.strip()
    assert mac_a in sh("ip", "-n", b, "neigh", "show", "192.0.2.160").stdout  # gratuitous ARP seen
    log.write_text("")
    res = drive(a, d, "stop", "192.0.2.160/24/eth0", "svc::one", "svc::two")
    assert res["ok"], res
    assert calls(log) == ["two stop", "one stop"]  # services in reverse, after the VIP
    assert "192.0.2.160" not in addrs(a)


def test_failed_start_rolls_back_what_was_started(netns, rd):
    a, _ = netns
    d, log = rd
    res = drive(a, d, "start", "192.0.2.161/24/eth0", "svc::one", "svc::badstart", "svc::three")
    assert not res["ok"] and res["failed"] == "svc::badstart"
    assert calls(log) == ["one status", "one start", "badstart status", "badstart start", "one stop"]
    assert "192.0.2.161" not in addrs(a)


def test_stop_failure_is_not_a_release(netns, rd):
    a, _ = netns
    d, log = rd
    assert drive(a, d, "start", "svc::badstop", "svc::other")["ok"]
    log.write_text("")
    res = drive(a, d, "stop", "svc::badstop", "svc::other")
    assert not res["ok"] and res["failed"] == "svc::badstop"
    # kept going past the failure (other stopped), retried the failing one
    assert calls(log) == ["other stop", "badstop stop", "badstop stop"]
