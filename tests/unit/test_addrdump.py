"""The VIP agent's address dump (issue 14, 100 VIPs): parsed rtnetlink answers, and one
dump per address added instead of three (pyha.resources.addrdump, ipaddr.ensure)."""

import socket
import struct

import pytest

from pyha.resources import addrdump, ipaddr
from pyha.resources.addrdump import Address


def rta(kind, value):
    length = 4 + len(value)
    return struct.pack("=HH", length, kind) + value + b"\0" * (((length + 3) & ~3) - length)


def newaddr(seq, ip, index=2, prefixlen=24, label=None, family=socket.AF_INET):
    body = struct.pack("=BBBBI", family, prefixlen, 0, 0, index)
    if family == socket.AF_INET:
        body += rta(addrdump.IFA_ADDRESS, socket.inet_aton(ip))
    else:
        body += rta(addrdump.IFA_ADDRESS, socket.inet_pton(socket.AF_INET6, ip))
    if label is not None:
        body += rta(addrdump.IFA_LABEL, label.encode() + b"\0")
    return struct.pack("=LHHLL", 16 + len(body), addrdump.RTM_NEWADDR, 2, seq, 0) + body


def done(seq):
    return struct.pack("=LHHLL", 20, addrdump.NLMSG_DONE, 2, seq, 0) + b"\0" * 4


def test_parse_reads_ipv4_addresses_and_the_end_of_the_dump():
    data = newaddr(7, "192.0.2.10", 3, 24, "eth0:0") + newaddr(7, "2001:db8::1", family=socket.AF_INET6) + \
        newaddr(9, "192.0.2.99") + done(7)
    found, finished = addrdump.parse(data, 7)
    assert found == [Address("192.0.2.10", 3, 24, "eth0:0")]  # other families and dumps left out
    assert finished is True
    found, finished = addrdump.parse(newaddr(7, "192.0.2.11"), 7)
    assert found == [Address("192.0.2.11", 2, 24, "")] and finished is False


def test_parse_stops_at_a_truncated_message_and_reports_kernel_errors():
    whole = newaddr(1, "192.0.2.10", label="eth0:0")
    assert addrdump.parse(whole[:-3], 1) == ([], False)  # never read past the datagram
    bad_attr = whole[:24] + struct.pack("=HH", 200, addrdump.IFA_ADDRESS) + whole[28:]
    assert addrdump.parse(bad_attr, 1) == ([], False)  # an attribute longer than its message: no address
    error = struct.pack("=LHHLL", 36, addrdump.NLMSG_ERROR, 0, 1, 0) + struct.pack("=i", -1) + b"\0" * 16
    with pytest.raises(addrdump.DumpError) as info:
        addrdump.parse(error, 1)
    assert "address dump failed" in str(info.value)


def test_request_is_an_ipv4_dump():
    length, kind, flags, seq, _ = struct.unpack_from("=LHHLL", addrdump.request(5))
    assert (length, kind, flags & addrdump.NLM_F_DUMP, seq) == (24, addrdump.RTM_GETADDR, addrdump.NLM_F_DUMP, 5)


class FakeIpr(object):
    def __init__(self):
        self.calls = []

    def addr(self, op, **kw):
        self.calls.append((op, kw))

    def close(self):
        pass


@pytest.fixture
def host(monkeypatch):
    """A host with eth0 (index 2: base address + two VIPs) and eth1 (index 3); counts dumps."""
    state = {"addrs": [Address("192.0.2.161", 2, 24, "eth0"), Address("192.0.2.10", 2, 24, "eth0:0"),
                       Address("192.0.2.11", 2, 24, "eth0:1"), Address("198.51.100.1", 3, 24, "eth1")],
             "dumps": 0, "ipr": FakeIpr()}

    def addresses():
        state["dumps"] += 1
        return list(state["addrs"])
    monkeypatch.setattr(addrdump, "addresses", addresses)
    monkeypatch.setattr(ipaddr, "_ifindex", lambda name: {"eth0": 2, "eth1": 3}.get(name))
    monkeypatch.setattr(ipaddr, "_promote_secondaries", lambda name: None)
    monkeypatch.setattr(ipaddr, "_ipr", lambda netns=None: state["ipr"])
    return state


def test_ensure_adds_with_the_next_free_label_after_one_dump(host):
    assert ipaddr.ensure(ipaddr.IpSpec.parse("192.0.2.12/24/eth0")) == ("eth0", False)
    assert host["dumps"] == 1
    assert host["ipr"].calls == [("add", {"index": 2, "address": "192.0.2.12", "prefixlen": 24,
                                          "broadcast": "192.0.2.255", "label": "eth0:2"})]


def test_ensure_keeps_an_address_already_there(host):
    assert ipaddr.ensure(ipaddr.IpSpec.parse("192.0.2.11/24/eth0")) == ("eth0", True)
    assert ipaddr.ensure(ipaddr.IpSpec.parse("192.0.2.11")) == ("eth0", True)  # interface from the subnet
    assert host["ipr"].calls == [] and host["dumps"] == 2


def test_ensure_adds_on_its_interface_an_address_held_elsewhere(host):
    host["addrs"].append(Address("192.0.2.50", 3, 32, "eth1"))
    assert ipaddr.ensure(ipaddr.IpSpec.parse("192.0.2.50/24/eth0")) == ("eth0", False)
    assert ipaddr.ensure(ipaddr.IpSpec.parse("192.0.2.50/24")) == ("eth0", True)  # present somewhere
    assert [c[1]["index"] for c in host["ipr"].calls] == [2, 2]


def test_remove_and_presence_use_one_dump_and_no_request_when_absent(host):
    assert ipaddr.remove(ipaddr.IpSpec.parse("192.0.2.99/24/eth0")) is False
    assert host["ipr"].calls == []
    assert ipaddr.remove(ipaddr.IpSpec.parse("192.0.2.10/24/eth0")) is True
    assert host["ipr"].calls == [("del", {"index": 2, "address": "192.0.2.10", "prefixlen": 24})]
    specs = [ipaddr.IpSpec.parse(a) for a in ("192.0.2.10", "192.0.2.11", "192.0.2.12")]
    before = host["dumps"]
    assert ipaddr.held_addresses(specs) == ["192.0.2.10", "192.0.2.11"]
    assert host["dumps"] == before + 1
    assert ipaddr.is_present(ipaddr.IpSpec.parse("198.51.100.1/24/eth1"))
    assert not ipaddr.is_present(ipaddr.IpSpec.parse("198.51.100.1/24/eth0"))
    assert not ipaddr.is_present(ipaddr.IpSpec.parse("198.51.100.1/24/eth9"))
