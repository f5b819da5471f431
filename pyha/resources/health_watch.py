"""The daemon's service monitors: one `Watch` per `monitor` line (pyha.cf), running while
this node holds the resource's group, and what each has seen, for the log and `pyha status`.

`ServiceMonitors` maps each monitor to its haresources group and agent once
(`configure`, again on reload), starts a group's watches when the group is acquired and
stops them when it is released (`on_event` with the resource shell's events), and keeps
per resource: the last check, failures in a row, and the failure times within the
monitor's window.  It logs a failure when it starts, every failure after it, and the
recovery.  `on_result(group, monitor, result)` hands every result on (the daemon feeds
failures to the core as `CheckFailed`, where the restart/hand-over policy decides);
deciding anything is not this module's job.

Never blocks the loop (checks are child processes, see health_runner) and never acts on a
result by itself.
"""

import logging
from collections import OrderedDict
from typing import Any, Callable, Dict, List, Optional

from pyha.cluster import manager_events as me
from pyha.config.pyhacf_monitor import find_resource
from pyha.resources import agents, health
from pyha.resources.health_runner import HealthChecker, Watch

log = logging.getLogger("pyha")


class _Watched(object):
    """One monitor line as the daemon runs it."""

    __slots__ = ("monitor", "group", "token", "watch", "last", "last_at", "in_row", "failures", "checks")

    def __init__(self, monitor, group, token, watch):
        self.monitor = monitor
        self.group = group
        self.token = token
        self.watch = watch
        self.last = None  # type: Optional[health.CheckResult]
        self.last_at = None  # type: Optional[float]
        self.in_row = 0
        self.failures = []  # type: List[float]  # monotonic times of failed checks within the window
        self.checks = 0


class ServiceMonitors(object):
    def __init__(self, loop, runner, haresources, resource_d=agents.RESOURCE_D, on_result=None, resolve=None):
        # type: (Any, Any, Any, str, Optional[Callable[[str, Any, health.CheckResult], Any]], Optional[Callable[[str], agents.Agent]]) -> None
        self.loop = loop
        self.checker = HealthChecker(loop, runner)
        self.haresources = haresources
        self.resolve = resolve or (lambda token: agents.resolve(token, resource_d=resource_d))
        self.on_result = on_result
        self.watched = OrderedDict()  # type: Dict[str, _Watched]
        self.held = set()  # type: set
        self.restarting = set()  # type: set  # (group, resource) being restarted: not checked, even after a reload
        self.problems = []  # type: List[str]

    def configure(self, monitors):
        # type: (List[Any]) -> None
        """Use these monitors (pyha.config.pyhacf_monitor.Monitor) from now on; watches of
        groups held now start again with the new settings."""
        for w in self.watched.values():
            w.watch.stop()
        self.watched = OrderedDict()
        self.problems = []
        for m in monitors:
            found = find_resource(self.haresources, m.resource)
            group = next((g for g in self.haresources.groups if found and found[0] in g.resources), None)
            if group is None:
                self.problems.append("monitor %s: not a resource of haresources" % m.resource)
                continue
            try:
                probes = health.probes(m, self.resolve(found[0].token))
            except (agents.AgentError, health.UnsupportedResource) as exc:
                self.problems.append("monitor %s: %s" % (m.resource, exc))
                continue
            watched = _Watched(m, group.key, found[0].token, None)
            watched.watch = Watch(self.loop, self.checker, m.resource, probes, m.interval_ms / 1000.0,
                                  m.timeout_ms / 1000.0, lambda r, w=watched: self._result(w, r))
            self.watched[m.resource] = watched
        for problem in self.problems:
            log.error("%s; it is not checked", problem)
        for key in self.held:
            self._start(key)

    def on_event(self, event):
        # type: (Any) -> None
        """The resource shell's outcome events: watch a group while it runs here; no
        check of a resource while it restarts (RestartResource), and the next one an
        interval after the restart's outcome (a check begun before it is dropped)."""
        if isinstance(event, me.RestartResource):
            self.restarting.add((event.group, event.resource))
            for w in self.watched.values():
                if w.group == event.group and w.monitor.resource == event.resource:
                    w.watch.stop()
        elif isinstance(event, me.ResourceRestarted):
            self.restarting.discard((event.group, event.resource))
            if event.group in self.held:
                self._start(event.group)
        elif isinstance(event, me.GroupAcquired):
            self.held.add(event.group)
            self._start(event.group)
        elif isinstance(event, (me.GroupReleased, me.GroupReleaseFailed, me.GroupAcquireFailed)):
            self.held.discard(event.group)
            for w in self.watched.values():
                if w.group == event.group:
                    w.watch.stop()

    def _start(self, key):
        # type: (str) -> None
        for w in self.watched.values():
            if w.group == key and (key, w.monitor.resource) not in self.restarting:
                w.watch.start()

    def _result(self, w, result):
        # type: (_Watched, health.CheckResult) -> None
        now = self.loop.clock()
        w.checks += 1
        w.last, w.last_at = result, now
        window_s = w.monitor.window_ms / 1000.0
        w.failures = [t for t in w.failures if now - t < window_s]
        if result.ok:
            if w.in_row:
                log.info("monitor %s (group %s): passes again after %d failed check%s: %s", w.monitor.resource,
                         w.group, w.in_row, "" if w.in_row == 1 else "s", result.detail)
            w.in_row = 0
        else:
            w.in_row += 1
            w.failures.append(now)
            log.warning("monitor %s (group %s): check failed (%d in a row, %d in %s): %s", w.monitor.resource,
                        w.group, w.in_row, len(w.failures), _window_text(w.monitor.window_ms), result.detail)
        if self.on_result is not None:
            self.on_result(w.group, w.monitor, result)

    def close(self):
        # type: () -> None
        for w in self.watched.values():
            w.watch.stop()

    def snapshot(self, now=None):
        # type: (Optional[float]) -> Dict[str, Any]
        """Per monitored resource, for `pyha status --json`."""
        now = self.loop.clock() if now is None else now
        out = OrderedDict()  # type: Dict[str, Any]
        for name, w in self.watched.items():
            out[name] = {
                "group": w.group, "checking": w.watch.started, "checks": w.checks,
                "ok": None if w.last is None else w.last.ok,
                "detail": None if w.last is None else w.last.detail,
                "age_s": None if w.last_at is None else round(now - w.last_at, 3),
                "failed_in_a_row": w.in_row,
                "failures_in_window": len([t for t in w.failures if now - t < w.monitor.window_ms / 1000.0]),
                "interval_s": w.monitor.interval_ms / 1000.0, "url": w.monitor.url,
            }
        return out


def _window_text(ms):
    # type: (int) -> str
    if ms % 60000 == 0:
        return "%d min" % (ms // 60000)
    return "%g s" % (ms / 1000.0)
