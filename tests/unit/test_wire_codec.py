"""Netstring and classic codec: exact encodings, nesting, limits and every error code."""

import pytest

from pyha.wire import (
    BINARY, CLASSIC, COMPRESSED, LIST, MAX_DATAGRAM, MAX_DEPTH, MAX_FIELDS, NETSTRING,
    STRING, STRUCT, Field, Message, WireError, classic_text, decode, decode_message,
    encode_classic, encode_netstring, netstring_trailer,
)
from pyha.wire import errors

TRAILER = b"10:1 d21f568d,"  # any syntactically valid trailer; decode() does not verify


def _code(data, **kw):
    with pytest.raises(WireError) as exc:
        decode(data, **kw)
    return exc.value.code


def test_netstring_encoding_is_exact():
    msg = Message([("t", "status"), Field("u", BINARY, b"\x00,\n="), ("e", "")])
    assert encode_netstring(msg) == (b"###\n11:(0)t=status,9:(1)u=\x00,\n=,5:(0)e=,%%%\n")
    assert netstring_trailer(1, "d21f568d") == TRAILER
    pkt = decode(encode_netstring(msg) + TRAILER)
    assert pkt.format == NETSTRING and pkt.message == msg
    assert (pkt.trailer_index, pkt.trailer_digest) == (1, "d21f568d")
    assert pkt.signed_bytes == encode_netstring(msg)


def test_netstring_values_may_hold_any_bytes():
    value = bytes(range(256)) + b"%%%\n###\n,"
    msg = Message([Field("s", STRING, value), Field("c", COMPRESSED, value)])
    assert decode(encode_netstring(msg) + TRAILER).message == msg


def test_nested_struct_and_list_netstring():
    inner = Message([("k", "v"), Field("l", LIST, (b"a", b"bc"))])
    msg = Message([("t", "x"), Field("child", STRUCT, inner)])
    body = encode_netstring(msg)
    assert b"(2)child=###\n6:(0)k=v,14:(3)l=1:a,2:bc,,%%%\n," in body
    assert decode(body + TRAILER).message == msg
    assert decode_message(body) == msg


def test_classic_encoding_is_exact_and_round_trips():
    msg = Message([("t", "x"), ("multi", "a\nb"), Field("u", BINARY, b"\xe9\xb6p"),
                   Field("l", LIST, (b"a",))])
    text = encode_classic(msg)
    assert text == b">>>\nt=x\nmulti=a\x13b\n(1)u=6bZw\n(3)l=1:a,\n<<<\n"
    for data in (text, text + b"\x00", b">>>\n\n\nt=x\n\nmulti=a\x13b\n(1)u=6bZw\n"
                 b"(3)l=1:a,\n<<<\n"):
        pkt = decode(data)
        assert pkt.format == CLASSIC and pkt.message == msg and pkt.signed_len is None
    assert encode_classic(msg, nul=True) == text + b"\x00"


def test_classic_nested_structs_use_depth_symbols():
    grandchild = Message([("g", "1\n2")])
    child = Message([("c", "x"), Field("gc", STRUCT, grandchild)])
    msg = Message([("t", "x"), Field("ch", STRUCT, child)])
    text = classic_text(msg)
    # depth 0 child text: its newlines become 0x14; the grandchild's become 0x15 first
    assert text == (b"t=x\n(2)ch=>>>\x14c=x\x14(2)gc=>>>\x15g=1\x132\x15<<<\x15\x14"
                    b"<<<\x14\n")
    assert decode(encode_classic(msg)).message == msg


def _nested(depth):
    msg = Message([("leaf", "1")])
    for _ in range(depth):
        msg = Message([Field("s", STRUCT, msg)])
    return msg


@pytest.mark.parametrize("encode", [lambda m: encode_netstring(m) + TRAILER,
                                    encode_classic])
def test_depth_limit(encode):
    ok = _nested(MAX_DEPTH)
    assert decode(encode(ok)).message == ok
    with pytest.raises(WireError) as exc:
        encode(_nested(MAX_DEPTH + 1))
    assert exc.value.code == errors.TOO_DEEP


def test_depth_limit_on_decode_of_handmade_netstring():
    body = b"###\n5:(0)a=b,%%%\n"
    for _ in range(MAX_DEPTH + 1):
        item = b"(2)s=" + body
        body = b"###\n" + b"%d:" % len(item) + item + b",%%%\n"
    assert _code(body + TRAILER) == errors.TOO_DEEP


def test_field_budget():
    msg = Message([("a", "")] * MAX_FIELDS)
    assert len(decode(encode_netstring(msg) + TRAILER).message) == MAX_FIELDS
    msg.add("a", "")
    assert _code(encode_netstring(msg) + TRAILER) == errors.TOO_MANY_FIELDS
    assert _code(encode_classic(msg)) == errors.TOO_MANY_FIELDS
    many = Message([Field("l", LIST, (b"x",) * MAX_FIELDS)])
    assert _code(encode_netstring(many) + TRAILER) == errors.TOO_MANY_FIELDS


