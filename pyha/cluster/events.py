"""The vocabulary of the membership machine: its states, its inputs and its outputs.

Inputs (`Heard`, `PingReply`, `Tick`) are what the daemon saw; outputs (`Send`,
`Retransmit`, `Log` and the notifications such as `NodeUp` or `LinkDead`) are what it
should do or know.  All are plain immutable-by-convention value objects that compare by
value and turn into JSON-able dicts, so tests can assert on them and `pyha status` can
print them.

This module must never do I/O, read a clock or import anything but the standard library
and pyha.wire's pure modules: it is shared by the pure core, the daemon shell and the
simulators.
"""

from typing import Any, Callable, Dict, Optional

from pyha.wire.errors import WireError
from pyha.wire.message import parse_dec as _wire_dec, parse_hex as _wire_hex

# --- states (plain constants; transitions live in membership.py) -------------------

# A normal (peer) node.
NODE_NEVER = "never"    # not heard since we started; initdead has not run out yet
NODE_UP = "up"          # heard within its dead time
NODE_DEAD = "dead"      # silent longer than its dead time (or never heard within initdead)
NODE_LEFT = "left"      # said `shutdone`: gone gracefully, waiting for its silence
NODE_STATES = (NODE_NEVER, NODE_UP, NODE_DEAD, NODE_LEFT)

# One (node, medium) link, and a ping node or ping group (a pseudo node).
LINK_INIT = "init"      # never heard on this link since we started
LINK_UP = "up"
LINK_DEAD = "dead"
LINK_STATES = (LINK_INIT, LINK_UP, LINK_DEAD)

PING_NEVER = "never"
PING_UP = "up"
PING_DEAD = "dead"
PING_STATES = (PING_NEVER, PING_UP, PING_DEAD)

# Our own status as advertised in `st` (heartbeat's vocabulary, spec 1.7).
LOCAL_INIT = "init"
LOCAL_UP = "up"
LOCAL_ACTIVE = "active"

# Log levels: the names of Python's logging module, so the shell can map them directly.
DEBUG = "DEBUG"
INFO = "INFO"
WARNING = "WARNING"
ERROR = "ERROR"
CRITICAL = "CRITICAL"


class _Declared(type):
    """An event class names its fields once, in `_fields` (in order); its `__slots__`
    follow from that list, so each event is its name, its docstring and its fields."""

    def __new__(mcs, name, bases, namespace):
        namespace.setdefault("__slots__", tuple(namespace.get("_fields", ())))
        return super(_Declared, mcs).__new__(mcs, name, bases, namespace)


class _Value(object, metaclass=_Declared):
    """Small value type: fields listed in `_fields`, equality by value, dict for JSON."""

    __slots__ = ()
    _fields = ()  # type: tuple

    def __init__(self, *args, **kwargs):
        if len(args) > len(self._fields):
            raise TypeError("%s takes at most %d arguments" % (type(self).__name__, len(self._fields)))
        values = dict(zip(self._fields, args))
        for key, val in kwargs.items():
            if key not in self._fields or key in values:
                raise TypeError("%s: bad or repeated argument %r" % (type(self).__name__, key))
            values[key] = val
        for name in self._fields:
            object.__setattr__(self, name, values[name] if name in values else self._default(name))

    def _default(self, name):
        defaults = getattr(self, "_defaults", {})
        if name not in defaults:
            raise TypeError("%s: missing argument %r" % (type(self).__name__, name))
        value = defaults[name]
        return dict(value) if isinstance(value, dict) else value

    def __setattr__(self, name, value):
        raise AttributeError("%s is immutable" % type(self).__name__)

    def __eq__(self, other):
        return type(self) is type(other) and all(
            getattr(self, f) == getattr(other, f) for f in self._fields)

    def __ne__(self, other):
        return not self == other

    def __hash__(self):
        return hash((type(self).__name__,) + tuple(repr(getattr(self, f)) for f in self._fields))

    def __repr__(self):
        return "%s(%s)" % (type(self).__name__, ", ".join(
            "%s=%r" % (f, getattr(self, f)) for f in self._fields))

    @property
    def kind(self):
        # type: () -> str
        return type(self).__name__

    def to_dict(self):
        # type: () -> Dict[str, Any]
        out = {"kind": self.kind}  # type: Dict[str, Any]
        for f in self._fields:
            value = getattr(self, f)
            if isinstance(value, bytes):
                value = value.decode("latin-1")
            elif isinstance(value, dict):
                value = dict(value)
            out[f] = value
        return out


# --- inputs ------------------------------------------------------------------------

