"""Digests, keys, signing and verification, including heartbeat's key-rotation quirk.

These tests need no capture files: the worked example of spec 1.5 (cap01) is embedded.
"""

import random

import pytest

from pyha.wire import (
    BINARY, CLASSIC, NETSTRING, Field, Key, Keyring, Message, WireError, classic_text,
    compute_digest, crc32_posix, decode, decode_verified, encode_classic, encode_netstring,
    netstring_trailer, sign_classic, sign_netstring, verify, verify_inner,
)
from pyha.wire import auth, errors

# spec 1.5 "Worked example - cap01" (md5, key specsecret, index 1), byte for byte
CAP01 = (b"###\n11:(0)t=status,12:(0)st=active,10:(0)dt=1770,13:(0)protocol=1,"
         b"14:(0)src=hbnode1,27:(1)srcuuid=\xe9\xb6p\xc8\x93jC\xa9\xa6\x86\xeb\x13VA}L,"
         b"9:(0)seq=21,14:(0)hg=6b0a29f8,14:(0)ts=6b0a2a0c,"
         b"30:(0)ld=0.43 0.39 0.20 1/104 540,8:(0)ttl=3,"
         b"42:(0)auth=1 bd1259dedd6071dd945c5f0f1132fac9,%%%\n"
         b"34:1 57f1831a717d2388b4c690eaabfb1f41,")
CAP01_CLASSIC_TEXT = (b"t=status\nst=active\ndt=1770\nprotocol=1\nsrc=hbnode1\n"
                      b"(1)srcuuid=6bZwyJNqQ6mmhusTVkF9TA==\nseq=21\nhg=6b0a29f8\n"
                      b"ts=6b0a2a0c\nld=0.43 0.39 0.20 1/104 540\nttl=3\n")
MD5_1 = Keyring.from_mapping(1, {1: ("md5", "specsecret")})


def _crc_reference(data):
    """Bit-at-a-time CRC-32, MSB first, poly 0x04C11DB7, init 0, final inversion."""
    crc = 0
    for byte in bytearray(data):
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
            crc &= 0xFFFFFFFF
    return crc ^ 0xFFFFFFFF


def test_crc_check_value_and_reference():
    assert crc32_posix(b"123456789") == 0x765e7680
    assert compute_digest("crc", None, b"123456789") == "765e7680"
    rng = random.Random(1)
    for n in list(range(0, 70)) + [257, 1000]:
        data = bytes(rng.randrange(256) for _ in range(n))
        assert crc32_posix(data) == _crc_reference(data)


def test_crc_is_printed_like_percent_lx_without_padding():
    i = 0
    while crc32_posix(b"x%d" % i) >= 1 << 28:
        i += 1
    value = crc32_posix(b"x%d" % i)
    digest = Key(1, "crc").digest(b"x%d" % i)
    assert digest == "%x" % value and len(digest) < 8 and not digest.startswith("0")


@pytest.mark.parametrize("method,key,data,expected", [
    # RFC 2202 test cases 1 and 6 (6: key longer than the block size is hashed first)
    ("md5", b"\x0b" * 16, b"Hi There", "9294727a3638bb1c13f48ef8158bfc9d"),
    ("sha1", b"\x0b" * 20, b"Hi There", "b617318655057264e28bc0b6fb378c8ef146be00"),
    ("md5", b"\xaa" * 80, b"Test Using Larger Than Block-Size Key - Hash Key First",
     "6b1ab7fe4bd7bf8f0b62e6ce61b9d0cd"),
    ("sha1", b"\xaa" * 80, b"Test Using Larger Than Block-Size Key - Hash Key First",
     "aa4ae5e15272d00e95705637ce8a3b55ed402112"),
])
def test_hmac_vectors(method, key, data, expected):
    assert compute_digest(method, key, data) == expected
    assert Key(2, method, key).digest(data) == expected
    assert Key(2, method, key).digest(data) == expected  # prepared HMAC is reusable


def test_key_and_keyring_validation():
    for args in ((16, "md5", "k"), (-1, "md5", "k"), (1, "sha256", "k"), (1, "md5", None),
                 (1, "md5", ""), (1, "crc", "k"), (True, "crc")):
        with pytest.raises(ValueError):
            Key(*args)
    with pytest.raises(ValueError):
        Keyring(2, [Key(1, "crc")])
    with pytest.raises(ValueError):
        Keyring(1, [Key(1, "crc"), Key(1, "md5", "x")])
    ring = Keyring.from_mapping(3, {1: "crc", 2: ("md5", "a"), 3: ("sha1", b"b")})
    assert ring.active == Key(3, "sha1", "b") and ring.get(2).secret == b"a"
    assert ring.get(4) is None and ring.indexes() == [1, 2, 3]
    # reprs end up in logs: never the secret itself
    assert "specsecret" not in repr(Key(2, "md5", "specsecret"))
    assert "specsecret" not in repr(Keyring.from_mapping(2, {2: ("md5", "specsecret")}))


