"""One vocabulary (issue 12 item 3): the words and builders of pyha.wire.vocabulary are
the ones wire's checked builders and the cluster core send; one number grammar; one
IllegalTransition."""

import pathlib
import re

import pytest

from pyha.cluster import events as ev
from pyha.cluster import membership, membership_peers
from pyha.cluster import manager
from pyha.cluster.manager import states
from pyha.wire import control
from pyha.wire import vocabulary as words
from pyha.wire.errors import WireError
from pyha.wire.message import parse_dec, parse_hex

CLUSTER = pathlib.Path(manager.__file__).resolve().parent.parent


def fields(msg):
    return [(f.name, f.value.decode()) for f in msg.fields]


@pytest.mark.parametrize("checked, plain", [
    (control.status("active", 6000), words.status("active", 6000)),
    (control.status("up", 1, protocol=False), words.status("up", 1, protocol=False)),
    (control.ns_ackmsg("ha2", 0x1f), words.ns_ackmsg("ha2", 0x1f)),
    (control.ns_rexmit("ha2", 17, 19), words.ns_rexmit("ha2", 17, 19)),
    (control.ns_nak_rexmit("ha2", 26, "seqno too low"), words.ns_nak_rexmit("ha2", 26, "seqno too low")),
    (control.reqnodes("ha2"), words.reqnodes("ha2")),
    (control.repnodes("ha2", ["ha1", "ha2"]), words.repnodes("ha2", ["ha1", "ha2"])),
    (control.starting(), words.starting()),
    (control.resource("local", True, control.INFO_REQ_OUR_RESOURCES),
     words.resource("local", True, words.INFO_REQ_OUR_RESOURCES)),
    (control.resource("none", False), words.resource("none", False)),
    (control.resource_mach_down(), words.resource_mach_down()),
    (control.ask_resources("foreign", "me"), words.ask_resources("foreign", words.ASK_ME)),
    (control.hb_takeover("failback"), words.hb_takeover(words.RSC_FAILBACK)),
    (control.shutdone(), words.shutdone()),
    (control.ip_request_resp("ha1", "192.0.2.10", True), words.ip_request_resp("ha1", "192.0.2.10", True)),
    (control.stonith("ha2", "OK"), words.stonith("ha2", "OK")),
])
def test_wire_builders_are_the_vocabularys_with_checks(checked, plain):
    assert fields(checked) == plain


def test_the_words_pyha_sends_in_genuine_order():
    assert words.resource("all", False, "standby") == [
        ("t", "resource"), ("rsc_hold", "all"), ("rtype", "full"), ("isstable", "0"), ("info", "standby")]
    assert words.repnodes("ha2", ["ha1", "ha2"]) == [
        ("dest", "ha2"), ("t", "repnodes"), ("nodelist", "ha1 ha2 "), ("delnodelist", " ")]
    assert words.ipfail_message("num_ping_nodes", "ha2", words.num_ping(3)) == [
        ("t", "num_ping_nodes"), ("num_ping", "3"), ("dest", "ha2"), ("from_id", "ipfail"),
        ("to_id", "ipfail"), ("client_gen", "0")]
    assert words.pyha_groups(["g1", "g2"]) == [("t", "pyha-groups"), ("running", "g1 g2")]
    assert words.pyha_links([]) == [("t", "pyha-links"), ("down", "")]
    assert words.pyha_ping(2) == [("t", "pyha-ping"), ("num_ping", "2")]


def test_the_manager_and_membership_speak_the_vocabularys_words():
    assert states.RSC_WORDS is words.RSC_WORDS
    assert (states.PING_MSG, states.GROUPS_MSG, states.LINKS_MSG) == (
        words.PING_MSG, words.GROUPS_MSG, words.LINKS_MSG)
    assert states.IPFAIL_TYPES is words.IPFAIL_TYPES
    assert membership.PROTOCOL_VERSION == "%d" % words.PROTOCOL_VERSION


def test_the_core_builds_no_message_by_hand():
    """A message type spelled as a field list outside the vocabulary is a second vocabulary."""
    hand_built = re.compile(r'\(\s*"t"\s*,\s*"')
    offenders = [str(p.relative_to(CLUSTER)) for p in sorted(CLUSTER.rglob("*.py"))
                 if hand_built.search(p.read_text())]
    assert offenders == []
    assert not hasattr(manager, "STABLE")
    from pyha.cluster.null_manager import NullManager
    assert not hasattr(NullManager, "STABLE")


@pytest.mark.parametrize("text, hexval, decval", [
    ("1f", 0x1f, None), ("6B0A29F8", 0x6b0a29f8, None), ("35", 0x35, 35),
    ("f" * 16, 2 ** 64 - 1, None), ("9" * 19, None, 10 ** 19 - 1),
])
def test_one_number_grammar_two_faces(text, hexval, decval):
    assert ev.parse_hex(text) == hexval
    assert ev.parse_dec(text) == decval
    if hexval is not None:
        assert parse_hex(text) == hexval
    if decval is not None:
        assert parse_dec(text) == decval


@pytest.mark.parametrize("garbage", ["", " 1", "0x1", "-1", "1_0", "1\n", "\u0661", "f" * 17, "9" * 20,
                                     None, b"12", 12])
def test_garbage_is_none_in_the_core_and_an_error_on_the_wire(garbage):
    assert ev.parse_dec(garbage) is None
    if garbage != "9" * 20:
        assert ev.parse_hex(garbage) is None
    if isinstance(garbage, str) and garbage != "9" * 20:
        with pytest.raises(WireError):
            parse_dec(garbage, "x")


def test_one_illegal_transition():
    assert membership.IllegalTransition is ev.IllegalTransition
    assert membership_peers.IllegalTransition is ev.IllegalTransition
    assert manager.IllegalTransition is ev.IllegalTransition
    assert issubclass(ev.IllegalTransition, AssertionError)
