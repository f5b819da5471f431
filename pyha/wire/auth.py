"""Heartbeat packet authentication: keys, digests, signing and verification (spec 1.5).

* `Key(index, method, secret)` / `Keyring(active_index, keys)`: the authkeys entries.
* Digests: md5 = HMAC-MD5, sha1 = HMAC-SHA1 (lowercase hex), crc = unkeyed CRC-32
  (MSB first, poly 0x04C11DB7, init 0, final inversion) printed like C `%lx`.
* Sending: `sign_netstring()` builds what genuine 3.0.6 sends: the inner `auth` field
  over the classic rendering of the other fields (set in place or appended) and the
  trailer over the bytes through `%%%\\n`, both with the active key.  `inner=False` is
  `msgfmt netstring` (trailer only).  `sign_classic()` builds a `>>>` packet.
* Verifying: a netstring packet is judged by its trailer only (the inner field is an
  ordinary field to a genuine receiver); the key of the index named in the trailer is
  tried first and then, bug-compatibly, the local active key with that index's method,
  because that is what a genuine receiver computes.  The `AuthResult` says which one
  matched.  A classic packet is judged by its inner `auth` field with the method and
  key of the index it names.  Comparisons are constant-time.

Failures are `WireError` (codes no-trailer, no-auth, bad-auth, unknown-auth-index,
bad-digest).  Invalid key material given by the program raises ValueError: authkeys
problems are reported by the config layer as diagnostics before keys get here.

No I/O, no clock, no third-party imports.
"""

import binascii
import hashlib
import hmac
import re
from typing import Any, Dict, Iterable, List, Optional, Tuple, Union

from pyha.wire.codec import (
    CL_START, CLASSIC, MAX_DATAGRAM, MAX_FIELDS, NETSTRING, NS_START, Packet, classic_text, decode,
    encode_classic, encode_netstring, find_trailer, netstring_trailer,
)
from pyha.wire.errors import (
    BAD_AUTH, BAD_DIGEST, INTERNAL, NO_AUTH, NO_TRAILER, TOO_BIG, UNKNOWN_AUTH_INDEX,
    WireError,
)
from pyha.wire.message import STRING, Field, Message, _show

CRC = "crc"
MD5 = "md5"
SHA1 = "sha1"
METHODS = (CRC, MD5, SHA1)
MAX_INDEX = 15  # authkeys indexes are 0..15

# Which key produced a matching trailer (AuthResult.matched).
MATCHED_INDEX_KEY = "index"    # the key of the index named in the packet (normal case)
MATCHED_ACTIVE_KEY = "active"  # our active key with that index's method (genuine bug)

# Limits for a classic packet before it is authenticated (its digest covers a rendering of
# parsed fields, so parsing comes first).  heartbeat's haresources messages have about a
# dozen fields and a few hundred bytes (spec 1.7, 1.13); these bound the work a forged
# packet costs to well under a millisecond.
PREAUTH_CLASSIC_BYTES = 8192
PREAUTH_CLASSIC_FIELDS = 64

# classic lines the raw pre-check cannot judge: structs, `auth` fields of another type
_CL_UNJUDGED = re.compile(br"(?m)^\((?:2\)|[1-4]\)auth=)")

_TOKEN_RE = re.compile(br"(0|[1-9][0-9]?) ([0-9a-f]{1,128})\Z")
_HASHES = {MD5: hashlib.md5, SHA1: hashlib.sha1}

# CRC-32/POSIX without length suffix = the reflected zlib CRC run on bit-reversed bytes,
# with the register bit-reversed back.  binascii.crc32(data, 0xFFFFFFFF) starts the
# zlib register at 0 (zlib pre-inverts the value passed in) and inverts at the end,
# which is exactly heartbeat's init 0 / final inversion.  C speed instead of a Python loop.
_BITREV8 = bytes(int("{:08b}".format(i)[::-1], 2) for i in range(256))


def _bitrev32(value):
    # type: (int) -> int
    return int("{:032b}".format(value)[::-1], 2)


def crc32_posix(data):
    # type: (bytes) -> int
    """heartbeat's `crc` auth value as an int (check value for b"123456789": 0x765e7680)."""
    return _bitrev32(binascii.crc32(bytes(data).translate(_BITREV8), 0xFFFFFFFF)
                     & 0xFFFFFFFF)


def compute_digest(method, secret, data):
    # type: (str, Optional[bytes], bytes) -> str
    """Digest text as heartbeat prints it for `method` ("crc" ignores the secret)."""
    if method == CRC:
        return "%x" % crc32_posix(data)
    try:
        hashfn = _HASHES[method]
    except KeyError:
        raise ValueError("unknown auth method %r" % (method,))
    return hmac.new(secret or b"", data, hashfn).hexdigest()


