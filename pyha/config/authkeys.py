"""/etc/ha.d/authkeys: the keyring, parsed and rendered like heartbeat 3.0.x.

Grammar (heartbeat's parse_authfile): lines whose first non-blank character is `#` are
comments (a `#` later on a line is NOT a comment: it can be part of a key); `auth N`
selects the sending key; `N method [key]` defines key N (0..15) with method crc, md5 or
sha1.  Heartbeat reads top to bottom and only selects key N if `auth N` came before it.

The model keeps every physical line, so an unchanged file renders back byte for byte.
File mode and owner are host facts: they are checked in `pyha.config.check`.  Nothing
here touches the host, and bad input never raises.  No message from here ever contains
a key: `mask_line`/`mask_text` are what every other module uses to show authkeys text.
"""

import re
from collections import OrderedDict
from typing import Any, Dict, List, Optional

from pyha import diagnostics as dg
from pyha.config.common import WHITESPACE, TextLines, read_text, show

MAXAUTH = 16
METHODS = ("crc", "md5", "sha1")
KEYED_METHODS = ("md5", "sha1")
# Keys from heartbeat's sample file and the tutorial: anyone can guess them.
WELL_KNOWN_KEYS = ("hi!", "hello!", "hello")
PLACEHOLDER = re.compile(r"change.?me|placeholder|replace.?me", re.IGNORECASE)
MIN_KEY_LENGTH = 16

# What replaces a key (and any text that might be one) wherever authkeys is shown: in
# diagnostics, diffs, dry runs, and so in ha-log.  No fingerprint either: for the weak keys
# people do use (`hello`), a hash in a world-readable log is a dictionary lookup away.
MASK = "****"
# Names shown as they are when written as the method: anything else in that column may
# be a key written without its method (`1 s3cret`), so it is masked.
_METHOD_LIKE = METHODS + ("crc32", "md4", "sha", "sha224", "sha256", "sha384", "sha512", "ripemd160", "hmac")

_AUTH_RE = re.compile(r"^auth[" + re.escape(WHITESPACE) + r"]*([+-]?\d+)")
_ENTRY_RE = re.compile(r"^([+-]?\d+)(?!\d)[" + re.escape(WHITESPACE) + r"]*(\S+)(?:[" + re.escape(WHITESPACE)
                       + r"]+(\S+))?(.*)$", re.DOTALL)


class AuthKey(object):
    """Key `index` using `method` (crc, md5, sha1) and `key` (None for crc)."""

    __slots__ = ("index", "method", "key", "lineno")

    def __init__(self, index, method, key=None, lineno=None):
        # type: (int, str, Optional[str], Optional[int]) -> None
        self.index = index
        self.method = method
        self.key = key
        self.lineno = lineno

    def render(self):
        # type: () -> str
        return "%d %s" % (self.index, self.method) + (" " + self.key if self.key else "")

    def __eq__(self, other):
        return isinstance(other, AuthKey) and (self.index, self.method, self.key) == (other.index, other.method, other.key)

    def __ne__(self, other):
        return not self == other

    def __repr__(self):
        return "AuthKey(%d, %r, line %r)" % (self.index, self.method, self.lineno)  # never print the key


class _Item(object):
    """A physical line: raw text (None once changed: render canonically), and what it is:
    kind "auth" (value = index), "key" (value = AuthKey), "bad" or None (blank/comment)."""

    __slots__ = ("raw", "kind", "value")

    def __init__(self, raw, kind=None, value=None):
        # type: (Optional[str], Optional[str], Any) -> None
        self.raw = raw
        self.kind = kind
        self.value = value

    def render(self):
        # type: () -> str
        if self.raw is not None:
            return self.raw
        if self.kind == "auth":
            return "auth %d" % self.value
        return self.value.render()


class _State(object):
    def __init__(self):
        self.diags = []  # type: List[dg.Diagnostic]
        self.keys = OrderedDict()  # type: Dict[int, AuthKey]
        self.active = None  # type: Optional[int]
        self.auth_lines = []  # type: List[Any]


