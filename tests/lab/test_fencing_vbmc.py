"""`pyha fence` against a real virtual BMC: OpenIPMI's ipmi_sim in a network namespace of
this test, driven by the real fence_ipmilan and cluster-glue's real `stonith -t external/ipmi`.

The BMC's chassis hook powers a placeholder "node" (a sleep process) off and on and logs
every call, so each test sees what the device really did, not only what pyha reports.
`pyha fence` runs inside the namespace (`ip netns exec`), as a separate process like an
operator's; the BMC listens on the namespace's loopback only.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile

import pytest

from pyha.lab import netns as nsu
from pyha.lab.vbmc import VirtualBmc

pytestmark = pytest.mark.lab

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
PASSWORD = "s3cret-pw"  # long enough to be scrubbed from any output
HACF = "keepalive 1\ndeadtime 10\nnode ha1 ha2\nucast eth1 198.51.100.2\n"
AGENT_LINE = "fence ha2 fence_ipmilan ip=127.0.0.1 username=admin password=%s lanplus=1 cipher=3 power_timeout=3\n"
# external/ipmi's last parameter (interface) takes the rest of the line: ipmitool options fit there
GLUE_LINE = "stonith_host * external/ipmi ha2 127.0.0.1 admin %s lan -N 1 -R 1\n"


def _need(*programs):
    missing = [p for p in programs if shutil.which(p) is None and not os.path.exists("/usr/sbin/" + p)]
    if missing:
        pytest.skip("not installed: %s" % ", ".join(missing))


@pytest.fixture(scope="module")
def ns(lab_prefix):
    _need("ipmi_sim", "ipmitool", "fence_ipmilan", "stonith")
    name = lab_prefix("fe") + "bmc"
    nsu.netns_delete(name)
    nsu.netns_add(name)
    nsu.ip_batch(name, ["link set lo up"])
    try:
        yield name
    finally:
        nsu.kill_netns_processes(name)
        nsu.netns_delete(name)


@pytest.fixture
def bmc(ns):
    work = tempfile.mkdtemp(prefix="pyha-vbmc-")
    b = VirtualBmc(ns, work, user="admin", password=PASSWORD)
    b.start()
    assert b.hook("set", "power", "1").returncode == 0 and b.node_pid() is not None  # the node is up
    try:
        yield b
    finally:
        b.close()
        shutil.rmtree(work, ignore_errors=True)


def confdir(tmp_path, hacf_extra="", pyhacf=""):
    (tmp_path / "ha.cf").write_text(HACF + hacf_extra)
    (tmp_path / "pyha.cf").write_text(pyhacf)
    return str(tmp_path)


def pyha_fence(ns, directory, *args):
    """`pyha fence ... --json` inside the namespace: (exit code, JSON, raw output)."""
    env = dict(os.environ, PYTHONPATH=ROOT)
    proc = subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-m", "pyha", "fence"] + list(args)
                          + ["--dir", directory, "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, env=env, timeout=120)
    assert PASSWORD not in proc.stdout + proc.stderr
    try:
        out = json.loads(proc.stdout)
    except ValueError:
        out = None
    return proc.returncode, out, proc.stdout + proc.stderr


def sets(bmc):
    return [line for line in bmc.hook_log() if line.startswith("set ")]


def test_fence_ipmilan_status_off_on_reboot(ns, bmc, tmp_path):
    d = confdir(tmp_path, pyhacf=AGENT_LINE % PASSWORD)
    rc, out, raw = pyha_fence(ns, d, "status", "ha2")
    assert (rc, out["ok"], out["power"]) == (0, True, "on"), raw
    assert ["password", "****"] in out["device"]["params"]

    rc, out, raw = pyha_fence(ns, d, "off", "ha2", "--yes")
    assert (rc, out["ok"], out["power"]) == (0, True, "off"), raw
    assert sets(bmc)[-1] == "set power 0" and bmc.node_pid() is None  # the hook really powered it off
    rc, out, raw = pyha_fence(ns, d, "status", "ha2")
    assert (rc, out["power"]) == (0, "off"), raw

    rc, out, raw = pyha_fence(ns, d, "on", "ha2", "--yes")
    assert (rc, out["power"]) == (0, "on") and bmc.node_pid() is not None, raw
    before = bmc.node_pid()
    done = len(sets(bmc))
    rc, out, raw = pyha_fence(ns, d, "reboot", "ha2", "--yes")
    assert (rc, out["ok"]) == (0, True), raw
    assert sets(bmc)[done:] == ["set power 0", "set power 1"]  # fence_ipmilan's reboot: off, then on
    assert bmc.node_pid() not in (None, before)


def test_cluster_glue_external_ipmi_off_on_reset(ns, bmc, tmp_path):
    d = confdir(tmp_path, GLUE_LINE % PASSWORD)
    rc, out, raw = pyha_fence(ns, d, "status", "ha2")
    assert (rc, out["ok"], out["power"]) == (0, True, None), raw  # cluster-glue checks the device only
    rc, out, raw = pyha_fence(ns, d, "off", "ha2", "--yes")
    assert (rc, out["ok"]) == (0, True) and bmc.node_pid() is None, raw
    assert sets(bmc)[-1] == "set power 0"
    rc, out, raw = pyha_fence(ns, d, "on", "ha2", "--yes")
    assert rc == 0 and bmc.node_pid() is not None, raw
    rc, out, raw = pyha_fence(ns, d, "reboot", "ha2", "--yes")
    assert rc == 0 and sets(bmc)[-1] == "set reset 1", raw  # external/ipmi resets a node that is on


def test_a_device_is_never_pointed_at_a_node_it_does_not_control(ns, bmc, tmp_path):
    # the stonith_host line's hostname says ha2: fencing ha1 with it is refused before anything runs
    d = confdir(tmp_path, GLUE_LINE % PASSWORD)
    calls = len(bmc.hook_log())
    rc, out, raw = pyha_fence(ns, d, "off", "ha1", "--yes")
    assert rc == 1 and "controls ha2, not ha1" in out["message"], raw
    # a `stonith TYPE FILE` line hides its parameters from pyha: the device's own host list decides
    params = tmp_path / "ipmi.params"
    params.write_text("ha2 127.0.0.1 admin %s lan -N 1 -R 1\n" % PASSWORD)
    d2 = tmp_path / "d2"
    d2.mkdir()
    d = confdir(d2, "stonith external/ipmi %s\n" % params)
    rc, out, raw = pyha_fence(ns, d, "off", "ha1", "--yes")
    assert rc == 1 and "controls ha2, not ha1: refused" in out["message"], raw
    assert len(bmc.hook_log()) == calls and bmc.node_pid() is not None  # the BMC never heard of it
    rc, out, raw = pyha_fence(ns, d, "off", "ha2", "--yes")
    assert rc == 0 and bmc.node_pid() is None, raw


def test_a_broken_bmc_gives_a_clear_error_and_a_failing_exit(ns, bmc, tmp_path):
    bmc.stop()  # ipmi_sim gone: nothing answers on the BMC's address
    d = confdir(tmp_path, pyhacf=AGENT_LINE % PASSWORD)
    rc, out, raw = pyha_fence(ns, d, "off", "ha2", "--yes")
    assert rc == 1 and out["ok"] is False, raw
    assert "fence_ipmilan (%s/pyha.cf:1) off failed (exit 1)" % d in out["message"], raw
    assert bmc.node_pid() is not None  # nothing was powered off
    # cluster-glue, in text mode: the reason on stderr
    d = confdir(tmp_path, GLUE_LINE % PASSWORD)
    env = dict(os.environ, PYTHONPATH=ROOT)
    proc = subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-m", "pyha", "fence", "status", "ha2",
                           "--dir", d], stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                          env=env, timeout=60)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "ha2 status: stonith device external/ipmi" in proc.stderr and "Unable to establish" in proc.stderr
    assert PASSWORD not in proc.stdout + proc.stderr


def test_config_check_asks_the_real_agent_and_cluster_glue(tmp_path):
    _need("fence_ipmilan", "stonith")
    d = confdir(tmp_path, "stonith_host ha1 external/ipmi ha2 192.0.2.12 admin pw lan\n"
                          "stonith_host ha2 external/nosuch ha1\n",
                "fence ha1 fence_ipmilan ip=192.0.2.11 username=admin pasword=x lanplus=1\n")
    env = dict(os.environ, PYTHONPATH=ROOT)
    proc = subprocess.run([sys.executable, "-m", "pyha", "config", "check", "--dir", d, "--json"],
                          stdout=subprocess.PIPE, universal_newlines=True, env=env, timeout=120)
    found = {(x["code"], x["line"]) for x in json.loads(proc.stdout)["diagnostics"]}
    assert ("fence-param-unknown", 1) in found  # from fence_ipmilan -o metadata: pasword is no parameter
    assert ("fence-stonith-type", 6) in found  # `stonith -t external/nosuch -n` fails
    assert not any(code == "fence-stonith-params" for code, _ in found)  # external/ipmi's 5 names are all there
