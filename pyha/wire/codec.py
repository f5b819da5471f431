"""Byte codec for heartbeat messages: the netstring (`###`) and classic (`>>>`) formats.

Decoding turns one datagram into a `Packet` (the `Message`, which format it was, and for
netstring packets the trailer and the byte range it signs).  Encoding renders a `Message`
in either format; adding digests is `pyha.wire.auth`'s job.  Spec: heartbeat-compat.md
1.3, 1.4, 1.13.

The decoder is deliberately stricter than genuine heartbeat where heartbeat is merely
sloppy (it must never be stricter about anything a genuine node sends):

* netstring lengths must be canonical decimal (no sign, no leading zeros, at most 5
  digits) followed directly by ':'; every netstring must end with ','; nothing may follow
  the trailer; struct values must be exactly one nested `###..%%%` message;
* classic packets must contain the `<<<` line and may be followed by one NUL only; a NUL
  anywhere else, a "(0)" prefix (genuine rejects it too) or non-canonical base64 is an
  error;
* type digits are 0..4; field names are printable ASCII without '=' (see message.py);
* at most MAX_FIELDS fields plus list elements in total and MAX_DEPTH nesting levels.

Every failure is a `WireError`; any other exception would be a bug and is wrapped as code
``internal`` by `decode()` so a hostile packet can never take the daemon down.

No I/O, no clock, no third-party imports.
"""

import base64
import binascii
import re
from typing import Any, List, Optional, Tuple

from pyha.wire.errors import (
    BAD_BASE64, BAD_FIELD, BAD_FRAMING, BAD_LENGTH, BAD_LIST, BAD_NAME, BAD_TRAILER,
    BAD_TYPE, GARBAGE, INTERNAL, NO_TRAILER, TOO_BIG, TOO_DEEP, TOO_MANY_FIELDS,
    TRUNCATED, UNENCODABLE, WireError,
)
from pyha.wire.message import (
    BINARY, COMPRESSED, LIST, STRING, STRUCT, Field, Message, _show, check_name,
)

NETSTRING = "netstring"
CLASSIC = "classic"

MAX_DATAGRAM = 65507   # largest UDP payload over IPv4; heartbeat never fragments
MAX_FIELDS = 4096      # fields + list elements over all nesting levels of one datagram
MAX_DEPTH = 16         # heartbeat's MAXDEPTH: nested struct levels below the top message
_MAX_LEN_DIGITS = 5    # 65507 has five digits; longer lengths cannot fit a datagram

NS_START = b"###\n"
NS_END = b"%%%\n"
CL_START = b">>>\n"
CL_END = b"<<<\n"

_NL = b"\n"
_STRING_NL = b"\x13"   # a newline inside a classic string value (heartbeat SPECIAL_SYM)
# newline replacement for nested struct text at each depth (heartbeat SPECIAL_SYMS)
_STRUCT_NL = [bytes([20 + d]) for d in range(MAX_DEPTH)]

_TRAILER_RE = re.compile(br"(0|[1-9][0-9]?) ([0-9a-f]{1,128})\Z")
# "%%%\n" + the whole trailer netstring at the very end (find_trailer)
_TAIL_RE = re.compile(br"%%%\n([1-9][0-9]{0,2}):((0|[1-9][0-9]?) ([0-9a-f]{1,128})),\Z")
_TAIL_MAX = len(NS_END) + 3 + 1 + 2 + 1 + 128 + 1
_TYPE_PREFIX = [b"(%d)" % t for t in range(5)]


class Packet(object):
    """One decoded datagram.

    format          NETSTRING or CLASSIC
    message         the decoded Message (including any inner `auth` field)
    data            the datagram bytes
    signed_len      netstring: number of leading bytes the trailer signs (through
                    "%%%\\n"); classic: None
    trailer_index   netstring trailer's key index (int) or None
    trailer_digest  netstring trailer's lowercase hex digest (str) or None
    auth            an `AuthResult` once verified by `pyha.wire.auth`, else None
    """

    __slots__ = ("format", "message", "data", "signed_len", "trailer_index",
                 "trailer_digest", "auth")

    def __init__(self, fmt, message, data, signed_len=None, trailer_index=None,
                 trailer_digest=None):
        # type: (str, Message, bytes, Optional[int], Optional[int], Optional[str]) -> None
        self.format = fmt
        self.message = message
        self.data = data
        self.signed_len = signed_len
        self.trailer_index = trailer_index
        self.trailer_digest = trailer_digest
        self.auth = None  # type: Any

    @property
    def signed_bytes(self):
        # type: () -> Optional[bytes]
        if self.signed_len is None:
            return None
        return self.data[:self.signed_len]

    def __repr__(self):
        # type: () -> str
        return "Packet(%s, %d bytes, trailer=%r, %s)" % (
            self.format, len(self.data),
            None if self.trailer_index is None
            else "%d %s" % (self.trailer_index, self.trailer_digest),
            self.message.dump())


