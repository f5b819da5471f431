"""/etc/ha.d/ha.cf: parse, validate and render with heartbeat 3.0.x semantics.

The model keeps every physical line (comments, blank lines, order, spelling), so an
unchanged model renders to exactly the text it came from, while lines added or changed
through the API render in a tidy canonical form.  Typed accessors give the daemon what
it needs (times in ms, media, nodes, ...), and `check()` reports every problem that can be
seen from this file alone, as diagnostics that name the line and the fix.

This module never looks at the host (interfaces, DNS, users, files other than the one it
is asked to load): those checks live in `pyha.config.check` and get the host injected.
Bad input never raises: it becomes a diagnostic, and the accessor falls back to the value
heartbeat would have used.
"""

import difflib
from collections import OrderedDict, namedtuple
from typing import Any, Callable, Dict, List, Optional, Tuple

from pyha import diagnostics as dg
from pyha.config.common import (DELIMS, WHITESPACE, BadValue, TextLines, c_atoi, format_ms, human_ms,
                                parse_bool, parse_ipv4, parse_time_ms, read_text, show, split_delims,
                                split_ws)

DEFAULT_UDPPORT = 694  # ha-cluster/udp
DEFAULT_BAUD = 19200
MAXNODE = 100  # heartbeat.h
MAXMEDIA = 64  # heartbeat.h

# Media kinds pyha's daemon can run.  The IPv6 kinds are parsed and validated like
# heartbeat does, but flagged, so a config that relies on them is not silently deaf.
PYHA_MEDIA_KINDS = ("ucast", "bcast", "mcast", "serial")

# Resources heartbeat would hand to ha_logd when no log destination is configured.
_LOG_DIRECTIVES = ("logfile", "debugfile", "logfacility")

_FACILITIES = ("none", "auth", "authpriv", "cron", "daemon", "ftp", "kern", "lpr", "mail", "mark",
               "news", "security", "syslog", "user", "uucp", "local0", "local1", "local2",
               "local3", "local4", "local5", "local6", "local7")
_BAUDS = (9600, 19200, 38400, 57600, 115200, 230400, 460800)
_PACEMAKER_MODES = ("respawn", "minimal", "manual", "ccm-only", "valgrind")
_PACEMAKER_ONLY = ("crm_daemon_dir", "crmd_spawns_pengine", "record_config_changes",
                   "record_pengine_inputs", "enable_config_writes")
# apiauth entries heartbeat adds when ha.cf does not override them.
_DEFAULT_APIAUTH = (("ipfail", "uid=hacluster"), ("ccm", "uid=hacluster"), ("ping", "gid=haclient"),
                    ("lha-snmpagent", "uid=root"), ("anon", "uid=root gid=haclient"))

NodeEntry = namedtuple("NodeEntry", "name lineno")
PingNode = namedtuple("PingNode", "host kind lineno")  # kind: ping / ping6
PingGroup = namedtuple("PingGroup", "name hosts lineno")
ApiAuth = namedtuple("ApiAuth", "client uids gids lineno")  # lineno None for heartbeat's defaults
EnvEntry = namedtuple("EnvEntry", "name value lineno")  # name without the HA_ prefix


class Medium(object):
    """One heartbeat link as ha.cf declares it.

    kind: bcast, ucast, mcast, serial, ucast6, mcast6.  `port` is the UDP port heartbeat
    really uses for it (for ucast/bcast the `udpport` in force when the first line of that
    kind was read); `peer` is the ucast target as written; `group`/`ttl`/`loop` are mcast's;
    `baud` is serial's."""

    __slots__ = ("kind", "dev", "peer", "group", "port", "ttl", "loop", "baud", "lineno")

    def __init__(self, kind, dev, lineno=None, peer=None, group=None, port=None, ttl=None,
                 loop=None, baud=None):
        # type: (str, str, Optional[int], Optional[str], Optional[str], Optional[int], Optional[int], Optional[int], Optional[int]) -> None
        self.kind = kind
        self.dev = dev
        self.peer = peer
        self.group = group
        self.port = port
        self.ttl = ttl
        self.loop = loop
        self.baud = baud
        self.lineno = lineno

    def to_dict(self):
        # type: () -> Dict[str, Any]
        return dict((k, getattr(self, k)) for k in self.__slots__)

    def __eq__(self, other):
        return isinstance(other, Medium) and self.to_dict() == other.to_dict()

    def __ne__(self, other):
        return not self == other

    def __repr__(self):
        return "Medium(%s)" % ", ".join("%s=%r" % (k, getattr(self, k)) for k in self.__slots__
                                        if getattr(self, k) is not None)


class Respawn(object):
    """A `respawn` (or `failfast`) line: run `argv` as `user` once communication is up."""

    __slots__ = ("user", "argv", "command", "failfast", "lineno")

    def __init__(self, user, command, failfast=False, lineno=None):
        # type: (str, str, bool, Optional[int]) -> None
        self.user = user
        self.command = command
        self.argv = split_ws(command)
        self.failfast = failfast
        self.lineno = lineno

    @property
    def program(self):
        # type: () -> str
        return self.argv[0] if self.argv else ""

    @property
    def is_ipfail(self):
        # type: () -> bool
        return self.program.rsplit("/", 1)[-1] == "ipfail"

    def __repr__(self):
        return "Respawn(%r, %r%s)" % (self.user, self.command, ", failfast" if self.failfast else "")


class Directive(object):
    """One directive line: `name` as written, `canonical` after aliases (udp -> bcast,
    crm -> pacemaker; None if unknown), `rest` the value text, `values` its tokens (split on
    blanks and commas for option directives, on blanks for whole-line ones)."""

    __slots__ = ("name", "rest", "lineno", "comment")

    def __init__(self, name, rest="", lineno=None, comment=None):
        # type: (str, str, Optional[int], Optional[str]) -> None
        self.name = name
        self.rest = rest
        self.lineno = lineno
        self.comment = comment

    @property
    def canonical(self):
        # type: () -> Optional[str]
        name = ALIASES.get(self.name, self.name)
        return name if name in SPECS else None

    @property
    def whole_line(self):
        # type: () -> bool
        spec = SPECS.get(self.canonical or "")
        return bool(spec and spec.whole_line)

    @property
    def values(self):
        # type: () -> List[str]
        return split_ws(self.rest) if self.whole_line else split_delims(self.rest)

    def render(self):
        # type: () -> str
        text = self.name + (" " + self.rest if self.rest else "")
        if self.comment:
            text += " " + self.comment
        return text

    def __repr__(self):
        return "Directive(%r, %r, line %r)" % (self.name, self.rest, self.lineno)


