"""Genuine heartbeat 3.0.6 packets: decode, verify, re-encode and rebuild byte for byte.

Test vectors live next to the repository in ../shared/spec/captures (override with
PYHA_CAPTURES_DIR): the six `*.bin` files described by manifest.json and the full pcaps
they came from.  Without that directory these tests are skipped.
"""

import binascii
import json
import os
import struct

import pytest

from pyha.wire import (
    BINARY, NETSTRING, Keyring, WireError, classic_text, decode, decode_verified,
    sign_classic, sign_netstring, verify_inner,
)
from pyha.wire import control, errors

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CAPTURES = os.environ.get("PYHA_CAPTURES_DIR") or os.path.join(
    os.path.dirname(REPO), "shared", "spec", "captures")
MANIFEST = os.path.join(CAPTURES, "manifest.json")

pytestmark = pytest.mark.skipif(
    not os.path.isfile(MANIFEST),
    reason="genuine capture vectors not found at %s (set PYHA_CAPTURES_DIR)" % CAPTURES)


def _manifest():
    if not os.path.isfile(MANIFEST):
        return []
    with open(MANIFEST) as fh:
        return json.load(fh)


ENTRIES = _manifest()
IDS = [e["file"].split("_")[0] for e in ENTRIES]
BINARY_FIELDS = ("srcuuid", "destuuid")


def _data(entry):
    with open(os.path.join(CAPTURES, entry["file"]), "rb") as fh:
        return fh.read()


def _keyring(entry):
    index = entry["auth_index"]
    if entry["auth_method"] == "crc":
        return Keyring.from_mapping(index, {index: "crc"})
    return Keyring.from_mapping(index, {index: (entry["auth_method"], entry["key"])})


def _fields(msg):
    out = []
    for f in msg:
        value = f.value
        out.append([f.name, binascii.hexlify(value).decode() if f.type == BINARY
                    else value.decode()])
    return out


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_capture_decodes_to_manifest_fields(entry):
    data = _data(entry)
    pkt = decode(data)
    assert len(data) == entry["payload_len"]
    assert pkt.format == NETSTRING
    assert pkt.signed_len == entry["netstring_body_len"]
    assert _fields(pkt.message) == entry["fields"]
    for name in BINARY_FIELDS:
        if name in pkt.message:
            assert pkt.message.field(name).type == BINARY
    assert "%d %s" % (pkt.trailer_index, pkt.trailer_digest) == entry["trailer"]
    assert pkt.message.get("auth") == entry["inner_auth"]
    assert classic_text(pkt.message, skip_auth=True).decode("ascii") == \
        entry["classic_string_for_inner_auth"]


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_capture_digests_verify(entry):
    ring = _keyring(entry)
    pkt = decode_verified(_data(entry), ring)
    assert (pkt.auth.where, pkt.auth.index, pkt.auth.method, pkt.auth.matched) == (
        "trailer", entry["auth_index"], entry["auth_method"], "index")
    inner = verify_inner(pkt.message, ring)
    assert (inner.index, inner.method) == (entry["auth_index"], entry["auth_method"])


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_capture_re_encodes_exactly(entry):
    data = _data(entry)
    ring = _keyring(entry)
    msg = decode(data).message
    assert sign_netstring(msg, ring) == data  # auth replaced in place
    assert sign_netstring(msg.without("auth"), ring) == data  # auth appended
    # the classic twin carries the same inner digest and verifies
    classic = sign_classic(msg, ring)
    assert classic.startswith(b">>>\n" + entry["classic_string_for_inner_auth"].encode())
    assert ("auth=" + entry["inner_auth"] + "\n<<<\n").encode() in classic
    assert decode_verified(classic, ring).message == msg


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_capture_truncated_at_every_offset(entry):
    data = _data(entry)
    for cut in range(len(data)):
        with pytest.raises(WireError) as exc:
            decode(data[:cut])
        assert exc.value.code in errors.ALL_CODES and exc.value.code != errors.INTERNAL


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_capture_every_bit_flip_is_rejected(entry):
    data = _data(entry)
    ring = _keyring(entry)
    for i in range(len(data)):
        for bit in range(8):
            flipped = bytearray(data)
            flipped[i] ^= 1 << bit
            with pytest.raises(WireError) as exc:
                decode_verified(bytes(flipped), ring)
            assert exc.value.code != errors.INTERNAL


def test_capture_key_rotation_with_the_cap04_keyring():
    # cap04 was sent with `auth 3` of {1 crc, 2 md5 specsecret, 3 sha1 spec-sha1-key}
    entry = [e for e in ENTRIES if e["file"].startswith("cap04")][0]
    full = Keyring.from_mapping(1, {1: "crc", 2: ("md5", "specsecret"),
                                    3: ("sha1", "spec-sha1-key")})
    pkt = decode_verified(_data(entry), full)
    assert (pkt.auth.index, pkt.auth.matched) == (3, "index")


# ---------------------------------------------------------------------------------------
# rebuilding genuine packets with the builders of pyha.wire.control

