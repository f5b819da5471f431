"""A mixed cluster: genuine heartbeat 3.0.6 on HA1, pyha on HA2, sharing the group
(issue 4 item 8, issue 5 item 5): hb_standby/hb_takeover, graceful restart, power off
and failback work both ways, a cut heartbeat link causes no takeover, and after a
SIGKILL of genuine heartbeat (which leaves its VIP up) pyha does not duplicate the VIP.
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


@pytest.mark.parametrize("name", ["failover", "restart", "halt", "link-down", "kill"])
def test_mixed_drill(lab, name):
    res = drills.run(lab, name)
    text = drills.format_result(res)
    print(text)
    assert res.passed, text
