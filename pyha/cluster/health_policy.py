"""What to do when a monitored service fails its check: restart it in place, or hand its
group to a healthy peer (issue 14).  Pure: time comes in as `now` (monotonic seconds).

The rule, per monitored resource (a pyha.cf `monitor` line):
- a failed check while this node holds the group restarts the resource in place, up to
  `restarts` times within `window`;
- one more failure within the window hands the whole group to a healthy peer (released
  here before the peer acquires it, as for standby);
- a node that gave the group up because its copy of that resource kept failing (and a
  peer whose copy failed, as it tells us) is not healthy for that group: the group is
  never handed back to it (nor taken back by it) until the window has passed since that
  failure.  A copy restarted in place is still held there, so it marks nothing;
- with no healthy peer (dead, or its own copy failed within the window) the resource is
  restarted in place again, and the reason says so.
Every decision carries its reason, in the words the log and `pyha status` show.

`ServicePolicy` keeps the restart and failure times it needs and nothing else; the
shell feeds it check results (`failed`, `passed`), and asks `may_hold(node, group, now)`
before taking a group back.  It never runs anything and never sees a clock.
"""

from collections import namedtuple
from typing import Any, Dict, Iterable, List, Optional, Tuple

RESTART = "restart"
HAND_OVER = "hand-over"

# action: RESTART or HAND_OVER; to: the peer for HAND_OVER (None for RESTART).
Decision = namedtuple("Decision", "action group resource to reason")


def _span(ms):
    # type: (int) -> str
    if ms % 60000 == 0:
        return "%d min" % (ms // 60000)
    return "%g s" % (ms / 1000.0)


class ServicePolicy(object):
    def __init__(self, local, monitors):
        # type: (str, Iterable[Any]) -> None
        """`local`: this node's name; `monitors`: pyha.config.pyhacf_monitor.Monitor lines."""
        self.local = local
        self.monitors = dict((m.resource, m) for m in monitors)
        self._restarts = {}  # type: Dict[str, List[float]]  # resource -> times restarted here
        self._failed = {}  # type: Dict[Tuple[str, str], Tuple[float, int]]  # (node, group) -> (when, window ms)

    def _window_s(self, resource):
        # type: (str) -> float
        return self.monitors[resource].window_ms / 1000.0

    def _recent(self, times, now, window_s):
        # type: (List[float], float, float) -> List[float]
        return [t for t in times if now - t < window_s]

    def record_failure(self, node, group, resource, now, window_ms=None):
        # type: (str, str, str, float, Optional[int]) -> None
        """`node`'s copy of `resource` (in `group`) failed at `now` (ours, or a peer's as
        it told us): that node is not healthy for the group within the window (the
        monitor line's, or `window_ms` as the peer said it)."""
        if window_ms is None:
            window_ms = self.monitors[resource].window_ms if resource in self.monitors else 0
        self._failed[(node, group)] = (now, window_ms)

    def forget(self, node, group):
        # type: (str, str) -> bool
        """The operator vouches for `node`'s copy of `group` (`pyha takeover` there):
        its failure no longer keeps the group away.  True if there was one."""
        return self._failed.pop((node, group), None) is not None

    def may_hold(self, node, group, now):
        # type: (str, str, float) -> bool
        """False while `node`'s copy of a resource of `group` failed within its window."""
        seen = self._failed.get((node, group))
        return seen is None or now - seen[0] >= seen[1] / 1000.0

    def failed(self, group, resource, now, peers_up, vip=None):
        # type: (str, str, float, Iterable[str], Optional[str]) -> Decision
        """This node holds `group` and `resource` failed its check at `now`.  `peers_up`:
        the peers alive now (any of them may take a group); `vip`: the group's address,
        for the reason's words (the group key otherwise)."""
        m = self.monitors[resource]
        window_s = self._window_s(resource)
        restarts = self._restarts[resource] = self._recent(self._restarts.get(resource, []), now, window_s)
        failures = len(restarts) + 1
        what = "%s failed its check %s" % (resource, "once" if failures == 1 else "%d times in %s"
                                           % (failures, _span(m.window_ms)))
        if len(restarts) < m.restarts:
            restarts.append(now)
            return Decision(RESTART, group, resource, None, "%s: restarting it here (restart %d of %d in %s)"
                            % (what, len(restarts), m.restarts, _span(m.window_ms)))
        healthy = [p for p in sorted(peers_up) if p != self.local and self.may_hold(p, group, now)]
        if healthy:
            self.record_failure(self.local, group, resource, now)  # we give it up: not to be handed it back
            return Decision(HAND_OVER, group, resource, healthy[0], "%s: handing %s to %s"
                            % (what, vip or group, healthy[0]))
        unhealthy = [p for p in sorted(peers_up) if p != self.local]
        why = ("no peer is up" if not unhealthy else
               "%s's copy failed too within %s" % (" and ".join(unhealthy), _span(m.window_ms)))
        restarts.append(now)
        return Decision(RESTART, group, resource, None, "%s; no healthy peer to hand %s to (%s): restarting it "
                        "here again" % (what, vip or group, why))

    def passed(self, resource, now):
        # type: (str, float) -> None
        """A passing check: only the window forgets earlier restarts (a flapping service
        that passes between failures still runs out of restarts)."""
        if resource in self._restarts:
            self._restarts[resource] = self._recent(self._restarts[resource], now, self._window_s(resource))

    def unfit(self, now):
        # type: (float) -> List[Tuple[str, str, float, int]]
        """(node, group, when, window ms) of every copy that failed within its window."""
        return [(node, group, at, ms) for (node, group), (at, ms) in sorted(self._failed.items())
                if now - at < ms / 1000.0]

    def restarts_in_window(self, resource, now):
        # type: (str, float) -> int
        return len(self._recent(self._restarts.get(resource, []), now, self._window_s(resource)))
