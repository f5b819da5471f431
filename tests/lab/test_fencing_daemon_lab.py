"""The daemons fence before they take over (issue 15), in the lab of `pyha lab up --fencing`:
two real pyha daemons (configuration from `pyha init` over SSH, fast profile), a virtual
BMC per node (ipmi_sim, its chassis hook really powers the lab node off) and the real
fence_ipmilan called by the daemon.  Only the heartbeat packets are cut (iptables on HA1,
UDP 694 on both heartbeat media, both directions), so each node sees the other die while
both run and serve (the VIP witness and the ping node still answer).

* Working BMCs: HA1, the preferred node, fences HA2 at once; HA2 waits fence_delay (5 s)
  and is off before it ends.  Exactly one node keeps running, the VIP is never on both.
* BMCs with a wrong password: nobody is fenced, HA2 takes nothing over and `pyha status`
  says why; the periodic device check reports the broken BMC even before it is needed.
  Then the password is fixed in HA2's pyha.cf and HA2 gets SIGHUP: the same daemon's next
  attempt fences HA1 and HA2 takes the VIP over.

* Start-up fencing: only HA1's daemon is started (HA2's namespace runs, its daemon never
  does).  HA1 never hears HA2 within initdead, fences it through HA2's BMC, and only then
  takes the VIP (heartbeat 3.0.6 does the same: hb_rsc_recover_dead_resources).  Twice:
  with pyha.cf `fence ... fence_ipmilan` lines, and with heartbeat's only way, ha.cf
  `stonith_host ha1 external/ipmi ha2 ...` (cluster-glue's real `stonith -t external/ipmi`,
  the daemon's only fencing configuration).

Waits are for conditions (a node's power state, the daemon's status), each bounded.
"""

import json
import os
import shutil

import pytest

from pyha.drill.drills import Cluster
from pyha.lab import scenario
from pyha.lab.topology import Lab

pytestmark = pytest.mark.lab
CUT = ["-p", "udp", "--dport", "694", "-j", "DROP"]


def _need():
    for p in ("ipmi_sim", "fence_ipmilan", "ipmitool"):
        if shutil.which(p) is None and not os.path.exists("/usr/sbin/" + p):
            pytest.skip("not installed: " + p)


@pytest.fixture
def fencing_lab(lab_prefix, request):
    _need()
    prefix = lab_prefix("fd")
    lab = scenario.up(prefix=prefix, profile="fast", fencing=True,
                      broken_bmc_password=getattr(request, "param", False))
    try:
        yield lab
    finally:
        scenario.down(prefix)


def _cut(lab):
    node = lab.node("HA1")
    for chain in ("INPUT", "OUTPUT"):
        r = node.exec(["iptables", "-I", chain] + CUT, timeout=20)
        assert r.returncode == 0, r.stderr


def _running(lab, name):
    return Lab.load(lab.statedir).node(name).is_running()  # a BMC's hook changes the recorded lab


def _steady(lab):
    ok = scenario.wait_for(lambda: scenario.vip_holders(lab) == ["HA1"] and scenario.curl_vip(lab) == "HA1", 40)
    assert ok, "HA1 never served the VIP alone"


def _fencing(cluster, name):
    st = cluster.status(name) or {}
    return (st.get("resources") or {}).get("fencing") or {}, st


def test_cut_heartbeat_links_exactly_one_node_keeps_running(fencing_lab):
    lab = fencing_lab
    cluster = Cluster(lab)
    _steady(lab)
    _cut(lab)
    both = []

    def ha2_off():
        holders = scenario.vip_holders(Lab.load(lab.statedir))
        if len(holders) > 1:
            both.append(holders)
        return not _running(lab, "HA2")

    assert scenario.wait_for(ha2_off, 30, step=0.1), "HA2 was never fenced"
    assert _running(lab, "HA1")
    # fence_ipmilan returns once the BMC reports the power off (it polls the status)
    scenario.wait_for(lambda: _fencing(cluster, "HA1")[0].get("state") == "fenced", 20)
    fence, st = _fencing(cluster, "HA1")
    assert fence.get("state") == "fenced", json.dumps(st.get("resources"), indent=1)
    assert "fenced by fence_ipmilan" in fence["reason"]
    fresh = Lab.load(lab.statedir)
    assert scenario.wait_for(lambda: scenario.vip_holders(fresh) == ["HA1"] and scenario.curl_vip(fresh) == "HA1", 10)
    assert both == []  # the VIP was never on both nodes
    # HA2 never got to fence HA1: its BMC says HA1 is on (and HA1 kept serving).
    r = scenario.run_pyha(lab.node("HA1"), "fence", "status", "ha1", "--json")
    assert json.loads(r.stdout)["power"] == "on", r.stdout + r.stderr


