"""pyha's protocol vocabulary: message types, field words and the messages pyha sends.

One place for the words heartbeat's peers and pyha's own peers read (spec 1.7, 5.x):
message type names, rsc_hold and info words, ipfail's words, pyha's own `pyha-*` types.
The builders return the type-specific fields of one message as an ordered list of
`(name, text)` pairs, in genuine heartbeat's order, and check nothing: the cluster core
sends them through `Membership.send`, `pyha.wire.control` wraps them (with argument
checks) in a `Message`.  Control fields (src, seq, hg, ts, ...) are added later by the
sender; this module never reads a clock, a file or anything outside the standard library.
"""

from typing import Iterable, List, Optional, Sequence, Tuple

Fields = List[Tuple[str, str]]

# --- message types ------------------------------------------------------------------
T_STATUS = "status"
T_NS_ACKMSG = "NS_ackmsg"
T_NS_REXMIT = "NS_rexmit"
T_NS_NAK_REXMIT = "NS_nak_rexmit"
T_REQNODES = "reqnodes"
T_REPNODES = "repnodes"
T_STARTING = "starting"
T_RESOURCE = "resource"
T_ASK_RESOURCES = "ask_resources"
T_HB_TAKEOVER = "hb_takeover"
T_SHUTDONE = "shutdone"
T_IP_REQUEST = "ip-request"
T_IP_REQUEST_RESP = "ip-request-resp"
T_STONITH = "stonith"
T_HBAPI_CLSTAT = "hbapi-clstat"

# pyha's own types: a genuine node ignores a type it does not know (spec 1.7).
PING_MSG = "pyha-ping"          # how many ping nodes we reach
GROUPS_MSG = "pyha-groups"      # which groups run here (rsc_hold is per category)
LINKS_MSG = "pyha-links"        # groups whose service interface has no carrier here
HEALTH_MSG = "pyha-health"      # a monitored resource of a group failed its check here

PROTOCOL_VERSION = 1

# --- st values ----------------------------------------------------------------------
ST_INIT = "init"
ST_UP = "up"
ST_ACTIVE = "active"
ST_DEAD = "dead"                # shutdone's st

# --- rsc_hold: which category of groups a node holds or asks for --------------------
RSC_NONE = "none"
RSC_LOCAL = "local"
RSC_FOREIGN = "foreign"
RSC_ALL = "all"
RSC_WORDS = (RSC_NONE, RSC_LOCAL, RSC_FOREIGN, RSC_ALL)
RSC_FAILBACK = "failback"       # hb_takeover and ask_resources only: "foreign"

# --- info words -----------------------------------------------------------------------
ASK_ME = "me"                   # ask_resources, the standby exchange (spec 5.4)
ASK_OTHER = "other"
ASK_DONE = "done"
INFO_REQ_OUR_RESOURCES = "req_our_resources()"  # resource: start-up acquisition done
INFO_STANDBY = "standby"
INFO_SHUTDOWN = "shutdown"
INFO_MACH_DOWN = "mach_down"

# --- ipfail, emulated for a genuine peer running it -----------------------------------
IPFAIL = "ipfail"               # the API client id genuine ipfail uses on both nodes
IPFAIL_TYPES = ("num_ping_nodes", "you_are_dead", "abort_giveup")
IPFAIL_NUM_PING = "num_ping_nodes"


def _hex(value):
    # type: (int) -> str
    return "%x" % value


# --- membership's messages ------------------------------------------------------------

def status(st, dt_ms, protocol=True):
    # type: (str, int, bool) -> Fields
    out = [("t", T_STATUS), ("st", st), ("dt", _hex(dt_ms))]
    if protocol:
        out.append(("protocol", "%d" % PROTOCOL_VERSION))
    return out


def ns_ackmsg(dest, ackseq):
    # type: (str, int) -> Fields
    return [("t", T_NS_ACKMSG), ("dest", dest), ("ackseq", _hex(ackseq))]


def ns_rexmit(dest, firstseq, lastseq):
    # type: (str, int, int) -> Fields
    """firstseq/lastseq are DECIMAL here (cap03)."""
    return [("t", T_NS_REXMIT), ("dest", dest), ("firstseq", "%d" % firstseq),
            ("lastseq", "%d" % lastseq)]


def ns_nak_rexmit(dest, firstseq, info):
    # type: (str, int, str) -> Fields
    """firstseq is HEX here, and precedes dest (genuine order)."""
    return [("t", T_NS_NAK_REXMIT), ("firstseq", _hex(firstseq)), ("dest", dest), ("info", info)]


