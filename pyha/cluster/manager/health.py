"""Service health in the resource manager (issue 14): what a failed check leads to.

The shell runs pyha.cf's `monitor` checks while a group is held here and feeds every
failure in as `CheckFailed`; `pyha.cluster.health_policy.ServicePolicy` decides, and this
module turns its decision into the manager's actions:
- restart in place: a `RestartResource` action (the shell stops and starts that one
  resource as child processes and answers `ResourceRestarted`; a failed restart counts as
  one more failure: within the restart budget it is retried at once, beyond it, with no
  healthy peer, at the next failed check, never in a tight loop);
- hand over: the whole group leaves by the standby exchange, exactly as `hb_standby` of
  its category (release here before the peer acquires; a genuine heartbeat peer speaks
  it; rsc_hold says "my groups" or "yours", so the other groups of that category held
  here go with it, and the reason lists them), with the policy's words as the reason ("nginx failed its check 2 times in 5 min:
  handing 192.0.2.160 to ha2"); when the exchange cannot start (peer in flux) the
  resource is restarted here instead, and the reason says why;
- no healthy peer (down, legacy mode, or its copy failed within the window): restart in
  place again, saying so.
A node that gave a group up because its copy kept failing is not given it back within
the window: the hand-over is told to a pyha peer as `pyha-health group= resource=
window=` (genuine heartbeat ignores the type), so its policy counts that copy as failed;
this node refuses a standby request for such a group (until `pyha takeover` here says
otherwise), and a node does not give a group back by auto_failback to a peer that said
so.  A copy restarted in place is still held and marks nothing.

`ServiceHealth` is a collaborator the Manager owns (`Manager._health`), not a mixin: the
policy's counters, the restarts in flight and what `pyha status` shows are its own.  It
acts through the Manager's operations (`_decide`, `_log`, `_send`, `_start_standby`) and
reads the group table, the peer record and the phase.  The Manager tells it:
`on_check_failed`, `on_restarted` (the shell), `on_peer_word` (the peer's pyha-health),
`forgive` (operator takeover), and asks `refusal` (taking a group back) and `peer_unfit`
(auto_failback).

Pure, like the whole package: see `pyha.cluster.manager` for what it must never do.
"""

from collections import OrderedDict, namedtuple
from typing import Any, Dict, Iterable, List, Optional, Tuple

from pyha.cluster.events import INFO, WARNING, is_int, parse_dec
from pyha.cluster.health_policy import HAND_OVER, ServicePolicy, _span
from pyha.cluster.manager.states import G_HELD, P_RUNNING, PEER_UP, SB_NONE
from pyha.cluster.manager_events import RestartResource
from pyha.wire import vocabulary as words

# The settings of one monitor line, as the shell's CheckFailed carries them (the policy
# reads `restarts` and `window_ms`).
_Line = namedtuple("_Line", "resource restarts window_ms interval_ms")

_MAX_WINDOW_MS = 7 * 86400 * 1000  # a peer's word beyond a week is nonsense


def _address(g):
    # type: (Any) -> str
    """The group's service address for the reason's words ("192.0.2.160"), else its key."""
    if g.vip:
        head = g.key.split("::")[-1].split("/")[0]
        if head and all(c.isdigit() or c in ".:abcdefABCDEF" for c in head) and ("." in head or ":" in head):
            return head
    return g.key


