"""The drill's VIP holder sampler against real namespaces: address present on an up
interface counts, a downed interface does not, two holders are seen as two."""

import os

import pytest

from nshelp import pair_fixture, sh
from pyha.drill.sampler import HolderSampler

pytestmark = pytest.mark.lab
PREFIX = "pyhasm%d" % os.getpid()


netns = pair_fixture(PREFIX)


def test_holders(netns):
    a, b = netns
    ours = os.readlink("/proc/self/ns/net")
    s = HolderSampler({"A": "/run/netns/" + a, "B": "/run/netns/" + b}, "192.0.2.160")
    try:
        assert s.holders() == []
        sh("ip", "-n", b, "addr", "add", "192.0.2.160/24", "dev", "eth0")
        assert s.holders() == ["B"]
        sh("ip", "-n", a, "addr", "add", "192.0.2.160/24", "dev", "eth0")
        assert s.holders() == ["A", "B"]
        sh("ip", "-n", a, "link", "set", "eth0", "down")
        # a down interface holds nothing; and a veth end down takes the carrier of the
        # other end with it, so B is unreachable too: no node counts
        assert s.holders() == []
        sh("ip", "-n", a, "addr", "del", "192.0.2.160/24", "dev", "eth0")
        sh("ip", "-n", a, "link", "set", "eth0", "up")
        assert s.holders() == ["B"]
        assert os.readlink("/proc/self/ns/net") == ours  # the sampler went back home
    finally:
        s.close()
        sh("ip", "-n", a, "link", "set", "eth0", "up")
        for ns in (a, b):
            sh("ip", "-n", ns, "addr", "del", "192.0.2.160/24", "dev", "eth0")  # may be gone already