class Authkeys(object):
    """The authkeys model: `parse`/`load`/`new`, `add_key`, `set_active`, `render`."""

    def __init__(self, filename="authkeys"):
        # type: (str) -> None
        self.filename = filename
        self._items = []  # type: List[_Item]
        self._final_newline = True
        self._state = None  # type: Optional[_State]

    @classmethod
    def parse(cls, text, filename="authkeys"):
        # type: (str, str) -> Authkeys
        self = cls(filename)
        lines = TextLines(text)
        self._final_newline = lines.final_newline
        for raw in lines.lines:
            self._items.append(_classify(raw))
        return self

    @classmethod
    def load(cls, path):
        # type: (str) -> Authkeys
        return cls.parse(read_text(path), filename=path)

    @classmethod
    def new(cls, comment=None, filename="authkeys"):
        # type: (Any, str) -> Authkeys
        self = cls(filename)
        if comment:
            for text in ([comment] if isinstance(comment, str) else comment):
                if "\n" in text or "\r" in text:
                    raise ValueError("a comment is one line")
                self._items.append(_Item(("# " + text) if text else "#"))
        return self

    def render(self):
        # type: () -> str
        return TextLines.join([i.render() for i in self._items], self._final_newline)

    def add_key(self, index, method, key=None):
        # type: (int, str, Optional[str]) -> AuthKey
        """Append key `index`.  ValueError for an index outside 0..15, an unknown method,
        a missing key (md5/sha1), a key with crc, or a key heartbeat cannot read (blank)."""
        if not 0 <= index < MAXAUTH:
            raise ValueError("key index must be 0..15, not %r" % (index,))
        if method not in METHODS:
            raise ValueError("method must be one of %s" % ", ".join(METHODS))
        if method in KEYED_METHODS and not key:
            raise ValueError("%s needs a key" % method)
        if method == "crc" and key:
            raise ValueError("crc takes no key")
        if key and any(c in key for c in WHITESPACE):
            raise ValueError("a key cannot contain blanks")
        k = AuthKey(index, method, key or None)
        self._items.append(_Item(None, "key", k))
        self._state = None
        return k

    def set_active(self, index):
        # type: (int) -> None
        """Make `auth index` the (single) auth line, placed before the first key line so
        heartbeat finds the key."""
        if not 0 <= index < MAXAUTH:
            raise ValueError("key index must be 0..15, not %r" % (index,))
        self._items = [i for i in self._items if i.kind != "auth"]
        at = next((n for n, i in enumerate(self._items) if i.kind in ("key", "bad")), len(self._items))
        self._items.insert(at, _Item(None, "auth", index))
        self._state = None

    @property
    def _st(self):
        # type: () -> _State
        if self._state is None:
            self._state = _evaluate(self)
        return self._state

    @property
    def keys(self):
        # type: () -> Dict[int, AuthKey]
        """Usable keys by index (a later line for the same index replaces an earlier one)."""
        return OrderedDict(self._st.keys)

    @property
    def active_index(self):
        # type: () -> Optional[int]
        """The index heartbeat sends with, None when it would refuse the file."""
        return self._st.active

    @property
    def active(self):
        # type: () -> Optional[AuthKey]
        idx = self._st.active
        return self._st.keys.get(idx) if idx is not None else None

    def check(self):
        # type: () -> List[dg.Diagnostic]
        """Problems visible in the text (mode and owner: `pyha.config.check`)."""
        return list(self._st.diags)


def _method_shown(method):
    # type: (str) -> str
    return method if method.lower() in _METHOD_LIKE else MASK


_KEYLIKE_WORD = re.compile(r"[^" + re.escape(WHITESPACE) + r"]{8,}")


def _keylike(word):
    # type: (str) -> bool
    # Prose in comments stays readable; a long word with digits, or a very long one that
    # is not a path, may be a key someone noted down.
    return "/" not in word and (len(word) >= MIN_KEY_LENGTH or any(c.isdigit() for c in word))


