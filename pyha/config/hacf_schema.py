"""ha.cf's schema: the directive table (spec 2.2) and one small validator per directive.

A token validator turns one value token into a Python value and returns (value, oddity),
where oddity is a warning text for forms heartbeat accepts but reads differently from how
they look; it raises BadValue where heartbeat refuses.  A line validator reads a whole-line
directive (ucast, mcast, respawn, ...) and returns (fields or None, findings): findings are
diagnostics without file and line, which the evaluation stamps with both.

This module never keeps state, never sees more than one line, and never looks at the host:
repetition, order and whole-file rules live in `pyha.config.hacf_eval`.
"""

import difflib
from collections import OrderedDict
from typing import Any, Callable, Dict, List, Optional, Tuple

from pyha import diagnostics as dg
from pyha.config.common import (WHITESPACE, BadValue, c_atoi, human_ms, parse_bool, parse_ipv4, parse_time_ms, show,
                                split_ws)

DEFAULT_UDPPORT = 694  # ha-cluster/udp
DEFAULT_BAUD = 19200
MAXNODE = 100  # heartbeat.h
MAXMEDIA = 64  # heartbeat.h

# Media kinds pyha's daemon can run.  The IPv6 kinds are parsed and validated like
# heartbeat does, but flagged, so a config that relies on them is not silently deaf.
PYHA_MEDIA_KINDS = ("ucast", "bcast", "mcast", "serial")

# Resources heartbeat would hand to ha_logd when no log destination is configured.
LOG_DIRECTIVES = ("logfile", "debugfile", "logfacility")

_FACILITIES = ("none", "auth", "authpriv", "cron", "daemon", "ftp", "kern", "lpr", "mail", "mark",
               "news", "security", "syslog", "user", "uucp", "local0", "local1", "local2",
               "local3", "local4", "local5", "local6", "local7")
_BAUDS = (9600, 19200, 38400, 57600, 115200, 230400, 460800)
_PACEMAKER_MODES = ("respawn", "minimal", "manual", "ccm-only", "valgrind")
PACEMAKER_ONLY = ("crm_daemon_dir", "crmd_spawns_pengine", "record_config_changes",
                  "record_pengine_inputs", "enable_config_writes")
# apiauth entries heartbeat adds when ha.cf does not override them.
DEFAULT_APIAUTH = (("ipfail", "uid=hacluster"), ("ccm", "uid=hacluster"), ("ping", "gid=haclient"),
                   ("lha-snmpagent", "uid=root"), ("anon", "uid=root gid=haclient"))

