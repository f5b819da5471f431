"""Groups toward what we want: Acquire/Release/ProbeVip batches, the shell's results, and
the protocol steps that wait for them (start-up report, takeover report, standby done,
shutdone).

A mixin of `Manager` (core.py says why); it holds no state of its own.
Pure, like the whole package: see `pyha.cluster.manager` for what it must never do.
"""

from collections import OrderedDict
from typing import Dict, List

from pyha.cluster.events import CRITICAL, ERROR, INFO, WARNING
from pyha.cluster.manager.records import _Group, _Wait
from pyha.cluster.manager.states import (
    G_ACQUIRING, G_HELD, G_IDLE, G_PROBING, G_RELEASING, G_STUCK, INFO_STARTUP, P_STOPPED, P_STOPPING,
    PEER_UP, PROBE_NONE, _RELEASE_WAITS, SB_NONE, SB_RELEASED, W_SHUTDOWN, W_STANDBY_ACQUIRE,
    W_STANDBY_RELEASE, W_STARTUP, W_TAKEOVER,
)
from pyha.cluster.manager_events import Acquire, ProbeVip, Release, ShutdownComplete
from pyha.wire import vocabulary as words


class GroupsMixin(object):
    """Moving groups, the shell's results, waits."""

    # shell results

    def _group_for(self, ev):
        g = self._groups.get(ev.group) if isinstance(ev.group, str) else None
        if g is None:
            self._log(WARNING, "%s for unknown group %r ignored" % (ev.kind, ev.group))
        return g

    def _on_acquired(self, ev, now):
        g = self._group_for(ev)
        if g is None:
            return
        if g.state != G_ACQUIRING:
            self._log(WARNING, "group %s reported started while %s: ignored" % (g.key, g.state))
            return
        self._group_to(g, G_HELD, "started here")
        self._log(INFO, "group %s is running here" % g.key)
        self._legacy.started(g)
        if g.yield_pending:
            g.yield_pending = False
            self._group_to(g, G_RELEASING, "yielding %s after an address conflict" % g.key)
            self._out.append(Release((g.key,), g.reason))

    def _on_acquire_failed(self, ev, now):
        g = self._group_for(ev)
        if g is None:
            return
        if g.state != G_ACQUIRING:
            self._log(WARNING, "group %s reported failed to start while %s: ignored" % (g.key, g.state))
            return
        error = str(ev.error)
        self._legacy.started(g)
        g.failed = {"at": now, "error": error}
        g.handover_pending = self.config.nice_failback
        g.yield_pending = False
        # No longer wanted here: once the failure is forgiven (peer death, operator
        # takeover) it is claimed again explicitly, never by a leftover wish while the
        # peer may have taken it meanwhile.
        g.want = False
        reason = "group %s failed to start here (%s): stopping what was started" % (g.key, error)
        self._group_to(g, G_RELEASING, reason)
        self._out.append(Release((g.key,), reason))
        self._decide("resource group %s failed to start on %s: %s; releasing it%s" % (
            g.key, self.me, error, " and letting %s try" % self.peer if self.config.nice_failback else ""),
            ERROR)

    def _on_released(self, ev, now):
        g = self._group_for(ev)
        if g is None:
            return
        if g.state != G_RELEASING:
            self._log(WARNING, "group %s reported stopped while %s: ignored" % (g.key, g.state))
            return
        was_stuck = g.stop_error is not None
        g.stop_error = None
        g.retry_at = None
        self._group_to(g, G_IDLE, "stopped here")
        self._log(INFO, "group %s is stopped here" % g.key)
        if was_stuck:
            self._decide("group %s finally stopped here" % g.key)
        self._legacy.released(g)

    def _on_release_failed(self, ev, now):
        g = self._group_for(ev)
        if g is None:
            return
        if g.state != G_RELEASING:
            self._log(WARNING, "group %s reported failed to stop while %s: ignored" % (g.key, g.state))
            return
        error = str(ev.error)
        g.stop_error = error
        g.retry_at = now + self.config.release_retry_ms / 1000.0
        self._group_to(g, G_STUCK, "stop failed: %s" % error)
        blocked = " and the shutdown waits" if self._phase == P_STOPPING else ""
        self._decide("resource group %s failed to stop on %s (%s): it may still be running, so I keep "
                     "reporting it as held%s; retrying in %d s" % (
                         g.key, self.me, error, blocked, self.config.release_retry_ms // 1000), CRITICAL)
        if self.config.nice_failback and self._peer.state == PEER_UP and self._last_report is not None \
                and self._last_report[0] != self._holding_word():
            self._report(stable=False)

    def _drive_groups(self, now):
        # type: (float) -> bool
        """Move every group one step toward what we want; batch the shell actions."""
        acquire = OrderedDict()  # type: Dict[str, List[str]]
        release = OrderedDict()  # type: Dict[str, List[str]]
        probe = OrderedDict()  # type: Dict[str, List[str]]
        changed = False
        for g in self._groups.values():
            if g.state == G_HELD and not g.want:
                self._group_to(g, G_RELEASING, g.reason)
                release.setdefault(g.reason, []).append(g.key)
            elif g.state == G_STUCK and g.want:
                self._group_to(g, G_ACQUIRING, "taking %s back as a whole (its stop had failed)" % g.key)
                acquire.setdefault(g.reason, []).append(g.key)
            elif g.state == G_PROBING and not g.want:
                self._group_to(g, G_IDLE, "probe cancelled: no longer wanted here")
                changed = True
            elif g.want and g.failed is None and g.state in (G_IDLE, G_PROBING):
                if g.state == G_IDLE:
                    if not g.vip or g.probe_mode == PROBE_NONE:
                        self._group_to(g, G_ACQUIRING, g.reason)
                        acquire.setdefault(g.reason, []).append(g.key)
                        continue
                    self._group_to(g, G_PROBING, "checking that the address of %s is free" % g.key)
                    changed = True
                    entered = True
                else:
                    entered = False
                step = self._probe_step(g, now, entered)
                if step == "acquire":
                    self._group_to(g, G_ACQUIRING, g.reason)
                    acquire.setdefault(g.reason, []).append(g.key)
                elif step == "probe":
                    probe.setdefault(g.reason, []).append(g.key)
        for reason, keys in release.items():
            self._out.append(Release(tuple(keys), reason))
        for reason, keys in acquire.items():
            self._out.append(Acquire(tuple(keys), reason))
        for reason, keys in probe.items():
            self._out.append(ProbeVip(tuple(keys), reason))
        return changed or bool(release or acquire or probe)

    def _acq_settled(self, g):
        # type: (_Group) -> bool
        return not self._in_flight(g)

    def _fire_waits(self, now):
        # type: (float) -> bool
        fired = False
        for w in list(self._waits):
            groups = [self._groups[k] for k in w.keys]
            if w.kind in _RELEASE_WAITS:
                done = all(g.state == G_IDLE for g in groups)
            else:
                done = all(self._acq_settled(g) for g in groups)
            if not done or w not in self._waits:
                continue
            self._waits.remove(w)
            fired = True
            self._fire(w)
        return fired

    def _fire(self, w):
        # type: (_Wait) -> None
        running = [g.key for g in self._groups.values() if g.state == G_HELD]
        if w.kind == W_STARTUP:
            self._decide("Local Resource acquisition completed: holding %s" % self._fmt(running))
            self._report(stable=self._stable(), info=INFO_STARTUP)
            self._initial_acquired(takeover=False)
        elif w.kind == W_TAKEOVER:
            blocked = [g.key for g in self._groups.values() if g.want and g.state == G_PROBING]
            self._decide("mach_down takeover complete: holding %s%s" % (
                self._fmt(running), "; not taken (address answers): %s" % self._fmt(blocked) if blocked else ""))
            self._report(stable=self._stable())
            if self.config.nice_failback and self.peer in self._reported_cats():
                # heartbeat's mach_down note claims the peer's groups unconditionally: say it
                # only when they do run here.
                self._send(words.resource_mach_down())
            self._initial_acquired(takeover=True)
        elif w.kind == W_STANDBY_RELEASE:
            sb = self._sb
            reason = "Local standby process completed [%s]: released %s" % (sb.word, self._fmt(w.keys))
            self._sb_to(SB_RELEASED, reason)
            self._send(words.ask_resources(sb.word, words.ASK_DONE))
            self._decide(reason)
        elif w.kind == W_STANDBY_ACQUIRE:
            sb = self._sb
            word = sb.word
            reason = "Standby resource acquisition done [%s]: holding %s" % (word, self._fmt(running))
            self._sb_to(SB_NONE, reason)
            self._report(stable=self._stable())
            self._send(words.ask_resources(word, words.ASK_DONE))
            self._decide(reason)
            if self.config.auto_failback == "on":
                self._initial_note("auto_failback", local=True)
        elif w.kind == W_SHUTDOWN:
            reason = "All HA resources relinquished: sending shutdone"
            self._phase_to(P_STOPPED, reason)
            self._send(words.shutdone())
            self._decide(reason)
            self._out.append(ShutdownComplete(reason))
