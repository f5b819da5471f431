"""Every drill in the lab with the fast profile (issue 5 item 5): the expected outcome
must hold: no takeover in link-down, no duplicate VIP during any takeover, outage within
deadtime + 2 s for hard failures, failback happens.  Real namespaces, real nginx, a real
client probing the VIP every 100 ms; the configuration comes from `pyha init` over SSH.
"""

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