class Key(object):
    """One authkeys entry: `index` 0..15, `method` crc/md5/sha1, `secret` bytes or None."""

    __slots__ = ("index", "method", "secret", "_prepared")

    def __init__(self, index, method, secret=None):
        # type: (int, str, Union[None, str, bytes]) -> None
        if not isinstance(index, int) or isinstance(index, bool) \
                or not 0 <= index <= MAX_INDEX:
            raise ValueError("auth key index must be an int 0..%d, not %r" % (MAX_INDEX, index))
        if method not in METHODS:
            raise ValueError("unknown auth method %r (crc, md5 or sha1)" % (method,))
        if isinstance(secret, str):
            secret = secret.encode("utf-8")
        elif secret is not None:
            secret = bytes(secret)
        if method == CRC:
            if secret:
                raise ValueError("auth method crc takes no key")
            secret = None
        elif not secret:
            raise ValueError("auth method %s requires a key" % method)
        self.index = index
        self.method = method
        self.secret = secret  # type: Optional[bytes]
        # HMAC with the key schedule done once; copy() per packet is cheaper than new().
        self._prepared = (hmac.new(secret, None, _HASHES[method])
                          if method != CRC else None)  # type: Any

    def digest(self, data):
        # type: (bytes) -> str
        """Lowercase hex digest of data (crc: `%lx`, unpadded)."""
        if self._prepared is None:
            return "%x" % crc32_posix(data)
        h = self._prepared.copy()
        h.update(data)
        return h.hexdigest()

    def __eq__(self, other):
        # type: (object) -> bool
        if not isinstance(other, Key):
            return NotImplemented
        return (self.index, self.method, self.secret) == (other.index, other.method,
                                                          other.secret)

    def __ne__(self, other):
        # type: (object) -> bool
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    __hash__ = None  # type: ignore

    def __repr__(self):
        # type: () -> str
        # Never print the secret itself: reprs end up in logs.
        return "Key(%d, %r%s)" % (self.index, self.method,
                                  ", <secret>" if self.secret else "")


class Keyring(object):
    """All authkeys entries plus the active (`auth N`) index used for sending."""

    __slots__ = ("active_index", "_keys")

    def __init__(self, active_index, keys):
        # type: (int, Union[Iterable[Key], Dict[int, Key]]) -> None
        if isinstance(keys, dict):
            keys = list(keys.values())
        table = {}  # type: Dict[int, Key]
        for key in keys:
            if not isinstance(key, Key):
                raise TypeError("Keyring wants Key objects, got %r" % (key,))
            if key.index in table:
                raise ValueError("auth key index %d given twice" % key.index)
            table[key.index] = key
        if active_index not in table:
            raise ValueError("active auth index %r has no key" % (active_index,))
        self.active_index = active_index
        self._keys = table

    @classmethod
    def from_mapping(cls, active_index, mapping):
        # type: (int, Dict[int, Any]) -> Keyring
        """`Keyring.from_mapping(1, {1: ("md5", "secret"), 2: ("crc", None)})`;
        a bare method string stands for a keyless entry."""
        keys = []
        for index, entry in sorted(mapping.items()):
            if isinstance(entry, str):
                keys.append(Key(index, entry))
            else:
                method, secret = entry
                keys.append(Key(index, method, secret))
        return cls(active_index, keys)

    @property
    def active(self):
        # type: () -> Key
        return self._keys[self.active_index]

    def get(self, index):
        # type: (int) -> Optional[Key]
        return self._keys.get(index)

    def indexes(self):
        # type: () -> List[int]
        return sorted(self._keys)

    def __repr__(self):
        # type: () -> str
        return "Keyring(active=%d, %r)" % (self.active_index,
                                           [self._keys[i] for i in sorted(self._keys)])


class AuthResult(object):
    """Outcome of a successful verification.

    where       "trailer" (netstring) or "inner" (the `auth` field)
    index       key index named in the packet
    method      that index's method
    key_index   index whose secret matched: == index normally, == our active index when
                only the genuine bug-compatible computation matched (matched == "active")
    matched     MATCHED_INDEX_KEY or MATCHED_ACTIVE_KEY
    """

    __slots__ = ("where", "index", "method", "key_index", "matched")

    def __init__(self, where, index, method, key_index, matched):
        # type: (str, int, str, int, str) -> None
        self.where = where
        self.index = index
        self.method = method
        self.key_index = key_index
        self.matched = matched

    def __repr__(self):
        # type: () -> str
        return "AuthResult(%s, index=%d, %s, matched=%s key %d)" % (
            self.where, self.index, self.method, self.matched, self.key_index)


