"""Running service checks from the daemon's loop: each probe a child process, never a wait.

`check(probes, callback)` runs a check's probes one after another through the
`ProcessRunner` (own process group, SIGCHLD, killed at the deadline) and calls
`callback(CheckResult)` in the loop; the monitor's timeout bounds the whole check, each
probe getting what is left of it.  `Watch` repeats a check every interval while it is
started: a check never overlaps the previous one (the next starts an interval after the
previous started, or at once if that one took longer), and a result that arrives after
`stop()` is dropped, so a released group never reports a stale failure.

Never: block the loop, or decide anything about restarts and hand-overs (that is the
pure policy's job; this module only reports what it saw).
"""

from typing import Any, Callable, List, Optional

from pyha.resources.health import CheckResult, Probe


class HealthChecker(object):
    def __init__(self, loop, runner, clock=None):
        # type: (Any, Any, Optional[Callable[[], float]]) -> None
        self.loop = loop
        self.runner = runner
        self.clock = clock or loop.clock

    def check(self, resource, probes, timeout_s, callback):
        # type: (str, List[Probe], float, Callable[[CheckResult], Any]) -> None
        """Run `probes` in order (stop at the first failure) within `timeout_s` in all."""
        started = self.clock()
        deadline = started + timeout_s
        passed = []  # type: List[str]

        def finish(ok, detail):
            callback(CheckResult(resource, ok, detail, self.clock() - started))

        def step(i):
            if i == len(probes):
                finish(True, "; ".join(passed))
                return
            probe = probes[i]
            left = deadline - self.clock()
            if left <= 0:
                finish(False, "%s: not started, the check's %.1f s were used up" % (probe.what, timeout_s))
                return

            def done(completed):
                if completed.error:
                    finish(False, "%s: %s" % (probe.what, completed.error))
                    return
                ok, detail = probe.judge(completed.returncode, completed.output)
                if completed.timed_out:
                    ok, detail = False, "no answer within %.1f s (killed)" % timeout_s
                if not ok:
                    finish(False, "%s: %s" % (probe.what, detail))
                    return
                passed.append(detail)
                step(i + 1)

            self.runner.start(probe.argv, done, left, env=probe.env)

        step(0)


class Watch(object):
    """Check one resource every `interval_s` while started; `on_result(CheckResult)`."""

    def __init__(self, loop, checker, resource, probes, interval_s, timeout_s, on_result):
        # type: (Any, HealthChecker, str, List[Probe], float, float, Callable[[CheckResult], Any]) -> None
        self.loop = loop
        self.checker = checker
        self.resource = resource
        self.probes = probes
        self.interval_s = interval_s
        self.timeout_s = timeout_s
        self.on_result = on_result
        self._generation = 0  # bumped by stop(): results of an earlier run are dropped
        self._timer = None  # type: Any
        self._busy = False
        self.started = False
        self.checks = 0

    def start(self, first_after=None):
        # type: (Optional[float]) -> None
        """Begin checking: the first check after `first_after` s (default: one interval)."""
        if self.started:
            return
        self.started = True
        self._generation += 1
        self._schedule(self.interval_s if first_after is None else first_after)

    def stop(self):
        # type: () -> None
        self.started = False
        self._generation += 1
        self._busy = False
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _schedule(self, delay):
        # type: (float) -> None
        generation = self._generation
        self._timer = self.loop.call_later(max(0.0, delay), lambda: self._run(generation))

    def _run(self, generation):
        # type: (int) -> None
        if generation != self._generation or self._busy:
            return
        self._busy = True
        started = self.loop.clock()
        self.checks += 1

        def done(result):
            if generation != self._generation:
                return  # stopped (or restarted) meanwhile: nobody asked for this result
            self._busy = False
            self.on_result(result)
            if self.started and generation == self._generation:
                self._schedule(started + self.interval_s - self.loop.clock())

        self.checker.check(self.resource, self.probes, self.timeout_s, done)
