"""ha.cf evaluation: one pass over the directives, in order, like heartbeat's parse_config
and init_config, giving a frozen `Settings` and the diagnostics that name line and fix.

Order matters in ha.cf (a `udpport` after the first ucast line does not move that link), so
the pass keeps an explicit `_Pass` state; each directive's own syntax is the schema's job.
This module never raises on bad input (every problem becomes a diagnostic and the setting
falls back to heartbeat's value), never edits the document and never looks at the host.
"""

from collections import OrderedDict
from typing import Any, Dict, List, Optional, Tuple

from pyha import diagnostics as dg
from pyha.config.common import BadValue, show, split_ws
from pyha.config.hacf_doc import Directive
from pyha.config.hacf_rules import FILE_RULES
from pyha.config.hacf_schema import (DEFAULT_BAUD, DEFAULT_UDPPORT, MAXMEDIA, MAXNODE, PACEMAKER_ONLY,
                                     PYHA_MEDIA_KINDS, SPECS, SYNTAX_HINT, suggest_directive)
from pyha.config.hacf_settings import (ApiAuth, EnvEntry, Medium, NodeEntry, PingGroup, PingNode, Respawn,
                                       Settings, StonithLine)


class _Pass(object):
    """What the pass has read so far, and what heartbeat's order rules need to remember."""

    def __init__(self, filename):
        # type: (str) -> None
        self.filename = filename
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
        self.stonith = []  # type: List[StonithLine]
        self.auto_failback = None  # type: Optional[Tuple[str, int]]
        self.timing = {}  # type: Dict[str, int]
        self.udpport_now = None  # type: Optional[int]
        self.baud_now = None  # type: Optional[int]
        self.kind_port = {}  # type: Dict[str, int]  # port each udp kind fixed at its first line
        # the first media line that read udpport / baud, and what it read
        self.first_user_of = {}  # type: Dict[str, Tuple[int, int]]

    def report(self, severity, code, msg, line, hint=None):
        # type: (str, str, str, Optional[int], Optional[str]) -> None
        self.diags.append(dg.Diagnostic(severity, code, msg, self.filename, line, hint))

    def err(self, code, msg, line, hint=None):
        # type: (str, str, Optional[int], Optional[str]) -> None
        self.report(dg.ERROR, code, msg, line, hint)

    def warn(self, code, msg, line, hint=None):
        # type: (str, str, Optional[int], Optional[str]) -> None
        self.report(dg.WARNING, code, msg, line, hint)

    def port_for(self, kind, line):
        # type: (str, int) -> int
        # each heartbeat media plugin reads udpport once, when its first line is parsed
        if kind not in self.kind_port:
            self.kind_port[kind] = self.udpport_now or DEFAULT_UDPPORT
            self.first_user_of.setdefault("udpport", (line, self.kind_port[kind]))
        return self.kind_port[kind]

    def add_medium(self, m):
        # type: (Medium) -> None
        if len(self.media) + len(self.other_media) >= MAXMEDIA:
            self.err("hacf-too-many-media", "more than %d media; heartbeat refuses this" % MAXMEDIA, m.lineno)
            return
        if m.kind in PYHA_MEDIA_KINDS:
            self.media.append(m)
        else:
            self.other_media.append(m)
            self.warn("hacf-medium-unsupported",
                      "%s links are accepted by heartbeat but pyha does not run them yet" % m.kind, m.lineno,
                      "use ucast/bcast/mcast over IPv4 (or serial) for pyha's links")

    def freeze(self):
        # type: () -> Settings
        return Settings(diagnostics=self.diags, values=self.values, timing=self.timing, node_entries=self.nodes,
                        media=self.media, other_media=self.other_media, ping_nodes=self.ping_nodes,
                        ping_groups=self.ping_groups, respawn=self.respawn, apiauth=self.apiauth, env=self.env,
                        stonith=self.stonith, auto_failback=self.auto_failback)


def evaluate(directives, filename):
    # type: (List[Directive], str) -> Settings
    """The settings `directives` (in file order) give, with every problem found on the way."""
    p = _Pass(filename)
    for d in directives:
        _directive(p, d)
    for rule in FILE_RULES:
        rule(p)
    return p.freeze()