class ServiceHealth(object):
    """The policy's decisions as the manager's actions (see the module docstring)."""

    def __init__(self, m):
        # type: (Any) -> None
        self._m = m
        self.policy = ServicePolicy(m.me, ())
        self.restarting = OrderedDict()  # type: Dict[Tuple[str, str], str]  # (group, resource) -> why
        self.last = OrderedDict()  # type: Dict[str, Dict[str, Any]]  # resource -> last decision, for status
        self._failed_what = {}  # type: Dict[Tuple[str, str], str]  # (node, group) -> resource, for words

    # --- the shell's inputs -----------------------------------------------------------------

    def on_check_failed(self, ev, now):
        m = self._m
        g = m._groups.get(ev.group) if isinstance(ev.group, str) else None
        if g is None or not isinstance(ev.resource, str) or not ev.resource:
            m._log(WARNING, "check result for unknown group %r / resource %r ignored" % (ev.group, ev.resource))
            return
        if not (is_int(ev.restarts) and ev.restarts >= 0 and is_int(ev.window_ms) and ev.window_ms > 0
                and is_int(ev.interval_ms) and ev.interval_ms > 0):
            m._log(WARNING, "check result for %s with bad settings (restarts %r, window %r ms, interval %r ms) "
                   "ignored" % (ev.resource, ev.restarts, ev.window_ms, ev.interval_ms))
            return
        self.policy.monitors[ev.resource] = _Line(ev.resource, ev.restarts, ev.window_ms, ev.interval_ms)
        why = None
        if g.state != G_HELD:
            why = "group %s is %s here" % (g.key, g.state)
        elif (g.key, ev.resource) in self.restarting:
            why = "it is being restarted"
        elif m._phase != P_RUNNING:
            why = "resources are %s" % m._phase
        elif m._sb.state != SB_NONE:
            why = "a standby exchange is in progress (%s)" % m._sb.state
        if why is not None:
            m._log(INFO, "failed check of %s (%s) not acted on: %s" % (ev.resource, ev.detail, why))
            return
        self._failure(g, ev.resource, str(ev.detail), now, after_restart=False)

    def on_restarted(self, ev, now):
        m = self._m
        key = (ev.group, ev.resource)
        if not (isinstance(ev.group, str) and isinstance(ev.resource, str)) or key not in self.restarting:
            m._log(WARNING, "restart result for %r (group %r) that was not asked for: ignored" % (
                ev.resource, ev.group))
            return
        del self.restarting[key]
        g = m._groups.get(ev.group)
        if g is None or g.state != G_HELD or m._phase != P_RUNNING:
            m._log(INFO, "restart of %s %s, but group %s is no longer held here: nothing more to do" % (
                ev.resource, "succeeded" if ev.ok else "failed", ev.group))
            return
        if ev.ok is True:
            reason = "%s restarted here (group %s)" % (ev.resource, g.key)
            self._note(ev.resource, g, "restarted", reason, now)
            m._decide(reason)
            return
        self._failure(g, ev.resource, "restart failed: %s" % (ev.detail or "?"), now, after_restart=True)

    # --- deciding -------------------------------------------------------------------------------

    def _failure(self, g, resource, detail, now, after_restart):
        m = self._m
        line = self.policy.monitors[resource]
        peers = [m.peer] if m.config.nice_failback and m._peer.state == PEER_UP else []
        d = self.policy.failed(g.key, resource, now, peers, _address(g))
        if not m.config.nice_failback and m._peer.state == PEER_UP:
            # the policy saw no peer: say why there is none (no exchange to hand it over by)
            d = d._replace(reason=d.reason.replace("(no peer is up)", "(auto_failback legacy has no standby "
                                                                        "exchange)"))
        if d.action == HAND_OVER:
            ok, why = m._start_standby(m._rsc.word({g.node}), d.reason, "health")
            if ok:
                self._failed_what[(m.me, g.key)] = resource
                m._send(words.pyha_health(g.key, resource, line.window_ms))
                self._note(resource, g, "hand-over", d.reason, now, detail)
                return
            self.policy.forget(m.me, g.key)  # we keep it after all
            reason = "%s, but the hand-over cannot start (%s): restarting it here instead" % (d.reason, why)
            self._restart(g, resource, reason, detail, now)
            return
        if after_restart and self.policy.restarts_in_window(resource, now) > line.restarts:
            # Beyond the budget with nobody to hand it to: the next failed check (one
            # interval on) restarts it again, never a restart right after a failed one.
            reason = "%s (after a failed restart: %s); the next failed check restarts it again" % (
                d.reason.replace(": restarting it here again", ""), detail)
            self._note(resource, g, "wait", reason, now, detail)
            m._decide(reason, WARNING)
            return
        self._restart(g, resource, d.reason, detail, now)

    def _restart(self, g, resource, reason, detail, now):
        m = self._m
        self.restarting[(g.key, resource)] = reason
        self._note(resource, g, "restart", reason, now, detail)
        m._out.append(RestartResource(g.key, resource, reason))
        m._decide(reason, WARNING)

    def _note(self, resource, g, action, reason, now, detail=None):
        entry = OrderedDict([("group", g.key), ("action", action), ("reason", reason), ("at", now)])
        if detail is not None:
            entry["detail"] = detail
        self.last[resource] = entry

    # --- the peer's word, and taking groups back -------------------------------------------------

    def on_peer_word(self, fields, now):
        # type: (Dict[str, Any], float) -> None
        """A pyha peer's `pyha-health`: its copy of a resource of a group failed."""
        m = self._m
        group, resource, window = fields.get("group"), fields.get("resource"), parse_dec(fields.get("window"))
        if (not isinstance(group, str) or group not in m._groups or not isinstance(resource, str)
                or not resource or len(resource) > 256 or window is None or not 0 < window <= _MAX_WINDOW_MS):
            m._log(WARNING, "%s from %s with bad group/resource/window (%r, %r, %r) ignored" % (
                words.HEALTH_MSG, m.peer, group, resource, fields.get("window")))
            return
        fit = self.policy.may_hold(m.peer, group, now)
        self.policy.record_failure(m.peer, group, resource, now, window)
        self._failed_what[(m.peer, group)] = resource
        if fit:  # said once per window: a repeat of the peer's word is not logged again
            m._log(INFO, "%s says its copy of %s (group %s) failed its check: it is not given %s for %s" % (
                m.peer, resource, group, group, _span(window)))

    def _unfit(self, node, groups, now):
        # type: (str, Iterable[Any], float) -> List[Any]
        return [g for g in groups if not self.policy.may_hold(node, g.key, now)]

    def refusal(self, groups, now):
        # type: (Iterable[Any], float) -> Optional[str]
        """Why this node must not take `groups` back (its copy failed within the window)."""
        bad = self._unfit(self._m.me, groups, now)
        if not bad:
            return None
        g = bad[0]
        return "%s failed its check here within its window: not taking %s back" % (
            self._failed_what.get((self._m.me, g.key), "a monitored resource"), self._m._fmt([b.key for b in bad]))

    def forgive(self, groups):
        # type: (Iterable[Any]) -> None
        """`pyha takeover` here: the operator wants these groups here whatever failed."""
        for g in groups:
            if self.policy.forget(self._m.me, g.key):
                self._m._log(INFO, "operator takeover clears the failed check of %s here" % g.key)

    def peer_unfit(self, groups, now):
        # type: (Iterable[Any], float) -> List[str]
        """Keys of `groups` whose copy on the peer failed within the window (it said so)."""
        return [g.key for g in self._unfit(self._m.peer, groups, now)]

    # --- status ------------------------------------------------------------------------------------

    def snapshot(self, now):
        # type: (Optional[float]) -> Dict[str, Any]
        unfit = [{"node": node, "group": group, "resource": self._failed_what.get((node, group)),
                  "failed_ago_s": round(now - at, 3), "for_s": round(at + window_ms / 1000.0 - now, 3)}
                 for node, group, at, window_ms in (self.policy.unfit(now) if now is not None else [])]
        return {
            "restarting": [{"group": k[0], "resource": k[1], "reason": r} for k, r in self.restarting.items()],
            "last": OrderedDict((r, dict(e, ago_s=None if now is None else round(now - e["at"], 3)))
                                for r, e in self.last.items()),
            "restarts_in_window": OrderedDict((r, self.policy.restarts_in_window(r, now))
                                              for r in self.policy.monitors) if now is not None else {},
            "not_fit": unfit,
        }

