"""The manager as `pyha status` shows it: a JSON-able snapshot, read-only.

Never changes the manager.
"""

from collections import OrderedDict
from typing import Any, Dict

from pyha.cluster.manager.states import G_HELD, P_STARTING


def snapshot(m):
    # type: (Any) -> Dict[str, Any]
    """A JSON-able picture of manager `m` for `pyha status`."""
    peer = m._peer
    groups = OrderedDict()  # type: Dict[str, Any]
    for g in m._groups.values():
        groups[g.key] = {
            "preferred": g.node, "state": g.state, "since": g.since, "wanted_here": g.want,
            "reason": g.reason, "note": g.note, "vip": g.vip, "probe_mode": g.probe_mode if g.vip else None,
            "probe": g.probe.to_dict() if g.vip else None,
            "start_failure": dict(g.failed) if g.failed else None,
            "stop_failure": g.stop_error,
        }
    pending = [w.to_dict() for w in m._waits]
    for g in m._groups.values():
        if m._in_flight(g):
            pending.append({"what": g.state, "groups": [g.key], "reason": g.reason})
    if m._phase == P_STARTING and m._rqst_deadline is not None:
        pending.append({"what": "startup", "deadline": m._rqst_deadline,
                        "reason": "waiting for %s's starting or stable report" % m.peer})
    peer_groups = None
    if peer.holds is not None:
        peer_groups = m._keys(peer.holds)
    return {
        "node": m.me,
        "peer": m.peer,
        "auto_failback": m.config.auto_failback,
        "phase": m._phase,
        "phase_reason": m._phase_reason,
        "stable": m._stable(),
        "holding": m._holding_word(),
        "holding_groups": [g.key for g in m._groups.values() if g.state == G_HELD],
        "responsible_for": sorted(m._cats),
        "groups": groups,
        "standby": m._sb.to_dict(),
        "pending": pending,
        "peer_state": {
            "state": peer.state, "status": peer.status, "holds": peer.holds_word,
            "holds_groups": peer_groups, "stable": peer.stable, "starting_seen": peer.starting_seen,
            "leaving": peer.leaving, "ping": peer.ping, "dead_reason": peer.dead_reason,
            "running_groups": sorted(peer.running[0]) if peer.running is not None else None,
            "no_carrier_groups": sorted(peer.links_down[0]) if peer.links_down is not None else None,
        },
        "no_carrier": dict(m._arb.links_down),
        "ping": {"targets": list(m.config.ping_targets), "up": sorted(m._arb.ping_up),
                 "count": m._my_ping()},
        "failback_needed": m._failback_needed,
        "standby_request_waiting": ({"rsc_hold": m._me_pending[0], "until": m._me_pending[1],
                                     "why": m._me_pending[2]} if m._me_pending else None),
        "fencing": m._fence.to_dict(),
        "last_decision": dict(m._last_decision) if m._last_decision else None,
        "decisions": [dict(d) for d in m._history],
        "health": m._health.snapshot(m._now),
    }