class Heard(_Value):
    """A decoded, authenticated message that arrived on `medium` at monotonic `now`.

    `seq`, `hg` and `ts` are the adapter's integer readings of the hex control fields
    (None when absent or unparsable); `fields` holds every field as strings (the
    machine reads `st`, `dt`, `dest`, `protocol`, `firstseq`, `lastseq`, `ackseq`...).
    """
    _fields = ("now", "medium", "src", "t", "seq", "hg", "ts", "fields")
    _defaults = {"seq": None, "hg": None, "ts": None, "fields": {}}

    @classmethod
    def from_fields(cls, now, medium, fields):
        # type: (float, str, Dict[str, str]) -> Heard
        """Build from a flat field dict as decoded from the wire (hex seq/hg/ts)."""
        fields = dict(fields) if isinstance(fields, dict) else {}
        return cls(now, medium, fields.get("src"), fields.get("t"),
                   parse_hex(fields.get("seq")), parse_hex(fields.get("hg")),
                   parse_hex(fields.get("ts")), fields)


class PingReply(_Value):
    """An authenticated echo reply from ping node (or ping-group member) `target`."""
    _fields = ("now", "target")


class Tick(_Value):
    """Time passed; `now` is monotonic seconds."""
    _fields = ("now",)


# --- outputs: things to do -----------------------------------------------------------

class Send(_Value):
    """Send a message of ours on all media.

    `fields` are the message's own fields in genuine order (`t` first, except
    `repnodes` where `dest` precedes it).  The shell appends the control fields of spec
    1.6 (src, srcuuid, seq = hex of `seq` when not None, hg, ts, ld, ttl, auth), then
    hands the encoded bytes back through `Membership.record_sent(seq, payload)` so that
    retransmission requests can be answered.  `dest` repeats `fields["dest"]`.
    """
    _fields = ("fields", "dest", "seq")
    _defaults = {"dest": None, "seq": None}


class Retransmit(_Value):
    """Re-send the stored bytes of our message `seq` unchanged (asked by `requester`)."""
    _fields = ("seq", "payload", "requester")


class Log(_Value):
    """A log line; `level` is a logging level name, `text` is heartbeat-style wording."""
    _fields = ("level", "text")


class Deliver(_Value):
    """A message for the layers above (starting, resource, ask_resources, ...)."""
    _fields = ("node", "t", "fields", "medium", "seq")


# --- outputs: notifications (each says why) --------------------------------------------

class NodeUp(_Value):
    _fields = ("node", "status", "reason")


class NodeStatus(_Value):
    """The peer advertised a new `st` (init/up/active)."""
    _fields = ("node", "status", "reason")


class NodeWarn(_Value):
    """No heartbeat for longer than warntime (node still up)."""
    _fields = ("node", "silence_ms", "reason")


class NodeDead(_Value):
    """Silent on all links for its dead time.  `graceful`: it had said `shutdone`."""
    _fields = ("node", "reason", "graceful")
    _defaults = {"graceful": False}


class NodeLeft(_Value):
    """The peer said `shutdone`: it released everything and is leaving."""
    _fields = ("node", "reason")


class NodeRestarted(_Value):
    """The peer's generation went up: its daemon restarted (resources may be gone)."""
    _fields = ("node", "old_generation", "new_generation", "reason")


class PartitionHealed(_Value):
    """A peer we had declared dead speaks again with the same generation."""
    _fields = ("node", "reason")


class LinkUp(_Value):
    _fields = ("node", "medium", "reason")


class LinkDead(_Value):
    _fields = ("node", "medium", "reason")


class PingUp(_Value):
    """A ping node or ping group answers."""
    _fields = ("target", "reason")


class PingDead(_Value):
    _fields = ("target", "reason")


class CommUp(_Value):
    """Every configured node was heard from or declared dead (spec 5.1)."""
    _fields = ("reason",)


NOTIFICATIONS = (NodeUp, NodeStatus, NodeWarn, NodeDead, NodeLeft, NodeRestarted,
                 PartitionHealed, LinkUp, LinkDead, PingUp, PingDead, CommUp)


class IllegalTransition(AssertionError):
    """A state change from a state it cannot come from: a bug, so it shouts.

    The one base of every state machine in the core (membership's nodes, links and ping
    nodes; the manager's phase, groups and standby exchange); a machine may subclass it.
    """


# --- safe number parsing -------------------------------------------------------------

def is_int(value):
    # type: (Any) -> bool
    """A real integer (bool is an int to Python, never to us)."""
    return isinstance(value, int) and not isinstance(value, bool)

# One grammar, pyha.wire.message's parse_hex/parse_dec (which raise WireError naming the
# field); here the same grammar answers None instead, because the core counts a bad field
# rather than catching.  Only text counts (fields reach the core decoded), and a decimal
# stays below 10**19 as it always has here.

_MAX_DEC_DIGITS = 19


def parse_hex(text):
    # type: (Any) -> Optional[int]
    """`pyha.wire.message.parse_hex(text)`, or None where that raises or text is no str."""
    return _parse(_wire_hex, text, 16)


def parse_dec(text):
    # type: (Any) -> Optional[int]
    """`pyha.wire.message.parse_dec(text)` below 10**19, or None (see parse_hex)."""
    return _parse(_wire_dec, text, _MAX_DEC_DIGITS)


def _parse(parse, text, max_digits):
    # type: (Callable[[Any], int], Any, int) -> Optional[int]
    if not isinstance(text, str) or len(text) > max_digits:
        return None
    try:
        return parse(text)
    except WireError:
        return None