def rebuild(msg):
    """Rebuild a genuine message with pyha's builders and control fields; None when pyha
    does not build that kind of message (API-client traffic, ipfail, queries)."""
    g = msg.get
    t = g("t")
    if "from_id" in msg or "client_gen" in msg:
        return None  # written by an API client (ipfail), not by heartbeat itself
    if t == "status":
        built = control.status(g("st"), msg.get_hex("dt"), protocol="protocol" in msg)
    elif t == "NS_ackmsg":
        built = control.ns_ackmsg(g("dest"), msg.get_hex("ackseq"))
    elif t == "NS_rexmit":
        built = control.ns_rexmit(g("dest"), msg.get_dec("firstseq"), msg.get_dec("lastseq"))
    elif t == "NS_nak_rexmit":
        built = control.ns_nak_rexmit(g("dest"), msg.get_hex("firstseq"), g("info"))
    elif t == "reqnodes":
        built = control.reqnodes(g("dest"))
    elif t == "repnodes":
        built = control.repnodes(g("dest"), g("nodelist").split(), g("delnodelist").split())
    elif t == "starting":
        built = control.starting()
    elif t == "resource":
        if "rtype" not in msg and g("info") == control.INFO_MACH_DOWN:
            built = control.resource_mach_down()
        else:
            built = control.resource(g("rsc_hold"), g("isstable") == "1", g("info"))
    elif t == "ask_resources":
        built = control.ask_resources(g("rsc_hold"), g("info"))
    elif t == "hb_takeover":
        built = control.hb_takeover(g("rsc_hold"))
    elif t == "shutdone":
        built = control.shutdone()
    elif t == "ip-request-resp":
        built = control.ip_request_resp(g("dest"), g("ipaddr"), g("weown") == "yes", g("ok"))
    elif t == "stonith":
        built = control.stonith(g("node"), g("result"))
    elif t == "respond-cstatus":
        built = control.respond_cstatus(g("dest"), g("cn"), g("to_id"), g("cs") == "online")
    elif t == "NS_st":
        return control.ns_st_ping(g("src"), msg.get_hex("ts"))  # no control fields
    else:
        return None
    sender = control.Sender(g("src"), msg.get_bytes("srcuuid"), msg.get_hex("hg"),
                            msg.get_dec("ttl"))
    return control.add_control_fields(built, sender, ts=msg.get_hex("ts"),
                                      seq=msg.get_hex("seq", None), ld=g("ld", "n/a"),
                                      destuuid=msg.get_bytes("destuuid"))


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_capture_rebuilt_by_builders(entry):
    data = _data(entry)
    msg = decode(data).message
    assert sign_netstring(rebuild(msg), _keyring(entry)) == data


# ---------------------------------------------------------------------------------------
# every heartbeat datagram of the full pcaps

_MD5 = {1: ("md5", "specsecret")}
_THREE = {1: "crc", 2: ("md5", "specsecret"), 3: ("sha1", "spec-sha1-key")}
PCAP_KEYS = {  # from captures/README.md
    "t2.pcap": Keyring.from_mapping(1, _MD5),
    "t7.pcap": Keyring.from_mapping(3, _THREE),
    "t8.pcap": Keyring.from_mapping(1, _THREE),
    "t11.pcap": Keyring.from_mapping(1, _MD5),
    "t15.pcap": Keyring.from_mapping(1, _MD5),
}


def _pcap_payloads(path):
    """UDP payloads and ICMP echo data of an Ethernet/IPv4 pcap (no other decoding)."""
    with open(path, "rb") as fh:
        raw = fh.read()
    endian = "<" if raw[:4] == b"\xd4\xc3\xb2\xa1" else ">"
    assert struct.unpack(endian + "I", raw[20:24])[0] == 1, "expected Ethernet"
    off = 24
    while off + 16 <= len(raw):
        _, _, incl, orig = struct.unpack(endian + "IIII", raw[off:off + 16])
        frame = raw[off + 16:off + 16 + incl]
        off += 16 + incl
        if incl != orig or frame[12:14] != b"\x08\x00":
            continue
        ip = frame[14:]
        ihl = (ip[0] & 15) * 4
        ip = ip[:struct.unpack(">H", ip[2:4])[0]]
        if ip[9] == 17:
            yield ip[ihl + 8:]
        elif ip[9] == 1 and ip[ihl] in (0, 8):  # echo request/reply, not unreachables
            yield ip[ihl + 8:]


@pytest.mark.parametrize("pcap", sorted(PCAP_KEYS))
def test_pcap_every_packet(pcap):
    path = os.path.join(CAPTURES, "pcap", pcap)
    if not os.path.isfile(path):
        pytest.skip("%s not present" % path)
    ring = PCAP_KEYS[pcap]
    seen = rebuilt = 0
    for payload in _pcap_payloads(path):
        if not payload.startswith(b"###"):
            continue
        seen += 1
        pkt = decode_verified(payload, ring)
        msg = pkt.message
        inner = "auth" in msg
        if inner:
            verify_inner(msg, ring)
        assert sign_netstring(msg, ring, inner=inner) == payload
        built = rebuild(msg)
        if built is not None:
            assert sign_netstring(built, ring, inner=inner) == payload, msg.dump()
            rebuilt += 1
    assert seen >= 70 and rebuilt >= seen - 10