# ---------------------------------------------------------------------------------------
# decoding

def decode(data, require_trailer=True, max_fields=MAX_FIELDS):
    # type: (Any, bool, int) -> Packet
    """Decode one datagram (netstring or classic) into a Packet; raises only WireError.

    `require_trailer=False` accepts a netstring message without the auth trailer (what
    heartbeat writes on local IPC channels); network input always needs it.
    `max_fields` lowers the field budget (fields + list elements, all levels): the
    receive path parses unauthenticated classic packets with a small one.
    """
    if isinstance(data, (bytearray, memoryview)):
        data = bytes(data)
    elif not isinstance(data, bytes):
        raise TypeError("decode() needs bytes, not %s" % type(data).__name__)
    try:
        return _decode(data, require_trailer, max_fields)
    except WireError:
        raise
    except Exception as exc:  # pragma: no cover - a bug; keep the daemon alive
        raise WireError(INTERNAL, "decoder bug: %s: %s" % (type(exc).__name__, exc))


def decode_message(data):
    # type: (Any) -> Message
    """Just the Message of a datagram, trailer optional and unchecked."""
    return decode(data, require_trailer=False).message


def _decode(data, require_trailer, max_fields):
    # type: (bytes, bool, int) -> Packet
    n = len(data)
    if n > MAX_DATAGRAM:
        raise WireError(TOO_BIG, "datagram of %d bytes exceeds %d" % (n, MAX_DATAGRAM))
    budget = [max_fields, max_fields]  # [left, limit]
    if data.startswith(NS_START):
        msg, pos = _ns_message(data, 0, n, 0, budget)
        if pos == n:
            if require_trailer:
                raise WireError(NO_TRAILER, "netstring packet has no auth trailer",
                                offset=pos)
            return Packet(NETSTRING, msg, data, pos)
        index, digest = _ns_trailer(data, pos, n)
        return Packet(NETSTRING, msg, data, pos, index, digest)
    if data.startswith(CL_START):
        msg, pos = _cl_message(data, 0, budget, 0)
        rest = n - pos
        if rest and not (rest == 1 and data[pos] == 0):
            raise WireError(GARBAGE, "%d stray bytes after '<<<'" % rest, offset=pos)
        return Packet(CLASSIC, msg, data)
    if n < 4 and (NS_START.startswith(data) or CL_START.startswith(data)):
        raise WireError(TRUNCATED, "datagram of %d bytes is cut off" % n, offset=n)
    raise WireError(GARBAGE, "not a heartbeat message (starts with %s)" % _show(data[:8]),
                    offset=0)


def find_trailer(data):
    # type: (bytes) -> Optional[Tuple[int, int, str]]
    """(signed_len, key index, hex digest) of a netstring datagram, read from its end
    without parsing the body; None unless it starts with '###\\n' and ends with
    '%%%\\n' + a well-formed trailer.

    The trailer is the datagram's last netstring and its text holds no '%', so the last
    '%%%\\n' ends the bytes it signs whatever the body contains: the digest can be
    checked before any parsing.  A genuine packet decodes to the same signed_len.
    """
    if not data.startswith(NS_START):
        return None
    m = _TAIL_RE.search(data, max(len(NS_START), len(data) - _TAIL_MAX))
    if m is None or int(m.group(1)) != len(m.group(2)):
        return None
    return m.start() + len(NS_END), int(m.group(3)), m.group(4).decode("ascii")


def _ns_len(data, pos, end, what):
    # type: (bytes, int, int, str) -> Tuple[int, int]
    """Parse `LEN:` at pos; return (start, stop) of the payload; data[stop] is ','."""
    limit = min(end, pos + _MAX_LEN_DIGITS + 1)
    colon = data.find(b":", pos, limit)
    if colon < 0:
        head = data[pos:limit]
        if (limit == end == len(data) and len(head) <= _MAX_LEN_DIGITS
                and (not head or head.isdigit())):
            raise WireError(TRUNCATED, "%s: datagram ends inside a length" % what,
                            offset=end)
        raise WireError(BAD_LENGTH, "%s: bad netstring length %s at byte %d"
                        % (what, _show(head), pos), offset=pos)
    digits = data[pos:colon]
    if not digits.isdigit() or (digits[0] == 0x30 and len(digits) > 1):
        raise WireError(BAD_LENGTH, "%s: bad netstring length %s at byte %d"
                        % (what, _show(digits), pos), offset=pos)
    start = colon + 1
    stop = start + int(digits)
    if stop >= end:
        if end == len(data):
            raise WireError(TRUNCATED, "%s: length %s runs past the end of the datagram"
                            % (what, digits.decode("ascii")), offset=pos)
        raise WireError(BAD_LENGTH, "%s: length %s runs past the enclosing value"
                        % (what, digits.decode("ascii")), offset=pos)
    if data[stop] != 0x2C:  # ','
        raise WireError(BAD_FRAMING, "%s: netstring at byte %d not terminated by ','"
                        % (what, pos), offset=stop)
    return start, stop


