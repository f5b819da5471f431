"""The fencing drills (issue 15) through the CLI, on `pyha lab up --fencing` labs: real
pyha daemons, a virtual BMC per node (ipmi_sim, its chassis hook really powers the lab
node off and on), the real fence_ipmilan called by the daemons.

* fence_action off, one lab for both drills (each leaves the lab as it found it):
  fence-links-cut (the preferred HA1 fences HA2 through its BMC, exactly one node keeps
  running, no duplicate VIP, no outage; HA2 powered on again and rejoins), then
  fence-broken-bmc (HA1's BMC refuses every call: the device check says so, HA1 dies,
  HA2 takes nothing over and says why, retries; the BMC repaired, HA2 fences HA1 and
  takes over; HA1 boots and the group fails back).
* fence_action reboot: fence-links-cut, and HA2's BMC powers it on again by itself.
The drills measure; these tests assert their numbers through `--json`.
"""

import json
import os
import shutil
import subprocess

import pytest

from pyha.lab import scenario

pytestmark = pytest.mark.lab


def _need():
    for p in ("ipmi_sim", "fence_ipmilan", "ipmitool"):
        if shutil.which(p) is None and not os.path.exists("/usr/sbin/" + p):
            pytest.skip("not installed: " + p)


def _lab(prefix, action):
    _need()
    scenario.up(prefix=prefix, profile="fast", fencing=True, fence_action=action)


def drill(prefix, *names):
    """`pyha drill --prefix PREFIX NAMES --json` on the host: (exit code, results)."""
    r = subprocess.run(scenario.pyha_argv("drill", "--prefix", prefix, "--json") + list(names),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                       env=dict(os.environ, PYTHONPATH=scenario._env()["PYTHONPATH"]), timeout=600)
    try:
        results = json.loads(r.stdout)
    except ValueError:
        results = None
    return r.returncode, results, r.stdout + r.stderr


@pytest.fixture(scope="module")
def off_lab(lab_prefix):
    prefix = lab_prefix("fdo")
    try:
        _lab(prefix, "off")
        yield prefix
    finally:
        scenario.down(prefix)


def _checks(res):
    return {c["check"]: c for c in res["checks"]}


def _assert_links_cut(res, action):
    v = res["values"]
    assert res["passed"], json.dumps(res, indent=1)
    assert v["fence_action"] == action
    assert v["preferred"] == "HA1" and v["survivor"] == "HA1" and v["fenced_node"] == "HA2"
    assert v["duplicate_vip_s"] == 0 and v["rejoin_duplicate_vip_s"] == 0
    assert v["outage_s"] == 0
    assert v["both_off"] is False and v["survivor_powered_off"] is False
    # the numbers are there and in order: the call, the power off, the call's outcome
    assert 0 < v["cut_to_fence_call_s"] <= v["cut_to_power_off_s"] <= v["cut_to_fenced_s"] < 15
    assert v["fence_reason"].startswith("ha2 fenced by fence_ipmilan")
    assert v["rejoin_s"] is not None


def test_links_cut_then_broken_bmc(off_lab):
    # a classic drill that would get HA1 fenced under it is refused here, before anything runs
    code, results, out = drill(off_lab, "fence-links-cut", "kill")
    assert code == 3 and results is None and "kill: this lab fences" in out, out
    code, results, out = drill(off_lab, "fence-links-cut", "fence-broken-bmc")
    assert results is not None and len(results) == 2, out
    cut, bmc = results
    _assert_links_cut(cut, "off")
    assert "back_on_s" not in cut["values"]  # off: it stayed off until the drill powered it on
    v = bmc["values"]
    assert bmc["passed"], json.dumps(bmc, indent=1)
    assert code == 0, out
    assert v["check_reported_s"] is not None and v["check_reported_s"] < 15  # fence_check 10s in the lab
    assert "fence_ipmilan" in v["check_message"] and "status failed" in v["check_message"]
    assert v["taken_over_while_broken"] is False and "HA2" not in v["holders_while_broken"]
    assert v["attempts"] >= 2 and v["status_says_failure"] is True
    assert v["fence_reason"].startswith("fencing ha1 failed: ") and "not taking over" in v["fence_reason"]
    # repaired: the next retry (5 s) fences, then the takeover
    assert 0 < v["fix_to_fenced_s"] <= v["fix_to_takeover_s"] < 20
    assert v["duplicate_vip_s"] == 0
    assert v["failback"] is True and v["failback_duplicate_vip_s"] == 0
    # the lab is as it was: both nodes on, HA1 serves alone
    lab = scenario.load(off_lab)
    assert scenario.vip_holders(lab) == ["HA1"] and scenario.curl_vip(lab) == "HA1"
    assert all(lab.node(n).is_running() for n in scenario.NODES)


def test_reboot_action_the_fenced_node_comes_back_and_rejoins(lab_prefix):
    prefix = lab_prefix("fdr")
    try:
        _lab(prefix, "reboot")
        code, results, out = drill(prefix, "fence-links-cut")
        assert code == 0 and results, out
        res = results[0]
        _assert_links_cut(res, "reboot")
        assert res["values"]["back_on_s"] is not None and res["values"]["back_on_s"] < 15
        assert res["values"]["fence_reason"].endswith("rebooted")
    finally:
        scenario.down(prefix)


def test_fence_drills_refused_without_fencing(lab_prefix):
    prefix = lab_prefix("fdn")
    try:
        scenario.up(prefix=prefix, profile="fast")
        lab = scenario.load(prefix)
        for name in ("fence-links-cut", "fence-broken-bmc"):
            code, results, out = drill(prefix, name)
            assert code == 3 and results is None, out
            assert "brought up without --fencing" in out and "pyha lab up --profile fast --fencing" in out, out
        # refused before touching anything: HA1 still serves, HA2 on, no BMC started
        assert scenario.vip_holders(lab) == ["HA1"] and lab.node("HA2").is_running()
        assert not os.path.exists(os.path.join(lab.statedir, "bmcs"))
    finally:
        scenario.down(prefix)
