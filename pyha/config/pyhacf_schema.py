"""pyha.cf's schema: what a directive spec is, and the small validators specs are built from.

/etc/ha.d/pyha.cf holds the settings heartbeat has no directive for (heartbeat refuses an
unknown ha.cf directive, and genuine heartbeat never reads pyha.cf).  It has ha.cf's line
syntax: `name value...`, `#` starts a comment.

A directive is a `Spec`: its name, whether it is set once (`one`: a repeat warns, the last
wins) or may repeat (`many`: every line is one entry), and one `parse(args, rest)` that reads
the line's value and returns `(value, findings)` or raises `BadValue(message, hint)`.
Findings are diagnostics without file and line (the evaluation stamps both).  Values should
be immutable (numbers, strings, tuples, namedtuples): the frozen settings hand them out.
Optional hooks see more than the line: `cross_check(value, context)` (context: the other
/etc/ha.d models, e.g. haresources) and `host_check(value, facts)` (a HostFacts), both
returning findings.

Where the specs come from: `pyha.config.pyhacf_registry` (add a module name there).  This
module keeps no state, never sees more than one line and never looks at the host.
"""

import difflib
import re
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from pyha import diagnostics as dg
from pyha.config.common import BadValue, c_atoi, parse_bool, show

Findings = List[dg.Diagnostic]
Parsed = Tuple[Any, Findings]

__all__ = ["Spec", "BadValue", "Findings", "Parsed", "single", "duration_ms", "parse_duration_ms", "integer",
           "boolean", "choice", "text", "absolute_path", "options", "suggest"]


class Spec(object):
    """One pyha.cf directive.

    name      the directive, as written in the file (case-sensitive, like ha.cf)
    kind      "one" (set once; a repeat warns and the last wins) or "many" (each line adds one)
    parse     (args, rest) -> (value, findings); raises BadValue when the line is unusable.
              `args` are the value's blank-separated words, `rest` the value text as written.
    default   the value when the file does not set a `one` directive (already parsed)
    syntax    how to write it, for messages and the man page: `monitor RESOURCE [interval=2s]`
    doc       one paragraph for the man page and `pyha init`'s template
    example   lines for the template `pyha init` writes (written there commented out)
    key       for `many`: value -> what must be unique (a repeat of the same key is an error)
    cross_check  (value, context) -> findings, with the other /etc/ha.d files (see CrossContext)
    host_check   (value, facts) -> findings, with this host (a pyha.config.hostfacts.HostFacts)
    """

    __slots__ = ("name", "kind", "parse", "default", "syntax", "doc", "example", "key", "cross_check",
                 "host_check")

    def __init__(self, name, parse, kind="one", default=None, syntax=None, doc="", example=(), key=None,
                 cross_check=None, host_check=None):
        # type: (str, Callable[[List[str], str], Parsed], str, Any, Optional[str], str, Sequence[str], Optional[Callable[[Any], Any]], Optional[Callable[[Any, Any], Findings]], Optional[Callable[[Any, Any], Findings]]) -> None
        if kind not in ("one", "many"):
            raise ValueError("pyha.cf spec %s: kind must be 'one' or 'many', not %r" % (name, kind))
        if not re.match(r"^[a-z][a-z0-9_]*$", name):
            raise ValueError("pyha.cf spec name %r: lowercase letters, digits and _ only" % name)
        self.name = name
        self.kind = kind
        self.parse = parse
        self.default = default
        self.syntax = syntax or "%s VALUE" % name
        self.doc = doc
        self.example = tuple(example)
        self.key = key
        self.cross_check = cross_check
        self.host_check = host_check

    def __repr__(self):
        return "Spec(%r, %s)" % (self.name, self.kind)


# -- values: one token each ---------------------------------------------------------------

_DURATION = re.compile(r"^(\d+(?:\.\d+)?|\.\d+)(ms|s|sec|m|min|h)?$")
_UNIT_MS = {None: 1000.0, "s": 1000.0, "sec": 1000.0, "ms": 1.0, "m": 60000.0, "min": 60000.0, "h": 3600000.0}
MAX_DURATION_MS = 7 * 24 * 3600 * 1000


def parse_duration_ms(tok):
    # type: (str) -> int
    """`2` / `2s` / `500ms` / `5min` (also `5m`) / `1h` -> milliseconds; a bare number is
    seconds, as in ha.cf.  BadValue for anything else."""
    m = _DURATION.match(tok.strip())
    if not m:
        raise BadValue("%s is not a duration" % show(tok), "write e.g. `2s`, `500ms`, `5min` or `1h`")
    ms = float(m.group(1)) * _UNIT_MS[m.group(2)]
    if ms > MAX_DURATION_MS:
        raise BadValue("%s is longer than a week" % show(tok), "write a shorter duration")
    return int(ms + 0.5)


