"""The IP agent and ARP on real interfaces, inside a throw-away network namespace.

Two namespaces joined by a veth pair (a: 192.0.2.10/24, b: 192.0.2.11/24); the agent code
runs inside `a` through `ip netns exec` with this interpreter, so nothing in the root
namespace is touched.
"""

import os
import sys

import pytest

from nshelp import addrs, pair_fixture, py_env, run_in, sh

pytestmark = pytest.mark.lab

PREFIX = "pyhaip%d" % os.getpid()
NS_A, NS_B = PREFIX + "a", PREFIX + "b"
_sh = sh


netns = pair_fixture(PREFIX)


def test_add_is_idempotent_and_remove_keeps_base_address(netns):
    out = run_in(NS_A, """
        from pyha.resources import ipaddr
        s = ipaddr.IpSpec.parse("192.0.2.160/24/eth0")
        print(ipaddr.add(s), ipaddr.add(s), ipaddr.is_present(s))
        print(open("/proc/sys/net/ipv4/conf/eth0/promote_secondaries").read().strip())
    """)
    assert out.split() == ["eth0", "eth0", "True", "1"]
    assert "192.0.2.160/24" in addrs(NS_A) and "192.0.2.10/24" in addrs(NS_A)
    out = run_in(NS_A, """
        from pyha.resources import ipaddr
        s = ipaddr.IpSpec.parse("192.0.2.160/24/eth0")
        print(ipaddr.remove(s), ipaddr.remove(s), ipaddr.is_present(s))
    """)
    assert out.split() == ["True", "False", "False"]
    assert "192.0.2.160" not in addrs(NS_A) and "192.0.2.10/24" in addrs(NS_A)


def test_interface_and_prefix_are_found_from_the_subnet(netns):
    out = run_in(NS_A, """
        from pyha.resources import ipaddr
        s = ipaddr.IpSpec.parse("192.0.2.161")
        print(ipaddr.add(s)); print(ipaddr.remove(s))
    """)
    assert out.split() == ["eth0", "True"]
    bad = _sh("ip", "netns", "exec", NS_A, sys.executable, "-c",
              "from pyha.resources import ipaddr; ipaddr.add(ipaddr.IpSpec.parse('203.0.113.5'))",
              env=py_env())
    assert bad.returncode != 0 and "no interface has a subnet containing 203.0.113.5" in bad.stdout


def test_gratuitous_arp_updates_the_neighbour_and_probe_sees_the_holder(netns):
    # b holds 192.0.2.170; a probes for it (RFC 5227) and must see b's MAC answer.
    _sh("ip", "-n", NS_B, "addr", "add", "192.0.2.170/24", "dev", "eth0")
    try:
        mac_b = _sh("ip", "netns", "exec", NS_B, "cat",
                   "/sys/class/net/eth0/address").stdout.strip()
        out = run_in(NS_A, """
            import select, time
            from pyha.resources import arp
            s = arp.ArpSocket("eth0")
            s.send(arp.probe(s.mac, "192.0.2.170"))
            seen = None
            deadline = time.monotonic() + 3
            while seen is None and time.monotonic() < deadline:
                select.select([s], [], [], 0.2)
                for f in s.receive():
                    seen = seen or arp.claims(f, "192.0.2.170", s.mac)
            print(arp.mac_text(seen) if seen else "none")
            # and nobody answers for an address nobody holds
            s.send(arp.probe(s.mac, "192.0.2.171"))
            time.sleep(0.5)
            print(any(arp.claims(f, "192.0.2.171", s.mac) for f in s.receive()))
        """)
        assert out.split() == [mac_b, "False"]
    finally:
        _sh("ip", "-n", NS_B, "addr", "del", "192.0.2.170/24", "dev", "eth0")
    # a announces 192.0.2.180 gratuitously; b's neighbour table learns a's MAC for it
    mac_a = _sh("ip", "netns", "exec", NS_A, "cat", "/sys/class/net/eth0/address").stdout.strip()
    _sh("ip", "netns", "exec", NS_B, "sysctl", "-qw", "net.ipv4.conf.eth0.arp_accept=1")
    run_in(NS_A, """
        from pyha.resources import arp
        s = arp.ArpSocket("eth0")
        s.send(arp.announcement(s.mac, "192.0.2.180")); s.send(arp.gratuitous_reply(s.mac, "192.0.2.180"))
    """)
    neigh = _sh("ip", "-n", NS_B, "neigh", "show", "192.0.2.180").stdout
    assert mac_a in neigh, neigh
