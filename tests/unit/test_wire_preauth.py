"""Work done on a datagram before it is authenticated is bounded (issue 11 item 3).

Anyone who can reach the heartbeat port can send datagrams; only the digest tells a
peer's packet from junk.  A netstring packet's trailer signs its body bytes, so the
digest is checked before the body is parsed; a classic packet's digest covers parsed
fields: it is judged from its raw lines where they decide, else parsed when small.  "Not parsed" is observed by
replacing the parser with one that fails the test.
"""

import json
import os

import pytest

from pyha.wire import Keyring, Message, WireError, auth, decode, decode_verified, errors
from pyha.wire import BINARY, LIST, Field, encode_classic, netstring_trailer, sign_classic, sign_netstring
from pyha.wire.auth import PREAUTH_CLASSIC_BYTES, PREAUTH_CLASSIC_FIELDS
from pyha.wire.codec import find_trailer

RING = Keyring.from_mapping(1, {1: ("md5", "specsecret")})
CAPTURES = "/work/shared/spec/captures"

# The issue's packet: 37 KB, 4,095 fields, a well-formed trailer with a wrong digest.
JUNK_BODY = b"###\n" + b"6:(0)a=x," * 4095 + b"%%%\n"
JUNK = JUNK_BODY + netstring_trailer(1, "0" * 32)


@pytest.fixture
def no_parsing(monkeypatch):
    def parse(*args, **kwargs):
        raise AssertionError("an unauthenticated packet was parsed")
    monkeypatch.setattr(auth, "decode", parse)


def test_the_junk_packet_is_as_big_as_the_issue_says():
    assert 36000 < len(JUNK) < 38000
    assert len(decode(JUNK).message) == 4095


def test_netstring_with_a_wrong_digest_is_refused_unparsed(no_parsing):
    with pytest.raises(WireError) as exc:
        decode_verified(JUNK, RING)
    assert exc.value.code == errors.BAD_DIGEST


def test_netstring_naming_an_unknown_key_is_refused_unparsed(no_parsing):
    with pytest.raises(WireError) as exc:
        decode_verified(JUNK_BODY + netstring_trailer(7, "0" * 32), RING)
    assert exc.value.code == errors.UNKNOWN_AUTH_INDEX


@pytest.mark.parametrize("data", [
    JUNK_BODY,                                        # no trailer at all
    JUNK_BODY + b"34:1 " + b"0" * 32,                 # trailer cut off
    JUNK_BODY + b"35:1 " + b"0" * 32 + b",",          # length disagrees
    JUNK_BODY + b"34:1 " + b"0" * 31 + b"G,",         # not lowercase hex
    JUNK_BODY[:-4] + b"%%\n" + JUNK[len(JUNK_BODY):],  # '%%%\n' broken
    b"###\n" + os.urandom(60000),
], ids=["none", "cut", "length", "hex", "end-marker", "random"])
def test_netstring_without_a_trailer_at_its_end_is_refused_unparsed(no_parsing, data):
    with pytest.raises(WireError) as exc:
        decode_verified(data, RING)
    assert exc.value.code == errors.NO_TRAILER


def test_classic_over_the_size_limit_is_refused_unparsed(no_parsing):
    big = sign_classic(Message([("t", "x"), ("v", "y" * PREAUTH_CLASSIC_BYTES)]), RING)
    with pytest.raises(WireError) as exc:
        decode_verified(big, RING)
    assert exc.value.code == errors.TOO_BIG


def test_classic_judged_from_its_raw_lines_is_refused_unparsed(no_parsing):
    junk = b">>>\n" + b"a=x\n" * 1000 + b"auth=1 " + b"0" * 32 + b"\n<<<\n"
    with pytest.raises(WireError) as exc:
        decode_verified(junk, RING)
    assert exc.value.code == errors.BAD_DIGEST


def test_classic_signed_and_judged_from_raw_lines_is_parsed_whole():
    # empty lines and a trailing NUL do not disturb the raw judgement; an authentic
    # packet gets heartbeat's whole field budget
    fields = [("f%d" % i, "x\ny") for i in range(PREAUTH_CLASSIC_FIELDS * 2)] + [Field("b", BINARY, b"\x00\x01")]
    data = sign_classic(Message(fields), RING, nul=True).replace(b"\nf1=", b"\n\nf1=")
    pkt = decode_verified(data, RING)
    assert pkt.message.without("auth") == Message(fields)
    with pytest.raises(WireError) as exc:
        decode_verified(data.replace(b"f7=x", b"f7=z"), RING)
    assert exc.value.code == errors.BAD_DIGEST


def test_classic_the_raw_lines_cannot_judge_gets_a_small_field_budget():
    # with a struct field the digest covers a re-rendering: parse first, with a budget
    inner = Message([("a", "b")])
    fields = [("s", inner)] + [("f%d" % i, "x") for i in range(PREAUTH_CLASSIC_FIELDS - 3)]
    ok = sign_classic(Message(fields), RING)         # + struct member + auth = the budget
    assert decode_verified(ok, RING).message.get_struct("s") == inner
    over = sign_classic(Message(fields + [("one", "more")]), RING)
    with pytest.raises(WireError) as exc:
        decode_verified(over, RING)
    assert exc.value.code == errors.TOO_MANY_FIELDS
    assert "more than %d fields" % PREAUTH_CLASSIC_FIELDS in exc.value.message
    # list elements count too: the budget bounds the parser's work, not the line count
    listed = encode_classic(Message([("s", inner)]).add("l", (b"e",) * PREAUTH_CLASSIC_FIELDS, LIST))
    with pytest.raises(WireError) as exc:
        decode_verified(listed, RING)
    assert exc.value.code == errors.TOO_MANY_FIELDS
    # decode() itself keeps heartbeat's limit (local tools, captures)
    assert len(decode(over).message) == PREAUTH_CLASSIC_FIELDS  # top-level fields; + 1 in the struct


def test_a_value_holding_end_markers_still_verifies():
    # The body may hold '%%%\n' and trailer-like text; only the one at the end counts.
    tricky = Message([("t", "x"), ("v", "a%%%\n34:1 " + "0" * 32 + ",b%%%\n")])
    data = sign_netstring(tricky, RING)
    pkt = decode_verified(data, RING)
    assert pkt.message.get("v") == tricky.get("v")
    assert find_trailer(data)[0] == pkt.signed_len


def _captures():
    with open(os.path.join(CAPTURES, "manifest.json")) as f:
        return [e for e in json.load(f) if e["file"].endswith(".bin")]


def test_find_trailer_agrees_with_the_full_parse_on_every_capture():
    entries = _captures()
    assert entries
    for entry in entries:
        with open(os.path.join(CAPTURES, entry["file"]), "rb") as f:
            data = f.read()
        pkt = decode(data)
        assert find_trailer(data) == (pkt.signed_len, pkt.trailer_index, pkt.trailer_digest), entry["file"]
