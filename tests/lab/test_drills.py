"""Every drill in the lab with the fast profile (issue 5 item 5): the expected outcome
must hold: no takeover in link-down, no duplicate VIP during any takeover, outage within
deadtime + 2 s for hard failures, failback happens.  Real namespaces, real nginx, a real
client probing the VIP every 100 ms; the configuration comes from `pyha init` over SSH.
"""

import json
import os
import signal
import subprocess
import time

import pytest

from pyha.drill import drills
from pyha.lab import scenario

pytestmark = [pytest.mark.lab, pytest.mark.slow]


@pytest.fixture(scope="module")
def lab(lab_prefix):
    prefix = lab_prefix("dr")
    the_lab = scenario.up(prefix=prefix, profile="fast")
    try:
        yield the_lab
    finally:
        scenario.down(prefix)


@pytest.mark.parametrize("name", list(drills.DRILLS))
def test_drill(lab, name):
    res = drills.run(lab, name)
    text = drills.format_result(res)
    print(text)
    assert res.passed, text
    if "duplicate_vip_s" in res.values:
        assert res.values["duplicate_vip_s"] == 0


# --- `pyha drill --url`: the real-cluster mode, run from inside a node (issue 5 item 3) ---------

URL = "http://%s/" % scenario.VIP


def node_drill(lab, node, *args):
    return scenario.run_pyha(lab.node(node), "drill", "--url", URL, *args, timeout=300)


def steady(lab, holder="HA1", limit=30):
    return drills.wait_for(lambda: scenario.vip_holders(lab) == [holder] and scenario.curl_vip(lab) == holder,
                           limit)


def test_real_failover_from_the_standby_node(lab):
    assert steady(lab)
    r = node_drill(lab, "HA2", "failover", "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    res = json.loads(r.stdout)[0]
    assert res["passed"] and res["values"]["node"] == "ha2" and res["values"]["serving_before"] == "ha1"
    assert res["values"]["duplicate_vip_s"] == 0
    assert steady(lab)


def test_real_destructive_drills_need_yes_and_lab_drills_are_refused(lab):
    r = node_drill(lab, "HA1", "nic-down")
    assert r.returncode == 2 and "add --yes if you mean it" in r.stderr
    r = node_drill(lab, "HA1", "halt", "--yes")
    assert r.returncode == 2 and "cannot run on a real pair" in r.stderr
    assert scenario.vip_holders(lab) == ["HA1"]


def test_real_nic_down_hands_over(lab):
    assert steady(lab)
    r = node_drill(lab, "HA1", "nic-down", "--yes", "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    res = json.loads(r.stdout)[0]
    assert res["passed"], res
    assert res["values"]["detection_s"] < 2.0  # carrier loss: no deadtime, no ping arbitration
    assert steady(lab)


def test_real_link_restored_even_when_the_drill_dies(lab):
    """The drill's session dies with the link it took down: the detached restore still
    brings eth0 back after --restore-after."""
    assert steady(lab)
    node = lab.node("HA1")
    proc = node.spawn(scenario.pyha_argv("drill", "--url", URL, "nic-down", "--yes", "--restore-after", "6"),
                      env=scenario._env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert drills.wait_for(lambda: operstate(node, "eth0") == "down", 30), "the drill never took eth0 down"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the drill and its probe: our own process group
        proc.wait()
    t0 = time.monotonic()
    assert operstate(node, "eth0") == "down"
    assert drills.wait_for(lambda: operstate(node, "eth0") != "down", 20)
    assert 4.0 < time.monotonic() - t0 < 12.0
    assert steady(lab, limit=40)


def operstate(node, ifname):
    r = node.exec(["cat", "/sys/class/net/%s/operstate" % ifname], timeout=10)
    return r.stdout.strip()


def test_real_kill_and_restart_with_the_operators_commands(lab):
    """kill and restart on a real pair need to know how the host runs pyha; the lab has no
    service manager, so the drill gets the commands (--start-cmd, --restart-cmd)."""
    assert steady(lab)
    start = "setsid %s >>/var/log/pyha-daemon.out 2>&1 </dev/null &" % " ".join(
        scenario.pyha_argv("daemon"))
    restart = "kill -TERM $(cat /run/pyha/pyha.pid); while [ -e /run/pyha/pyha.pid ]; do sleep 0.05; done; " + start
    for name in ("kill", "restart"):
        r = node_drill(lab, "HA1", name, "--yes", "--json", "--start-cmd", start, "--restart-cmd", restart)
        assert r.returncode == 0, r.stdout + r.stderr
        res = json.loads(r.stdout)[0]
        assert res["passed"], res
        if name == "kill":
            assert res["values"]["address_removed_s"] < 1.0  # the guardian, not the peer's deadtime
        assert steady(lab, limit=40)
