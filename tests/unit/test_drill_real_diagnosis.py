"""A failed real-pair drill says where this node sends packets for the VIP, and that
diagnostic never turns a failed drill into a crash.  Reads the local address and
neighbour tables only (no packet is sent)."""

from pyha.drill.real import RealPair
from pyha.resources import ipaddr


def pair_for(ip):
    pair = RealPair.__new__(RealPair)  # no daemon needed: only the VIP matters here
    pair.vip_spec = ipaddr.IpSpec.parse(ip)
    return pair


def test_an_address_not_on_this_node_reports_the_neighbour_table():
    text = pair_for("192.0.2.251/24").vip_diagnosis()
    assert text.startswith("192.0.2.251 is not on this node; ip neigh: ")


def test_a_local_address_is_reported_as_here():
    assert pair_for("127.0.0.1/8").vip_diagnosis() == "127.0.0.1 is configured on this node"


def test_a_failing_lookup_is_reported_not_raised(monkeypatch):
    def boom(spec):
        raise RuntimeError("netlink unavailable")
    monkeypatch.setattr(ipaddr, "is_present", boom)
    assert pair_for("192.0.2.251/24").vip_diagnosis() == \
        "cannot tell whether 192.0.2.251 is on this node: netlink unavailable"
