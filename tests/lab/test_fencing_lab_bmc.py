"""The lab's virtual BMCs: HA1 fences HA2 through HA2's BMC (ipmi_sim on the public network,
in the gateway's namespace), with the real fence_ipmilan, and HA2 really goes off (its init
killed, its links down) and comes back on."""

import json
import os
import shutil
import subprocess
import sys
import tempfile

import pytest

from pyha.lab.bmcs import attach_bmcs, detach_bmcs, fence_lines
from pyha.lab.topology import Lab

pytestmark = pytest.mark.lab
LAB_TAG = "fb"
ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
HACF = "keepalive 1\ndeadtime 10\nnode ha1 ha2\nucast eth1 198.51.100.2\n"


def test_ha1_powers_ha2_off_and_on_through_its_virtual_bmc(lab, tmp_path):
    for p in ("ipmi_sim", "fence_ipmilan"):
        if shutil.which(p) is None and not os.path.exists("/usr/sbin/" + p):
            pytest.skip("not installed: " + p)
    work = tempfile.mkdtemp(prefix="pyha-labbmc-")
    bmcs = attach_bmcs(lab, work)
    try:
        (tmp_path / "ha.cf").write_text(HACF)
        (tmp_path / "pyha.cf").write_text("\n".join(fence_lines(lab, bmcs)) + "\n")
        ha1 = lab.node("HA1")

        def fence(*args):
            # from HA1's network: the BMC is reached over the lab's public LAN
            proc = subprocess.run(["ip", "netns", "exec", ha1.netns, sys.executable, "-m", "pyha", "fence"]
                                  + list(args) + ["--dir", str(tmp_path), "--json"], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, universal_newlines=True, timeout=120,
                                  env=dict(os.environ, PYTHONPATH=ROOT))
            return proc.returncode, json.loads(proc.stdout), proc.stdout + proc.stderr

        rc, out, raw = fence("status", "ha2")
        assert (rc, out["power"]) == (0, "on"), raw
        rc, out, raw = fence("off", "ha2", "--yes")
        assert (rc, out["ok"]) == (0, True), raw
        ha2 = Lab.load(lab.statedir).node("HA2")  # the BMC's hook changed the recorded lab
        assert not ha2.is_running() and ha2.link_state("eth0") != "UP"
        rc, out, raw = fence("status", "ha2")
        assert (rc, out["power"]) == (0, "off"), raw
        rc, out, raw = fence("on", "ha2", "--yes")
        assert (rc, out["power"]) == (0, "on"), raw
        ha2 = Lab.load(lab.statedir).node("HA2")
        assert ha2.is_running() and ha2.exec(["uname", "-n"]).stdout.strip() == "HA2"
    finally:
        detach_bmcs(lab, bmcs)
        shutil.rmtree(work, ignore_errors=True)
        # the fixture's Lab object must see HA2's new init for its teardown
        fresh = Lab.load(lab.statedir)
        for node in lab.nodes:
            node.restore(fresh.node(node.name).state())