# ---------------------------------------------------------------------------------------
# The directive table (spec 2.2).  Each checker turns one value token into a Python value,
# returns a (value, oddity) pair where oddity is a warning text for forms heartbeat accepts
# but reads differently from how they look, and raises BadValue where heartbeat refuses.

Checked = Tuple[Any, Optional[str]]


def _time(positive):
    # type: (bool) -> Callable[[str], Checked]
    def check(tok):
        ms, clean = parse_time_ms(tok)
        if positive and ms <= 0:
            raise BadValue("%s is not more than 0 ms" % show(tok), "give a time above zero, e.g. `1` or `500ms`")
        if ms < 0:
            raise BadValue("%s is negative" % show(tok))
        return ms, None if clean else "heartbeat reads %s as %s" % (show(tok), human_ms(ms))
    return check


def _int(lo, hi):
    # type: (int, Optional[int]) -> Callable[[str], Checked]
    def check(tok):
        value, clean = c_atoi(tok)
        if value < lo or (hi is not None and value > hi):
            raise BadValue("%s is out of range (%d..%s)" % (show(tok), lo, hi if hi is not None else "")
                           if hi is not None else "%s must be at least %d" % (show(tok), lo))
        return value, None if clean else "%s is not a plain number; heartbeat reads it as %d" % (show(tok), value)
    return check


def _bool(tok):
    # type: (str) -> Checked
    return parse_bool(tok), None


def _choice(choices, ignore_case=False):
    # type: (Tuple[str, ...], bool) -> Callable[[str], Checked]
    def check(tok):
        key = tok.lower() if ignore_case else tok
        if key in choices:
            return key, None
        raise BadValue("%s is not one of %s" % (show(tok), ", ".join(choices)),
                       "write one of: %s" % ", ".join(choices))
    return check


def _text(tok):
    # type: (str) -> Checked
    return tok, None


def _facility(tok):
    # type: (str) -> Checked
    if tok in _FACILITIES:
        return tok, None
    close = difflib.get_close_matches(tok.lower(), _FACILITIES, n=1)
    raise BadValue("%s is not a syslog facility" % show(tok),
                   "did you mean %s?" % close[0] if close else "use e.g. local0 .. local7, daemon, or none")


def _baud(tok):
    # type: (str) -> Checked
    value, clean = c_atoi(tok)
    if value not in _BAUDS:
        raise BadValue("%s is not a supported baud rate" % show(tok), "use one of %s" % ", ".join(map(str, _BAUDS)))
    return value, None if clean else "heartbeat reads %s as %d" % (show(tok), value)


def _udpport(tok):
    # type: (str) -> Checked
    value, clean = c_atoi(tok)
    if value <= 0:
        raise BadValue("%s is not a port number" % show(tok), "heartbeat's port is 694")
    if value > 65535:
        return value, "port %d is above 65535; heartbeat silently uses %d" % (value, value & 0xFFFF)
    return value, None if clean else "heartbeat reads %s as port %d" % (show(tok), value)


def _auto_failback(tok):
    # type: (str) -> Checked
    if tok.lower() == "legacy":
        return "legacy", None
    try:
        return ("on" if parse_bool(tok) else "off"), None
    except BadValue:
        raise BadValue("%s is not on, off or legacy" % show(tok), "write `auto_failback on` (or off)")


def _pacemaker(tok):
    # type: (str) -> Checked
    if tok.lower() in _PACEMAKER_MODES:
        return tok.lower(), None
    try:
        return ("on" if parse_bool(tok) else "off"), None
    except BadValue:
        raise BadValue("%s is not a pacemaker mode" % show(tok),
                       "pyha runs haresources mode: remove the line or write `crm off`")


def _env(tok):
    # type: (str) -> Checked
    name, sep, value = tok.partition("=")
    if not name:
        raise BadValue("%s has no variable name before '='" % show(tok), "write `env NAME=value`")
    if not sep:
        return (name, ""), "%s has no '='; heartbeat sets HA_%s to garbage" % (show(tok), name)
    return (name, value), None


class _Spec(object):
    """kind: one (last value wins; repeating warns), once (repeating is an error), many
    (every token / line adds one), line (whole-line directive, many)."""

    __slots__ = ("name", "kind", "check", "default", "whole_line")

    def __init__(self, name, kind, check=None, default=None, whole_line=False):
        self.name = name
        self.kind = kind
        self.check = check or _text
        self.default = default
        self.whole_line = whole_line


