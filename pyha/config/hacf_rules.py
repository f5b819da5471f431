"""ha.cf's whole-file rules (heartbeat's init_config): what can only be judged once every
directive has been read -- nodes, media, the timing ladder, logging, conflicts.

Each rule is a plain function over the evaluation pass (`pyha.config.hacf_eval._Pass`):
it reads what the pass collected, adds diagnostics, and only `derive_timing` writes a
result (the times in ms, with heartbeat's defaults).  The rules run in `FILE_RULES` order,
which is the order their diagnostics appear in.  They never re-read directives, never
raise on bad input and never look at the host.
"""

from typing import Any, Optional, Tuple

from pyha import diagnostics as dg
from pyha.config.common import format_ms, human_ms, show
from pyha.config.hacf_schema import LOG_DIRECTIVES


def _auto_failback(p):
    # type: (Any) -> None
    if p.auto_failback is None:
        p.warn("hacf-auto-failback-legacy", "no auto_failback line: heartbeat defaults to the deprecated "
               "'legacy' mode and warns at startup", None, "add `auto_failback on` (or off)")


def _nodes(p):
    # type: (Any) -> None
    if not p.nodes:
        p.err("hacf-no-nodes", "no node lines; heartbeat refuses to start (\"no nodes defined\")", None,
              "add `node <uname -n of each node>`, e.g. `node ha1` and `node ha2`")
    elif len(p.nodes) > 2:
        p.warn("hacf-node-count", "%d nodes are listed; pyha runs two-node clusters" % len(p.nodes),
               p.nodes[2].lineno, "list exactly the two nodes")
    elif len(p.nodes) == 1:
        p.warn("hacf-node-count", "only one node is listed: there is nothing to fail over to",
               p.nodes[0].lineno, "add the peer: `node <its uname -n>`")
    for n in p.nodes:
        for ping in p.ping_nodes:
            if ping.host.lower() == n.name:
                p.warn("hacf-ping-is-node", "ping node %s is also a cluster node" % show(ping.host), ping.lineno,
                       "ping a stable third host such as the default gateway")


def _media(p):
    # type: (Any) -> None
    if p.media or p.other_media:
        return
    if p.ping_nodes or p.ping_groups:
        p.warn("hacf-ping-only", "only ping nodes are declared: ping nodes are not links between the nodes, "
               "so each node would think the other dead", None,
               "add a link, e.g. `ucast eth1 <peer address>` on the heartbeat network")
    else:
        p.err("hacf-no-media", "no heartbeat media (ucast, bcast, mcast, serial); heartbeat refuses to "
              "start (\"No heartbeat media defined\")", None, "add e.g. `ucast eth1 <peer address>` (after udpport)")


def _explicit(p, name):
    # type: (Any, str) -> Tuple[Optional[int], Optional[int]]
    """(value, line) of the last valid `name` line, (None, None) without one."""
    v = p.values.get(name)
    return (v[0], v[2]) if v else (None, None)


def derive_timing(p):
    # type: (Any) -> None
    """The five times in ms, each explicit or heartbeat's default for it."""
    deadtime = _explicit(p, "deadtime")[0]
    deadtime = deadtime if deadtime is not None else 30000
    keepalive, warntime, initdead, deadping = (_explicit(p, n)[0] for n in ("keepalive", "warntime", "initdead",
                                                                             "deadping"))
    if initdead is None:
        initdead = deadtime if deadtime > 10000 else 12000 if deadtime < 6000 else 2 * deadtime
    p.timing.update(keepalive=keepalive if keepalive is not None else 1000, deadtime=deadtime,
                    warntime=warntime if warntime is not None else deadtime // 2, initdead=initdead,
                    deadping=deadping if deadping is not None else deadtime)