def mask_line(raw):
    # type: (str) -> str
    """One authkeys line safe to print or log: every key, and every word that might be one,
    replaced by MASK.  Commented-out entries (`#1 sha1 oldkey`) are masked like entries,
    and long or digit-bearing words in other comments too (they may be a key noted down)."""
    bp = raw.lstrip(WHITESPACE)
    lead = raw[:len(raw) - len(bp)]
    if not bp:
        return raw
    if bp.startswith("#"):
        rest = bp.lstrip("#")
        hashes = bp[:len(bp) - len(rest)]
        body = rest.lstrip(WHITESPACE)
        if body[:1].isdigit() or _AUTH_RE.match(body):  # a commented-out entry, e.g. the old key
            return lead + hashes + mask_line(rest)
        return lead + hashes + _KEYLIKE_WORD.sub(lambda w: MASK if _keylike(w.group(0)) else w.group(0), rest)
    m = _AUTH_RE.match(bp) if bp.startswith("a") else None
    if m:
        return lead + m.group(0) + (" " + MASK if bp[m.end():].strip(WHITESPACE) else "")
    m = None if bp.startswith("a") else _ENTRY_RE.match(bp)
    if not m:
        return lead + MASK
    index, method, key, extra = m.group(1), m.group(2), m.group(3), (m.group(4) or "").strip(WHITESPACE)
    return lead + " ".join([index, _method_shown(method)] + [MASK for x in (key, extra) if x])


def mask_text(text):
    # type: (str) -> str
    """A whole authkeys text with `mask_line` applied to every line."""
    return "\n".join(mask_line(line) for line in text.split("\n"))


def _classify(raw):
    # type: (str) -> _Item
    bp = raw.lstrip(WHITESPACE)
    if not bp or bp.startswith("#"):
        return _Item(raw)
    if bp.startswith("a"):
        m = _AUTH_RE.match(bp)
        return _Item(raw, "auth", int(m.group(1)) if m else None)
    m = _ENTRY_RE.match(bp)
    if not m:
        return _Item(raw, "bad")
    return _Item(raw, "key", m)