_SPEC_LIST = [
    _Spec("node", "many"),
    _Spec("keepalive", "one", _time(True), "1000ms"),
    _Spec("deadtime", "one", _time(False), "30000ms"),
    _Spec("warntime", "one", _time(True)),
    _Spec("initdead", "one", _time(False)),
    _Spec("deadping", "one", _time(False)),
    _Spec("udpport", "one", _udpport),
    _Spec("bcast", "many"),
    _Spec("mcast", "line", whole_line=True),
    _Spec("ucast", "line", whole_line=True),
    _Spec("mcast6", "line", whole_line=True),
    _Spec("ucast6", "line", whole_line=True),
    _Spec("serial", "many"),
    _Spec("baud", "once", _baud, "19200"),
    _Spec("ping", "many"),
    _Spec("ping6", "many"),
    _Spec("ping_group", "line", whole_line=True),
    _Spec("auto_failback", "one", _auto_failback, "legacy"),
    _Spec("nice_failback", "one", _bool),
    _Spec("respawn", "line", whole_line=True),
    _Spec("failfast", "line", whole_line=True),
    _Spec("apiauth", "line", whole_line=True),
    _Spec("watchdog", "once"),
    _Spec("logfile", "one"),
    _Spec("debugfile", "one"),
    _Spec("logfacility", "one", _facility),
    _Spec("use_logd", "one", _bool),
    _Spec("conn_logd_time", "one", _time(True), "60"),
    _Spec("debug", "one", _int(0, 255), "0"),
    _Spec("hopfudge", "one", _int(0, 255), "1"),
    _Spec("hbgenmethod", "one", _choice(("file", "time")), "file"),
    _Spec("realtime", "one", _bool, "true"),
    _Spec("rtprio", "one", _int(1, 99)),
    _Spec("msgfmt", "one", _choice(("classic", "netstring")), "classic"),
    _Spec("compression", "one", _choice(("zlib", "bz2")), "zlib"),
    _Spec("compression_threshold", "one", _int(1, None), "2"),
    _Spec("traditional_compression", "one", _bool, "no"),
    _Spec("max_rexmit_delay", "one", _int(1, None), "250"),
    _Spec("autojoin", "one", _choice(("none", "other", "any"), ignore_case=True), "none"),
    _Spec("uuidfrom", "one", _choice(("file", "nodename")), "file"),
    _Spec("cluster", "one", _text, "linux-ha"),
    _Spec("log_badpack", "one", _bool, "true"),
    _Spec("syslogmsgfmt", "one", _bool, "true"),
    _Spec("coredumps", "one", _bool, "true"),
    _Spec("coreroot", "one"),
    _Spec("memreserve", "one", _int(1, None), "6500"),
    _Spec("env", "many", _env),
    _Spec("use_apphbd", "one", _bool),
    _Spec("pacemaker", "once", _pacemaker, "false"),
    _Spec("crm_daemon_dir", "one"),
    _Spec("crmd_spawns_pengine", "one", _bool),
    _Spec("record_config_changes", "one", _bool, "on"),
    _Spec("record_pengine_inputs", "one", _bool, "on"),
    _Spec("enable_config_writes", "one", _bool, "on"),
    _Spec("quorum_server", "one"),
    _Spec("stonith", "line", whole_line=True),
    _Spec("stonith_host", "line", whole_line=True),
]
SPECS = OrderedDict((s.name, s) for s in _SPEC_LIST)  # type: Dict[str, _Spec]
ALIASES = {"udp": "bcast", "crm": "pacemaker"}
KNOWN_DIRECTIVES = tuple(SPECS) + tuple(ALIASES)


def suggest_directive(name):
    # type: (str) -> Optional[str]
    """The known directive closest to a misspelt one (`keeplive` -> `keepalive`)."""
    if name.lower() in SPECS:
        return name.lower()  # directives are case-sensitive: `Keepalive` is unknown too
    close = difflib.get_close_matches(name.lower(), KNOWN_DIRECTIVES, n=1, cutoff=0.6)
    return close[0] if close else None


# ---------------------------------------------------------------------------------------

class _Item(object):
    """A physical line: `raw` text (None once changed through the API: render canonically)
    and its directive, if it has one."""

    __slots__ = ("raw", "directive")

    def __init__(self, raw, directive=None):
        # type: (Optional[str], Optional[Directive]) -> None
        self.raw = raw
        self.directive = directive


def parse_line(raw, lineno=None):
    # type: (str, Optional[int]) -> Optional[Directive]
    """One physical ha.cf line the way heartbeat reads it: leading blanks skipped,
    everything from `#` is a comment, the line ends at the first CR/LF, the directive is
    the first blank-delimited word and blanks/commas after it are skipped."""
    body = raw.lstrip(WHITESPACE)
    comment = None
    hash_at = body.find("#")
    if hash_at >= 0:
        comment = body[hash_at:]
        body = body[:hash_at]
    for ch in "\r\n":
        cut = body.find(ch)
        if cut >= 0:
            body = body[:cut]
    if not body.strip(WHITESPACE):
        return None
    end = len(body)
    for i, ch in enumerate(body):
        if ch in WHITESPACE:
            end = i
            break
    name = body[:end]
    rest = body[end:].lstrip(DELIMS).rstrip(WHITESPACE)
    return Directive(name, rest, lineno, comment.rstrip("\r") if comment else None)


class _State(object):
    """Everything `HaCf` derives from its lines in one pass, plus file-local findings."""

    def __init__(self):
        self.diags = []  # type: List[dg.Diagnostic]
        self.values = {}  # type: Dict[str, Tuple[Any, str, int]]  # last good (value, token, line)
        self.lines_of = {}  # type: Dict[str, List[int]]
        self.nodes = []  # type: List[NodeEntry]
        self.media = []  # type: List[Medium]
        self.other_media = []  # type: List[Medium]  # kinds pyha does not run
        self.ping_nodes = []  # type: List[PingNode]
        self.ping_groups = []  # type: List[PingGroup]
        self.respawn = []  # type: List[Respawn]
        self.apiauth = OrderedDict()  # type: Dict[str, ApiAuth]
        self.env = []  # type: List[EnvEntry]
        self.stonith = []  # type: List[Directive]
        self.auto_failback = None  # type: Optional[Tuple[str, int]]
        self.timing = {}  # type: Dict[str, int]