def _directive(p, d):
    # type: (_Pass, Directive) -> None
    line, canon = d.lineno, d.canonical
    if canon is None:
        close = suggest_directive(d.name)
        p.err("hacf-unknown-directive",
              "unknown directive %s%s; heartbeat refuses to start (\"Illegal directive\")"
              % (show(d.name), " (did you mean %s?)" % close if close else ""), line,
              ("write `%s%s`" % (close, " " + d.rest if d.rest else "")) if close
              else "see the directive list in ha.cf(5); remove or fix the line")
        return
    spec = SPECS[canon]
    if d.name == "udp":
        p.warn("hacf-udp-alias", "'udp' is an old alias of 'bcast'", line, "write `bcast %s`" % d.rest)
    seen = p.lines_of.setdefault(canon, [])
    seen.append(line)
    if spec.kind == "once" and len(seen) > 1:
        p.err("hacf-repeated", "%s may appear only once (%s); heartbeat refuses a second one"
              % (canon, _first(seen[0])), line, "keep one %s line" % canon)
        return
    if spec.kind == "one" and len(seen) > 1 and canon != "udpport":
        p.warn("hacf-duplicate", "%s is set again (%s); the later value wins" % (canon, _first(seen[0])),
               line, "keep one %s line" % canon)
    if spec.whole_line:
        _whole_line(p, d, canon)
        return
    tokens = d.values
    if not tokens:
        p.warn("hacf-missing-value", "%s has no value; heartbeat ignores the line" % canon, line,
               SYNTAX_HINT.get(canon, "write `%s <value>`" % canon))
        return
    if spec.kind in ("one", "once") and len(tokens) > 1:
        p.warn("hacf-extra-values", "%s takes one value but has %d (%s); heartbeat applies each in turn, so %s wins"
               % (canon, len(tokens), ", ".join(show(t) for t in tokens), show(tokens[-1])), line,
               "write `%s %s`" % (canon, tokens[-1]))
    take = _TAKE_TOKEN.get(canon, _checked_token)
    for tok in tokens:
        if take(p, d, canon, tok) is _STOP:
            break


# -- whole-line directives: the schema reads the line, the pass records what it gives --------

def _whole_line(p, d, canon):
    # type: (_Pass, Directive, str) -> None
    if not d.rest:
        p.err("hacf-missing-value", "%s needs arguments" % canon, d.lineno, SYNTAX_HINT.get(canon))
        return
    fields, findings = SPECS[canon].line_check(canon, d.rest, split_ws(d.rest))
    for f in findings:
        p.report(f.severity, f.code, f.message, d.lineno, f.hint)
    if fields is not None:
        _TAKE_LINE[canon](p, d, canon, fields)


def _take_ucast(p, d, canon, fields):
    # type: (_Pass, Directive, str, Dict[str, Any]) -> None
    p.add_medium(Medium(canon, fields["dev"], d.lineno, peer=fields["peer"], port=p.port_for(canon, d.lineno)))


def _take_mcast(p, d, canon, fields):
    # type: (_Pass, Directive, str, Dict[str, Any]) -> None
    p.add_medium(Medium(canon, lineno=d.lineno, **fields))


def _take_ping_group(p, d, canon, fields):
    # type: (_Pass, Directive, str, Tuple[str, List[str]]) -> None
    p.ping_groups.append(PingGroup(fields[0], fields[1], d.lineno))


def _take_respawn(p, d, canon, fields):
    # type: (_Pass, Directive, str, Tuple[str, str]) -> None
    p.respawn.append(Respawn(fields[0], fields[1], canon == "failfast", d.lineno))


def _take_apiauth(p, d, canon, fields):
    # type: (_Pass, Directive, str, Tuple[str, List[str], List[str]]) -> None
    client, uids, gids = fields
    if client in p.apiauth:
        p.err("hacf-apiauth-duplicate", "apiauth for %s is given twice (%s); heartbeat refuses it"
              % (show(client), _first(p.apiauth[client].lineno)), d.lineno, "merge the two lines")
        return
    p.apiauth[client] = ApiAuth(client, uids, gids, d.lineno)


def _take_stonith(p, d, canon, fields):
    # type: (_Pass, Directive, str, Tuple[Optional[str], str, str]) -> None
    hostfrom, kind, text = fields
    p.stonith.append(StonithLine(canon, hostfrom, kind, text, d.lineno, d.rest))


_TAKE_LINE = {"ucast": _take_ucast, "ucast6": _take_ucast, "mcast": _take_mcast, "mcast6": _take_mcast,
              "ping_group": _take_ping_group, "respawn": _take_respawn, "failfast": _take_respawn,
              "apiauth": _take_apiauth, "stonith": _take_stonith, "stonith_host": _take_stonith}


# -- option directives, token by token ------------------------------------------------------

_STOP = object()  # a token taker's answer when the rest of the line must be skipped


def _take_node(p, d, canon, tok):
    # type: (_Pass, Directive, str, str) -> Any
    name = tok.lower()
    if any(n.name == name for n in p.nodes):
        p.warn("hacf-duplicate-node", "node %s is listed twice" % show(name), d.lineno, "remove the repeat")
        return None
    if len(p.nodes) >= MAXNODE:
        p.err("hacf-too-many-nodes", "more than %d nodes; heartbeat refuses this" % MAXNODE, d.lineno)
        return _STOP
    p.nodes.append(NodeEntry(name, d.lineno))
    return None


def _take_bcast(p, d, canon, tok):
    # type: (_Pass, Directive, str, str) -> Any
    p.add_medium(Medium("bcast", tok, d.lineno, port=p.port_for("bcast", d.lineno)))


