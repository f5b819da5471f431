"""Control fields (spec 1.6) and message builders (spec 1.7, 1.9)."""

import binascii

import pytest

from pyha.wire import BINARY, Field, Keyring, Message, WireError, decode, sign_netstring
from pyha.wire import control, errors

UUID1 = binascii.unhexlify("e9b670c8936a43a9a686eb1356417d4c")
UUID2 = binascii.unhexlify("afd2194fdc4549b382ce4e1f04e1ea33")
HBNODE1 = control.Sender("hbnode1", UUID1, 0x6b0a29f8, ttl=3)
MD5_1 = Keyring.from_mapping(1, {1: ("md5", "specsecret")})
# spec 1.5 worked example (cap01)
CAP01 = (b"###\n11:(0)t=status,12:(0)st=active,10:(0)dt=1770,13:(0)protocol=1,"
         b"14:(0)src=hbnode1,27:(1)srcuuid=\xe9\xb6p\xc8\x93jC\xa9\xa6\x86\xeb\x13VA}L,"
         b"9:(0)seq=21,14:(0)hg=6b0a29f8,14:(0)ts=6b0a2a0c,"
         b"30:(0)ld=0.43 0.39 0.20 1/104 540,8:(0)ttl=3,"
         b"42:(0)auth=1 bd1259dedd6071dd945c5f0f1132fac9,%%%\n"
         b"34:1 57f1831a717d2388b4c690eaabfb1f41,")


def _pairs(msg):
    return [(f.name, f.value if f.type == BINARY else f.value.decode()) for f in msg]


def test_status_builder_and_control_fields_reproduce_cap01_exactly():
    msg = control.status("active", 6000)
    control.add_control_fields(msg, HBNODE1, ts=0x6b0a2a0c, seq=0x21,
                               ld="0.43 0.39 0.20 1/104 540")
    assert sign_netstring(msg, MD5_1) == CAP01


def test_control_field_order_and_encodings():
    sender = control.Sender("n1", UUID1, 0xabc, ttl=4)
    msg = control.add_control_fields(control.starting(), sender, ts=255, seq=26, ld="n/a")
    assert _pairs(msg) == [("t", "starting"), ("src", "n1"), ("srcuuid", UUID1),
                           ("seq", "1a"), ("hg", "abc"), ("ts", "ff"), ("ld", "n/a"),
                           ("ttl", "4")]


def test_ns_types_get_no_seq_no_ld_and_keep_existing_fields():
    msg = control.ns_rexmit("hbnode2", 35)
    control.add_control_fields(msg, HBNODE1, ts=0x6b0a333d, seq=99, destuuid=UUID2)
    # cap03's exact field order
    assert msg.names() == ["t", "dest", "firstseq", "lastseq", "destuuid", "src",
                           "srcuuid", "hg", "ts", "ttl"]
    assert _pairs(msg)[1:4] == [("dest", "hbnode2"), ("firstseq", "35"), ("lastseq", "35")]
    relayed = Message([("t", "NS_ackmsg"), ("src", "other"), ("ts", "1")])
    control.add_control_fields(relayed, HBNODE1, ts=0x99)
    assert relayed.get("src") == "other" and relayed.get("ts") == "1"
    assert relayed.names() == ["t", "src", "ts", "srcuuid", "hg", "ttl"]


def test_existing_control_fields_are_replaced_in_place():
    # the num_ping_nodes example of spec 1.6: src keeps its position
    msg = Message([("t", "num_ping_nodes"), ("src", "hbnode1"), ("num_ping", "1"),
                   ("dest", "hbnode2"), ("seq", "old"), Field("destuuid", BINARY, b"x")])
    control.add_control_fields(msg, HBNODE1, ts=1, seq=2, destuuid=UUID2)
    assert msg.names() == ["t", "src", "num_ping", "dest", "seq", "destuuid", "srcuuid",
                           "hg", "ts", "ld", "ttl"]
    assert msg.get("seq") == "2" and msg.get_bytes("destuuid") == UUID2


def test_destuuid_only_with_dest():
    msg = control.add_control_fields(control.starting(), HBNODE1, ts=1, seq=1,
                                     destuuid=UUID2)
    assert "destuuid" not in msg
    msg = control.add_control_fields(control.reqnodes("hbnode2"), HBNODE1, ts=1, seq=1)
    assert "destuuid" not in msg  # dest's uuid unknown: nothing added


