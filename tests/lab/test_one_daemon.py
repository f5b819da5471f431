"""One daemon per node (issue 11 item 1), with the real daemon in the lab.

A second `pyha daemon` on a node whose daemon runs used to open its UDP sockets too
(SO_REUSEADDR): the kernel then gave it the peer's unicast heartbeats, and the first
daemon declared a live peer dead after deadtime.  Now the second exits at once, naming
the first, and the first keeps hearing its peer.
"""

import sys
import time

import pytest

from labutil import node_state, pyha_env, wait_until
from test_daemon_lab import DEADTIME, INITDEAD, daemons  # noqa: F401  (the fixture: two daemons)

LAB_TAG = "one"
pytestmark = pytest.mark.lab


def received_from_ha2(d):
    st = d.status() or {}
    return st.get("daemon", {}).get("packets_received", 0)


def test_a_second_daemon_exits_at_once_and_the_first_keeps_its_peer(lab, daemons):
    d1, d2 = daemons
    assert wait_until(lambda: node_state(d1, "ha2") == "up" and node_state(d2, "ha1") == "up", INITDEAD + 2)[0]
    ha1 = lab.node("HA1")
    with open(ha1.host_path("/run/pyha/pyha.pid")) as f:
        first = int(f.read())
    t0 = time.monotonic()
    second = ha1.exec([sys.executable, "-m", "pyha", "daemon", "--no-resources"], env=pyha_env(), timeout=60)
    assert second.returncode == 1, second.stdout + second.stderr
    assert "pyha is already running (pid %d" % first in second.stderr
    assert time.monotonic() - t0 < 10  # at once: no waiting on anything
    with open(ha1.host_path("/run/pyha/pyha.pid")) as f:
        assert int(f.read()) == first  # the pid file is the first daemon's still
    # The first daemon still hears its peer: several deadtimes later HA2 is up and the
    # packet count keeps growing (a second socket on the port would have taken them).
    before = received_from_ha2(d1)
    assert wait_until(lambda: received_from_ha2(d1) > before + 10, DEADTIME * 4)[0]
    deadline = time.monotonic() + DEADTIME * 3
    while time.monotonic() < deadline:
        assert node_state(d1, "ha2") == "up"
        time.sleep(0.05)
    assert "node ha2: is dead" not in d1.output()