def reqnodes(dest):
    # type: (str) -> Fields
    return [("t", T_REQNODES), ("dest", dest)]


def node_list(names):
    # type: (Iterable[str]) -> str
    """Every name followed by one space (heartbeat's format)."""
    return "".join(name + " " for name in names)


def repnodes(dest, nodes, delnodes=()):
    # type: (str, Iterable[str], Iterable[str]) -> Fields
    """`dest` precedes `t`; an empty delnodelist is a single space."""
    return [("dest", dest), ("t", T_REPNODES), ("nodelist", node_list(nodes)),
            ("delnodelist", node_list(delnodes) or " ")]


# --- the resource protocol --------------------------------------------------------------

def starting():
    # type: () -> Fields
    return [("t", T_STARTING)]


def resource(rsc_hold, isstable, info=None):
    # type: (str, bool, Optional[str]) -> Fields
    """`t=resource rsc_hold rtype=full isstable=0/1 [info]` (no info when it is empty)."""
    out = [("t", T_RESOURCE), ("rsc_hold", rsc_hold), ("rtype", "full"),
           ("isstable", "1" if isstable else "0")]
    if info:
        out.append(("info", info))
    return out


def resource_mach_down():
    # type: () -> Fields
    """The mach_down variant: only `rsc_hold=foreign info=mach_down`."""
    return [("t", T_RESOURCE), ("rsc_hold", RSC_FOREIGN), ("info", INFO_MACH_DOWN)]


def ask_resources(rsc_hold, info):
    # type: (str, str) -> Fields
    return [("t", T_ASK_RESOURCES), ("rsc_hold", rsc_hold), ("info", info)]


def hb_takeover(rsc_hold):
    # type: (str) -> Fields
    return [("t", T_HB_TAKEOVER), ("rsc_hold", rsc_hold)]


def shutdone():
    # type: () -> Fields
    return [("t", T_SHUTDONE), ("st", ST_DEAD)]


def ip_request(ipaddr):
    # type: (str) -> Fields
    """Legacy auto_failback: ask the peer to give up the group `ipaddr` names."""
    return [("t", T_IP_REQUEST), ("ipaddr", ipaddr)]


def ip_request_resp(dest, ipaddr, weown, ok="OK"):
    # type: (str, str, bool, str) -> Fields
    return [("t", T_IP_REQUEST_RESP), ("dest", dest), ("ipaddr", ipaddr),
            ("weown", "yes" if weown else "no"), ("ok", ok)]


def stonith(node, result):
    # type: (str, str) -> Fields
    return [("t", T_STONITH), ("node", node), ("result", result)]


# --- ipfail's words (to a genuine peer running ipfail) ----------------------------------

def ipfail_signon():
    # type: () -> Fields
    """The API sign-on genuine ipfail's peer client waits for."""
    return [("t", T_HBAPI_CLSTAT), ("st", "join"), ("from_id", IPFAIL), ("to_id", IPFAIL),
            ("info", "signon"), ("client_gen", "0")]


def ipfail_message(t, dest, extra=()):
    # type: (str, str, Sequence[Tuple[str, str]]) -> Fields
    """One of IPFAIL_TYPES from our emulated ipfail client to the peer's."""
    return [("t", t)] + list(extra) + [("dest", dest), ("from_id", IPFAIL), ("to_id", IPFAIL),
                                      ("client_gen", "0")]


def num_ping(count):
    # type: (int) -> Fields
    """The `num_ping` field both ipfail's `num_ping_nodes` and `pyha-ping` carry."""
    return [("num_ping", "%d" % count)]


# --- pyha's own words ---------------------------------------------------------------------

def pyha_ping(count):
    # type: (int) -> Fields
    return [("t", PING_MSG)] + num_ping(count)


def pyha_groups(running):
    # type: (Iterable[str]) -> Fields
    return [("t", GROUPS_MSG), ("running", " ".join(running))]


def pyha_links(down):
    # type: (Iterable[str]) -> Fields
    return [("t", LINKS_MSG), ("down", " ".join(down))]


def pyha_health(group, resource, window_ms):
    # type: (str, str, int) -> Fields
    """This node's copy of `resource` (group `group`) failed its check: the peer must not
    hand the group back here within `window_ms` (a genuine node ignores the type)."""
    return [("t", HEALTH_MSG), ("group", group), ("resource", resource), ("window", "%d" % window_ms)]
