"""bcast and mcast media between two pyha daemons (issue 3 item 2): the same message over
two media is processed once, each link's liveness is tracked, and cutting one medium's
interface kills only that link."""

import os

import pytest

from labutil import Daemon, link_state, node_state, wait_until

LAB_TAG = "bm"
pytestmark = pytest.mark.lab

HACF = """keepalive 100ms
deadtime 600ms
warntime 300ms
initdead 3
udpport 694
bcast eth1
mcast eth0 239.0.0.43 694 1 0
auto_failback on
node HA1
node HA2
"""


@pytest.fixture
def daemons(lab):
    for name in ("HA1", "HA2"):
        d = lab.node(name).host_path("/etc/ha.d")
        with open(d + "/ha.cf", "w") as f:
            f.write(HACF)
        with open(d + "/haresources", "w") as f:
            f.write("# membership only\n")
        with open(d + "/authkeys", "w") as f:
            f.write("auth 3\n3 sha1 %s\n" % ("5e" * 20))
        os.chmod(d + "/authkeys", 0o600)
    d1, d2 = Daemon(lab.node("HA1"), "--no-resources"), Daemon(lab.node("HA2"), "--no-resources")
    yield d1, d2
    for d in (d1, d2):
        d.stop()
    lab.node("HA2").link_up("eth1")


def test_bcast_and_mcast_links(lab, daemons):
    d1, d2 = daemons
    ok, _ = wait_until(lambda: link_state(d1, "ha2", "eth1") == "up" and link_state(d1, "ha2", "eth0") == "up"
                       and link_state(d2, "ha1", "eth1") == "up" and link_state(d2, "ha1", "eth0") == "up", 5)
    assert ok, d1.output()
    st = d1.status()
    media = {m["name"]: m["describe"] for m in st["daemon"]["media"]}
    assert media["eth1"].startswith("bcast eth1 -> 198.51.100.255")
    assert media["eth0"].startswith("mcast eth0 group 239.0.0.43")
    assert st["counters"]["duplicate"] > 0  # each message came over both media, processed once
    assert st["daemon"]["dropped"] == {}
    lab.node("HA2").link_down("eth1")
    cut, _ = wait_until(lambda: link_state(d1, "ha2", "eth1") == "dead", 3)
    assert cut
    assert link_state(d1, "ha2", "eth0") == "up" and node_state(d1, "ha2") == "up"