def parse_auth_token(raw, what="auth"):
    # type: (bytes, str) -> Tuple[int, str]
    """Split "<index> <lowercase hex>" (the auth field value and the trailer text)."""
    m = _TOKEN_RE.match(raw)
    if m is None:
        raise WireError(BAD_AUTH, "%s is not '<index> <lowercase hex>': %s"
                        % (what, _show(raw)), field="auth")
    return int(m.group(1)), m.group(2).decode("ascii")


def _equal(a, b):
    # type: (str, str) -> bool
    return hmac.compare_digest(a.encode("ascii"), b.encode("ascii"))


# ---------------------------------------------------------------------------------------
# signing

def inner_auth_value(msg, key):
    # type: (Message, Key) -> str
    """The `auth` field value "<idx> <hex>" over the classic text of msg minus `auth`."""
    return "%d %s" % (key.index, key.digest(classic_text(msg, skip_auth=True)))


def with_inner_auth(msg, keyring):
    # type: (Message, Keyring) -> Message
    """A copy of msg with `auth` set (replaced in place or appended) for the active key."""
    out = Message._trusted(list(msg._fields))
    out.set("auth", inner_auth_value(msg, keyring.active))
    return out


def sign_netstring(msg, keyring, inner=True):
    # type: (Message, Keyring, bool) -> bytes
    """The datagram a genuine node sends: netstring body (+ inner `auth` unless
    inner=False) + trailer, both with the active key.  msg itself is not modified."""
    if inner:
        msg = with_inner_auth(msg, keyring)
    body = encode_netstring(msg)
    key = keyring.active
    out = body + netstring_trailer(key.index, key.digest(body))
    if len(out) > MAX_DATAGRAM:
        raise WireError(TOO_BIG, "encoded message of %d bytes exceeds %d"
                        % (len(out), MAX_DATAGRAM))
    return out


def sign_classic(msg, keyring, nul=False):
    # type: (Message, Keyring, bool) -> bytes
    """A classic `>>>` datagram with the inner `auth` field (plus a NUL if `nul`)."""
    out = encode_classic(with_inner_auth(msg, keyring), nul=nul)
    if len(out) > MAX_DATAGRAM:
        raise WireError(TOO_BIG, "encoded message of %d bytes exceeds %d"
                        % (len(out), MAX_DATAGRAM))
    return out


# ---------------------------------------------------------------------------------------
# verification

def _key_for(keyring, index, where):
    # type: (Keyring, int, str) -> Key
    key = keyring.get(index)
    if key is None:
        raise WireError(UNKNOWN_AUTH_INDEX, "%s names auth key index %d, which authkeys "
                        "does not define" % (where, index), field="auth")
    return key


def verify_trailer(packet, keyring, bug_compat=True):
    # type: (Packet, Keyring, bool) -> AuthResult
    """Check a netstring packet's trailer (what a genuine receiver checks)."""
    if packet.trailer_index is None or packet.signed_len is None:
        raise WireError(NO_TRAILER, "netstring packet has no auth trailer")
    return _check_trailer(packet.data[:packet.signed_len], packet.trailer_index,
                          packet.trailer_digest, keyring, bug_compat)


def _check_trailer(data, index, digest, keyring, bug_compat):
    # type: (bytes, int, str, Keyring, bool) -> AuthResult
    key = _key_for(keyring, index, "trailer")
    if _equal(key.digest(data), digest):
        return AuthResult("trailer", index, key.method, index, MATCHED_INDEX_KEY)
    active = keyring.active
    # Genuine 3.0.6 hashes with the named index's *method* but its own active *key*;
    # accepting that keeps pyha interoperable during a key rotation (spec 1.5).
    if bug_compat and key.method != CRC and active.index != index \
            and active.secret != key.secret:
        if _equal(compute_digest(key.method, active.secret, data), digest):
            return AuthResult("trailer", index, key.method, active.index,
                              MATCHED_ACTIVE_KEY)
    raise WireError(BAD_DIGEST, "trailer digest does not match (index %d, %s)"
                    % (index, key.method), field="auth")


