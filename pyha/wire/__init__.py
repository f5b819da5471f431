"""Heartbeat 3 wire format: message model, netstring/classic codec, authentication.

Pure: no sockets, clocks, files or third-party imports.  Everything that goes wrong with
input is a `WireError` with a machine code (see `pyha.wire.errors`).

Receive path::

    packet = decode_verified(datagram, keyring)   # WireError -> drop and log
    msg = packet.message; msg.get("t"); msg.get_hex("seq")

Send path::

    msg = control.status("active", 6000)
    control.add_control_fields(msg, sender, ts=int(wall_clock), seq=next_seq)
    datagram = sign_netstring(msg, keyring)
"""

from pyha.wire.errors import WireError
from pyha.wire.message import (
    BINARY, COMPRESSED, FIELD_TYPES, LIST, STRING, STRUCT, Field, Message, parse_dec,
    parse_hex,
)
from pyha.wire.codec import (
    CLASSIC, MAX_DATAGRAM, MAX_DEPTH, MAX_FIELDS, NETSTRING, Packet, classic_text, decode,
    decode_message, encode_classic, encode_netstring, netstring_trailer,
)
from pyha.wire.auth import (
    CRC, MD5, METHODS, SHA1, AuthResult, Key, Keyring, compute_digest, crc32_posix,
    decode_verified, inner_auth_value, sign_classic, sign_netstring, verify, verify_inner,
    verify_trailer, with_inner_auth,
)
from pyha.wire import control

__all__ = [
    "WireError",
    "BINARY", "COMPRESSED", "FIELD_TYPES", "LIST", "STRING", "STRUCT", "Field", "Message",
    "parse_dec", "parse_hex",
    "CLASSIC", "MAX_DATAGRAM", "MAX_DEPTH", "MAX_FIELDS", "NETSTRING", "Packet",
    "classic_text", "decode", "decode_message", "encode_classic", "encode_netstring",
    "netstring_trailer",
    "CRC", "MD5", "METHODS", "SHA1", "AuthResult", "Key", "Keyring", "compute_digest",
    "crc32_posix", "decode_verified", "inner_auth_value", "sign_classic", "sign_netstring",
    "verify", "verify_inner", "verify_trailer", "with_inner_auth",
    "control",
]