def _timing(p):
    # type: (Any) -> None
    keepalive, deadtime = p.timing["keepalive"], p.timing["deadtime"]
    k_line, d_line = _explicit(p, "keepalive")[1], _explicit(p, "deadtime")[1]
    if deadtime <= 2 * keepalive:
        p.err("hacf-deadtime-too-small",
              "deadtime %s is not more than twice keepalive %s; heartbeat refuses to start (\"Dead time [%d] is too "
              "small compared to keeplive [%d]\")" % (human_ms(deadtime), human_ms(keepalive), deadtime, keepalive),
              d_line or k_line, "raise deadtime above %s (a usual choice is 15-30 x keepalive) or lower keepalive"
              % human_ms(2 * keepalive))
    warntime, w_line = _explicit(p, "warntime")
    if warntime is not None:
        between = "set warntime between keepalive and deadtime, e.g. `warntime %s`" % format_ms(deadtime // 2)
        if warntime >= deadtime:
            p.warn("hacf-warntime", "warntime %s is not below deadtime %s, so a late heartbeat is never reported "
                   "before the node is declared dead" % (human_ms(warntime), human_ms(deadtime)), w_line, between)
        elif warntime <= keepalive:
            p.warn("hacf-warntime", "warntime %s is not above keepalive %s: every heartbeat would count as late"
                   % (human_ms(warntime), human_ms(keepalive)), w_line, between)
    _initdead(p, deadtime)
    deadping, p_line = _explicit(p, "deadping")
    if deadping is not None and deadping <= 2 * keepalive:
        p.err("hacf-deadping-too-small", "deadping %s is not more than twice keepalive %s; heartbeat refuses to "
              "start" % (human_ms(deadping), human_ms(keepalive)), p_line,
              "raise deadping (the default is deadtime, %s)" % human_ms(deadtime))


def _initdead(p, deadtime):
    # type: (Any, int) -> None
    initdead, i_line = _explicit(p, "initdead")
    if initdead is None:
        if p.timing["initdead"] < 2 * deadtime:
            p.report(dg.INFO, "hacf-initdead-default", "no initdead: heartbeat uses %s (same as deadtime)"
                     % human_ms(p.timing["initdead"]), None,
                     "consider `initdead %s` so slow boots do not cause a takeover" % format_ms(2 * deadtime))
    elif initdead < deadtime:
        p.err("hacf-initdead-too-small", "initdead %s is smaller than deadtime %s; heartbeat refuses to start"
              % (human_ms(initdead), human_ms(deadtime)), i_line,
              "set initdead to at least twice deadtime: `initdead %s`" % format_ms(2 * deadtime))
    elif initdead < 2 * deadtime or initdead < 10000:
        p.warn("hacf-initdead-short", "initdead %s is short (%s); after a reboot the network may not be up "
               "in time and the node would take over from a healthy peer"
               % (human_ms(initdead), "below 10 s" if initdead < 10000 else "less than twice deadtime"),
               i_line, "set `initdead %s`" % format_ms(max(2 * deadtime, 10000)))


def _autojoin(p):
    # type: (Any) -> None
    autojoin = p.values.get("autojoin")
    if autojoin and autojoin[0] != "none":
        p.err("hacf-autojoin", "autojoin %s conflicts with haresources mode; heartbeat refuses to start"
              % autojoin[0], autojoin[2], "remove the line or write `autojoin none`")


def _logging(p):
    # type: (Any) -> None
    use_logd = p.values.get("use_logd")
    if use_logd and not use_logd[0] and not any(n in p.values for n in LOG_DIRECTIVES):
        p.err("hacf-no-logging", "use_logd is off and no logfile, debugfile or logfacility is set; heartbeat "
              "refuses to start (\"No log entry found\")", use_logd[2],
              "add `logfile /var/log/ha-log` or `logfacility local0`")


def _stonith(p):
    # type: (Any) -> None
    for d in p.stonith:
        p.report(dg.INFO, "hacf-stonith-fences", "%s: pyha's daemon fences a dead peer with this device before "
                 "taking over (as heartbeat does), unless pyha.cf has a `fence` line for that peer" % d.directive,
                 d.lineno, "test the device with `pyha fence status NODE`; the daemon also checks it every "
                 "fence_check (pyha.cf, default 5min) and `pyha status` shows the result")


FILE_RULES = (_auto_failback, _nodes, _media, derive_timing, _timing, _autojoin, _logging, _stonith)