def verify_inner(msg, keyring):
    # type: (Message, Keyring) -> AuthResult
    """Check the inner `auth` field with the method and key of the index it names.

    Like heartbeat's isauthentic(), the last `auth` field counts and the digest covers the
    classic rendering of all fields except `auth`.
    """
    token = None  # type: Optional[Field]
    for f in msg._fields:
        if f.name == "auth":
            token = f
    if token is None:
        raise WireError(NO_AUTH, "message has no auth field", field="auth")
    if token.type != STRING:
        raise WireError(BAD_AUTH, "auth field has type %d, not a string" % token.type,
                        field="auth")
    index, digest = parse_auth_token(token.value, "auth field")
    key = _key_for(keyring, index, "auth field")
    if _equal(key.digest(classic_text(msg, skip_auth=True)), digest):
        return AuthResult("inner", index, key.method, index, MATCHED_INDEX_KEY)
    raise WireError(BAD_DIGEST, "auth field digest does not match (index %d, %s)"
                    % (index, key.method), field="auth")


def verify(packet, keyring, bug_compat=True):
    # type: (Packet, Keyring, bool) -> AuthResult
    """Authenticate a decoded packet as a genuine receiver would; sets packet.auth."""
    if packet.format == NETSTRING:
        result = verify_trailer(packet, keyring, bug_compat)
    elif packet.format == CLASSIC:
        result = verify_inner(packet.message, keyring)
    else:  # pragma: no cover - Packet objects come from decode()
        raise ValueError("unknown packet format %r" % (packet.format,))
    packet.auth = result
    return result


def _classic_precheck(data, keyring):
    # type: (bytes, Keyring) -> Optional[Tuple[bool, Key]]
    """Judge a classic packet's inner digest from its raw lines, before parsing it.

    For a packet without struct fields (and no `auth` field of another type) the text the
    digest covers is exactly its lines minus empty ones and `auth=` ones: the decoder only
    accepts canonical values, which render back to the same bytes.  Returns (matches, key),
    or None when the raw lines cannot decide (structs, no `<<<` line, no `auth=` line):
    then the packet is parsed, with the small pre-authentication budget.
    """
    end = data.find(b"\n<<<\n", len(CL_START) - 1)
    if end < 0:
        return None
    body = data[len(CL_START):end + 1]
    if _CL_UNJUDGED.search(body):
        return None
    lines = [line for line in body.split(b"\n") if line]
    tokens = [line for line in lines if line.startswith(b"auth=")]
    if not tokens:
        return None
    index, digest = parse_auth_token(tokens[-1][5:], "auth field")
    key = _key_for(keyring, index, "auth field")
    text = b"".join(line + b"\n" for line in lines if not line.startswith(b"auth="))
    return _equal(key.digest(text), digest), key


def decode_verified(data, keyring, bug_compat=True):
    # type: (Any, Keyring, bool) -> Packet
    """decode() + verify(): the one call a medium's receive path needs.

    Work done before authentication is bounded, because anyone can send datagrams: a
    netstring packet's trailer is checked before its body is parsed (it signs the body
    bytes), and one without a trailer at its end is refused unparsed; a classic packet,
    whose inner digest covers a rendering of parsed fields, is refused unparsed above
    PREAUTH_CLASSIC_BYTES, judged from its raw lines where they decide
    (`_classic_precheck`) and otherwise parsed with a budget of PREAUTH_CLASSIC_FIELDS.
    """
    if isinstance(data, (bytearray, memoryview)):
        data = bytes(data)
    if isinstance(data, bytes) and len(data) <= MAX_DATAGRAM:
        if data.startswith(NS_START):
            found = find_trailer(data)
            if found is None:
                raise WireError(NO_TRAILER, "netstring packet of %d bytes does not end with "
                                "'%%%%%%' and an auth trailer 'LEN:<index> <hex>,'"
                                % len(data))
            signed_len, index, digest = found
            result = _check_trailer(data[:signed_len], index, digest, keyring, bug_compat)
            packet = decode(data)
            if packet.signed_len != signed_len:  # pragma: no cover - find_trailer's promise
                raise WireError(INTERNAL, "trailer found at byte %d, body ends at %s"
                                % (signed_len, packet.signed_len))
            packet.auth = result
            return packet
        if data.startswith(CL_START):
            if len(data) > PREAUTH_CLASSIC_BYTES:
                raise WireError(TOO_BIG, "classic packet of %d bytes exceeds %d (heartbeat's "
                                "haresources messages are far smaller)"
                                % (len(data), PREAUTH_CLASSIC_BYTES))
            judged = _classic_precheck(data, keyring)
            if judged is not None and not judged[0]:
                raise WireError(BAD_DIGEST, "auth field digest does not match (index %d, %s)"
                                % (judged[1].index, judged[1].method), field="auth")
            packet = decode(data, max_fields=MAX_FIELDS if judged else PREAUTH_CLASSIC_FIELDS)
            verify(packet, keyring, bug_compat)
            return packet
    packet = decode(data)
    verify(packet, keyring, bug_compat)
    return packet