def test_worked_example_cap01():
    pkt = decode(CAP01)
    msg = pkt.message
    assert pkt.format == NETSTRING and pkt.signed_len == 258 and len(CAP01) == 296
    assert [(f.name, f.type) for f in msg][:6] == [
        ("t", 0), ("st", 0), ("dt", 0), ("protocol", 0), ("src", 0), ("srcuuid", 1)]
    assert msg.get("t") == "status" and msg.get("st") == "active"
    assert msg.get_hex("dt") == 6000 and msg.get_dec("protocol") == 1
    assert msg.get_bytes("srcuuid").hex() == "e9b670c8936a43a9a686eb1356417d4c"
    assert msg.get_hex("seq") == 0x21 and msg.get_hex("hg") == 0x6b0a29f8
    assert msg.get_hex("ts") == 0x6b0a2a0c and msg.get_dec("ttl") == 3
    assert msg.get("ld") == "0.43 0.39 0.20 1/104 540"
    assert (pkt.trailer_index, pkt.trailer_digest) == (1, "57f1831a717d2388b4c690eaabfb1f41")
    assert classic_text(msg, skip_auth=True) == CAP01_CLASSIC_TEXT
    result = verify(pkt, MD5_1)
    assert (result.where, result.index, result.method, result.matched) == (
        "trailer", 1, "md5", "index")
    assert pkt.auth is result
    assert verify_inner(msg, MD5_1).where == "inner"
    # re-signing reproduces the exact bytes, whether or not the auth field is present
    assert sign_netstring(msg, MD5_1) == CAP01
    assert sign_netstring(msg.without("auth"), MD5_1) == CAP01
    # the equivalent classic packet of spec 1.5
    assert sign_classic(msg, MD5_1) == (b">>>\n" + CAP01_CLASSIC_TEXT
                                        + b"auth=1 bd1259dedd6071dd945c5f0f1132fac9\n<<<\n")


def test_cap01_truncated_at_every_offset_raises_only_wire_error():
    for cut in range(len(CAP01)):
        with pytest.raises(WireError) as exc:
            decode_verified(CAP01[:cut], MD5_1)
        assert exc.value.code in errors.ALL_CODES and exc.value.code != errors.INTERNAL


def test_every_single_bit_flip_of_cap01_is_rejected():
    for i in range(len(CAP01)):
        for bit in range(8):
            data = bytearray(CAP01)
            data[i] ^= 1 << bit
            with pytest.raises(WireError):
                decode_verified(bytes(data), MD5_1)


def test_wrong_trailer_rejected_wrong_inner_accepted():
    msg = decode(CAP01).message
    body = CAP01[:258]
    bad = body + netstring_trailer(1, "0" * 32)
    with pytest.raises(WireError) as exc:
        decode_verified(bad, MD5_1)
    assert exc.value.code == errors.BAD_DIGEST
    # inner field wrong, trailer right: a genuine receiver accepts it, so do we
    msg.set("auth", "1 " + "f" * 32)
    data = sign_netstring(msg, MD5_1, inner=False)
    pkt = decode_verified(data, MD5_1)
    assert pkt.message.get("auth") == "1 " + "f" * 32
    with pytest.raises(WireError) as exc:
        verify_inner(pkt.message, MD5_1)
    assert exc.value.code == errors.BAD_DIGEST


def test_msgfmt_netstring_has_no_inner_field():
    msg = Message([("t", "status"), ("st", "up")])
    data = sign_netstring(msg, MD5_1, inner=False)
    pkt = decode_verified(data, MD5_1)
    assert "auth" not in pkt.message and pkt.message == msg
    with pytest.raises(WireError) as exc:
        verify_inner(pkt.message, MD5_1)
    assert exc.value.code == errors.NO_AUTH


def test_unknown_index():
    other = Keyring.from_mapping(5, {5: ("md5", "specsecret")})
    with pytest.raises(WireError) as exc:
        decode_verified(CAP01, other)
    assert exc.value.code == errors.UNKNOWN_AUTH_INDEX
    classic = sign_classic(Message([("t", "x")]), MD5_1)
    with pytest.raises(WireError) as exc:
        decode_verified(classic, other)
    assert exc.value.code == errors.UNKNOWN_AUTH_INDEX


KEY_A = "keyA"
KEY_B = "keyB"
# the genuine experiment of spec 1.5: receiver with auth 1, 1 md5 keyA, 2 md5 keyB
RECEIVER = Keyring.from_mapping(1, {1: ("md5", KEY_A), 2: ("md5", KEY_B)})


def test_key_rotation_trailer_index_key_first():
    sender = Keyring.from_mapping(2, {1: ("md5", KEY_A), 2: ("md5", KEY_B)})
    pkt = decode_verified(sign_netstring(Message([("t", "x")]), sender), RECEIVER)
    # genuine would reject this one; pyha checks the key of the named index first
    assert (pkt.auth.index, pkt.auth.key_index, pkt.auth.matched) == (2, 2, "index")


