"""The heartbeat message model: an ordered list of typed fields with first-match lookup.

A message is what heartbeat calls `struct ha_msg`: fields `(name, type, value)` in wire
order.  Order matters for digests (they cover the fields as they appear), lookups use the
first field with a name, and "set" replaces that field in place or appends (heartbeat's
`ha_msg_mod`, spec 1.6).

Representation (chosen so that every received byte survives a decode/encode round trip):

* names are `str` limited to printable ASCII without ``=`` and not starting with ``(``
  (every genuine field name fits; anything else is refused as ``bad-name``);
* type 0 (string), 1 (binary) and 4 (compressed) values are `bytes`, exactly as on the
  wire: string values may be any bytes, including invalid UTF-8;
* type 2 (struct) values are nested `Message` objects; type 3 (list) values are tuples of
  non-empty `bytes` elements.

Text access is strict on purpose: `get()` decodes UTF-8 and raises `WireError("bad-utf8")`
naming the field rather than handing out surrogate-escaped strings that would blow up
later in a log line or a file name.  `get_bytes()` returns the raw value, `dump()` gives
a printable rendering for logs.

Pure data: no I/O, no clock, no third-party imports.
"""

import binascii
import re
from collections import namedtuple
from typing import Any, Iterable, Iterator, List, Optional, Tuple

from pyha.wire.errors import (
    BAD_NAME, BAD_NUMBER, BAD_UTF8, MISSING_FIELD, WRONG_TYPE, WireError,
)

STRING = 0
BINARY = 1
STRUCT = 2
LIST = 3
COMPRESSED = 4
FIELD_TYPES = (STRING, BINARY, STRUCT, LIST, COMPRESSED)
_BYTES_TYPES = (STRING, BINARY, COMPRESSED)

# Printable ASCII except '='; the first byte may not be '(' (it would read as a type
# prefix on a classic line).  Space is allowed: heartbeat never forbids it.
_NAME_RE = re.compile(br"[\x20-\x27\x29-\x3c\x3e-\x7e][\x20-\x3c\x3e-\x7e]*\Z")
_HEX_RE = re.compile(br"[0-9a-fA-F]{1,16}\Z")
_DEC_RE = re.compile(br"[0-9]{1,20}\Z")

# Decoding the same few dozen names in every packet: cache bytes -> str (bounded).
_NAME_CACHE = {}  # type: dict
_NAME_CACHE_MAX = 1024

Field = namedtuple("Field", "name type value")
Field.__doc__ = "One message field: name (str), type (0..4), value (bytes/Message/tuple)."

_MISSING = object()


def check_name(raw):
    # type: (bytes) -> str
    """Validate a field name as it appears on the wire and return it as `str`."""
    name = _NAME_CACHE.get(raw)
    if name is not None:
        return name
    if not _NAME_RE.match(raw):
        raise WireError(BAD_NAME, "illegal field name %s" % _show(raw))
    name = raw.decode("ascii")
    if len(_NAME_CACHE) < _NAME_CACHE_MAX:
        _NAME_CACHE[raw] = name
    return name


def _name_arg(name):
    # type: (Any) -> str
    if not isinstance(name, str):
        raise TypeError("field name must be str, not %s" % type(name).__name__)
    try:
        raw = name.encode("ascii")
    except UnicodeEncodeError:
        raise WireError(BAD_NAME, "illegal field name %r (not ASCII)" % (name,), field=name)
    check_name(raw)
    return name


def _show(raw, limit=40):
    # type: (bytes, int) -> str
    """Printable, bounded rendering of untrusted bytes for error messages and logs."""
    text = repr(bytes(raw[:limit]))[2:-1]
    if len(raw) > limit:
        text += "...(%d bytes)" % len(raw)
    return "'%s'" % text


def _coerce_value(name, ftype, value):
    # type: (str, int, Any) -> Any
    """Turn a builder-friendly value into the internal representation for `ftype`."""
    if ftype in _BYTES_TYPES:
        if isinstance(value, str):
            return value.encode("utf-8")
        if isinstance(value, (bytes, bytearray, memoryview)):
            return bytes(value)
        raise TypeError("field %r: value must be str or bytes, not %s"
                        % (name, type(value).__name__))
    if ftype == STRUCT:
        if not isinstance(value, Message):
            raise TypeError("field %r: struct value must be a Message" % (name,))
        return value
    if ftype == LIST:
        items = []
        for item in value:
            if isinstance(item, str):
                item = item.encode("utf-8")
            elif isinstance(item, (bytes, bytearray, memoryview)):
                item = bytes(item)
            else:
                raise TypeError("field %r: list elements must be str or bytes" % (name,))
            if not item or b"\x00" in item:
                raise ValueError("field %r: list elements must be non-empty, without NUL"
                                 % (name,))
            items.append(item)
        if not items:
            raise ValueError("field %r: a list needs at least one element" % (name,))
        return tuple(items)
    raise ValueError("field %r: unknown field type %r" % (name, ftype))


