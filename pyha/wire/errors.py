"""The single exception type of the wire layer and its machine-readable codes.

Every problem with bytes that came off the network (or with a message that cannot be put
on it) is reported as `WireError(code, message)`.  Callers branch on `code`, humans read
`message`.  The decoder never lets any other exception escape for any byte input; if an
unexpected internal error happens anyway it is wrapped as code ``internal`` so the daemon
still only drops the packet (tests and the fuzz campaign treat ``internal`` as a bug).

This module must never import anything from the rest of pyha.
"""

from typing import Optional

# Framing / size
TOO_BIG = "too-big"                  # datagram larger than a UDP payload can be
TRUNCATED = "truncated"              # input ends before the structure is complete
GARBAGE = "garbage"                  # unknown start marker, stray bytes after the end
BAD_LENGTH = "bad-length"            # netstring length not canonical decimal digits + ':'
BAD_FRAMING = "bad-framing"          # missing ',' after a netstring, bad end marker
TOO_MANY_FIELDS = "too-many-fields"  # field/list-element budget exceeded
TOO_DEEP = "too-deep"                # nested structs deeper than heartbeat allows
# Fields
BAD_FIELD = "bad-field"              # item/line is not "(d)name=value" / "name=value"
BAD_TYPE = "bad-type"                # type digit outside 0..4 (or "(0)" on a classic line)
BAD_NAME = "bad-name"                # empty or illegal field name
BAD_BASE64 = "bad-base64"            # classic binary value is not canonical base64
BAD_LIST = "bad-list"                # type-3 value is not a packed list of netstrings
BAD_UTF8 = "bad-utf8"                # a string field asked for as text is not UTF-8
BAD_NUMBER = "bad-number"            # hex/decimal numeric field does not parse
MISSING_FIELD = "missing-field"      # a required field is absent
WRONG_TYPE = "wrong-type"            # accessor used on a field of another type
UNENCODABLE = "unencodable"          # message cannot be rendered in the requested format
# Authentication
NO_TRAILER = "no-trailer"            # netstring packet without the auth trailer
BAD_TRAILER = "bad-trailer"          # trailer is not "<idx> <lowercase hex>"
NO_AUTH = "no-auth"                  # classic packet without an auth field
BAD_AUTH = "bad-auth"                # auth field is not "<idx> <lowercase hex>"
UNKNOWN_AUTH_INDEX = "unknown-auth-index"
BAD_DIGEST = "bad-digest"
# Safety net
INTERNAL = "internal"                # a bug in the decoder; never expected

ALL_CODES = frozenset([
    TOO_BIG, TRUNCATED, GARBAGE, BAD_LENGTH, BAD_FRAMING, TOO_MANY_FIELDS, TOO_DEEP,
    BAD_FIELD, BAD_TYPE, BAD_NAME, BAD_BASE64, BAD_LIST, BAD_UTF8, BAD_NUMBER,
    MISSING_FIELD, WRONG_TYPE, UNENCODABLE, NO_TRAILER, BAD_TRAILER, NO_AUTH, BAD_AUTH,
    UNKNOWN_AUTH_INDEX, BAD_DIGEST, INTERNAL,
])


class WireError(Exception):
    """A packet or message the wire layer refuses.

    `code` is one of the constants above, `message` a short sentence naming the field
    (by name, and position for decode errors) where one is known, `field` the field name
    (or None) and `offset` the byte offset in the datagram (or None).
    """

    def __init__(self, code, message, field=None, offset=None):
        # type: (str, str, Optional[str], Optional[int]) -> None
        Exception.__init__(self, code, message)
        self.code = code
        self.message = message
        self.field = field
        self.offset = offset

    def __str__(self):
        # type: () -> str
        return "%s: %s" % (self.code, self.message)

    def __reduce__(self):
        # Keep the extra attributes through pickling (multiprocessing, hypothesis).
        return (WireError, (self.code, self.message, self.field, self.offset))
