"""A mixed cluster: genuine heartbeat 3.0.6 on HA1, pyha on HA2, sharing the group
(issue 4 item 8, issue 5 item 5): hb_standby/hb_takeover, graceful restart, power off
and failback work both ways, a cut heartbeat link causes no takeover, and after a
SIGKILL of genuine heartbeat (which leaves its VIP up) pyha does not duplicate the VIP.
nic-down: genuine heartbeat's ipfail (the tutorial's respawn line) loses its ping node,
asks the other node's ipfail, and pyha answers in ipfail's place (you_are_dead), so the
genuine holder gives the group up; link-then-nic and failback as with two pyha nodes.
"""

import pytest

from pyha.drill import drills
from pyha.lab import scenario

pytestmark = [pytest.mark.lab, pytest.mark.slow]


@pytest.fixture(scope="module")
def lab(lab_prefix):
    prefix = lab_prefix("mx")
    the_lab = scenario.up(prefix=prefix, profile="fast", peer_daemon="heartbeat")
    try:
        yield the_lab
    finally:
        scenario.down(prefix)


@pytest.mark.parametrize("name", ["failover", "restart", "halt", "link-down", "kill", "nic-down", "link-then-nic",
                                  "failback"])
def test_mixed_drill(lab, name):
    res = drills.run(lab, name)
    text = drills.format_result(res)
    print(text)
    assert res.passed, text
