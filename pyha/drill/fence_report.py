"""The fencing drills' numbers and verdicts, from what was sampled (pure).

A fencing drill samples, every 50 ms, each node's power (is its init alive) and what its
daemon's status says about fencing (`resources.fencing`: state, attempts, reason;
`fence_device.last_check`).  A sample is `(t, {node: NodeView})`, t monotonic seconds.
From those samples (and the client probe's numbers, `pyha.drill.report`) this module
computes when things happened and decides PASS/FAIL; it never samples or acts itself.
"""

from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

NodeView = Dict[str, Any]   # {"on": bool, "fence": state or None, "attempts": int, "reason": str, ...}
Sample = Tuple[float, Dict[str, NodeView]]
Check = Tuple[str, bool, str]


def first(samples, pred, since=0.0):
    # type: (Sequence[Sample], Callable[[Dict[str, NodeView]], Any], float) -> Optional[float]
    """Time of the first sample at or after `since` for which `pred(views)` holds."""
    for t, views in samples:
        if t >= since and pred(views):
            return t
    return None


def fence_state(views, node):
    # type: (Dict[str, NodeView], str) -> Optional[str]
    return (views.get(node) or {}).get("fence")


def fence_outcome(samples, state, since=0.0, nodes=None):
    # type: (Sequence[Sample], str, float, Optional[Sequence[str]]) -> Tuple[Optional[float], Optional[float], Optional[str]]
    """(call started, call ended in `state`, the node that fenced): the first sample at or
    after `since` where a node's fencing is "fencing", then the first where that node's
    is `state` ("fenced" or "failed").  A state left from an earlier episode ("fenced"
    until the peer is heard again) never counts: only a call seen running."""
    for t, views in samples:
        if t < since:
            continue
        for node in (nodes or sorted(views)):
            if fence_state(views, node) == "fencing":
                end = first(samples, lambda v: fence_state(v, node) == state, t)
                return t, end, node
    return None, None, None


def is_on(views, node):
    # type: (Dict[str, NodeView], str) -> bool
    return bool((views.get(node) or {}).get("on"))


def power_cycles(samples, node, since=0.0):
    # type: (Sequence[Sample], str, float) -> List[Tuple[float, Optional[float]]]
    """When `node` was seen off: [(first sample off, first sample on again or None)]."""
    out = []  # type: List[Tuple[float, Optional[float]]]
    off = None  # type: Optional[float]
    for t, views in samples:
        if t < since or node not in views:
            continue
        if not is_on(views, node):
            if off is None:
                off = t
        elif off is not None:
            out.append((off, t))
            off = None
    if off is not None:
        out.append((off, None))
    return out


def ever_both_off(samples, nodes, since=0.0):
    # type: (Sequence[Sample], Sequence[str], float) -> bool
    return first(samples, lambda v: all(n in v and not is_on(v, n) for n in nodes), since) is not None


def since(t, t0):
    # type: (Optional[float], float) -> Optional[float]
    """`t - t0` to the ms, or None when `t` never happened."""
    return None if t is None else round(t - t0, 3)


def _fmt(value, unit=" s"):
    # type: (Any, str) -> str
    return "never" if value is None else "%s%s" % (value, unit)