def _evaluate(ak):
    # type: (Authkeys) -> _State
    st = _State()
    fn = ak.filename

    def err(code, msg, line, hint=None):
        st.diags.append(dg.error(code, msg, fn, line, hint))

    def warn(code, msg, line, hint=None):
        st.diags.append(dg.warning(code, msg, fn, line, hint))

    authnum = None  # type: Optional[int]
    auth_line = None  # type: Optional[int]
    selected = None  # type: Optional[int]
    any_auth_line = False
    bad_index_lines = {}  # type: Dict[int, int]
    for n, item in enumerate(ak._items, 1):
        line = n  # one item per rendered line, also for items added through the API
        if item.kind == "auth":
            any_auth_line = True
            if item.value is None:
                err("authkeys-auth-syntax", "invalid auth line %s; heartbeat refuses the file"
                    % show(mask_line(item.raw.strip())),
                    line, "write `auth <index>`, e.g. `auth 1`")
                continue
            if authnum is not None:
                warn("authkeys-multiple-auth", "another auth line (first on line %d); heartbeat sends with the "
                     "key selected last" % auth_line, line, "keep exactly one auth line, at the top")
            authnum, auth_line = item.value, line
            st.auth_lines.append((item.value, line))
            continue
        if item.kind == "bad":
            err("authkeys-syntax", "line %s is neither `auth N` nor `N method [key]`; heartbeat refuses the file"
                % show(mask_line(item.raw.strip())), line, "e.g. `1 sha1 <long random key>`")
            continue
        if item.kind != "key":
            continue
        if isinstance(item.value, AuthKey):  # built through the API
            k = item.value
            index, method, key, extra = k.index, k.method, k.key, ""
        else:
            m = item.value
            index, method, key, extra = int(m.group(1)), m.group(2), m.group(3), (m.group(4) or "").strip()
        if not 0 <= index < MAXAUTH:
            err("authkeys-bad-index", "key index %d is not 0..15; heartbeat refuses the file (\"Invalid authnum\")"
                % index, line, "number keys 1..15")
            bad_index_lines[index] = line
            continue
        if method not in METHODS:
            close = [x for x in METHODS if x == method.lower()]
            shown = show(method) if _method_shown(method) == method else \
                "(%d characters, not shown: it may be a key written without its method)" % len(method)
            err("authkeys-bad-method", "unknown method %s; heartbeat refuses the file (\"Invalid authtype\")"
                % shown, line, "write `%s`" % close[0] if close else "use sha1 (or md5)")
            bad_index_lines[index] = line
            continue
        if method == "crc" and key:
            err("authkeys-key-unexpected", "crc takes no key (key %d has one); heartbeat refuses the file"
                % index, line, "use `%d sha1 <key>` (crc gives no security) or drop the key" % index)
            bad_index_lines[index] = line
            continue
        if method in KEYED_METHODS and not key:
            err("authkeys-key-required", "%s needs a key (key %d has none); heartbeat refuses the file"
                % (method, index), line, "write `%d %s <long random key>` (`pyha init` makes one)" % (index, method))
            bad_index_lines[index] = line
            continue
        if extra and not extra.startswith("#"):
            warn("authkeys-extra", "%d characters of text after key %d are ignored (not shown: they may be part "
                 "of the key)" % (len(extra), index), line, "keys cannot contain blanks; remove the extra text")
        if key and "#" in key:
            warn("authkeys-hash-in-key", "key %d contains '#': heartbeat takes it as part of the key (authkeys has "
                 "no trailing comments), other tools may not" % index, line, "put comments on their own lines")
        if method == "crc":
            warn("authkeys-crc", "key %d uses crc, which only detects corruption: anyone on the link can forge "
                 "heartbeats" % index, line, "use `%d sha1 <long random key>` (`pyha init` makes one)" % index)
        elif key is not None:
            if PLACEHOLDER.search(key):
                warn("authkeys-placeholder", "key %d is a placeholder" % index, line,
                     "run `pyha init` (or put a long random key here)")
            elif key.lower() in WELL_KNOWN_KEYS or len(key) < MIN_KEY_LENGTH:
                warn("authkeys-weak-key", "key %d is short or well known (%d characters)" % (index, len(key)), line,
                     "use a long random key: `pyha init` makes one")
        if index in st.keys:
            warn("authkeys-duplicate-index", "key %d is defined again (first on line %d); the later one is used"
                 % (index, st.keys[index].lineno), line, "remove one of them")
            del st.keys[index]
        st.keys[index] = AuthKey(index, method, key, line)
        if authnum is not None and index == authnum:
            selected = index

    st.active = selected
    if selected is None:
        if authnum is None:
            if not any_auth_line:
                err("authkeys-no-auth", "no auth line; heartbeat refuses to start (\"Missing auth directive\")",
                    None, "add `auth %d` as the first line" % (next(iter(st.keys)) if st.keys else 1))
        elif authnum in bad_index_lines:
            err("authkeys-auth-undefined", "auth %d selects key %d, which is invalid (line %d)"
                % (authnum, authnum, bad_index_lines[authnum]), auth_line, "fix key %d's line" % authnum)
        elif authnum in st.keys:
            err("authkeys-auth-order", "auth %d comes after key %d's line (%d); heartbeat reads top to bottom and "
                "does not find the key (\"Auth Key [%d] not found\")" % (authnum, authnum, st.keys[authnum].lineno,
                                                                        authnum), auth_line,
                "move `auth %d` above the key lines" % authnum)
        else:
            have = ", ".join(str(i) for i in st.keys) or "none"
            err("authkeys-auth-undefined", "auth %d names a key that is not defined (defined: %s); heartbeat refuses "
                "to start (\"Auth Key [%d] not found\")" % (authnum, have, authnum), auth_line,
                "add `%d sha1 <key>` below this line, or select an existing key" % authnum
                if not st.keys else "write `auth %d`" % next(iter(st.keys)))
    return st
