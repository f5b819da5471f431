"""The VIP is labelled like heartbeat's IPaddr did (eth0:0), so heartbeat's own IPaddr
`status` (which looks only at labelled aliases through ifconfig) and ifconfig see it."""

import os
import shutil

import pytest

from nshelp import pair_fixture, run_in, sh

pytestmark = pytest.mark.lab

PREFIX = "pyhalbl%d" % os.getpid()
NS_A = PREFIX + "a"
HB_IPADDR = "/etc/ha.d/resource.d/IPaddr"

netns = pair_fixture(PREFIX)


def labels(ns):
    """address -> label, from `ip -o` (the label is the word ending in a backslash)."""
    out = sh("ip", "-n", ns, "-o", "-4", "addr", "show", "dev", "eth0").stdout
    got = {}
    for line in out.splitlines():
        words = line.split()
        ends = [w for w in words if w.endswith("\\")]
        if "inet" in words and ends:
            got[words[words.index("inet") + 1].split("/")[0]] = ends[0][:-1]
    return got


def remove_all(*addresses):
    run_in(NS_A, "from pyha.resources import ipaddr\n"
           + "".join("ipaddr.remove(ipaddr.IpSpec.parse(%r))\n" % a for a in addresses))


def test_vip_gets_the_lowest_free_alias_label(netns):
    try:
        run_in(NS_A, """
            from pyha.resources import ipaddr
            ipaddr.add(ipaddr.IpSpec.parse("192.0.2.160/24/eth0"))
            ipaddr.add(ipaddr.IpSpec.parse("192.0.2.161/24/eth0"))
        """)
        got = labels(NS_A)
        assert got["192.0.2.160"] == "eth0:0" and got["192.0.2.161"] == "eth0:1"
        assert got["192.0.2.10"] == "eth0"  # the base address keeps the interface's name
        run_in(NS_A, """
            from pyha.resources import ipaddr
            ipaddr.remove(ipaddr.IpSpec.parse("192.0.2.160/24/eth0"))
            ipaddr.add(ipaddr.IpSpec.parse("192.0.2.162/24/eth0"))
        """)
        got = labels(NS_A)
        assert got["192.0.2.162"] == "eth0:0" and got["192.0.2.161"] == "eth0:1"
    finally:
        remove_all("192.0.2.160", "192.0.2.161", "192.0.2.162")


@pytest.mark.skipif(not os.path.exists(HB_IPADDR) or shutil.which("ifconfig") is None,
                    reason="heartbeat's IPaddr and ifconfig (heartbeat, net-tools) not installed")
def test_heartbeats_ipaddr_status_sees_pyhas_vip(netns):
    def status():
        return sh("ip", "netns", "exec", NS_A, HB_IPADDR, "192.0.2.160/24/eth0", "status").stdout.strip()

    # the wrapper maps status to the OCF agent's monitor and prints its verdict
    assert status().endswith("Resource is stopped")
    try:
        run_in(NS_A, """
            from pyha.resources import ipaddr
            ipaddr.add(ipaddr.IpSpec.parse("192.0.2.160/24/eth0"))
        """)
        assert status().endswith("Running OK")
        assert "192.0.2.160" in sh("ip", "netns", "exec", NS_A, "ifconfig", "eth0:0").stdout
    finally:
        remove_all("192.0.2.160")