def test_size_limit():
    def sized(total):
        filler = total - len(encode_netstring(Message([("p", "")]))) - len(TRAILER)
        while True:
            data = encode_netstring(Message([("p", "x" * filler)])) + TRAILER
            if len(data) <= total:
                return data
            filler -= 1

    exact = sized(MAX_DATAGRAM)
    assert len(exact) == MAX_DATAGRAM
    decode(exact)
    assert _code(sized(MAX_DATAGRAM + 1)) == errors.TOO_BIG
    assert _code(b"#" * (MAX_DATAGRAM + 1)) == errors.TOO_BIG


def test_invalid_utf8_in_src_decodes_but_text_access_fails_cleanly():
    data = b"###\n11:(0)t=status,10:(0)src=\xff\xfe\x80,%%%\n" + TRAILER
    msg = decode(data).message
    assert msg.get("t") == "status"
    with pytest.raises(WireError) as exc:
        msg.get("src")
    assert exc.value.code == errors.BAD_UTF8 and exc.value.field == "src"
    assert decode(b">>>\nsrc=\xff\n<<<\n").message.get_bytes("src") == b"\xff"


def test_trailer_is_optional_only_on_request():
    body = b"###\n6:(0)a=b,%%%\n"
    assert _code(body) == errors.NO_TRAILER
    pkt = decode(body, require_trailer=False)
    assert pkt.trailer_index is None and pkt.signed_len == len(body)


def test_decode_wants_bytes():
    with pytest.raises(TypeError):
        decode("###\n")
    assert decode(bytearray(b">>>\n<<<\n")).message == Message()
    assert decode(memoryview(b"###\n%%%\n" + TRAILER)).message == Message()


NS = b"###\n"
END = b"%%%\n"


def _i(item):
    """One correctly framed netstring item."""
    return b"%d:%s," % (len(item), item)


def _ns(*items):
    return NS + b"".join(_i(x) for x in items) + END + TRAILER