def duration_ms(min_ms=0, max_ms=MAX_DURATION_MS):
    # type: (int, int) -> Callable[[str], int]
    """A token validator for a duration in [min_ms, max_ms], giving milliseconds."""
    def check(tok):
        # type: (str) -> int
        ms = parse_duration_ms(tok)
        if ms < min_ms or ms > max_ms:
            raise BadValue("%s is out of range (%s..%s)" % (show(tok), _ms_text(min_ms), _ms_text(max_ms)))
        return ms
    return check


def _ms_text(ms):
    # type: (int) -> str
    if ms % 60000 == 0 and ms:
        return "%dmin" % (ms // 60000)
    if ms % 1000 == 0:
        return "%ds" % (ms // 1000)
    return "%dms" % ms


def integer(lo, hi=None):
    # type: (int, Optional[int]) -> Callable[[str], int]
    """A token validator for a plain integer in [lo, hi] (no C atoi leniency: pyha.cf is ours)."""
    def check(tok):
        # type: (str) -> int
        value, clean = c_atoi(tok)
        if not clean:
            raise BadValue("%s is not a number" % show(tok), "write digits only, e.g. `%d`" % lo)
        if value < lo or (hi is not None and value > hi):
            raise BadValue("%s is out of range (%d..%s)" % (show(tok), lo, hi if hi is not None else ""))
        return value
    return check


def boolean(tok):
    # type: (str) -> bool
    return parse_bool(tok)


def choice(*choices):
    # type: (*str) -> Callable[[str], str]
    def check(tok):
        # type: (str) -> str
        if tok in choices:
            return tok
        close = difflib.get_close_matches(tok, choices, n=1)
        raise BadValue("%s is not one of %s" % (show(tok), ", ".join(choices)),
                       "did you mean %s?" % close[0] if close else "write one of: %s" % ", ".join(choices))
    return check


def text(tok):
    # type: (str) -> str
    return tok


def absolute_path(tok):
    # type: (str) -> str
    if not tok.startswith("/"):
        raise BadValue("%s is not an absolute path" % show(tok), "write the full path, e.g. /usr/local/bin/%s" % tok)
    return tok


def single(check):
    # type: (Callable[[str], Any]) -> Callable[[List[str], str], Parsed]
    """A line parser for a directive with exactly one value token, checked by `check`."""
    def parse(args, rest):
        # type: (List[str], str) -> Parsed
        if len(args) != 1:
            raise BadValue("takes one value but has %d (%s)" % (len(args), " ".join(show(a) for a in args)),
                           "write one value")
        return check(args[0]), []
    return parse


# -- key=value options (monitor's interval=2s url=...) ----------------------------------------

def options(words, known, defaults=None):
    # type: (Sequence[str], Dict[str, Callable[[str], Any]], Optional[Dict[str, Any]]) -> Dict[str, Any]
    """`name=value` words checked by `known[name]`, over `defaults`.  BadValue for a word
    without `=`, an unknown name (with the closest known one), a repeat or a bad value."""
    out = dict(defaults or {})
    seen = set()  # type: set
    for word in words:
        name, sep, value = word.partition("=")
        if not sep or not name:
            raise BadValue("%s is not name=value" % show(word), "options are %s" % _names(known))
        if name not in known:
            close = suggest(name, known)
            raise BadValue("unknown option %s%s" % (show(name), " (did you mean %s?)" % close if close else ""),
                           "write `%s=%s`" % (close, value) if close else "options are %s" % _names(known))
        if name in seen:
            raise BadValue("option %s is given twice" % name, "keep one %s=" % name)
        seen.add(name)
        try:
            out[name] = known[name](value)
        except BadValue as exc:
            raise BadValue("%s=: %s" % (name, exc.message), exc.hint)
    return out


def _names(known):
    # type: (Dict[str, Any]) -> str
    return ", ".join("%s=" % n for n in known)


def suggest(name, names):
    # type: (str, Any) -> Optional[str]
    """The closest of `names` to a misspelt `name` (`intervall` -> `interval`), or None."""
    if name.lower() in names and name.lower() != name:
        return name.lower()
    close = difflib.get_close_matches(name.lower(), list(names), n=1, cutoff=0.6)
    return close[0] if close else None
