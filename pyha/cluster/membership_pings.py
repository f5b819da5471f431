"""Ping nodes and ping groups (spec 1.7): up while they answer, dead after `deadping`.

A ping node is one address; a ping group is up while any member answers.  `Pings` holds them
in ha.cf order, takes echo replies (or a genuine peer's `NS_st` from a ping address), expires
them, and changes their state only through `Ping.change()`, checked against the transition
table and said as log lines (heartbeat's wording) and notifications.

What it must never do: send pings or open sockets (the shell does), read a clock (time
comes in as `now`), or import a third-party library.
"""

from collections import OrderedDict
from typing import Any, Dict, Iterable, List, Optional, Tuple

from pyha.cluster.events import (
    DEBUG, INFO, WARNING, PING_DEAD, PING_NEVER, PING_UP, Log, PingDead, PingUp,
)
from pyha.cluster.membership_config import DEADLINE_SLACK_S, EPS, MembershipConfig, ms, since
from pyha.cluster.membership_peers import IllegalTransition

_PING_FROM = {
    PING_UP: (PING_NEVER, PING_DEAD),
    PING_DEAD: (PING_NEVER, PING_UP),
}


class Ping(object):
    """A ping node (members = itself) or a ping group (up while any member answers)."""

    def __init__(self, name, members, group):
        # type: (str, Iterable[str], bool) -> None
        self.name = name
        self.members = tuple(members)
        self.group = group
        self.state = PING_NEVER
        self.last_heard = None  # type: Optional[float]
        self.last_member = None  # type: Optional[str]
        self.reason = "not heard yet"

    def change(self, new, reason, out):
        # type: (str, str, List[Any]) -> None
        if self.state not in _PING_FROM[new]:
            raise IllegalTransition("ping %s: %s -> %s" % (self.name, self.state, new))
        self.state = new
        self.reason = reason
        out.append(Log(DEBUG, reason))
        if new == PING_UP:
            out.append(Log(INFO, "Link %s:%s up." % (self.name, self.name)))
            out.append(Log(INFO, "Status update for node %s: status ping" % self.name))
            out.append(PingUp(self.name, reason))
        else:
            out.append(Log(WARNING, "node %s: is dead" % self.name))
            out.append(Log(INFO, "Link %s:%s dead." % (self.name, self.name)))
            out.append(PingDead(self.name, reason))


class Pings(object):
    """The ping nodes, then the ping groups, of one configuration."""

    def __init__(self, config):
        # type: (MembershipConfig) -> None
        self.by_name = OrderedDict()  # type: Dict[str, Ping]
        for addr in config.ping_nodes:
            self.by_name[addr] = Ping(addr, (addr,), False)
        for gname, members in config.ping_groups.items():
            self.by_name[gname] = Ping(gname, members, True)

    def matching(self, target):
        # type: (Any) -> List[Ping]
        if not isinstance(target, str):
            return []
        return [p for p in self.by_name.values() if target == p.name or target in p.members]

    def reply(self, now, target, out):
        # type: (float, Any, List[Any]) -> bool
        """`target` answered; False when it is no ping node nor member of a group."""
        pings = self.matching(target)
        for ping in pings:
            ping.last_heard = now
            ping.last_member = target
            if ping.state != PING_UP:
                what = "ping group %s answers (member %s)" % (ping.name, target) if ping.group \
                    else "ping node %s answers" % ping.name
                ping.change(PING_UP, what, out)
        return bool(pings)

    def expire(self, now, dead_ms, started_at, out):
        # type: (float, int, float, List[Any]) -> None
        """Declare dead what has not answered for `dead_ms`, as of `now`."""
        for ping in self.by_name.values():
            if ping.state == PING_DEAD:
                continue
            silence = now - since(ping.last_heard, started_at)
            if silence > dead_ms / 1000.0 + EPS:
                if ping.state == PING_NEVER:
                    why = "ping %s %s never answered within %d ms" % (
                        "group" if ping.group else "node", ping.name, dead_ms)
                else:
                    why = "ping %s %s silent for %d ms (> deadping %d ms)" % (
                        "group" if ping.group else "node", ping.name, ms(silence), dead_ms)
                ping.change(PING_DEAD, why, out)

    def deadlines(self, dead_ms, started_at):
        # type: (int, float) -> List[float]
        return [since(p.last_heard, started_at) + dead_ms / 1000.0 + DEADLINE_SLACK_S
                for p in self.by_name.values() if p.state != PING_DEAD]

    def names_in(self, state):
        # type: (str) -> List[str]
        return [p.name for p in self.by_name.values() if p.state == state]

    def views(self, silence):
        # type: (Any) -> Tuple[Dict[str, Any], Dict[str, Any]]
        """(ping nodes, ping groups) for the status snapshot; `silence(last_heard)` in ms."""
        pings = OrderedDict()  # type: Dict[str, Any]
        groups = OrderedDict()  # type: Dict[str, Any]
        for ping in self.by_name.values():
            info = {"state": ping.state, "reason": ping.reason, "last_heard": ping.last_heard,
                    "silence_ms": silence(ping.last_heard)}
            if ping.group:
                info["members"] = list(ping.members)
                info["last_member"] = ping.last_member
                groups[ping.name] = info
            else:
                pings[ping.name] = info
        return pings, groups