def _guess_type(value):
    # type: (Any) -> int
    if isinstance(value, Message):
        return STRUCT
    if isinstance(value, (list, tuple)):
        return LIST
    return STRING


def parse_hex(raw, name="value"):
    # type: (bytes, str) -> int
    """Parse a hex number field (seq, hg, ts, dt, ackseq, NS_nak_rexmit firstseq)."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "replace")
    if not _HEX_RE.match(raw):
        raise WireError(BAD_NUMBER, "field %r: %s is not a hex number" % (name, _show(raw)),
                        field=name)
    return int(raw, 16)


def parse_dec(raw, name="value"):
    # type: (bytes, str) -> int
    """Parse a decimal number field (ttl, protocol, NS_rexmit firstseq/lastseq)."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "replace")
    if not _DEC_RE.match(raw):
        raise WireError(BAD_NUMBER,
                        "field %r: %s is not a decimal number" % (name, _show(raw)),
                        field=name)
    return int(raw, 10)


class Message(object):
    """Ordered, typed fields; see the module docstring for value representations.

    `Message([("t", "status"), ("st", "active")])` builds string fields; pass `Field`
    tuples (or use `set(..., ftype=BINARY)`) for other types.
    """

    __slots__ = ("_fields",)

    def __init__(self, fields=None):
        # type: (Optional[Iterable[Any]]) -> None
        self._fields = []  # type: List[Field]
        if fields is not None:
            for item in fields:
                if isinstance(item, Field):
                    self.add(item.name, item.value, item.type)
                else:
                    name, value = item
                    self.add(name, value)

    @classmethod
    def _trusted(cls, fields):
        # type: (List[Field]) -> Message
        """Wrap already validated fields (decoder fast path)."""
        msg = cls.__new__(cls)
        msg._fields = fields
        return msg

    # -- container protocol --------------------------------------------------------
    @property
    def fields(self):
        # type: () -> Tuple[Field, ...]
        return tuple(self._fields)

    def __len__(self):
        # type: () -> int
        return len(self._fields)

    def __iter__(self):
        # type: () -> Iterator[Field]
        return iter(list(self._fields))

    def __contains__(self, name):
        # type: (object) -> bool
        return self.index(name) >= 0  # type: ignore

    def __eq__(self, other):
        # type: (object) -> bool
        if not isinstance(other, Message):
            return NotImplemented
        return self._fields == other._fields

    def __ne__(self, other):
        # type: (object) -> bool
        result = self.__eq__(other)
        if result is NotImplemented:
            return result
        return not result

    __hash__ = None  # type: ignore  # mutable

    def __repr__(self):
        # type: () -> str
        return "Message(%s)" % self.dump()

    def copy(self):
        # type: () -> Message
        """Deep enough copy: nested structs are copied, bytes are immutable anyway."""
        out = []
        for f in self._fields:
            if f.type == STRUCT:
                f = Field(f.name, STRUCT, f.value.copy())
            out.append(f)
        return Message._trusted(out)

    def names(self):
        # type: () -> List[str]
        return [f.name for f in self._fields]

    # -- lookup ----------------------------------------------------------------------
    def index(self, name):
        # type: (str) -> int
        """Position of the first field called `name`, or -1."""
        for i, f in enumerate(self._fields):
            if f.name == name:
                return i
        return -1

    def field(self, name):
        # type: (str) -> Optional[Field]
        """The first field called `name` (any type), or None."""
        for f in self._fields:
            if f.name == name:
                return f
        return None

    def _typed(self, name, types, default):
        # type: (str, Tuple[int, ...], Any) -> Any
        f = self.field(name)
        if f is None:
            if default is _MISSING:
                raise WireError(MISSING_FIELD, "field %r is missing" % (name,), field=name)
            return default
        if f.type not in types:
            raise WireError(WRONG_TYPE, "field %r has type %d, expected %s"
                            % (name, f.type, "/".join(str(t) for t in types)), field=name)
        return f

    def get(self, name, default=None):
        # type: (str, Any) -> Any
        """Value of the first string field `name` as text (strict UTF-8), else `default`.

        Raises WireError("bad-utf8") if the bytes are not UTF-8 and ("wrong-type") if the
        field is not a string field.
        """
        f = self._typed(name, (STRING,), None)
        if f is None:
            return default
        try:
            return f.value.decode("utf-8")
        except UnicodeDecodeError:
            raise WireError(BAD_UTF8, "field %r is not valid UTF-8: %s"
                            % (name, _show(f.value)), field=name)

    def require(self, name):
        # type: (str) -> str
        """Like `get()` but a missing field raises WireError("missing-field")."""
        value = self.get(name, _MISSING)
        if value is _MISSING:
            raise WireError(MISSING_FIELD, "field %r is missing" % (name,), field=name)
        return value

    def get_bytes(self, name, default=None):
        # type: (str, Any) -> Any
        """Raw value of the first string/binary/compressed field `name`, else `default`."""
        f = self._typed(name, _BYTES_TYPES, None)
        return default if f is None else f.value

    def get_struct(self, name, default=None):
        # type: (str, Any) -> Any
        f = self._typed(name, (STRUCT,), None)
        return default if f is None else f.value

    def get_list(self, name, default=None):
        # type: (str, Any) -> Any
        """Elements of the first list field `name` as text (strict UTF-8), else `default`."""
        f = self._typed(name, (LIST,), None)
        if f is None:
            return default
        try:
            return [item.decode("utf-8") for item in f.value]
        except UnicodeDecodeError:
            raise WireError(BAD_UTF8, "list field %r is not valid UTF-8" % (name,),
                            field=name)

    def get_hex(self, name, default=_MISSING):
        # type: (str, Any) -> Any
        """First string field `name` parsed as lowercase/uppercase hex (no 0x, <= 16 digits)."""
        f = self._typed(name, (STRING,), default)
        if not isinstance(f, Field):
            return f
        return parse_hex(f.value, name)

    def get_dec(self, name, default=_MISSING):
        # type: (str, Any) -> Any
        """First string field `name` parsed as a decimal number (<= 20 digits)."""
        f = self._typed(name, (STRING,), default)
        if not isinstance(f, Field):
            return f
        return parse_dec(f.value, name)

    # -- modification ------------------------------------------------------------------
    def add(self, name, value, ftype=None):
        # type: (str, Any, Optional[int]) -> Message
        """Append a field (even if the name exists).  Returns self for chaining."""
        name = _name_arg(name)
        if ftype is None:
            ftype = _guess_type(value)
        self._fields.append(Field(name, ftype, _coerce_value(name, ftype, value)))
        return self

    def set(self, name, value, ftype=None):
        # type: (str, Any, Optional[int]) -> Message
        """Replace the first field `name` in place (type too), or append it (ha_msg_mod)."""
        name = _name_arg(name)
        if ftype is None:
            ftype = _guess_type(value)
        new = Field(name, ftype, _coerce_value(name, ftype, value))
        i = self.index(name)
        if i >= 0:
            self._fields[i] = new
        else:
            self._fields.append(new)
        return self

    def remove(self, name):
        # type: (str) -> int
        """Delete every field called `name`; returns how many were removed."""
        before = len(self._fields)
        self._fields = [f for f in self._fields if f.name != name]
        return before - len(self._fields)

    def without(self, name):
        # type: (str) -> Message
        """A copy without any field called `name`."""
        msg = self.copy()
        msg.remove(name)
        return msg

    # -- display -----------------------------------------------------------------------
    def dump(self):
        # type: () -> str
        """One-line printable rendering for logs; binary values shown as hex."""
        parts = []
        for f in self._fields:
            if f.type == STRING:
                text = f.value.decode("utf-8", "backslashreplace")
                text = "".join(c if c.isprintable() else "\\x%02x" % ord(c)
                               if ord(c) < 256 else "\\u%04x" % ord(c) for c in text)
                if " " in text or not text:
                    text = '"%s"' % text
                parts.append("%s=%s" % (f.name, text))
            elif f.type in (BINARY, COMPRESSED):
                parts.append("(%d)%s=<%s>" % (f.type, f.name,
                                              binascii.hexlify(f.value[:32]).decode("ascii")
                                              + ("..." if len(f.value) > 32 else "")))
            elif f.type == STRUCT:
                parts.append("(2)%s={%s}" % (f.name, f.value.dump()))
            else:
                parts.append("(3)%s=[%s]" % (f.name, ", ".join(_show(v) for v in f.value)))
        return " ".join(parts)