def test_key_rotation_bug_compatible_active_key():
    # index 2 signed with keyA: a genuine receiver accepts it (its active key + index
    # 2's method); so does pyha, and it says which key matched
    odd = Keyring.from_mapping(2, {2: ("md5", KEY_A)})
    data = sign_netstring(Message([("t", "x")]), odd)
    pkt = decode_verified(data, RECEIVER)
    assert (pkt.auth.index, pkt.auth.key_index, pkt.auth.matched) == (2, 1, "active")
    with pytest.raises(WireError) as exc:
        decode_verified(data, RECEIVER, bug_compat=False)
    assert exc.value.code == errors.BAD_DIGEST
    # the method is index 2's: a sha1 entry 2 makes the same keyA/md5 trailer fail
    sha_ring = Keyring.from_mapping(1, {1: ("md5", KEY_A), 2: ("sha1", KEY_B)})
    with pytest.raises(WireError):
        decode_verified(data, sha_ring)


def test_key_rotation_classic_uses_the_named_index_key():
    sender = Keyring.from_mapping(2, {2: ("md5", KEY_B)})
    pkt = decode_verified(sign_classic(Message([("t", "x"), ("src", "n2")]), sender),
                          RECEIVER)
    assert pkt.format == CLASSIC and (pkt.auth.where, pkt.auth.index) == ("inner", 2)
    # no bug on the classic path: keyA under index 2 is refused
    odd = Keyring.from_mapping(2, {2: ("md5", KEY_A)})
    with pytest.raises(WireError) as exc:
        decode_verified(sign_classic(Message([("t", "x")]), odd), RECEIVER)
    assert exc.value.code == errors.BAD_DIGEST


def test_sending_uses_the_active_entry():
    ring = Keyring.from_mapping(3, {1: "crc", 2: ("md5", "a"), 3: ("sha1", "b")})
    pkt = decode_verified(sign_netstring(Message([("t", "x")]), ring), ring)
    assert (pkt.trailer_index, len(pkt.trailer_digest)) == (3, 40)
    assert pkt.message.get("auth").startswith("3 ")


def test_classic_verification_details():
    msg = Message([("t", "x"), ("v", "line1\nline2"), Field("u", BINARY, b"\x01\x02")])
    data = sign_classic(msg, MD5_1, nul=True)
    assert data.endswith(b"<<<\n\x00")
    pkt = decode_verified(data, MD5_1)
    assert pkt.message.without("auth") == msg
    # without auth, with a malformed auth, with a tampered value
    with pytest.raises(WireError) as exc:
        decode_verified(encode_classic(msg), MD5_1)
    assert exc.value.code == errors.NO_AUTH
    with pytest.raises(WireError) as exc:
        decode_verified(encode_classic(msg.copy().set("auth", "one 12ab")), MD5_1)
    assert exc.value.code == errors.BAD_AUTH
    with pytest.raises(WireError) as exc:
        decode_verified(data.replace(b"line1", b"line9"), MD5_1)
    assert exc.value.code == errors.BAD_DIGEST
    # heartbeat's isauthentic() takes the last auth field
    good = pkt.message.get("auth")
    twice = pkt.message.without("auth").add("auth", "1 " + "0" * 32).add("auth", good)
    assert verify_inner(twice, MD5_1).index == 1
    with pytest.raises(WireError):
        verify_inner(twice.add("auth", "1 " + "0" * 32), MD5_1)
    binary_auth = msg.copy().set("auth", b"1 00", BINARY)
    with pytest.raises(WireError) as exc:
        verify_inner(binary_auth, MD5_1)
    assert exc.value.code == errors.BAD_AUTH


def test_verify_needs_a_trailer():
    pkt = decode(encode_netstring(Message([("t", "x")])), require_trailer=False)
    with pytest.raises(WireError) as exc:
        verify(pkt, MD5_1)
    assert exc.value.code == errors.NO_TRAILER


def test_signing_refuses_oversized_and_unencodable_messages():
    with pytest.raises(WireError) as exc:
        sign_netstring(Message([("t", "x" * 70000)]), MD5_1)
    assert exc.value.code == errors.TOO_BIG
    with pytest.raises(WireError) as exc:
        sign_classic(Message([("t", "x" * 70000)]), MD5_1)
    assert exc.value.code == errors.TOO_BIG
    nul = Message([Field("t", 0, b"a\x00")])
    with pytest.raises(WireError) as exc:
        sign_netstring(nul, MD5_1)  # the inner digest needs the classic rendering
    assert exc.value.code == errors.UNENCODABLE
    assert decode_verified(sign_netstring(nul, MD5_1, inner=False), MD5_1).message == nul


def test_sign_does_not_modify_the_message():
    msg = Message([("t", "x")])
    sign_netstring(msg, MD5_1)
    sign_classic(msg, MD5_1)
    assert msg.names() == ["t"]
    assert auth.with_inner_auth(msg, MD5_1).names() == ["t", "auth"]
