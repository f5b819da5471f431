"""A health hand-over to a genuine heartbeat 3.0.6 peer (issue 14): genuine heartbeat on
HA1, pyha on HA2.  hb_standby on HA1 gives the group to pyha; nginx on HA2 is SIGKILLed,
restarted in place, killed again within the window: pyha hands the group to the genuine
node by the standby exchange (the one hb_standby speaks), which takes it; clients are
served by HA1 again and no moment shows the VIP on both nodes.  pyha's `pyha-health`
note reaches the genuine node, which ignores it.
"""

import pytest

from pyha.drill.drills import Observation, kill_service
from pyha.lab import scenario

pytestmark = [pytest.mark.lab]


@pytest.fixture(scope="module")
def lab(lab_prefix):
    prefix = lab_prefix("hm")
    the_lab = scenario.up(prefix=prefix, profile="fast", peer_daemon="heartbeat")
    try:
        yield the_lab
    finally:
        scenario.down(prefix)


def log_text(lab, node):
    with open(lab.node(node).host_path("/var/log/ha-log")) as f:
        return f.read()


def test_pyha_hands_a_failing_service_to_a_genuine_heartbeat_peer(lab):
    assert scenario.wait_for(lambda: scenario.vip_holders(lab) == ["HA1"] and scenario.curl_vip(lab) == "HA1", 60)
    r = lab.node("HA1").exec(["/usr/share/heartbeat/hb_standby", "all"], timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr
    assert scenario.wait_for(lambda: scenario.vip_holders(lab) == ["HA2"] and scenario.curl_vip(lab) == "HA2", 30)
    obs = Observation(lab)
    try:
        assert scenario.wait_for(lambda: obs.holders() == ["HA2"] and obs.serving_now() == "HA2", 10)
        assert kill_service(lab.node("HA2"))
        assert scenario.wait_for(lambda: "nginx restarted here" in log_text(lab, "HA2"), 20), \
            log_text(lab, "HA2")[-3000:]
        assert scenario.wait_for(lambda: obs.serving_now() == "HA2" and obs.answering(), 10)
        t = obs.samples[-1][0]
        assert kill_service(lab.node("HA2"))
        assert scenario.wait_for(lambda: obs.holders() == ["HA1"] and obs.serving_now() == "HA1", 40), \
            (obs.holders(), log_text(lab, "HA2")[-3000:])
        assert "nginx failed its check 2 times in 5 min: handing %s to ha1" % scenario.VIP in log_text(lab, "HA2")
        assert obs.duplicate_since(t - 1) == 0.0
        print("hand-over to genuine heartbeat: outage %.2f s" % obs.outage_since(t))
    finally:
        obs.close()