class HaCf(object):
    """The ha.cf model.  Build it with `HaCf.parse(text)`, `HaCf.load(path)` or
    `HaCf.new()` + `add()`; `render()` gives the text back."""

    def __init__(self, filename="ha.cf"):
        # type: (str) -> None
        self.filename = filename
        self._items = []  # type: List[_Item]
        self._final_newline = True
        self._state = None  # type: Optional[_State]

    # -- construction and rendering ------------------------------------------------------

    @classmethod
    def parse(cls, text, filename="ha.cf"):
        # type: (str, str) -> HaCf
        self = cls(filename)
        lines = TextLines(text)
        self._final_newline = lines.final_newline
        for n, raw in enumerate(lines.lines, 1):
            self._items.append(_Item(raw, parse_line(raw, n)))
        return self

    @classmethod
    def load(cls, path):
        # type: (str) -> HaCf
        """Parse a file (OSError if it cannot be read)."""
        return cls.parse(read_text(path), filename=path)

    @classmethod
    def new(cls, comment=None, filename="ha.cf"):
        # type: (Any, str) -> HaCf
        """An empty ha.cf, optionally starting with comment line(s) (str or list of str)."""
        self = cls(filename)
        if comment:
            for text in ([comment] if isinstance(comment, str) else comment):
                self.add_comment(text)
        return self

    def render(self):
        # type: () -> str
        out = []
        for item in self._items:
            if item.raw is not None:
                out.append(item.raw)
            elif item.directive is not None:
                out.append(item.directive.render())
        return TextLines.join(out, self._final_newline)

    def add(self, directive, value=None, comment=None):
        # type: (str, Any, Optional[str]) -> Directive
        """Append `directive value` (value: str, int, or a list joined with blanks; times as
        `2` / `500ms`).  ValueError for an unknown directive or a value that cannot be
        written in ha.cf (contains `#` or a line break)."""
        if directive not in SPECS and directive not in ALIASES:
            hint = suggest_directive(directive)
            raise ValueError("unknown ha.cf directive %r%s" % (directive, " (did you mean %r?)" % hint if hint else ""))
        rest = _value_text(value)
        d = Directive(directive, rest, None, ("# " + comment) if comment else None)
        self._items.append(_Item(None, d))
        self._changed()
        return d

    def set(self, directive, value, comment=None):
        # type: (str, Any, Optional[str]) -> Directive
        """Make `directive` appear once with `value`: the first occurrence is rewritten in
        place (keeping its comment unless a new one is given), later ones are removed; if
        there is none it is appended."""
        found = [i for i in self._items if i.directive is not None and i.directive.name == directive]
        if not found:
            return self.add(directive, value, comment)
        first = found[0]
        first.directive.rest = _value_text(value)
        if comment is not None:
            first.directive.comment = "# " + comment
        first.raw = None
        for item in found[1:]:
            self._items.remove(item)
        self._changed()
        return first.directive

    def remove(self, directive):
        # type: (str) -> int
        """Remove every line of `directive` (as written); returns how many."""
        before = len(self._items)
        self._items = [i for i in self._items if i.directive is None or i.directive.name != directive]
        self._changed()
        return before - len(self._items)

    def add_comment(self, text=""):
        # type: (str) -> None
        if "\n" in text or "\r" in text:
            raise ValueError("a comment is one line")
        self._items.append(_Item(("# " + text) if text else "#"))
        self._changed()

    def add_blank(self):
        # type: () -> None
        self._items.append(_Item(""))
        self._changed()

    def _changed(self):
        self._state = None

    def directives(self, name=None):
        # type: (Optional[str]) -> List[Directive]
        """Directive lines in file order; with `name`, those whose canonical name (or
        spelling, for unknown ones) is `name`."""
        out = [i.directive for i in self._items if i.directive is not None]
        if name is not None:
            out = [d for d in out if (d.canonical or d.name) == name]
        return out

    # -- typed accessors -------------------------------------------------------------------

    @property
    def _st(self):
        # type: () -> _State
        if self._state is None:
            self._state = _evaluate(self)
        return self._state

    def get(self, name):
        # type: (str) -> Any
        """Effective value of a single-valued directive (last valid one, else heartbeat's
        default, else None), parsed: times in ms, booleans as bool, numbers as int."""
        st = self._st
        if name in st.values:
            return st.values[name][0]
        spec = SPECS.get(ALIASES.get(name, name))
        if spec is None or spec.default is None:
            return None
        return spec.check(spec.default)[0]

    def lineno(self, name):
        # type: (str) -> Optional[int]
        """Line of the effective (last valid) value of `name`, None if defaulted."""
        v = self._st.values.get(name)
        return v[2] if v else None

    @property
    def nodes(self):
        # type: () -> List[str]
        """Cluster members, lowercased, in file order, without repeats."""
        return [n.name for n in self._st.nodes]

    @property
    def node_entries(self):
        # type: () -> List[NodeEntry]
        return list(self._st.nodes)

    @property
    def keepalive_ms(self):
        # type: () -> int
        return self._st.timing["keepalive"]

    @property
    def deadtime_ms(self):
        # type: () -> int
        return self._st.timing["deadtime"]

    @property
    def warntime_ms(self):
        # type: () -> int
        """Explicit warntime, else deadtime / 2 like heartbeat."""
        return self._st.timing["warntime"]

    @property
    def initdead_ms(self):
        # type: () -> int
        """Explicit initdead, else heartbeat's rule: deadtime if > 10 s, 12 s if < 6 s,
        else 2 x deadtime."""
        return self._st.timing["initdead"]

    @property
    def deadping_ms(self):
        # type: () -> int
        """Explicit deadping, else deadtime."""
        return self._st.timing["deadping"]

    @property
    def udpport(self):
        # type: () -> int
        """The last `udpport` (what `cl_status hbparameter -p udpport` reports).  The port a
        link really uses is `Medium.port` (they differ when udpport follows the media)."""
        return self.get("udpport") or DEFAULT_UDPPORT

    @property
    def media(self):
        # type: () -> List[Medium]
        """Heartbeat links pyha runs (ucast, bcast, mcast, serial), in file order."""
        return list(self._st.media)

    @property
    def all_media(self):
        # type: () -> List[Medium]
        """All links including kinds pyha does not run (ucast6, mcast6), in file order."""
        return sorted(self._st.media + self._st.other_media, key=lambda m: m.lineno or 0)

    @property
    def ping_nodes(self):
        # type: () -> List[PingNode]
        return list(self._st.ping_nodes)

    @property
    def ping_groups(self):
        # type: () -> List[PingGroup]
        return list(self._st.ping_groups)

    @property
    def auto_failback(self):
        # type: () -> str
        """on / off / legacy (heartbeat's default), after nice_failback's mapping."""
        af = self._st.auto_failback
        return af[0] if af else "legacy"

    @property
    def respawn(self):
        # type: () -> List[Respawn]
        """respawn and failfast lines, in order."""
        return list(self._st.respawn)

    @property
    def watchdog(self):
        # type: () -> Optional[str]
        return self.get("watchdog")

    @property
    def logfile(self):
        # type: () -> Optional[str]
        return self.get("logfile")

    @property
    def debugfile(self):
        # type: () -> Optional[str]
        return self.get("debugfile")

    @property
    def logfacility(self):
        # type: () -> Optional[str]
        """Syslog facility name, `none`, or None when not set."""
        return self.get("logfacility")

    @property
    def use_logd(self):
        # type: () -> bool
        """Explicit use_logd, else implied when no logfile/debugfile/logfacility is set."""
        explicit = self.get("use_logd")
        if explicit is not None:
            return explicit
        return not any(self.get(n) is not None for n in _LOG_DIRECTIVES)

    @property
    def msgfmt(self):
        # type: () -> str
        return self.get("msgfmt")

    @property
    def hopfudge(self):
        # type: () -> int
        return self.get("hopfudge")

    @property
    def max_rexmit_delay_ms(self):
        # type: () -> int
        return self.get("max_rexmit_delay")

    @property
    def debug(self):
        # type: () -> int
        return self.get("debug")

    @property
    def pacemaker(self):
        # type: () -> str
        """`off`, `on` or a pacemaker mode (respawn, minimal, ...); `crm` is an alias."""
        return self.get("pacemaker")

    @property
    def pacemaker_enabled(self):
        # type: () -> bool
        return self.pacemaker != "off"

    crm = pacemaker
    crm_enabled = pacemaker_enabled

    @property
    def apiauth(self):
        # type: () -> Dict[str, ApiAuth]
        """API access rules by client, heartbeat's defaults included (lineno None)."""
        out = OrderedDict(self._st.apiauth)
        for client, spec in _DEFAULT_APIAUTH:
            if client not in out:
                uids, gids = _id_lists(spec)
                out[client] = ApiAuth(client, uids, gids, None)
        return out

    @property
    def env(self):
        # type: () -> Dict[str, str]
        """Environment for respawned children: {"HA_NAME": value}."""
        return OrderedDict(("HA_" + e.name, e.value) for e in self._st.env)

    @property
    def stonith(self):
        # type: () -> List[Directive]
        return list(self._st.stonith)

    # -- validation --------------------------------------------------------------------------

    def check(self):
        # type: () -> List[dg.Diagnostic]
        """Every problem visible from ha.cf alone (host and cross-file checks are in
        `pyha.config.check`)."""
        return list(self._st.diags)