def test_control_argument_checks():
    with pytest.raises(WireError) as exc:
        control.add_control_fields(Message([("st", "x")]), HBNODE1, ts=1, seq=1)
    assert exc.value.code == errors.MISSING_FIELD
    with pytest.raises(ValueError):
        control.add_control_fields(control.starting(), HBNODE1, ts=1)  # seq needed
    with pytest.raises(ValueError):
        control.add_control_fields(control.starting(), HBNODE1, ts=-1, seq=1)
    with pytest.raises(ValueError):
        control.Sender("n", b"short", 1)
    no_uuid = control.Sender("n", None, 1)
    assert "srcuuid" not in control.add_control_fields(control.starting(), no_uuid,
                                                       ts=1, seq=1)


@pytest.mark.parametrize("msg,expected", [
    (control.status("up", 0x1f40, protocol=False),
     [("t", "status"), ("st", "up"), ("dt", "1f40")]),
    (control.ns_ackmsg("hbnode1", 0x1a), [("t", "NS_ackmsg"), ("dest", "hbnode1"),
                                          ("ackseq", "1a")]),
    (control.ns_rexmit("n2", 10, 12), [("t", "NS_rexmit"), ("dest", "n2"),
                                       ("firstseq", "10"), ("lastseq", "12")]),
    (control.ns_nak_rexmit("n2", 26, "seqno too low"),
     [("t", "NS_nak_rexmit"), ("firstseq", "1a"), ("dest", "n2"),
      ("info", "seqno too low")]),
    (control.reqnodes("n2"), [("t", "reqnodes"), ("dest", "n2")]),
    (control.repnodes("hbnode1", ["hbnode1", "hbnode2"]),
     [("dest", "hbnode1"), ("t", "repnodes"), ("nodelist", "hbnode1 hbnode2 "),
      ("delnodelist", " ")]),
    (control.repnodes("a", ["a"], ["gone", "old"]),
     [("dest", "a"), ("t", "repnodes"), ("nodelist", "a "), ("delnodelist", "gone old ")]),
    (control.starting(), [("t", "starting")]),
    (control.resource("none", False), [("t", "resource"), ("rsc_hold", "none"),
                                       ("rtype", "full"), ("isstable", "0")]),
    (control.resource("local", True, control.INFO_REQ_OUR_RESOURCES),
     [("t", "resource"), ("rsc_hold", "local"), ("rtype", "full"), ("isstable", "1"),
      ("info", "req_our_resources()")]),
    (control.resource_mach_down(), [("t", "resource"), ("rsc_hold", "foreign"),
                                    ("info", "mach_down")]),
    (control.ask_resources("foreign", "me"), [("t", "ask_resources"),
                                              ("rsc_hold", "foreign"), ("info", "me")]),
    (control.hb_takeover("failback"), [("t", "hb_takeover"), ("rsc_hold", "failback")]),
    (control.shutdone(), [("t", "shutdone"), ("st", "dead")]),
    (control.ip_request_resp("hbnode1", "198.51.100.100/24/eth0", True),
     [("t", "ip-request-resp"), ("dest", "hbnode1"), ("ipaddr", "198.51.100.100/24/eth0"),
      ("weown", "yes"), ("ok", "OK")]),
    (control.stonith("hbnode1", "unneeded"), [("t", "stonith"), ("node", "hbnode1"),
                                              ("result", "unneeded")]),
    (control.respond_cstatus("n1", "ipfail", "ipfail", False),
     [("t", "respond-cstatus"), ("dest", "n1"), ("result", "OK"), ("cn", "ipfail"),
      ("to_id", "ipfail"), ("cs", "offline")]),
    (control.ns_st_ping("198.51.100.254", 0x6b0a2f53),
     [("t", "NS_st"), ("st", "ping"), ("info", "ping"), ("src", "198.51.100.254"),
      ("ts", "6b0a2f53")]),
])
def test_builders(msg, expected):
    assert _pairs(msg) == expected


@pytest.mark.parametrize("call", [
    lambda: control.status("bogus", 1),
    lambda: control.status("up", -1),
    lambda: control.ns_rexmit("n", 5, 4),
    lambda: control.ns_ackmsg("n", 0),
    lambda: control.repnodes("n", []),
    lambda: control.repnodes("n", ["a b"]),
    lambda: control.resource("most", True),
    lambda: control.ask_resources("all", "maybe"),
    lambda: control.hb_takeover("none"),
    lambda: control.stonith("n", "perhaps"),
])
def test_builder_argument_checks(call):
    with pytest.raises(ValueError):
        call()


def test_ping_payload_is_signed_without_control_fields():
    data = sign_netstring(control.ns_st_ping("198.51.100.254", 0x6b0a2f53), MD5_1)
    assert decode(data).message.names() == ["t", "st", "info", "src", "ts", "auth"]