def links_cut_checks(v, action, preferred):
    # type: (Dict[str, Any], str, str) -> List[Check]
    """PASS/FAIL of fence-links-cut from its values (see `pyha.drill.fencing`).

    Exactly one node keeps running and it is `preferred` (the node without fence_delay);
    the other was fenced through its BMC; the VIP was never on both nodes and clients were
    never cut off; with `fence_action reboot` the fenced node came back and rejoined."""
    checks = []  # type: List[Check]
    checks.append(("the survivor fenced its peer (fence call succeeded)", v.get("cut_to_fenced_s") is not None,
                   "cut to fenced: %s" % _fmt(v.get("cut_to_fenced_s"))))
    checks.append(("the fenced node was powered off by its BMC", v.get("cut_to_power_off_s") is not None,
                   "cut to power off: %s" % _fmt(v.get("cut_to_power_off_s"))))
    checks.append(("exactly one node kept running: %s" % preferred,
                   v.get("survivor") == preferred and not v.get("survivor_powered_off") and not v.get("both_off"),
                   "survivor %s, fenced %s" % (v.get("survivor"), v.get("fenced_node"))))
    checks.append(("no duplicate VIP", v.get("duplicate_vip_s") == 0, "%s s" % v.get("duplicate_vip_s")))
    checks.append(("clients kept being served (no outage)", v.get("outage_s") == 0, "%s s" % v.get("outage_s")))
    if action == "reboot":
        checks.append(("fence_action reboot: the fenced node was powered on again by its BMC",
                       v.get("back_on_s") is not None, "off for %s" % _fmt(v.get("back_on_s"))))
    checks.append(("the fenced node rejoined after the links healed", v.get("rejoin_s") is not None,
                   "daemon start to rejoined: %s" % _fmt(v.get("rejoin_s"))))
    checks.append(("no duplicate VIP when it rejoined", v.get("rejoin_duplicate_vip_s") == 0,
                   "%s s" % v.get("rejoin_duplicate_vip_s")))
    return checks


def broken_bmc_checks(v):
    # type: (Dict[str, Any]) -> List[Check]
    """PASS/FAIL of fence-broken-bmc from its values (see `pyha.drill.fencing`).

    The device check reports the broken BMC; with the holder dead and its BMC refusing,
    nothing is taken over, the status says the fencing failed and it is retried; once the
    BMC works again the peer is fenced and the takeover follows; never a duplicate VIP."""
    checks = []  # type: List[Check]
    checks.append(("the periodic device check reported the broken BMC", v.get("check_reported_s") is not None,
                   "%s after the break: %s" % (_fmt(v.get("check_reported_s")), v.get("check_message") or "-")))
    checks.append(("fencing failed and was retried (attempts >= 2)", (v.get("attempts") or 0) >= 2,
                   "%s attempts, first failure %s after the kill" % (v.get("attempts"),
                                                                     _fmt(v.get("kill_to_fence_failed_s")))))
    checks.append(("no takeover while fencing fails", v.get("taken_over_while_broken") is False,
                   "holders while broken: %s" % (v.get("holders_while_broken") or "nobody")))
    checks.append(("`pyha status` names the fencing failure and says it is not taking over",
                   bool(v.get("status_says_failure")), v.get("fence_reason") or "-"))
    checks.append(("after the BMC is repaired the peer is fenced", v.get("fix_to_fenced_s") is not None,
                   "repair to fenced: %s" % _fmt(v.get("fix_to_fenced_s"))))
    checks.append(("then the takeover happens", v.get("fix_to_takeover_s") is not None,
                   "repair to serving: %s" % _fmt(v.get("fix_to_takeover_s"))))
    checks.append(("no duplicate VIP", v.get("duplicate_vip_s") == 0, "%s s" % v.get("duplicate_vip_s")))
    return checks


LABELS = [
    ("fence_action", "fence action"), ("preferred", "preferred (no delay)"),
    ("cut_to_fence_call_s", "cut to fence call (s)"), ("cut_to_fenced_s", "cut to fenced (s)"),
    ("cut_to_power_off_s", "cut to one running (s)"), ("survivor", "survivor"), ("fenced_node", "fenced node"),
    ("fence_reason", "fence status"), ("back_on_s", "fenced node off (s)"),
    ("check_reported_s", "break to check (s)"), ("check_message", "device check"),
    ("kill_to_fence_failed_s", "kill to fence failed (s)"), ("attempts", "fence attempts"),
    ("fix_to_fenced_s", "repair to fenced (s)"), ("fix_to_takeover_s", "repair to takeover (s)"),
    ("rejoin_s", "rejoin (s)"), ("rejoin_duplicate_vip_s", "rejoin dup. VIP (s)"),
]