def _value_text(value):
    # type: (Any) -> str
    if value is None:
        text = ""
    elif isinstance(value, bool):
        text = "on" if value else "off"
    elif isinstance(value, (list, tuple)):
        text = " ".join(_value_text(v) for v in value)
    else:
        text = str(value)
    if "#" in text or "\n" in text or "\r" in text:
        raise ValueError("ha.cf values cannot contain '#' or line breaks: %r" % text)
    return text.strip(WHITESPACE)


def _id_lists(text):
    # type: (str) -> Tuple[List[str], List[str]]
    uids, gids = [], []  # type: List[str], List[str]
    for tok in split_ws(text):
        if tok.startswith("uid="):
            uids = [x for x in tok[4:].split(",") if x]
        elif tok.startswith("gid="):
            gids = [x for x in tok[4:].split(",") if x]
    return uids, gids


# ---------------------------------------------------------------------------------------
# One pass over the directives, in order, like heartbeat's parse_config + init_config.

def _evaluate(cf):
    # type: (HaCf) -> _State
    st = _State()
    fn = cf.filename

    def err(code, msg, line, hint=None):
        st.diags.append(dg.error(code, msg, fn, line, hint))

    def warn(code, msg, line, hint=None):
        st.diags.append(dg.warning(code, msg, fn, line, hint))

    def note(code, msg, line, hint=None):
        st.diags.append(dg.info(code, msg, fn, line, hint))

    udpport_now = None  # type: Optional[int]
    baud_now = None  # type: Optional[int]
    kind_port = {}  # type: Dict[str, int]  # port each udp kind fixed at its first line
    first_user_of = {}  # type: Dict[str, int]  # first media line that read udpport / baud
    first_port = [0]  # what those first lines read (lists: assigned from the helper below)
    first_baud = [0]

    def port_for(kind, line):
        # each heartbeat media plugin reads udpport once, when its first line is parsed
        if kind not in kind_port:
            kind_port[kind] = udpport_now or DEFAULT_UDPPORT
            if "udpport" not in first_user_of:
                first_user_of["udpport"] = line
                first_port[0] = kind_port[kind]
        return kind_port[kind]

    def add_medium(m):
        if len(st.media) + len(st.other_media) >= MAXMEDIA:
            err("hacf-too-many-media", "more than %d media; heartbeat refuses this" % MAXMEDIA, m.lineno)
            return
        if m.kind in PYHA_MEDIA_KINDS:
            st.media.append(m)
        else:
            st.other_media.append(m)
            warn("hacf-medium-unsupported",
                 "%s links are accepted by heartbeat but pyha does not run them yet" % m.kind, m.lineno,
                 "use ucast/bcast/mcast over IPv4 (or serial) for pyha's links")

    for d in cf.directives():
        line = d.lineno
        canon = d.canonical
        if canon is None:
            close = suggest_directive(d.name)
            err("hacf-unknown-directive",
                "unknown directive %s%s; heartbeat refuses to start (\"Illegal directive\")"
                % (show(d.name), " (did you mean %s?)" % close if close else ""), line,
                ("write `%s%s`" % (close, " " + d.rest if d.rest else "")) if close
                else "see the directive list in ha.cf(5); remove or fix the line")
            continue
        spec = SPECS[canon]
        if d.name == "udp":
            warn("hacf-udp-alias", "'udp' is an old alias of 'bcast'", line, "write `bcast %s`" % d.rest)
        st.lines_of.setdefault(canon, []).append(line)
        tokens = d.values

        # repetition rules
        if spec.kind == "once" and len(st.lines_of[canon]) > 1:
            first = st.lines_of[canon][0]
            err("hacf-repeated", "%s may appear only once (first on line %d); heartbeat refuses a second one"
                % (canon, first), line, "keep one %s line" % canon)
            continue
        if spec.kind == "one" and len(st.lines_of[canon]) > 1 and canon != "udpport":
            warn("hacf-duplicate", "%s is set again (first on line %d); the later value wins"
                 % (canon, st.lines_of[canon][0]), line, "keep one %s line" % canon)

        if spec.whole_line:
            if not d.rest:
                err("hacf-missing-value", "%s needs arguments" % canon, line, _SYNTAX_HINT.get(canon))
                continue
            _whole_line(st, d, canon, err, warn, port_for, add_medium)
            continue

        if not tokens:
            warn("hacf-missing-value", "%s has no value; heartbeat ignores the line" % canon, line,
                 _SYNTAX_HINT.get(canon, "write `%s <value>`" % canon))
            continue
        if spec.kind in ("one", "once") and len(tokens) > 1:
            warn("hacf-extra-values",
                 "%s takes one value but has %d (%s); heartbeat applies each in turn, so %s wins"
                 % (canon, len(tokens), ", ".join(show(t) for t in tokens), show(tokens[-1])), line,
                 "write `%s %s`" % (canon, tokens[-1]))

        for tok in tokens:
            if canon == "node":
                name = tok.lower()
                if any(n.name == name for n in st.nodes):
                    warn("hacf-duplicate-node", "node %s is listed twice" % show(name), line, "remove the repeat")
                    continue
                if len(st.nodes) >= MAXNODE:
                    err("hacf-too-many-nodes", "more than %d nodes; heartbeat refuses this" % MAXNODE, line)
                    break
                st.nodes.append(NodeEntry(name, line))
                continue
            if canon == "bcast":
                add_medium(Medium("bcast", tok, line, port=port_for("bcast", line)))
                continue
            if canon == "serial":
                if "baud" not in first_user_of:
                    first_user_of["baud"] = line
                    first_baud[0] = baud_now or DEFAULT_BAUD
                add_medium(Medium("serial", tok, line, baud=baud_now or DEFAULT_BAUD))
                continue
            if canon in ("ping", "ping6"):
                if canon == "ping6":
                    warn("hacf-medium-unsupported", "ping6 nodes are accepted by heartbeat but pyha does "
                         "not ping over IPv6 yet", line, "use an IPv4 ping node")
                st.ping_nodes.append(PingNode(tok, canon, line))
                continue
            try:
                value, oddity = spec.check(tok)
            except BadValue as exc:
                err("hacf-bad-value", "%s: %s; heartbeat refuses to start" % (d.name, exc.message), line, exc.hint)
                continue
            if oddity:
                warn("hacf-odd-value", "%s: %s" % (d.name, oddity), line)
            if canon == "env":
                st.env.append(EnvEntry(value[0], value[1], line))
                continue
            if canon == "udpport":
                if "udpport" in first_user_of:
                    warn("hacf-order-udpport",
                         "udpport comes after the link on line %d, which already uses port %d; heartbeat keeps "
                         "that port for the ucast/bcast links (order matters in ha.cf)"
                         % (first_user_of["udpport"], first_port[0]), line,
                         "move `udpport %d` above the first ucast/bcast line" % value)
                elif len(st.lines_of["udpport"]) > 1:
                    warn("hacf-duplicate", "udpport is set again (first on line %d); the later value wins"
                         % st.lines_of["udpport"][0], line, "keep one udpport line")
                udpport_now = value
            if canon == "baud":
                if "baud" in first_user_of:
                    warn("hacf-order-baud",
                         "baud comes after the serial link on line %d, which already uses %d baud; heartbeat "
                         "keeps that speed (order matters in ha.cf)" % (first_user_of["baud"], first_baud[0]),
                         line, "move `baud %d` above the first serial line" % value)
                baud_now = value
            if canon == "auto_failback":
                st.auto_failback = (value, line)
                if value == "legacy":
                    warn("hacf-auto-failback-legacy", "auto_failback legacy is deprecated (heartbeat warns too); "
                         "standby/takeover and ipfail-style arbitration need on or off", line,
                         "write `auto_failback on` (or off)")
            if canon == "nice_failback":
                mapped = "off" if value else "legacy"
                st.auto_failback = (mapped, line)
                warn("hacf-nice-failback", "nice_failback is obsolete; heartbeat treats `nice_failback %s` as "
                     "`auto_failback %s`" % (tok, mapped), line, "write `auto_failback %s`"
                     % ("off" if value else "on"))
            if canon == "pacemaker" and value != "off":
                err("hacf-pacemaker", "%s %s enables Pacemaker (CRM) mode; pyha implements haresources mode only"
                    % (d.name, tok), line, "remove the line (or write `crm off`) and describe resources in "
                    "haresources")
            if canon in _PACEMAKER_ONLY:
                note("hacf-pacemaker-only", "%s only matters in Pacemaker mode; pyha ignores it" % canon, line)
            st.values[canon] = (value, tok, line)

    # -- whole-file rules (heartbeat's init_config) ------------------------------------------
    if st.auto_failback is None:
        warn("hacf-auto-failback-legacy", "no auto_failback line: heartbeat defaults to the deprecated "
             "'legacy' mode and warns at startup", None, "add `auto_failback on` (or off)")

    if not st.nodes:
        err("hacf-no-nodes", "no node lines; heartbeat refuses to start (\"no nodes defined\")", None,
            "add `node <uname -n of each node>`, e.g. `node ha1` and `node ha2`")
    elif len(st.nodes) > 2:
        warn("hacf-node-count", "%d nodes are listed; pyha runs two-node clusters" % len(st.nodes),
             st.nodes[2].lineno, "list exactly the two nodes")
    elif len(st.nodes) == 1:
        warn("hacf-node-count", "only one node is listed: there is nothing to fail over to",
             st.nodes[0].lineno, "add the peer: `node <its uname -n>`")

    for n in st.nodes:
        for p in st.ping_nodes:
            if p.host.lower() == n.name:
                warn("hacf-ping-is-node", "ping node %s is also a cluster node" % show(p.host), p.lineno,
                     "ping a stable third host such as the default gateway")

    if not st.media and not st.other_media:
        if st.ping_nodes or st.ping_groups:
            warn("hacf-ping-only", "only ping nodes are declared: ping nodes are not links between the nodes, "
                 "so each node would think the other dead", None,
                 "add a link, e.g. `ucast eth1 <peer address>` on the heartbeat network")
        else:
            err("hacf-no-media", "no heartbeat media (ucast, bcast, mcast, serial); heartbeat refuses to "
                "start (\"No heartbeat media defined\")", None,
                "add e.g. `ucast eth1 <peer address>` (after udpport)")

    _timing(st, err, warn, note)

    autojoin = st.values.get("autojoin")
    if autojoin and autojoin[0] != "none":
        err("hacf-autojoin", "autojoin %s conflicts with haresources mode; heartbeat refuses to start"
            % autojoin[0], autojoin[2], "remove the line or write `autojoin none`")

    use_logd = st.values.get("use_logd")
    if use_logd and not use_logd[0] and not any(n in st.values for n in _LOG_DIRECTIVES):
        err("hacf-no-logging", "use_logd is off and no logfile, debugfile or logfacility is set; heartbeat "
            "refuses to start (\"No log entry found\")", use_logd[2],
            "add `logfile /var/log/ha-log` or `logfacility local0`")

    for d in st.stonith:
        warn("hacf-stonith-ignored", "%s: pyha does not implement STONITH; the line is ignored" % d.name,
             d.lineno, "pyha protects against split brain with the watchdog and its guardian")
    return st