def _take_serial(p, d, canon, tok):
    # type: (_Pass, Directive, str, str) -> Any
    baud = p.baud_now or DEFAULT_BAUD
    p.first_user_of.setdefault("baud", (d.lineno, baud))
    p.add_medium(Medium("serial", tok, d.lineno, baud=baud))


def _take_ping(p, d, canon, tok):
    # type: (_Pass, Directive, str, str) -> Any
    if canon == "ping6":
        p.warn("hacf-medium-unsupported", "ping6 nodes are accepted by heartbeat but pyha does "
               "not ping over IPv6 yet", d.lineno, "use an IPv4 ping node")
    p.ping_nodes.append(PingNode(tok, canon, d.lineno))


def _checked_token(p, d, canon, tok):
    # type: (_Pass, Directive, str, str) -> Any
    line = d.lineno
    try:
        value, oddity = SPECS[canon].check(tok)
    except BadValue as exc:
        p.err("hacf-bad-value", "%s: %s; heartbeat refuses to start" % (d.name, exc.message), line, exc.hint)
        return
    if oddity:
        p.warn("hacf-odd-value", "%s: %s" % (d.name, oddity), line)
    if canon == "env":
        p.env.append(EnvEntry(value[0], value[1], line))
        return
    effect = _EFFECTS.get(canon)
    if effect is not None:
        effect(p, d, tok, value)
    if canon in PACEMAKER_ONLY:
        p.report(dg.INFO, "hacf-pacemaker-only", "%s only matters in Pacemaker mode; pyha ignores it" % canon, line)
    p.values[canon] = (value, tok, line)


_TAKE_TOKEN = {"node": _take_node, "bcast": _take_bcast, "serial": _take_serial, "ping": _take_ping,
               "ping6": _take_ping}


# -- what a valid value does beyond being the directive's value ------------------------------

def _on(lineno):
    # type: (Optional[int]) -> str
    """Where an earlier line is: lines added through the API (HaCf.add) have no number."""
    return "on line %d" % lineno if isinstance(lineno, int) else "added earlier (no line number yet)"


def _first(lineno):
    # type: (Optional[int]) -> str
    return "first " + _on(lineno)


def _used_before(p, d, name, value, what, hint):
    # type: (_Pass, Directive, str, int, str, str) -> bool
    """`name` set after a line that already used its value: heartbeat keeps the value that
    line saw (order matters in ha.cf).  `what` says so, given that line and its value."""
    if name not in p.first_user_of:
        return False
    first_line, first_value = p.first_user_of[name]
    p.warn("hacf-order-" + name, what % (_on(first_line), first_value), d.lineno, hint % value)
    return True


def _set_udpport(p, d, tok, value):
    # type: (_Pass, Directive, str, int) -> None
    late = _used_before(p, d, "udpport", value,
                        "udpport comes after the link %s, which already uses port %d; heartbeat keeps "
                        "that port for the ucast/bcast links (order matters in ha.cf)",
                        "move `udpport %d` above the first ucast/bcast line")
    if not late and len(p.lines_of["udpport"]) > 1:
        p.warn("hacf-duplicate", "udpport is set again (%s); the later value wins"
               % _first(p.lines_of["udpport"][0]), d.lineno, "keep one udpport line")
    p.udpport_now = value


def _set_baud(p, d, tok, value):
    # type: (_Pass, Directive, str, int) -> None
    _used_before(p, d, "baud", value,
                 "baud comes after the serial link %s, which already uses %d baud; heartbeat "
                 "keeps that speed (order matters in ha.cf)",
                 "move `baud %d` above the first serial line")
    p.baud_now = value


def _set_auto_failback(p, d, tok, value):
    # type: (_Pass, Directive, str, str) -> None
    p.auto_failback = (value, d.lineno)
    if value == "legacy":
        p.warn("hacf-auto-failback-legacy", "auto_failback legacy is deprecated (heartbeat warns too); "
               "standby/takeover and ipfail-style arbitration need on or off", d.lineno,
               "write `auto_failback on` (or off)")


def _set_nice_failback(p, d, tok, value):
    # type: (_Pass, Directive, str, bool) -> None
    mapped = "off" if value else "legacy"
    p.auto_failback = (mapped, d.lineno)
    p.warn("hacf-nice-failback", "nice_failback is obsolete; heartbeat treats `nice_failback %s` as "
           "`auto_failback %s`" % (tok, mapped), d.lineno, "write `auto_failback %s`" % ("off" if value else "on"))


def _set_pacemaker(p, d, tok, value):
    # type: (_Pass, Directive, str, str) -> None
    if value != "off":
        p.err("hacf-pacemaker", "%s %s enables Pacemaker (CRM) mode; pyha implements haresources mode only"
              % (d.name, tok), d.lineno, "remove the line (or write `crm off`) and describe resources in "
              "haresources")


_EFFECTS = {"udpport": _set_udpport, "baud": _set_baud, "auto_failback": _set_auto_failback,
            "nice_failback": _set_nice_failback, "pacemaker": _set_pacemaker}