@pytest.mark.parametrize("data,code", [
    (b"", errors.TRUNCATED),
    (b"##", errors.TRUNCATED),
    (b">>", errors.TRUNCATED),
    (b"hello", errors.GARBAGE),
    (b"\x00###\n", errors.GARBAGE),
    (NS, errors.TRUNCATED),
    (NS + b"6:(0)a", errors.TRUNCATED),
    (NS + b"12", errors.TRUNCATED),
    (NS + _i(b"(0)a=b") + b"%%", errors.TRUNCATED),
    (NS + _i(b"(0)a=b") + END + b"10:1 d21f", errors.TRUNCATED),
    (NS + b"x:(0)a=b," + END + TRAILER, errors.BAD_LENGTH),
    (NS + b"06:(0)a=b," + END + TRAILER, errors.BAD_LENGTH),
    (NS + b"-6:(0)a=b," + END + TRAILER, errors.BAD_LENGTH),
    (NS + b" 6:(0)a=b," + END + TRAILER, errors.BAD_LENGTH),
    (NS + b"6 :(0)a=b," + END + TRAILER, errors.BAD_LENGTH),
    (NS + b"123456:" + END + TRAILER, errors.BAD_LENGTH),
    (NS + b"99999999999999999999999:x", errors.BAD_LENGTH),
    (NS + b":(0)a=b," + END + TRAILER, errors.BAD_LENGTH),
    (NS + b"6:(0)a=b;" + END + TRAILER, errors.BAD_FRAMING),
    (NS + b"5:(0)a=b," + END + TRAILER, errors.BAD_FRAMING),
    (NS + _i(b"(0)a=b") + b"%%%x" + TRAILER, errors.BAD_FRAMING),
    (_ns(b"[0]a=b"), errors.BAD_FIELD),
    (_ns(b"(0)="), errors.BAD_FIELD),
    (_ns(b"(0)"), errors.BAD_FIELD),
    (_ns(b"(0)abc"), errors.BAD_FIELD),
    (_ns(b"(5)a=b"), errors.BAD_TYPE),
    (_ns(b"(x)a=b"), errors.BAD_TYPE),
    (_ns(b"(0)=ab"), errors.BAD_NAME),
    (_ns(b"(0)a\x00=b"), errors.BAD_NAME),
    (_ns(b"(0)(a=b"), errors.BAD_NAME),
    (_ns(b"(3)l="), errors.BAD_LIST),
    (_ns(b"(3)l=0:,"), errors.BAD_LIST),
    (_ns(b"(3)l=01:a,"), errors.BAD_LIST),
    (_ns(b"(3)l=2:a,"), errors.BAD_LIST),
    (_ns(b"(3)l=1:a;"), errors.BAD_LIST),
    (_ns(b"(3)l=1:\x00,"), errors.BAD_LIST),
    (_ns(b"(2)s=abcd"), errors.BAD_FRAMING),
    (_ns(b"(2)s=###\n%%%\nxyz"), errors.BAD_FRAMING),
    (_ns(b"(2)s=###\n"), errors.BAD_FRAMING),
    (_ns(b"(2)s=###\n" + _i(b"x")), errors.BAD_FIELD),
    (_ns(b"(2)s=###\n9:x,%%%\n"), errors.BAD_LENGTH),
    (NS + END, errors.NO_TRAILER),
    (NS + END + b"10:1 D21F568D,", errors.BAD_TRAILER),
    (NS + END + b"9:1d21f568d,", errors.BAD_TRAILER),
    (NS + END + b"11:01 d21f568d,", errors.BAD_TRAILER),
    (NS + END + b"11:-1 d21f568d,", errors.BAD_TRAILER),
    (NS + END + b"2:1 ,", errors.BAD_TRAILER),
    (NS + END + b"x", errors.BAD_TRAILER),
    (NS + END + TRAILER + b"\x00", errors.GARBAGE),
    (b">>>\n", errors.TRUNCATED),
    (b">>>\nt=x", errors.TRUNCATED),
    (b">>>\nt=x\n<<<", errors.TRUNCATED),
    (b">>>\nt=x\n<<<\n\x00\x00", errors.GARBAGE),
    (b">>>\nt=x\n<<<\nmore", errors.GARBAGE),
    (b">>>\nnoequals\n<<<\n", errors.BAD_FIELD),
    (b">>>\nt=x\x00y\n<<<\n", errors.BAD_FIELD),
    (b">>>\n(0)t=x\n<<<\n", errors.BAD_TYPE),
    (b">>>\n(7)t=x\n<<<\n", errors.BAD_TYPE),
    (b">>>\n(1t=x\n<<<\n", errors.BAD_FIELD),
    (b">>>\n=x\n<<<\n", errors.BAD_NAME),
    (b">>>\n(1)u=6bZ\n<<<\n", errors.BAD_BASE64),
    (b">>>\n(1)u=6b!w\n<<<\n", errors.BAD_BASE64),
    (b">>>\n(1)u=6bZ=\n<<<\n", errors.BAD_BASE64),  # non-canonical padding bits
    (b">>>\n(1)u=QR==\n<<<\n", errors.BAD_BASE64),
    (b">>>\n(4)u=====\n<<<\n", errors.BAD_BASE64),
    (b">>>\n(3)l=x\n<<<\n", errors.BAD_LIST),
    (b">>>\n(2)s=abc\n<<<\n", errors.BAD_FRAMING),
    (b">>>\n(2)s=>>>\x14a=b\x14\n<<<\n", errors.BAD_FRAMING),
    (b">>>\n(2)s=>>>\x14a=b\x14<<<\x14x\n<<<\n", errors.BAD_FRAMING),
])
def test_error_codes(data, code):
    assert _code(data) == code


def test_errors_name_the_field():
    with pytest.raises(WireError) as exc:
        decode(_ns(b"(3)list=x"))
    assert "list" in exc.value.message
    with pytest.raises(WireError) as exc:
        decode(b">>>\nt=x\n(1)srcuuid=***\n<<<\n")
    assert exc.value.field == "srcuuid" and "srcuuid" in str(exc.value)
    with pytest.raises(WireError) as exc:
        decode(_ns(b"(0)a=b", b"(9)c=d"))
    assert "field #1" in exc.value.message and exc.value.offset is not None


@pytest.mark.parametrize("msg", [
    Message([Field("s", STRING, b"a\x00b")]),
    Message([Field("s", STRING, b"a\x13b")]),
    Message([Field("l", LIST, (b"a\nb",))]),
    Message([Field("c", STRUCT, Message([Field("s", STRING, b"\x14")]))]),
])
def test_classic_refuses_what_it_cannot_carry(msg):
    with pytest.raises(WireError) as exc:
        encode_classic(msg)
    assert exc.value.code == errors.UNENCODABLE
    # the netstring format carries all of them
    assert decode(encode_netstring(msg) + TRAILER).message == msg


def test_classic_text_skips_only_top_level_auth():
    child = Message([("auth", "kept")])
    msg = Message([("t", "x"), ("auth", "1 ab"), Field("c", STRUCT, child), ("auth", "2")])
    assert classic_text(msg, skip_auth=True) == (
        b"t=x\n(2)c=>>>\x14auth=kept\x14<<<\x14\n")
