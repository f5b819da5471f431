"""Control fields and builders for the messages pyha sends (spec 1.6, 1.7, 1.9).

Builders return a `Message` with only the type-specific fields, in genuine order;
`add_control_fields()` then appends (or replaces in place) the fields every outgoing
message gets, in heartbeat's order: destuuid (only with `dest` and a known uuid), src,
srcuuid, seq, hg, ts, ld, ttl.  `NS_` types get no seq and no ld, and keep any control
field they already carry.  Signing (`pyha.wire.auth`) comes last.

Encodings: seq, hg, ts, dt, ackseq and NS_nak_rexmit's firstseq are lowercase hex without
padding; ttl, protocol and NS_rexmit's firstseq/lastseq are decimal.

The caller supplies everything that depends on the world (timestamp, sequence number,
load average, the destination's uuid): this module never reads a clock or a file.
Bad arguments from the program raise ValueError/TypeError; WireError is for bad data.
"""

from typing import Any, Iterable, List, Optional

from pyha.wire.errors import MISSING_FIELD, WireError
from pyha.wire import vocabulary as words
from pyha.wire.message import BINARY, STRING, Message

from pyha.wire.vocabulary import (  # noqa: F401  (the words, re-exported for callers of control)
    ASK_DONE, ASK_ME, ASK_OTHER, INFO_MACH_DOWN, INFO_REQ_OUR_RESOURCES, INFO_SHUTDOWN, INFO_STANDBY,
    PROTOCOL_VERSION, RSC_ALL, RSC_FAILBACK, RSC_FOREIGN, RSC_LOCAL, RSC_NONE, RSC_WORDS, ST_ACTIVE,
    ST_DEAD, ST_INIT, ST_UP,
)

NS_PREFIX = "NS_"
_STATUS_VALUES = (ST_INIT, ST_UP, ST_ACTIVE)
_RSC_VALUES = RSC_WORDS
UUID_LEN = 16


class Sender(object):
    """What this node stamps on every message: name, 16-byte uuid, generation, ttl.

    `name` is the node name exactly as it goes on the wire (heartbeat lowercases
    `uname -n`); `uuid` may be None to omit srcuuid (genuine nodes accept that);
    `ttl` = hopfudge + configured nodes incl. ping nodes (3 for two nodes).
    """

    __slots__ = ("name", "uuid", "generation", "ttl")

    def __init__(self, name, uuid, generation, ttl=3):
        # type: (str, Optional[bytes], int, int) -> None
        if not isinstance(name, str) or not name:
            raise ValueError("sender name must be a non-empty str")
        if uuid is not None:
            uuid = bytes(uuid)
            if len(uuid) != UUID_LEN:
                raise ValueError("node uuid must be %d bytes, got %d" % (UUID_LEN, len(uuid)))
        _check_uint("generation", generation)
        _check_uint("ttl", ttl)
        self.name = name
        self.uuid = uuid
        self.generation = generation
        self.ttl = ttl

    def __repr__(self):
        # type: () -> str
        return "Sender(%r, uuid=%s, hg=%x, ttl=%d)" % (
            self.name, self.uuid.hex() if self.uuid else None, self.generation, self.ttl)


def _check_uint(what, value, minimum=0):
    # type: (str, Any, int) -> None
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum \
            or value >= 1 << 64:
        raise ValueError("%s must be an int in %d..2**64-1, not %r" % (what, minimum, value))


def _hex(value):
    # type: (int) -> str
    return "%x" % value


def is_ns_type(t):
    # type: (str) -> bool
    """Types starting with NS_ bypass sequence numbers and retransmission."""
    return t.startswith(NS_PREFIX)


def add_control_fields(msg, sender, ts, seq=None, ld="n/a", destuuid=None):
    # type: (Message, Sender, int, Optional[int], str, Optional[bytes]) -> Message
    """Stamp msg (in place; also returned) with the control fields of spec 1.6.

    ts: the sender's wall-clock time in whole seconds (heartbeat's time(NULL));
    seq: this node's next sequence number (required unless t is an NS_ type, ignored
    for those); ld: /proc/loadavg without the newline; destuuid: the 16-byte uuid of
    the node named in `dest`, if known (ignored when msg has no `dest`).
    """
    t = msg.get("t")
    if t is None:
        raise WireError(MISSING_FIELD, "message has no 't' field", field="t")
    _check_uint("ts", ts)
    noseq = is_ns_type(t)
    if not noseq:
        _check_uint("seq", seq, 1)
    if destuuid is not None and msg.field("dest") is not None:
        destuuid = bytes(destuuid)
        if len(destuuid) != UUID_LEN:
            raise ValueError("destuuid must be %d bytes" % UUID_LEN)
        msg.set("destuuid", destuuid, BINARY)
    stamps = [("src", sender.name, STRING)]
    if sender.uuid is not None:
        stamps.append(("srcuuid", sender.uuid, BINARY))
    if not noseq:
        stamps.append(("seq", _hex(seq), STRING))  # type: ignore
    stamps.append(("hg", _hex(sender.generation), STRING))
    stamps.append(("ts", _hex(ts), STRING))
    if not noseq:
        stamps.append(("ld", ld, STRING))
    stamps.append(("ttl", "%d" % sender.ttl, STRING))
    for name, value, ftype in stamps:
        if noseq and msg.field(name) is not None:
            continue  # heartbeat leaves fields an NS_ message already has alone
        msg.set(name, value, ftype)
    return msg