_SYNTAX_HINT = {
    "node": "write `node <name> [<name>...]`",
    "ucast": "write `ucast <device> <peer address>`, e.g. `ucast eth1 10.0.0.2`",
    "ucast6": "write `ucast6 <device> <peer IPv6 address>`",
    "mcast": "write `mcast <device> <group> <port> <ttl 0-4> <loop 0/1>`, e.g. `mcast eth1 225.0.0.1 694 1 0`",
    "mcast6": "write `mcast6 <device> <group> <port> <hops> <loop 0/1>`",
    "ping_group": "write `ping_group <name> <address> [<address>...]`",
    "respawn": "write `respawn <user> </absolute/path> [args]`",
    "failfast": "write `failfast <user> </absolute/path> [args]`",
    "apiauth": "write `apiauth <client> [uid=a,b] [gid=c,d]`",
    "stonith": "write `stonith <type> <configfile>`",
    "stonith_host": "write `stonith_host <host or *> <type> <params...>`",
}


def _whole_line(st, d, canon, err, warn, port_for, add_medium):
    # type: (_State, Directive, str, Any, Any, Any, Any) -> None
    line = d.lineno
    args = split_ws(d.rest)
    if canon in ("ucast", "ucast6"):
        if len(args) < 2:
            err("hacf-media-syntax", "%s needs a device and a peer address" % canon, line, _SYNTAX_HINT[canon])
            return
        if len(args) > 2:
            warn("hacf-extra-values", "%s takes a device and one peer; heartbeat ignores %s"
                 % (canon, " ".join(args[2:])), line, "one ucast line per peer")
        add_medium(Medium(canon, args[0], line, peer=args[1], port=port_for(canon, line)))
        return
    if canon in ("mcast", "mcast6"):
        names = ("device", "group", "port", "ttl" if canon == "mcast" else "hops", "loop")
        if len(args) < 5:
            err("hacf-media-syntax", "%s is missing its %s" % (canon, names[len(args)]), line, _SYNTAX_HINT[canon])
            return
        dev, group, port_s, ttl_s, loop_s = args[:5]
        if len(args) > 5:
            warn("hacf-extra-values", "%s: heartbeat ignores %s" % (canon, " ".join(args[5:])), line)
        ok = True
        if canon == "mcast":
            q = parse_ipv4(group)
            if q is None or not 224 <= q[0] <= 239:
                err("hacf-mcast-group", "mcast group %s is not an IPv4 multicast address (224.0.0.0 - "
                    "239.255.255.255); heartbeat refuses it" % show(group), line,
                    "use e.g. 225.0.0.1 (or a 239.x.y.z administratively scoped group)")
                ok = False
        port, clean = c_atoi(port_s)
        if port <= 0 or (port & 0xFFFF) == 0:
            err("hacf-mcast-port", "%s port %s is not a port number" % (canon, show(port_s)), line,
                "use the udpport, normally 694")
            ok = False
        elif port > 65535 or not clean:
            warn("hacf-odd-value", "%s port %s: heartbeat reads it as %d" % (canon, show(port_s), port & 0xFFFF), line)
        ttl, clean = c_atoi(ttl_s)
        limit = 4 if canon == "mcast" else 255
        if (ttl & 0xFF) > limit:
            err("hacf-mcast-ttl", "%s %s %s is not 0..%d; heartbeat refuses it" % (canon, names[3], show(ttl_s), limit),
                line, "use 1 for a single LAN segment")
            ok = False
        elif ttl != (ttl & 0xFF) or not clean:
            warn("hacf-odd-value", "%s %s %s: heartbeat reads it as %d" % (canon, names[3], show(ttl_s), ttl & 0xFF),
                 line, "write a number 0..%d" % limit)
        loop, clean = c_atoi(loop_s)
        if (loop & 0xFF) > 1:
            err("hacf-mcast-loop", "%s loop %s is not 0 or 1; heartbeat refuses it" % (canon, show(loop_s)), line,
                "use 0 (do not loop packets back to this host)")
            ok = False
        elif loop != (loop & 0xFF) or not clean:
            warn("hacf-odd-value", "%s loop %s: heartbeat reads it as %d" % (canon, show(loop_s), loop & 0xFF), line)
        if ok:
            add_medium(Medium(canon, dev, line, group=group, port=port & 0xFFFF, ttl=ttl & 0xFF, loop=loop & 0xFF))
        return
    if canon == "ping_group":
        if len(args) < 2:
            err("hacf-media-syntax", "ping_group %s has no addresses; heartbeat refuses it" % show(args[0]), line,
                _SYNTAX_HINT[canon])
            return
        st.ping_groups.append(PingGroup(args[0], args[1:], line))
        return
    if canon in ("respawn", "failfast"):
        if len(args) < 2:
            err("hacf-respawn-syntax", "%s needs a user and a program" % canon, line, _SYNTAX_HINT[canon])
            return
        user = args[0]
        command = d.rest[len(user):].lstrip(WHITESPACE)
        if not command.startswith("/"):
            err("hacf-respawn-syntax", "%s program %s is not an absolute path; heartbeat refuses it"
                % (canon, show(args[1])), line, "write the full path, e.g. /usr/lib/heartbeat/%s" % args[1])
            return
        st.respawn.append(Respawn(user, command, canon == "failfast", line))
        return
    if canon == "apiauth":
        client = args[0]
        uids = gids = None
        bad = None
        for tok in args[1:]:
            if tok.startswith("uid="):
                if uids is not None:
                    bad = "duplicate uid list"
                uids = [x for x in tok[4:].split(",") if x]
            elif tok.startswith("gid="):
                if gids is not None:
                    bad = "duplicate gid list"
                gids = [x for x in tok[4:].split(",") if x]
            else:
                bad = "%s is neither uid=... nor gid=..." % show(tok)
        if bad is None and uids is None and gids is None:
            bad = "no uid= or gid= list"
        if bad:
            err("hacf-apiauth-syntax", "apiauth %s: %s; heartbeat refuses it" % (client, bad), line,
                _SYNTAX_HINT[canon])
            return
        if client in st.apiauth:
            err("hacf-apiauth-duplicate", "apiauth for %s is given twice (first on line %d); heartbeat refuses it"
                % (show(client), st.apiauth[client].lineno), line, "merge the two lines")
            return
        st.apiauth[client] = ApiAuth(client, uids or [], gids or [], line)
        return
    if canon in ("stonith", "stonith_host"):
        if len(args) < 2:
            err("hacf-stonith-syntax", "%s needs more arguments" % canon, line, _SYNTAX_HINT[canon])
            return
        st.stonith.append(d)
        return