def _ns_message(data, pos, end, depth, budget):
    # type: (bytes, int, int, int, List[int]) -> Tuple[Message, int]
    """Parse `###\\n *item %%%\\n` starting at pos (caller checked the start marker)."""
    pos += 4
    fields = []  # type: List[Field]
    while True:
        if pos >= end:
            if end == len(data):
                raise WireError(TRUNCATED, "datagram ends before '%%%'", offset=pos)
            raise WireError(BAD_FRAMING, "nested message has no '%%%' end", offset=pos)
        if data[pos] == 0x25:  # '%'
            if data.startswith(NS_END, pos, end):
                return Message._trusted(fields), pos + 4
            if end == len(data) and NS_END.startswith(data[pos:end]):
                raise WireError(TRUNCATED, "datagram ends inside '%%%'", offset=end)
            raise WireError(BAD_FRAMING, "bad end marker at byte %d" % pos, offset=pos)
        start, stop = _ns_len(data, pos, end, "field #%d" % len(fields))
        fields.append(_ns_field(data, start, stop, depth, budget, len(fields)))
        pos = stop + 1


def _ns_field(data, start, stop, depth, budget, idx):
    # type: (bytes, int, int, int, List[int], int) -> Field
    budget[0] -= 1
    if budget[0] < 0:
        raise WireError(TOO_MANY_FIELDS, "more than %d fields" % budget[1], offset=start)
    if stop - start < 5 or data[start] != 0x28 or data[start + 2] != 0x29:
        raise WireError(BAD_FIELD, "field #%d is not '(d)name=value': %s"
                        % (idx, _show(data[start:stop])), offset=start)
    ftype = data[start + 1] - 0x30
    if not 0 <= ftype <= 4:
        raise WireError(BAD_TYPE, "field #%d has type %s, not 0..4"
                        % (idx, _show(data[start + 1:start + 2])), offset=start + 1)
    eq = data.find(b"=", start + 3, stop)
    if eq < 0:
        raise WireError(BAD_FIELD, "field #%d has no '=': %s"
                        % (idx, _show(data[start:stop])), offset=start)
    try:
        name = check_name(data[start + 3:eq])
    except WireError as exc:
        raise WireError(BAD_NAME, "field #%d: %s" % (idx, exc.message), offset=start + 3)
    if ftype == STRING or ftype == BINARY or ftype == COMPRESSED:
        return Field(name, ftype, data[eq + 1:stop])
    if ftype == STRUCT:
        if depth >= MAX_DEPTH:
            raise WireError(TOO_DEEP, "field %r: structs nested deeper than %d"
                            % (name, MAX_DEPTH), field=name, offset=start)
        if not data.startswith(NS_START, eq + 1, stop):
            raise WireError(BAD_FRAMING, "struct field %r does not hold a '###' message"
                            % (name,), field=name, offset=eq + 1)
        child, after = _ns_message(data, eq + 1, stop, depth + 1, budget)
        if after != stop:
            raise WireError(BAD_FRAMING, "struct field %r: %d stray bytes after '%%%%%%'"
                            % (name, stop - after), field=name, offset=after)
        return Field(name, STRUCT, child)
    return Field(name, LIST, _unpack_list(data[eq + 1:stop], name, budget))


def _ns_trailer(data, pos, n):
    # type: (bytes, int, int) -> Tuple[int, str]
    try:
        start, stop = _ns_len(data, pos, n, "trailer")
    except WireError as exc:
        if exc.code == TRUNCATED:
            raise
        raise WireError(BAD_TRAILER, exc.message, offset=exc.offset)
    m = _TRAILER_RE.match(data[start:stop])
    if m is None:
        raise WireError(BAD_TRAILER, "trailer is not '<index> <lowercase hex>': %s"
                        % _show(data[start:stop]), offset=start)
    if stop + 1 != n:
        raise WireError(GARBAGE, "%d stray bytes after the trailer" % (n - stop - 1),
                        offset=stop + 1)
    return int(m.group(1)), m.group(2).decode("ascii")


