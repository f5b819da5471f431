"""What ha.cf means, frozen: the values the daemon reads (times in ms, nodes, media, ...).

`Settings` is built once by `pyha.config.hacf_eval.evaluate` from a parsed ha.cf and never
changes afterwards: every attribute is read-only and every list or dict it hands out is a
fresh copy, so a reader cannot alter what another reader sees.  Where the file says
nothing, the accessors give the value heartbeat would have used.

This module never parses text, never reports problems (the evaluation does) and never
looks at the host.
"""

from collections import OrderedDict, namedtuple
from typing import Any, Dict, List, Optional, Tuple

from pyha.config.common import split_ws
from pyha.config.hacf_schema import DEFAULT_APIAUTH, DEFAULT_UDPPORT, LOG_DIRECTIVES, default, id_lists

NodeEntry = namedtuple("NodeEntry", "name lineno")
PingNode = namedtuple("PingNode", "host kind lineno")  # kind: ping / ping6
PingGroup = namedtuple("PingGroup", "name hosts lineno")
ApiAuth = namedtuple("ApiAuth", "client uids gids lineno")  # lineno None for heartbeat's defaults
EnvEntry = namedtuple("EnvEntry", "name value lineno")  # name without the HA_ prefix
class StonithLine(namedtuple("StonithLine", "directive hostfrom type text lineno rest")):
    """One `stonith` / `stonith_host` line.  directive: which of the two; hostfrom: the
    node the line applies on, lowercased, "*" for every node, None for `stonith` (every
    node); type: the cluster-glue device type; text: stonith_host's parameters as written
    (positional, in the order `stonith -t TYPE -n` prints) or stonith's parameter file
    name; rest: the whole value as written.  `name`/`canonical` read like a Directive's."""

    __slots__ = ()

    @property
    def name(self):
        # type: () -> str
        return self.directive

    canonical = name


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


def _value(name, doc=None):
    # type: (str, Optional[str]) -> property
    """A Settings attribute that is simply the effective value of directive `name`."""
    return property(lambda self: self.get(name), doc=doc)


def _time_ms(name, doc=None):
    # type: (str, Optional[str]) -> property
    """A Settings attribute that is one of the derived times, in ms."""
    return property(lambda self: self._timing[name], doc=doc)


class Settings(object):
    """The effective ha.cf, read-only.  Built from keyword fields (all of `_FIELDS`):
    `values` maps a single-valued directive to its last valid (value, token, line); `timing`
    holds the derived times in ms; `auto_failback` is (mode, line) or None; the rest are
    what their names say, in file order."""

    _FIELDS = ("diagnostics", "values", "timing", "node_entries", "media", "other_media", "ping_nodes",
               "ping_groups", "respawn", "apiauth", "env", "stonith", "auto_failback")
    __slots__ = tuple("_" + f for f in _FIELDS)

    def __init__(self, **fields):
        # type: (**Any) -> None
        if set(fields) != set(self._FIELDS):
            raise TypeError("Settings needs exactly %s" % ", ".join(self._FIELDS))
        for name, value in fields.items():
            if isinstance(value, list):
                value = tuple(value)
            elif isinstance(value, dict):
                value = OrderedDict(value)  # a private copy; only ever handed out copied
            object.__setattr__(self, "_" + name, value)

    def __setattr__(self, name, value):
        raise AttributeError("Settings is read-only (change the HaCf document instead)")

    def __delattr__(self, name):
        raise AttributeError("Settings is read-only (change the HaCf document instead)")

    def __repr__(self):
        return "Settings(nodes=%r, media=%r, timing=%r)" % (self.nodes, self.media, dict(self._timing))

    @property
    def diagnostics(self):
        # type: () -> Tuple[Any, ...]
        """Every problem visible from ha.cf alone, in the order found."""
        return self._diagnostics

    def get(self, name):
        # type: (str) -> Any
        """Effective value of a single-valued directive (last valid one, else heartbeat's
        default, else None), parsed: times in ms, booleans as bool, numbers as int."""
        if name in self._values:
            return self._values[name][0]
        return default(name)

    def lineno(self, name):
        # type: (str) -> Optional[int]
        """Line of the effective (last valid) value of `name`, None if defaulted."""
        v = self._values.get(name)
        return v[2] if v else None

    @property
    def nodes(self):
        # type: () -> List[str]
        """Cluster members, lowercased, in file order, without repeats."""
        return [n.name for n in self._node_entries]

    @property
    def node_entries(self):
        # type: () -> List[NodeEntry]
        return list(self._node_entries)

    keepalive_ms = _time_ms("keepalive")
    deadtime_ms = _time_ms("deadtime")
    warntime_ms = _time_ms("warntime", "Explicit warntime, else deadtime / 2 like heartbeat.")
    initdead_ms = _time_ms("initdead", "Explicit initdead, else heartbeat's rule: deadtime if > 10 s, 12 s if "
                           "< 6 s, else 2 x deadtime.")
    deadping_ms = _time_ms("deadping", "Explicit deadping, else deadtime.")

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
        return list(self._media)

    @property
    def all_media(self):
        # type: () -> List[Medium]
        """All links including kinds pyha does not run (ucast6, mcast6), in file order."""
        return sorted(self._media + self._other_media, key=lambda m: m.lineno or 0)

    @property
    def ping_nodes(self):
        # type: () -> List[PingNode]
        return list(self._ping_nodes)

    @property
    def ping_groups(self):
        # type: () -> List[PingGroup]
        return list(self._ping_groups)

    @property
    def auto_failback(self):
        # type: () -> str
        """on / off / legacy (heartbeat's default), after nice_failback's mapping."""
        af = self._auto_failback
        return af[0] if af else "legacy"

    @property
    def respawn(self):
        # type: () -> List[Respawn]
        """respawn and failfast lines, in order."""
        return list(self._respawn)

    watchdog = _value("watchdog")
    logfile = _value("logfile")
    debugfile = _value("debugfile")
    logfacility = _value("logfacility", "Syslog facility name, `none`, or None when not set.")

    @property
    def use_logd(self):
        # type: () -> bool
        """Explicit use_logd, else implied when no logfile/debugfile/logfacility is set."""
        explicit = self.get("use_logd")
        if explicit is not None:
            return explicit
        return not any(self.get(n) is not None for n in LOG_DIRECTIVES)

    msgfmt = _value("msgfmt")
    hopfudge = _value("hopfudge")
    max_rexmit_delay_ms = _value("max_rexmit_delay")
    debug = _value("debug")
    pacemaker = _value("pacemaker", "`off`, `on` or a pacemaker mode (respawn, minimal, ...); `crm` is an "
                       "alias.")

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
        out = OrderedDict(self._apiauth)
        for client, spec in DEFAULT_APIAUTH:
            if client not in out:
                uids, gids = id_lists(spec)
                out[client] = ApiAuth(client, uids, gids, None)
        return out

    @property
    def env(self):
        # type: () -> Dict[str, str]
        """Environment for respawned children: {"HA_NAME": value}."""
        return OrderedDict(("HA_" + e.name, e.value) for e in self._env)

    @property
    def stonith(self):
        # type: () -> List[StonithLine]
        """stonith and stonith_host lines, in file order (`pyha.fencing` picks the one that
        applies on a node, as heartbeat does)."""
        return list(self._stonith)
