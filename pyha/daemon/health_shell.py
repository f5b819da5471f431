"""The daemon's side of service health: pyha.cf's `monitor` checks and `notify` program.

One collaborator so the daemon only forwards to it: resource events (a check runs only
while its group is held here, and not while the core restarts it), the manager's typed
state changes (each group or peer change runs the notify program), a reload (new
pyha.cf settings) and the status view.  A failed check goes to the core as
`CheckFailed` (`emit`): the restart / hand-over decision is the core's
(pyha/cluster/manager/health.py).
The checks and the program run as child processes through the resource shell's runner,
never blocking the loop (pyha/resources/health_watch.py, health_notify.py).
"""

from typing import Any, Callable, Optional

from pyha.cluster import manager_events as me


class HealthShell(object):
    def __init__(self, loop, resources, haresources, resource_d, node_name):
        # type: (Any, Any, Any, str, str) -> None
        """`resources`: the daemon's ResourceShell, whose runner runs the checks, whose
        `emit` takes failed checks to the core, and which tells us before it restarts one."""
        from pyha.resources.health_watch import ServiceMonitors
        self.runner = resources.runner
        self.node_name = node_name
        self.emit = resources.emit  # type: Callable[[Any], Any]  # the core's input
        self.monitors = ServiceMonitors(loop, self.runner, haresources, resource_d, on_result=self._on_result)
        resources.before_restart = self.monitors.on_event  # no checks while it restarts
        self.notifier = None  # type: Any  # pyha.cf `notify PROGRAM` (pyha/resources/health_notify.py)

    def configure(self, pyhacf):
        # type: (Optional[Any]) -> None
        """At start and on SIGHUP: the monitor lines and the notify program in force."""
        from pyha.config.pyhacf_monitor import monitors, notify_of
        if pyhacf is None:
            return
        self.monitors.configure(monitors(pyhacf.settings))
        n = notify_of(pyhacf.settings)
        if n is None:
            self.notifier = None
        elif self.notifier is None or self.notifier.argv != list(n.argv):
            from pyha.resources.health_notify import Notifier
            self.notifier = Notifier(self.runner, n.argv, self.node_name)

    def on_event(self, event):
        # type: (Any) -> None
        """The resource shell's outcomes, and RestartResource before it runs."""
        self.monitors.on_event(event)

    def _on_result(self, group, monitor, result):
        # type: (str, Any, Any) -> None
        if not result.ok:
            self.emit(me.CheckFailed(group, monitor.resource, result.detail, monitor.restarts, monitor.window_ms,
                                     monitor.interval_ms))

    def on_transition(self, action):
        # type: (Any) -> None
        """A group or peer state change runs the notify program (other changes do not)."""
        if self.notifier is None or not isinstance(action, (me.GroupStateChanged, me.NodeStateChanged)):
            return
        group = isinstance(action, me.GroupStateChanged)
        self.notifier.notify("group" if group else "node", action.group if group else action.node,
                             str(action.old), str(action.new), action.reason)

    def snapshot(self, now):
        # type: (float) -> Any
        return self.monitors.snapshot(now)

    def close(self):
        # type: () -> None
        self.monitors.close()