def _timing(st, err, warn, note):
    # type: (_State, Any, Any, Any) -> None
    def val(name):
        v = st.values.get(name)
        return (v[0], v[2]) if v else (None, None)

    keepalive, k_line = val("keepalive")
    deadtime, d_line = val("deadtime")
    warntime, w_line = val("warntime")
    initdead, i_line = val("initdead")
    deadping, p_line = val("deadping")
    keepalive = keepalive if keepalive is not None else 1000
    deadtime = deadtime if deadtime is not None else 30000
    t = st.timing
    t["keepalive"] = keepalive
    t["deadtime"] = deadtime
    t["warntime"] = warntime if warntime is not None else deadtime // 2
    if initdead is None:
        if deadtime > 10000:
            t["initdead"] = deadtime
        elif deadtime < 6000:
            t["initdead"] = 12000
        else:
            t["initdead"] = 2 * deadtime
    else:
        t["initdead"] = initdead
    t["deadping"] = deadping if deadping is not None else deadtime

    if deadtime <= 2 * keepalive:
        err("hacf-deadtime-too-small",
            "deadtime %s is not more than twice keepalive %s; heartbeat refuses to start (\"Dead time [%d] is too "
            "small compared to keeplive [%d]\")" % (human_ms(deadtime), human_ms(keepalive), deadtime, keepalive),
            d_line or k_line, "raise deadtime above %s (a usual choice is 15-30 x keepalive) or lower keepalive"
            % human_ms(2 * keepalive))
    if warntime is not None:
        if warntime >= deadtime:
            warn("hacf-warntime", "warntime %s is not below deadtime %s, so a late heartbeat is never reported "
                 "before the node is declared dead" % (human_ms(warntime), human_ms(deadtime)), w_line,
                 "set warntime between keepalive and deadtime, e.g. `warntime %s`" % format_ms(deadtime // 2))
        elif warntime <= keepalive:
            warn("hacf-warntime", "warntime %s is not above keepalive %s: every heartbeat would count as late"
                 % (human_ms(warntime), human_ms(keepalive)), w_line,
                 "set warntime between keepalive and deadtime, e.g. `warntime %s`" % format_ms(deadtime // 2))
    if initdead is not None:
        if initdead < deadtime:
            err("hacf-initdead-too-small", "initdead %s is smaller than deadtime %s; heartbeat refuses to start"
                % (human_ms(initdead), human_ms(deadtime)), i_line,
                "set initdead to at least twice deadtime: `initdead %s`" % format_ms(2 * deadtime))
        elif initdead < 2 * deadtime or initdead < 10000:
            warn("hacf-initdead-short", "initdead %s is short (%s); after a reboot the network may not be up "
                 "in time and the node would take over from a healthy peer"
                 % (human_ms(initdead), "below 10 s" if initdead < 10000 else "less than twice deadtime"),
                 i_line, "set `initdead %s`" % format_ms(max(2 * deadtime, 10000)))
    elif t["initdead"] < 2 * deadtime:
        note("hacf-initdead-default", "no initdead: heartbeat uses %s (same as deadtime)"
             % human_ms(t["initdead"]), None,
             "consider `initdead %s` so slow boots do not cause a takeover" % format_ms(2 * deadtime))
    if deadping is not None and deadping <= 2 * keepalive:
        err("hacf-deadping-too-small", "deadping %s is not more than twice keepalive %s; heartbeat refuses to start"
            % (human_ms(deadping), human_ms(keepalive)), p_line,
            "raise deadping (the default is deadtime, %s)" % human_ms(deadtime))