@pytest.mark.parametrize("fencing_lab", [True], indirect=True)
def test_broken_bmc_no_takeover_and_a_clear_status(fencing_lab):
    lab = fencing_lab
    cluster = Cluster(lab)
    _steady(lab)
    # The periodic device check (first one ~10 s after start) reports the broken BMC.
    check = scenario.wait_for(lambda: ((cluster.status("HA2") or {}).get("fence_device") or {}).get("last_check"), 30)
    assert check and not check["ok"] and "fence_ipmilan" in check["message"], check
    _cut(lab)

    def ha2_failed():
        fence, _ = _fencing(cluster, "HA2")
        return fence.get("state") == "failed" and fence

    fence = scenario.wait_for(ha2_failed, 60, step=0.3)
    assert fence, _fencing(cluster, "HA2")
    assert fence["reason"].startswith("fencing ha1 failed: ")
    assert "not taking over" in fence["reason"] and fence["blocking_takeover"]
    assert _running(lab, "HA1") and _running(lab, "HA2")
    assert scenario.vip_holders(lab) == ["HA1"]
    text = scenario.run_pyha(lab.node("HA2"), "status").stdout
    assert "fencing ha1 with fence_ipmilan" in text and "not taking over" in text, text
    # The operator fixes the password in HA2's pyha.cf and sends SIGHUP (no restart): the
    # retrying gate's next attempt uses the reloaded device, HA1 goes off, HA2 takes over.
    from pyha.lab.bmcs import BMC_PASSWORD
    path = lab.node("HA2").host_path("/etc/ha.d/pyha.cf")
    with open(path) as f:
        text = f.read()
    with open(path, "w") as f:
        f.write(text.replace("password=not-" + BMC_PASSWORD, "password=" + BMC_PASSWORD))
    pid = cluster.daemon_pid("HA2")
    assert pid and lab.node("HA2").exec(["kill", "-HUP", pid], timeout=10).returncode == 0
    assert scenario.wait_for(lambda: not _running(lab, "HA1"), 30, step=0.2), _fencing(cluster, "HA2")
    fresh = Lab.load(lab.statedir)
    assert scenario.wait_for(lambda: scenario.vip_holders(fresh) == ["HA2"] and scenario.curl_vip(fresh) == "HA2",
                             20), _fencing(cluster, "HA2")
    assert cluster.daemon_pid("HA2") == pid  # the same daemon: reloaded, not restarted
    fence, _ = _fencing(cluster, "HA2")
    assert fence.get("state") == "fenced" and "fenced by fence_ipmilan" in fence["reason"], fence


@pytest.fixture(params=["fence", "stonith_host"])
def alone_lab(lab_prefix, request):
    _need()
    if request.param == "stonith_host" and shutil.which("stonith") is None:
        pytest.skip("not installed: cluster-glue's stonith")
    prefix = lab_prefix("fa")
    lab = scenario.up(prefix=prefix, profile="fast", fencing=True if request.param == "fence" else request.param,
                      started=("HA1",))
    try:
        yield lab, request.param
    finally:
        scenario.down(prefix)


def test_node_started_alone_fences_its_peer_before_taking_the_vip(alone_lab):
    lab, kind = alone_lab
    device = "fence_ipmilan" if kind == "fence" else "external/ipmi"
    cluster = Cluster(lab)
    seen = []

    def ha2_off():
        holders = scenario.vip_holders(Lab.load(lab.statedir))
        running = _running(lab, "HA2")
        seen.append((running, holders))
        return not running

    assert scenario.wait_for(ha2_off, 30, step=0.05), "HA1 never fenced HA2"
    # Before HA2 went off, HA1 held nothing (the VIP waited for the fence).
    assert all(holders == [] for running, holders in seen if running), seen
    fresh = Lab.load(lab.statedir)
    assert scenario.wait_for(lambda: scenario.vip_holders(fresh) == ["HA1"] and scenario.curl_vip(fresh) == "HA1",
                             20), "HA1 never took the VIP after fencing HA2"
    fence, st = _fencing(cluster, "HA1")
    assert fence.get("state") == "fenced" and "fenced by %s" % device in fence["reason"], \
        json.dumps(st.get("resources"), indent=1)
    log = ""
    for name in ("/var/log/ha-log", "/var/log/pyha-daemon.out"):
        path = lab.node("HA1").host_path(name)
        if os.path.exists(path):
            with open(path) as f:
                log += f.read()
    assert "ha2 was not heard at start-up" in log and "start-up fencing" in log, log[-3000:]