# ---------------------------------------------------------------------------------------
# builders (type-specific fields only, genuine order): pyha.wire.vocabulary's, checked

def status(st, dt_ms, protocol=True):
    # type: (str, int, bool) -> Message
    """`t=status st dt(hex ms) [protocol=1]`; omitting protocol disables flow control
    on genuine peers for good (spec 1.10)."""
    if st not in _STATUS_VALUES:
        raise ValueError("status st must be one of %s, not %r" % (_STATUS_VALUES, st))
    _check_uint("dt", dt_ms)
    return Message(words.status(st, dt_ms, protocol))


def ns_ackmsg(dest, ackseq):
    # type: (str, int) -> Message
    _check_uint("ackseq", ackseq, 1)
    return Message(words.ns_ackmsg(dest, ackseq))


def ns_rexmit(dest, firstseq, lastseq=None):
    # type: (str, int, Optional[int]) -> Message
    """Retransmission request; firstseq/lastseq are DECIMAL on the wire (cap03)."""
    if lastseq is None:
        lastseq = firstseq
    _check_uint("firstseq", firstseq, 1)
    _check_uint("lastseq", lastseq, firstseq)
    return Message(words.ns_rexmit(dest, firstseq, lastseq))


def ns_nak_rexmit(dest, firstseq, info):
    # type: (str, int, str) -> Message
    """"Cannot retransmit"; firstseq is HEX here, and precedes dest (genuine order)."""
    _check_uint("firstseq", firstseq, 1)
    return Message(words.ns_nak_rexmit(dest, firstseq, info))


def reqnodes(dest):
    # type: (str) -> Message
    return Message(words.reqnodes(dest))


def _check_names(names):
    # type: (Iterable[str]) -> List[str]
    names = list(names)
    for name in names:
        if not name or " " in name:
            raise ValueError("bad node name %r in node list" % (name,))
    return names


def repnodes(dest, nodes, delnodes=()):
    # type: (str, Iterable[str], Iterable[str]) -> Message
    """Answer to reqnodes.  `dest` precedes `t`; every name is followed by one space;
    an empty delnodelist is a single space.  List ALL normal nodes: a genuine receiver
    deletes nodes missing from the list."""
    nodes = _check_names(nodes)
    if not nodes:
        raise ValueError("repnodes needs at least one node")
    return Message(words.repnodes(dest, nodes, _check_names(delnodes)))


def starting():
    # type: () -> Message
    return Message(words.starting())


def resource(rsc_hold, isstable, info=None):
    # type: (str, bool, Optional[str]) -> Message
    """`t=resource rsc_hold rtype=full isstable=0/1 [info]`."""
    if rsc_hold not in _RSC_VALUES:
        raise ValueError("rsc_hold must be one of %s, not %r" % (_RSC_VALUES, rsc_hold))
    msg = Message(words.resource(rsc_hold, isstable))
    if info is not None:
        msg.add("info", info)
    return msg


def resource_mach_down():
    # type: () -> Message
    """The mach_down variant: only `rsc_hold=foreign info=mach_down`."""
    return Message(words.resource_mach_down())


def ask_resources(rsc_hold, info):
    # type: (str, str) -> Message
    if rsc_hold not in _RSC_VALUES:
        raise ValueError("rsc_hold must be one of %s, not %r" % (_RSC_VALUES, rsc_hold))
    if info not in (ASK_ME, ASK_OTHER, ASK_DONE):
        raise ValueError("ask_resources info must be me/other/done, not %r" % (info,))
    return Message(words.ask_resources(rsc_hold, info))


def hb_takeover(rsc_hold):
    # type: (str) -> Message
    if rsc_hold not in (RSC_ALL, RSC_LOCAL, RSC_FOREIGN, RSC_FAILBACK):
        raise ValueError("hb_takeover rsc_hold must be all/local/foreign/failback")
    return Message(words.hb_takeover(rsc_hold))


def shutdone():
    # type: () -> Message
    return Message(words.shutdone())


def ip_request_resp(dest, ipaddr, weown, ok="OK"):
    # type: (str, str, bool, str) -> Message
    return Message(words.ip_request_resp(dest, ipaddr, weown, ok))


STONITH_RESULTS = ("unneeded", "n_stnth", "OK", "bad", "badhost")


def stonith(node, result):
    # type: (str, str) -> Message
    if result not in STONITH_RESULTS:
        raise ValueError("stonith result must be one of %s" % (STONITH_RESULTS,))
    return Message(words.stonith(node, result))


def respond_cstatus(dest, client, to_id, online):
    # type: (str, str, str, bool) -> Message
    """Reply to `query-cstatus` (cl_status clientstatus from a peer)."""
    return Message([("t", "respond-cstatus"), ("dest", dest), ("result", "OK"), ("cn", client),
                    ("to_id", to_id), ("cs", "online" if online else "offline")])


def ns_st_ping(target, ts):
    # type: (str, int) -> Message
    """The complete ICMP ping payload message (spec 1.9): sign it directly, it gets no
    control fields.  `target` is the ping node's address, `ts` the timestamp of the
    status message being sent."""
    _check_uint("ts", ts)
    return Message([("t", "NS_st"), ("st", "ping"), ("info", "ping"), ("src", target),
                    ("ts", _hex(ts))])
