"""Seed packets for the wire fuzzers, shared by tests/unit/test_wire_fuzz.py and the
long campaign bench/fuzz_wire.py: the keyrings of the genuine captures and synthetic
messages that reach every field type and both formats."""

from pyha.wire import (
    BINARY, COMPRESSED, LIST, STRUCT, Field, Keyring, Message, control, sign_classic,
    sign_netstring,
)

RING = Keyring.from_mapping(1, {1: ("md5", "specsecret"), 2: "crc",
                                3: ("sha1", "spec-sha1-key")})
CRC_RING = Keyring.from_mapping(2, {1: ("md5", "specsecret"), 2: "crc"})


def synthetic_seeds():
    sender = control.Sender("hbnode1", b"\xe9" * 16, 0x6b0a29f8)
    nested = Message([("t", "x"), Field("kid", STRUCT, Message([
        ("a", "1\n2"), Field("l", LIST, (b"p", b"qq")),
        Field("g", STRUCT, Message([Field("b", BINARY, b"\x00\xff")]))])),
        Field("z", COMPRESSED, b"\x78\x9c\x03\x00")])
    msgs = [control.add_control_fields(control.status("active", 6000), sender, ts=7, seq=9),
            control.add_control_fields(control.ns_rexmit("hbnode2", 35), sender, ts=7,
                                       destuuid=b"\xaf" * 16),
            control.add_control_fields(control.repnodes("n2", ["n1", "n2"]), sender, ts=1,
                                       seq=2),
            nested]
    seeds = []
    for msg in msgs:
        seeds.append(sign_netstring(msg, RING))
        seeds.append(sign_netstring(msg, CRC_RING, inner=False))
        seeds.append(sign_classic(msg, RING, nul=True))
    return seeds
