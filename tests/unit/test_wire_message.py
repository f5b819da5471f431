"""Message model: first-match lookup, set-or-append, typed accessors, numeric parsing."""

import pickle

import pytest

from pyha.wire import (
    BINARY, LIST, STRING, STRUCT, Field, Message, WireError, parse_dec, parse_hex,
)
from pyha.wire import errors


def _msg():
    return Message([("t", "status"), ("st", "active"), ("dt", "1770"), ("st", "second")])


def test_first_match_lookup_and_order():
    msg = _msg()
    assert msg.get("st") == "active"
    assert msg.index("st") == 1
    assert msg.names() == ["t", "st", "dt", "st"]
    assert "dt" in msg and "nope" not in msg
    assert msg.get("nope") is None
    assert msg.get("nope", "x") == "x"


def test_set_replaces_first_in_place_or_appends():
    msg = _msg()
    msg.set("st", "up")
    assert msg.names() == ["t", "st", "dt", "st"]
    assert [f.value for f in msg if f.name == "st"] == [b"up", b"second"]
    msg.set("src", "hbnode1")
    assert msg.names()[-1] == "src"
    msg.set("st", b"\x01\x02", BINARY)  # type changes with the value
    assert msg.field("st") == Field("st", BINARY, b"\x01\x02")


def test_add_appends_duplicates_and_remove_drops_all():
    msg = _msg().add("dt", "9c4")
    assert msg.names().count("dt") == 2
    assert msg.remove("st") == 2
    assert msg.names() == ["t", "dt", "dt"]
    copy = msg.without("dt")
    assert copy.names() == ["t"] and msg.names() == ["t", "dt", "dt"]


def test_values_are_bytes_internally_and_text_access_is_strict_utf8():
    msg = Message([("src", "h\u00e9")])
    assert msg.get_bytes("src") == b"h\xc3\xa9"
    assert msg.get("src") == "h\u00e9"
    msg.set("src", b"bad\xff\xfe")
    with pytest.raises(WireError) as exc:
        msg.get("src")
    assert exc.value.code == errors.BAD_UTF8 and exc.value.field == "src"
    assert "src" in str(exc.value)
    assert msg.get_bytes("src") == b"bad\xff\xfe"
    assert "\\xff" in msg.dump()


def test_typed_accessors_refuse_wrong_types():
    child = Message([("a", "1")])
    msg = Message([Field("uuid", BINARY, b"\x00" * 16), Field("kids", STRUCT, child),
                   Field("names", LIST, (b"a", b"b"))])
    assert msg.get_bytes("uuid") == b"\x00" * 16
    assert msg.get_struct("kids") == child
    assert msg.get_list("names") == ["a", "b"]
    for call in (lambda: msg.get("uuid"), lambda: msg.get_bytes("kids"),
                 lambda: msg.get_list("uuid"), lambda: msg.get_struct("names")):
        with pytest.raises(WireError) as exc:
            call()
        assert exc.value.code == errors.WRONG_TYPE


def test_numeric_accessors():
    msg = Message([("seq", "1d"), ("ttl", "3"), ("bad", "1x"), ("big", "1" * 21),
                   ("empty", "")])
    assert msg.get_hex("seq") == 0x1d
    assert msg.get_dec("ttl") == 3
    assert msg.get_hex("nope", None) is None
    for name, fn in (("bad", msg.get_hex), ("bad", msg.get_dec), ("big", msg.get_dec),
                     ("empty", msg.get_hex)):
        with pytest.raises(WireError) as exc:
            fn(name)
        assert exc.value.code == errors.BAD_NUMBER and name in exc.value.message
    with pytest.raises(WireError) as exc:
        msg.get_hex("nope")
    assert exc.value.code == errors.MISSING_FIELD
    with pytest.raises(WireError) as exc:
        msg.require("nope")
    assert exc.value.code == errors.MISSING_FIELD
    assert parse_hex(b"6B0A29F8") == 0x6b0a29f8
    assert parse_dec("35") == 35
    for bad in (b" 1", b"-1", b"0x1", b"+1", "\u0661".encode("utf-8")):
        with pytest.raises(WireError):
            parse_dec(bad, "x")
        with pytest.raises(WireError):
            parse_hex(bad, "x")


@pytest.mark.parametrize("name", ["", "a=b", "(1)x", "tab\there", "new\nline", "\u00e9",
                                  "nul\x00"])
def test_illegal_names_are_refused(name):
    with pytest.raises(WireError) as exc:
        Message().set(name, "v")
    assert exc.value.code == errors.BAD_NAME


def test_list_values_are_validated():
    with pytest.raises(ValueError):
        Message().add("l", [], LIST)
    with pytest.raises(ValueError):
        Message().add("l", [b""], LIST)
    with pytest.raises(ValueError):
        Message().add("l", [b"a\x00"], LIST)
    assert Message().add("l", ["a", b"b"]).field("l") == Field("l", LIST, (b"a", b"b"))


def test_equality_copy_and_dump():
    a = Message([("t", "x"), Field("c", STRUCT, Message([("k", "v w")]))])
    b = a.copy()
    assert a == b
    b.get_struct("c").set("k", "changed")
    assert a != b  # nested structs are copied, not shared
    assert a.dump() == 't=x (2)c={k="v w"}'
    assert Message([("t", "x")]) != Message([Field("t", BINARY, b"x")])
    assert Message([("a", "1")]).field("a").type == STRING


def test_wire_error_pickles_with_its_attributes():
    err = WireError(errors.BAD_DIGEST, "nope", field="auth", offset=7)
    back = pickle.loads(pickle.dumps(err))
    assert (back.code, back.message, back.field, back.offset) == ("bad-digest", "nope",
                                                                    "auth", 7)
    assert str(back) == "bad-digest: nope"
