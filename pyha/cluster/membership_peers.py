"""What we know of another normal node and its links, and their state changes.

`Peer` and `Link` are the records the membership machine keeps per configured peer and
medium.  A state changes only through `Peer.change()` and `Peer.link_to()`, which check it
against the transition tables (an illegal one is a bug and raises `IllegalTransition`) and
say it as log lines and notifications.  Per-generation state lives in `peer.gens`
(`membership_generations`).

What it must never do: decide when a node or link dies (that is the machine's timing),
open sockets, read a clock, or import a third-party library.
"""

from collections import OrderedDict
from typing import Any, Callable, Iterable, List, Optional

from pyha.cluster.events import (
    DEBUG, INFO, LINK_DEAD, LINK_INIT, LINK_UP, NODE_DEAD, NODE_LEFT, NODE_NEVER, NODE_UP,
    LinkDead, LinkUp, Log,
)
from pyha.cluster.membership_generations import Generations, Incarnation

# Legal transitions: new state -> states it may come from.  Anything else is a bug.
_NODE_FROM = {
    NODE_UP: (NODE_NEVER, NODE_DEAD, NODE_LEFT),
    NODE_DEAD: (NODE_NEVER, NODE_UP, NODE_LEFT),
    NODE_LEFT: (NODE_NEVER, NODE_UP, NODE_DEAD),
}
_LINK_FROM = {
    LINK_UP: (LINK_INIT, LINK_DEAD),
    LINK_DEAD: (LINK_INIT, LINK_UP),
}


class IllegalTransition(AssertionError):
    """A state change from a state it cannot come from: a bug, so it shouts."""


class Link(object):
    """One medium to one peer: up while that peer is heard on it."""

    __slots__ = ("medium", "state", "last_heard")

    def __init__(self, medium):
        # type: (str) -> None
        self.medium = medium
        self.state = LINK_INIT
        self.last_heard = None  # type: Optional[float]


class Peer(object):
    """Everything we know about one other normal node."""

    def __init__(self, name, media, ack_trigger, count):
        # type: (str, Iterable[str], int, Callable[[str], None]) -> None
        self.name = name
        self.state = NODE_NEVER
        self.status = None        # type: Optional[str]  # its last `st`
        self.last_heard = None    # type: Optional[float]  # last fresh status
        self.warned = False
        self.gens = Generations(name, ack_trigger, count)
        self.links = OrderedDict((m, Link(m)) for m in media)
        self.reason = "not heard yet"

    @property
    def cur(self):
        # type: () -> Incarnation
        """Its current incarnation (generation, sequence tracking, dt, acks)."""
        return self.gens.current

    def change(self, new, reason, out, level=INFO):
        # type: (str, str, List[Any], str) -> None
        """Change the node's state; the reason is logged (it starts with heartbeat's wording)."""
        if self.state not in _NODE_FROM[new]:
            raise IllegalTransition("node %s: %s -> %s (%s)" % (self.name, self.state, new, reason))
        self.state = new
        self.reason = reason
        out.append(Log(level, reason))

    def link_to(self, link, new, reason, out):
        # type: (Link, str, str, List[Any]) -> None
        if link.state not in _LINK_FROM[new]:
            raise IllegalTransition("link %s:%s: %s -> %s" % (self.name, link.medium, link.state, new))
        link.state = new
        out.append(Log(INFO, "Link %s:%s %s." % (self.name, link.medium, new)))
        out.append(Log(DEBUG, reason))
        if new == LINK_UP:
            out.append(LinkUp(self.name, link.medium, reason))
        else:
            out.append(LinkDead(self.name, link.medium, reason))

    def touch(self, now, medium, out):
        # type: (float, Optional[str], List[Any]) -> bool
        """An authentic packet of it arrived on `medium`: that link works.  False when
        `medium` is none of ours."""
        link = self.links.get(medium) if medium is not None else None
        if link is None:
            return False
        link.last_heard = now
        if link.state != LINK_UP:
            self.link_to(link, LINK_UP, "heard %s on %s" % (self.name, medium), out)
        return True