def _unpack_list(value, name, budget):
    # type: (bytes, str, List[int]) -> Tuple[bytes, ...]
    """Type-3 value: one or more `len:elem,` netstrings, each element non-empty."""
    if not value:
        raise WireError(BAD_LIST, "list field %r is empty" % (name,), field=name)
    items = []
    pos = 0
    end = len(value)
    while pos < end:
        budget[0] -= 1
        if budget[0] < 0:
            raise WireError(TOO_MANY_FIELDS, "more than %d fields and list elements"
                            % budget[1], field=name)
        colon = value.find(b":", pos, pos + _MAX_LEN_DIGITS + 1)
        digits = value[pos:colon] if colon > pos else b""
        if not digits.isdigit() or digits[0] == 0x30:
            raise WireError(BAD_LIST, "list field %r: bad element length at %d"
                            % (name, pos), field=name)
        start = colon + 1
        stop = start + int(digits)
        if stop >= end or value[stop] != 0x2C:
            raise WireError(BAD_LIST, "list field %r: element at %d is not 'len:elem,'"
                            % (name, pos), field=name)
        item = value[start:stop]
        if b"\x00" in item:
            raise WireError(BAD_LIST, "list field %r: NUL in element" % (name,), field=name)
        items.append(item)
        pos = stop + 1
    return tuple(items)


def _cl_message(text, depth, budget, base):
    # type: (bytes, int, List[int], int) -> Tuple[Message, int]
    """Parse `>>>\\n *line <<<\\n` at the start of text; returns (message, end pos).

    `base` is text's offset in the datagram (0 at top level) for error offsets; nested
    struct text has been un-escaped, so its offsets are approximate.
    """
    pos = 4
    end = len(text)
    fields = []  # type: List[Field]
    while True:
        if pos >= end:
            if depth == 0:
                raise WireError(TRUNCATED, "datagram ends before '<<<'", offset=base + pos)
            raise WireError(BAD_FRAMING, "nested message has no '<<<' line",
                            offset=base + pos)
        if text[pos] == 0x0A:  # empty lines are skipped, as heartbeat does
            pos += 1
            continue
        if text.startswith(CL_END, pos):
            return Message._trusted(fields), pos + 4
        nl = text.find(_NL, pos)
        if nl < 0:
            if depth == 0:
                raise WireError(TRUNCATED, "datagram ends inside a line",
                                offset=base + end)
            raise WireError(BAD_FRAMING, "nested message has an unterminated line",
                            offset=base + pos)
        fields.append(_cl_field(text[pos:nl], depth, budget, len(fields), base + pos))
        pos = nl + 1


def _cl_field(line, depth, budget, idx, offset):
    # type: (bytes, int, List[int], int, int) -> Field
    budget[0] -= 1
    if budget[0] < 0:
        raise WireError(TOO_MANY_FIELDS, "more than %d fields" % budget[1], offset=offset)
    if b"\x00" in line:
        raise WireError(BAD_FIELD, "line #%d contains a NUL byte" % idx, offset=offset)
    ftype = STRING
    body = line
    if line[:1] == b"(":
        if len(line) < 3 or line[2] != 0x29:
            raise WireError(BAD_FIELD, "line #%d: bad type prefix %s"
                            % (idx, _show(line[:3])), offset=offset)
        ftype = line[1] - 0x30
        if not 1 <= ftype <= 4:
            raise WireError(BAD_TYPE, "line #%d: type %s is not 1..4"
                            % (idx, _show(line[1:2])), offset=offset + 1)
        body = line[3:]
    eq = body.find(b"=")
    if eq < 0:
        raise WireError(BAD_FIELD, "line #%d has no '=': %s" % (idx, _show(line)),
                        offset=offset)
    try:
        name = check_name(body[:eq])
    except WireError as exc:
        raise WireError(BAD_NAME, "line #%d: %s" % (idx, exc.message), offset=offset)
    raw = body[eq + 1:]
    if ftype == STRING:
        return Field(name, STRING, raw.replace(_STRING_NL, _NL))
    if ftype == BINARY or ftype == COMPRESSED:
        return Field(name, ftype, _b64decode(raw, name))
    if ftype == STRUCT:
        if depth >= MAX_DEPTH:
            raise WireError(TOO_DEEP, "field %r: structs nested deeper than %d"
                            % (name, MAX_DEPTH), field=name, offset=offset)
        child_text = raw.replace(_STRUCT_NL[depth], _NL)
        if not child_text.startswith(CL_START):
            raise WireError(BAD_FRAMING, "struct field %r does not hold a '>>>' message"
                            % (name,), field=name, offset=offset)
        child, after = _cl_message(child_text, depth + 1, budget, offset)
        if after != len(child_text):
            raise WireError(BAD_FRAMING, "struct field %r: stray bytes after '<<<'"
                            % (name,), field=name, offset=offset)
        return Field(name, STRUCT, child)
    return Field(name, LIST, _unpack_list(raw, name, budget))