SYNTAX_HINT = {
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

Checked = Tuple[Any, Optional[str]]
Findings = List[dg.Diagnostic]


# -- token validators ----------------------------------------------------------------------

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


# -- line validators: (canon, rest, args) -> (fields or None, findings) ----------------------

def _ucast_line(canon, rest, args):
    # type: (str, str, List[str]) -> Tuple[Optional[Dict[str, Any]], Findings]
    if len(args) < 2:
        return None, [dg.error("hacf-media-syntax", "%s needs a device and a peer address" % canon,
                               hint=SYNTAX_HINT[canon])]
    found = []  # type: Findings
    if len(args) > 2:
        found.append(dg.warning("hacf-extra-values", "%s takes a device and one peer; heartbeat ignores %s"
                                % (canon, " ".join(args[2:])), hint="one ucast line per peer"))
    return {"dev": args[0], "peer": args[1]}, found


def _byte_field(canon, what, text, limit, code, hint, found):
    # type: (str, str, str, int, str, str, Findings) -> Optional[int]
    """mcast's ttl (hops) or loop: heartbeat keeps the low byte and refuses it above `limit`."""
    value, clean = c_atoi(text)
    if (value & 0xFF) > limit:
        allowed = "0 or 1" if limit == 1 else "0..%d" % limit
        found.append(dg.error(code, "%s %s %s is not %s; heartbeat refuses it" % (canon, what, show(text), allowed),
                              hint=hint))
        return None
    if value != (value & 0xFF) or not clean:
        found.append(dg.warning("hacf-odd-value", "%s %s %s: heartbeat reads it as %d"
                                % (canon, what, show(text), value & 0xFF),
                                hint=None if limit == 1 else "write a number 0..%d" % limit))
    return value & 0xFF


def _mcast_line(canon, rest, args):
    # type: (str, str, List[str]) -> Tuple[Optional[Dict[str, Any]], Findings]
    names = ("device", "group", "port", "ttl" if canon == "mcast" else "hops", "loop")
    if len(args) < 5:
        return None, [dg.error("hacf-media-syntax", "%s is missing its %s" % (canon, names[len(args)]),
                               hint=SYNTAX_HINT[canon])]
    dev, group, port_s, ttl_s, loop_s = args[:5]
    found = []  # type: Findings
    if len(args) > 5:
        found.append(dg.warning("hacf-extra-values", "%s: heartbeat ignores %s" % (canon, " ".join(args[5:]))))
    ok = True
    if canon == "mcast":
        q = parse_ipv4(group)
        if q is None or not 224 <= q[0] <= 239:
            found.append(dg.error("hacf-mcast-group", "mcast group %s is not an IPv4 multicast address (224.0.0.0 - "
                                  "239.255.255.255); heartbeat refuses it" % show(group),
                                  hint="use e.g. 225.0.0.1 (or a 239.x.y.z administratively scoped group)"))
            ok = False
    port, clean = c_atoi(port_s)
    if port <= 0 or (port & 0xFFFF) == 0:
        found.append(dg.error("hacf-mcast-port", "%s port %s is not a port number" % (canon, show(port_s)),
                              hint="use the udpport, normally 694"))
        ok = False
    elif port > 65535 or not clean:
        found.append(dg.warning("hacf-odd-value", "%s port %s: heartbeat reads it as %d"
                                % (canon, show(port_s), port & 0xFFFF)))
    ttl = _byte_field(canon, names[3], ttl_s, 4 if canon == "mcast" else 255, "hacf-mcast-ttl",
                      "use 1 for a single LAN segment", found)
    loop = _byte_field(canon, "loop", loop_s, 1, "hacf-mcast-loop", "use 0 (do not loop packets back to this host)",
                       found)
    if not ok or ttl is None or loop is None:
        return None, found
    return {"dev": dev, "group": group, "port": port & 0xFFFF, "ttl": ttl, "loop": loop}, found


def _ping_group_line(canon, rest, args):
    # type: (str, str, List[str]) -> Tuple[Optional[Tuple[str, List[str]]], Findings]
    if len(args) < 2:
        return None, [dg.error("hacf-media-syntax", "ping_group %s has no addresses; heartbeat refuses it"
                               % show(args[0]), hint=SYNTAX_HINT[canon])]
    return (args[0], args[1:]), []


def _respawn_line(canon, rest, args):
    # type: (str, str, List[str]) -> Tuple[Optional[Tuple[str, str]], Findings]
    if len(args) < 2:
        return None, [dg.error("hacf-respawn-syntax", "%s needs a user and a program" % canon, hint=SYNTAX_HINT[canon])]
    user = args[0]
    command = rest[len(user):].lstrip(WHITESPACE)
    if not command.startswith("/"):
        return None, [dg.error("hacf-respawn-syntax", "%s program %s is not an absolute path; heartbeat refuses it"
                               % (canon, show(args[1])),
                               hint="write the full path, e.g. /usr/lib/heartbeat/%s" % args[1])]
    return (user, command), []


def id_lists(text):
    # type: (str) -> Tuple[List[str], List[str]]
    """The uid= and gid= lists of an apiauth value (the last of each wins)."""
    uids, gids = [], []  # type: List[str], List[str]
    for tok in split_ws(text):
        if tok.startswith("uid="):
            uids = [x for x in tok[4:].split(",") if x]
        elif tok.startswith("gid="):
            gids = [x for x in tok[4:].split(",") if x]
    return uids, gids


def _apiauth_line(canon, rest, args):
    # type: (str, str, List[str]) -> Tuple[Optional[Tuple[str, List[str], List[str]]], Findings]
    client = args[0]
    bad = None
    seen = set()
    for tok in args[1:]:
        kind = tok[:4]
        if kind in ("uid=", "gid="):
            if kind in seen:
                bad = "duplicate %s list" % kind[:3]
            seen.add(kind)
        else:
            bad = "%s is neither uid=... nor gid=..." % show(tok)
    if bad is None and not seen:
        bad = "no uid= or gid= list"
    if bad:
        return None, [dg.error("hacf-apiauth-syntax", "apiauth %s: %s; heartbeat refuses it" % (client, bad),
                               hint=SYNTAX_HINT[canon])]
    uids, gids = id_lists(" ".join(args[1:]))
    return (client, uids, gids), []


def after_words(text, n):
    # type: (str, int) -> str
    """`text` after its first `n` blank-separated words, leading blanks skipped (heartbeat
    hands the rest of a stonith line to cluster-glue as it stands)."""
    pos = 0
    for _ in range(n):
        while pos < len(text) and text[pos] in WHITESPACE:
            pos += 1
        while pos < len(text) and text[pos] not in WHITESPACE:
            pos += 1
    return text[pos:].strip(WHITESPACE)


def _stonith_line(canon, rest, args):
    # type: (str, str, List[str]) -> Tuple[Optional[Tuple[Optional[str], str, str]], Findings]
    # (hostfrom or None for `stonith`, device type, parameter text or config file name)
    if len(args) < 2:
        return None, [dg.error("hacf-stonith-syntax", "%s needs more arguments" % canon, hint=SYNTAX_HINT[canon])]
    if canon == "stonith":
        return (None, args[0], after_words(rest, 1)), []
    # heartbeat lowercases the host field before comparing it with its (lowercased) node name
    return (args[0].lower(), args[1], after_words(rest, 2)), []


# -- the table -----------------------------------------------------------------------------

class _Spec(object):
    """kind: one (last value wins; repeating warns), once (repeating is an error), many
    (every token / line adds one), line (whole-line directive, many; `line_check` reads it)."""

    __slots__ = ("name", "kind", "check", "default", "line_check")

    def __init__(self, name, kind, check=None, default=None, line_check=None):
        self.name = name
        self.kind = kind
        self.check = check or _text
        self.default = default
        self.line_check = line_check

    @property
    def whole_line(self):
        # type: () -> bool
        return self.line_check is not None


_SPEC_LIST = [
    _Spec("node", "many"),
    _Spec("keepalive", "one", _time(True), "1000ms"),
    _Spec("deadtime", "one", _time(False), "30000ms"),
    _Spec("warntime", "one", _time(True)),
    _Spec("initdead", "one", _time(False)),
    _Spec("deadping", "one", _time(False)),
    _Spec("udpport", "one", _udpport),
    _Spec("bcast", "many"),
    _Spec("mcast", "line", line_check=_mcast_line),
    _Spec("ucast", "line", line_check=_ucast_line),
    _Spec("mcast6", "line", line_check=_mcast_line),
    _Spec("ucast6", "line", line_check=_ucast_line),
    _Spec("serial", "many"),
    _Spec("baud", "once", _baud, "19200"),
    _Spec("ping", "many"),
    _Spec("ping6", "many"),
    _Spec("ping_group", "line", line_check=_ping_group_line),
    _Spec("auto_failback", "one", _auto_failback, "legacy"),
    _Spec("nice_failback", "one", _bool),
    _Spec("respawn", "line", line_check=_respawn_line),
    _Spec("failfast", "line", line_check=_respawn_line),
    _Spec("apiauth", "line", line_check=_apiauth_line),
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
    _Spec("stonith", "line", line_check=_stonith_line),
    _Spec("stonith_host", "line", line_check=_stonith_line),
]
SPECS = OrderedDict((s.name, s) for s in _SPEC_LIST)  # type: Dict[str, _Spec]
ALIASES = {"udp": "bcast", "crm": "pacemaker"}
KNOWN_DIRECTIVES = tuple(SPECS) + tuple(ALIASES)


def canonical(name):
    # type: (str) -> Optional[str]
    """The table name of a directive as written (aliases resolved), None if unknown."""
    name = ALIASES.get(name, name)
    return name if name in SPECS else None


def default(name):
    # type: (str) -> Any
    """heartbeat's default for a single-valued directive, parsed; None if it has none."""
    spec = SPECS.get(ALIASES.get(name, name))
    if spec is None or spec.default is None:
        return None
    return spec.check(spec.default)[0]


def suggest_directive(name):
    # type: (str) -> Optional[str]
    """The known directive closest to a misspelt one (`keeplive` -> `keepalive`)."""
    if name.lower() in SPECS:
        return name.lower()  # directives are case-sensitive: `Keepalive` is unknown too
    close = difflib.get_close_matches(name.lower(), KNOWN_DIRECTIVES, n=1, cutoff=0.6)
    return close[0] if close else None
