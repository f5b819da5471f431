"""`pyha status` exit codes: the pair's health from the daemon's status, for monitoring
systems that read an exit code and parse nothing.

    0  healthy: the daemon runs, every peer is up on every link, every ping node answers,
       every resource group runs on exactly one node, nothing is failing or moving, every
       service check and fence device check passed last time, no takeover waits for fencing
    1  degraded: the daemon runs, but something above is not so (the reasons are listed)
    3  not running (LSB "program is not running"; the SysV script's own `status` keeps its
       LSB codes from the pid file, see packaging/initscripts/pyha)
    4  unknown: the daemon is starting (holds its pid lock, not answering yet) or refused
       to answer (LSB "status unknown")
    2  usage error, as every pyha command

Pure: the status dict in, (code, problems) out; no socket, no clock.
"""

from typing import Any, Dict, List, Tuple

HEALTHY, DEGRADED, NOT_RUNNING, UNKNOWN = 0, 1, 3, 4
WORDS = {HEALTHY: "healthy", DEGRADED: "degraded", NOT_RUNNING: "not running", UNKNOWN: "unknown"}


def problems(st):
    # type: (Dict[str, Any]) -> List[str]
    """Why the pair is not healthy, one short sentence each; [] when it is."""
    out = []  # type: List[str]
    d = st.get("daemon") or {}
    local = st.get("local") or {}
    if d.get("stopping"):
        out.append("this node's daemon is stopping")
    if local.get("status") != "active":
        out.append("this node is %s, not active (communication not up yet)" % (local.get("status") or "?"))
    media = (st.get("config") or {}).get("media") or []
    for name, n in sorted((st.get("nodes") or {}).items()):
        if n.get("state") != "up":
            out.append("peer %s is %s" % (name, {"never": "not heard yet"}.get(n.get("state"), n.get("state"))))
            continue
        links = n.get("links") or {}
        for medium in media or sorted(links):
            state = (links.get(medium) or {}).get("state")
            if state != "up":
                out.append("link %s to %s is %s" % (medium, name, state or "unknown"))
    pings = dict(st.get("ping_nodes") or {})
    pings.update(st.get("ping_groups") or {})
    for name, p in sorted(pings.items()):
        if p.get("state") != "up":
            out.append("ping node %s does not answer" % name)
    out.extend(_resource_problems(st.get("resources") or {}))
    out.extend(_check_problems(st))
    return out


def _check_problems(st):
    # type: (Dict[str, Any]) -> List[str]
    """A service check or a fence device check that failed last time, and a takeover held
    back by fencing: each is something an operator must look at before it is needed."""
    out = []  # type: List[str]
    for name, m in sorted((st.get("monitors") or {}).items()):
        if m.get("checking") and m.get("ok") is False:
            out.append("monitor %s failed its last check: %s" % (name, m.get("detail") or "?"))
    check = st.get("fence_device") or {}
    last = check.get("last_check") or {}
    if check.get("device") and last.get("ok") is False:
        out.append("fence device %s failed its check: %s" % (check["device"], last.get("message") or "?"))
    fence = (st.get("resources") or {}).get("fencing") or {}
    if fence.get("blocking_takeover"):
        out.append("takeover waits for fencing (%s): %s" % (fence.get("state"), fence.get("reason") or "?"))
    return out


def _resource_problems(res):
    # type: (Dict[str, Any]) -> List[str]
    if res.get("mode"):
        return []  # membership only: no resources to judge
    out = []  # type: List[str]
    if res.get("phase") not in (None, "running"):
        out.append("resources: %s" % res.get("phase"))
    elif not res.get("stable", True):
        out.append("resources are moving")
    peer = res.get("peer_state") or {}
    peer_holds = set(peer.get("holds_groups") or []) if peer.get("state") == "up" else set()
    for key, g in sorted((res.get("groups") or {}).items()):
        if g.get("state") == "stuck" or g.get("stop_failure"):
            out.append("group %s failed to stop: it may still run here" % key)
        elif g.get("start_failure"):
            out.append("group %s failed to start here" % key)
        elif g.get("state") != "held" and key not in peer_holds and res.get("phase") == "running" \
                and res.get("stable", True):
            out.append("group %s runs on neither node" % key)
    return out


def assess(st):
    # type: (Dict[str, Any]) -> Tuple[int, List[str]]
    """(exit code, problems) for a daemon that answered with status `st`."""
    found = problems(st)
    return (DEGRADED if found else HEALTHY), found