def _b64decode(raw, name):
    # type: (bytes, str) -> bytes
    try:
        value = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        value = None
    # Only the canonical form: genuine senders produce nothing else.
    if value is None or base64.b64encode(value) != raw:
        raise WireError(BAD_BASE64, "field %r: bad base64 %s" % (name, _show(raw)),
                        field=name)
    return value


# ---------------------------------------------------------------------------------------
# encoding

def encode_netstring(msg, _depth=0):
    # type: (Message, int) -> bytes
    """`###\\n` + one netstring per field + `%%%\\n` (no trailer)."""
    parts = [NS_START]
    for f in msg._fields:
        ftype = f.type
        if ftype == STRUCT:
            if _depth >= MAX_DEPTH:
                raise WireError(TOO_DEEP, "field %r: structs nested deeper than %d"
                                % (f.name, MAX_DEPTH), field=f.name)
            value = encode_netstring(f.value, _depth + 1)
        elif ftype == LIST:
            value = _pack_list(f.value)
        else:
            value = f.value
        item = b"".join((_TYPE_PREFIX[ftype], f.name.encode("ascii"), b"=", value))
        parts.append(b"%d:" % len(item))
        parts.append(item)
        parts.append(b",")
    parts.append(NS_END)
    return b"".join(parts)


def netstring_trailer(index, digest):
    # type: (int, str) -> bytes
    """The auth trailer `LEN:<index> <digest>,`."""
    body = ("%d %s" % (index, digest)).encode("ascii")
    return b"%d:%s," % (len(body), body)


def _pack_list(items):
    # type: (Tuple[bytes, ...]) -> bytes
    return b"".join(b"%d:%s," % (len(item), item) for item in items)


def classic_text(msg, skip_auth=False, _depth=0):
    # type: (Message, bool, int) -> bytes
    """The `name=value\\n` lines of msg (no `>>>`/`<<<`).

    With skip_auth=True this is exactly the text heartbeat's inner `auth` digest covers
    (every top-level field except `auth`, spec 1.5).  Raises WireError("unencodable")
    for values the classic format cannot carry faithfully: NUL or byte 0x13 in a string,
    newline or NUL in a list element, a nested struct whose text contains its depth's
    newline substitute.
    """
    out = []
    for f in msg._fields:
        name = f.name
        if skip_auth and name == "auth":
            continue
        ftype = f.type
        if ftype == STRING:
            value = f.value
            if b"\x00" in value or _STRING_NL in value:
                raise WireError(UNENCODABLE, "string field %r holds a NUL or 0x13 byte, "
                                "which the classic format cannot carry" % (name,),
                                field=name)
            value = value.replace(_NL, _STRING_NL)
            out.append(b"".join((name.encode("ascii"), b"=", value, _NL)))
            continue
        if ftype == BINARY or ftype == COMPRESSED:
            value = base64.b64encode(f.value)
        elif ftype == STRUCT:
            if _depth >= MAX_DEPTH:
                raise WireError(TOO_DEEP, "field %r: structs nested deeper than %d"
                                % (name, MAX_DEPTH), field=name)
            child = b"".join((CL_START, classic_text(f.value, False, _depth + 1), CL_END))
            sym = _STRUCT_NL[_depth]
            if sym in child:
                raise WireError(UNENCODABLE, "struct field %r contains byte 0x%02x, the "
                                "classic newline substitute at its depth"
                                % (name, sym[0]), field=name)
            value = child.replace(_NL, sym)
        else:
            for item in f.value:
                if _NL in item:
                    raise WireError(UNENCODABLE, "list field %r has a newline in an "
                                    "element" % (name,), field=name)
            value = _pack_list(f.value)
        out.append(b"".join((_TYPE_PREFIX[ftype], name.encode("ascii"), b"=", value, _NL)))
    return b"".join(out)


def encode_classic(msg, nul=False):
    # type: (Message, bool) -> bytes
    """`>>>\\n` + classic_text(msg) + `<<<\\n`, plus a NUL if `nul` (old senders did)."""
    return b"".join((CL_START, classic_text(msg), CL_END, b"\x00" if nul else b""))
