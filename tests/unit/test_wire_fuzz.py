"""Property tests: hostile bytes only ever raise WireError; generated messages round-trip.

Deterministic (derandomize=True, no example database) and bounded in time.  The long
campaign is bench/fuzz_wire.py.
"""

import glob
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyha.wire import (
    BINARY, CLASSIC, COMPRESSED, LIST, NETSTRING, STRING, STRUCT, Field, Message,
    WireError, decode, decode_verified, encode_classic, encode_netstring,
    netstring_trailer, sign_classic, sign_netstring,
)
from pyha.wire import errors
from wirecorpus import CRC_RING, RING, synthetic_seeds

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CAPTURES = os.environ.get("PYHA_CAPTURES_DIR") or os.path.join(
    os.path.dirname(REPO), "shared", "spec", "captures")



def _fast(n):
    return settings(max_examples=n, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow,
                                           HealthCheck.filter_too_much,
                                           HealthCheck.data_too_large])


def _seeds():
    seeds = synthetic_seeds()
    for path in sorted(glob.glob(os.path.join(CAPTURES, "*.bin"))):
        with open(path, "rb") as fh:
            seeds.append(fh.read())
    return seeds


SEEDS = _seeds()


def _decode_hostile(data):
    """decode + verify hostile input; only WireError (never 'internal') may escape.

    When it decodes, check the canonical-form property: a netstring packet re-encodes
    to exactly the same bytes, a classic one decodes again to the same message.
    """
    try:
        pkt = decode(data)
    except WireError as exc:
        assert exc.code in errors.ALL_CODES and exc.code != errors.INTERNAL, exc
        return None
    if pkt.format == NETSTRING:
        assert encode_netstring(pkt.message) == data[:pkt.signed_len]
        assert data[:pkt.signed_len] + netstring_trailer(
            pkt.trailer_index, pkt.trailer_digest) == data
    else:
        assert decode(encode_classic(pkt.message)).message == pkt.message
    for ring in (RING, CRC_RING):
        try:
            decode_verified(data, ring)
        except WireError as exc:
            assert exc.code != errors.INTERNAL, exc
    return pkt


@_fast(1500)
@given(st.sampled_from([b"", b"###\n", b">>>\n", b"###\n1", b">>>\n(2)s=>>>\x14"]),
       st.binary(max_size=300))
def test_arbitrary_bytes_raise_only_wire_error(prefix, tail):
    _decode_hostile(prefix + tail)


_MUTATION = st.tuples(
    st.sampled_from(["flip", "set", "insert", "delete", "dup", "digit", "swap"]),
    st.integers(min_value=0, max_value=1 << 16),
    st.integers(min_value=0, max_value=1 << 16),
    st.binary(min_size=1, max_size=8))


def _mutate(data, ops):
    buf = bytearray(data)
    for op, a, b, blob in ops:
        if not buf:
            buf = bytearray(blob)
            continue
        i = a % len(buf)
        j = i + b % 16
        if op == "flip":
            buf[i] ^= 1 << (b % 8)
        elif op == "set":
            buf[i] = blob[0]
        elif op == "insert":
            buf[i:i] = blob
        elif op == "delete":
            del buf[i:j]
        elif op == "dup":
            buf[i:i] = buf[i:j]
        elif op == "digit":  # aim at the length prefixes
            buf[i] = 0x30 + b % 10
        else:
            buf[i], buf[j % len(buf)] = buf[j % len(buf)], buf[i]
    return bytes(buf)


@_fast(1500)
@given(st.sampled_from(SEEDS), st.lists(_MUTATION, min_size=1, max_size=4))
def test_mutated_packets_raise_only_wire_error(seed, ops):
    _decode_hostile(_mutate(seed, ops))


# -- generated well-formed messages ---------------------------------------------------------

_NAME_CHARS = [chr(c) for c in range(0x20, 0x7F) if chr(c) != "="]
_NAMES = st.text(alphabet=st.sampled_from(_NAME_CHARS), min_size=1, max_size=10).filter(
    lambda n: not n.startswith("(") and n != "auth")
# classic strings cannot hold NUL or 0x13, nor (inside structs) the depth symbols 0x14..
_CLASSIC_BYTES = [b for b in range(256) if b != 0 and not 0x13 <= b <= 0x24]


def _fields(classic):
    if classic:
        strings = st.lists(st.sampled_from(_CLASSIC_BYTES), max_size=24).map(bytes)
        element = st.lists(st.sampled_from(_CLASSIC_BYTES), min_size=1, max_size=6).map(
            bytes).filter(lambda e: b"\n" not in e)
    else:
        strings = st.binary(max_size=24)
        element = st.binary(min_size=1, max_size=6).filter(lambda e: b"\x00" not in e)
    return st.one_of(
        st.builds(Field, _NAMES, st.just(STRING), strings),
        st.builds(Field, _NAMES, st.just(BINARY), st.binary(max_size=20)),
        st.builds(Field, _NAMES, st.just(COMPRESSED), st.binary(max_size=20)),
        st.builds(Field, _NAMES, st.just(LIST),
                  st.lists(element, min_size=1, max_size=3).map(tuple)))


def _messages(classic):
    leaf = _fields(classic)
    base = st.lists(leaf, max_size=5).map(Message)

    def extend(children):
        struct = st.builds(Field, _NAMES, st.just(STRUCT), children)
        return st.lists(st.one_of(leaf, struct), max_size=5).map(Message)

    return st.recursive(base, extend, max_leaves=12)


@_fast(300)
@given(_messages(classic=False))
def test_generated_messages_round_trip_netstring(msg):
    for ring in (RING, CRC_RING):
        data = sign_netstring(msg, ring, inner=False)
        pkt = decode_verified(data, ring)
        assert pkt.message == msg
        assert sign_netstring(pkt.message, ring, inner=False) == data
        for cut in (len(data) - 1, len(data) // 2, 3):
            try:
                decode(data[:cut])
            except WireError as exc:
                assert exc.code != errors.INTERNAL
            else:
                raise AssertionError("a strict prefix decoded")


@_fast(300)
@given(_messages(classic=True))
def test_generated_messages_round_trip_classic_and_both_digests(msg):
    data = sign_classic(msg, RING)
    pkt = decode_verified(data, RING)
    assert pkt.format == CLASSIC and pkt.message.without("auth") == msg
    # netstring with both digests: the inner one needs the classic rendering too
    data = sign_netstring(msg, RING)
    pkt = decode_verified(data, RING)
    assert pkt.message.without("auth") == msg
    assert pkt.message.names()[-1] == "auth"
