"""The tutorial's own single-link configuration (`ucast eth1` only) and its drill 4:
cutting the heartbeat cable makes each node think the other is dead; genuine heartbeat
then runs the VIP on both nodes (8 s measured).  pyha's standby probes the VIP, hears the
holder answer, and does not take it; when the holder's public NIC goes down too, the
standby takes over (issue 4 item 5)."""

import pytest

from pyha.drill import drills
from pyha.lab import scenario

pytestmark = [pytest.mark.lab, pytest.mark.slow]


@pytest.fixture(scope="module")
def lab(lab_prefix):
    prefix = lab_prefix("sl")
    the_lab = scenario.up(prefix=prefix, profile="fast")
    try:
        cluster = drills.Cluster(the_lab)
        for name in scenario.NODES:
            cluster.stop_daemon(name)
        for name in scenario.NODES:
            path = the_lab.node(name).host_path("/etc/ha.d/ha.cf")
            lines = [l for l in open(path).read().splitlines(True) if not l.startswith("ucast eth0 ")]
            with open(path, "w") as f:
                f.writelines(lines)
        for name in scenario.NODES:
            cluster.start_daemon(name)
        yield the_lab
    finally:
        scenario.down(prefix)


def test_single_link_configuration_is_in_force(lab):
    text = open(lab.node("HA2").host_path("/etc/ha.d/ha.cf")).read()
    assert "ucast eth1 198.51.100.1" in text and "ucast eth0" not in text


@pytest.mark.parametrize("name", ["link-down", "link-then-nic"])
def test_heartbeat_cable_cut_makes_no_duplicate(lab, name):
    res = drills.run(lab, name)
    text = drills.format_result(res)
    print(text)
    # What this configuration is about: no duplicate VIP, no takeover while the holder
    # still answers, takeover once it does not.  (The outage bound is the drills' own
    # business: with one link the standby already declared the holder dead and may be
    # in its claim delay when eth0 goes down; see the issue notes.)
    failed = [(what, detail) for what, ok, detail in res.checks if not ok and not what.startswith("outage within")]
    assert not failed, text
    assert res.values["duplicate_vip_s"] == 0
    if name == "link-down":
        log = open(lab.node("HA2").host_path("/var/log/pyha-daemon.out")).read()
        assert "peer silent but VIP answered from MAC" in log
