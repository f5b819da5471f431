"""Fence calls as child processes that never block an event loop: start, poll, outcome.

A fence call is a short sequence of steps (cluster-glue: ask the device which hosts it
controls, then act; an agent: act), each one `pyha.resources.runner.Child` (the one child
contract pyha has: its own process group, the arguments, passwords included, on stdin
from an unlinked temp file, never in a pipe nor on a command line, stdout and stderr
apart in unlinked temp files).  `poll()` never waits: it reaps with WNOHANG, kills the
group (SIGKILL) once the step's monotonic deadline has passed, and starts the next step.
A delay before the first step (`fence_delay`) is part of the call, not a sleep.  `wait()`
is the blocking convenience for the CLI.

The daemon's policy (not written yet) will `start()` a call, `poll()` it at
`next_deadline()` and on SIGCHLD, and read `outcome`.  Nothing here decides whether to
fence; it runs what `pyha.fencing.plan` built.
"""

import os
import time
from typing import Any, Callable, Dict, List, Optional

from dataclasses import dataclass

from pyha.fencing.invoke import Invocation, Outcome, scrub
from pyha.resources.runner import Child

POLL_S = 0.02  # the blocking wait's poll period


@dataclass(eq=False)
class StepResult(object):
    """How one child ended: rc None when it timed out (killed) or could not start."""

    rc: Optional[int]
    stdout: str
    stderr: str
    timed_out: bool
    duration: float
    error: Optional[str] = None

    @property
    def output(self):
        # type: () -> str
        if self.error:
            return self.error
        return (self.stdout.rstrip("\n") + "\n" + self.stderr).strip()


# A step: the invocation, and what its result means: an Outcome (the call is over) or the
# next Step.
class Step(object):
    __slots__ = ("invocation", "judge")

    def __init__(self, invocation, judge):
        # type: (Invocation, Callable[[StepResult], Any]) -> None
        self.invocation = invocation
        self.judge = judge


def _spawn(inv, started, base_env):
    # type: (Invocation, float, Dict[str, str]) -> Any
    """A started Child for `inv`, or the StepResult saying why it could not run."""
    try:
        return Child(inv.argv, started, inv.environment(base_env), "/", inv.stdin, split_stderr=True)
    except OSError as exc:
        return StepResult(None, "", "", False, 0.0, error="cannot run %s: %s" % (inv.argv[0], exc.strerror))


def _result(child, rc, secrets, now):
    # type: (Child, Optional[int], Any, float) -> StepResult
    """What a reaped child did, its output scrubbed of `secrets`."""
    out, err = child.collect()
    return StepResult(None if child.timed_out else rc, scrub(out, secrets), scrub(err, secrets), child.timed_out,
                      now - child.started)


class FenceCall(object):
    """One fence operation.  `start()` (after `delay` seconds), then `poll()` until it
    returns the Outcome (also in `.outcome`).  `clock` is monotonic seconds."""

    def __init__(self, first, delay=0.0, clock=time.monotonic, base_env=None):
        # type: (Step, float, Callable[[], float], Optional[Dict[str, str]]) -> None
        self.step = first
        self.delay = max(0.0, delay)
        self.clock = clock
        self.base_env = dict(os.environ) if base_env is None else dict(base_env)
        self.outcome = None  # type: Optional[Outcome]
        self.steps_run = []  # type: List[List[str]]
        self._child = None  # type: Optional[Child]
        self._deadline = 0.0  # the running step's
        self._start_at = None  # type: Optional[float]

    @property
    def running(self):
        # type: () -> bool
        return self._start_at is not None and self.outcome is None

    def start(self):
        # type: () -> None
        if self._start_at is not None:
            raise RuntimeError("fence call already started")
        self._start_at = self.clock() + self.delay
        self.poll()

    def next_deadline(self):
        # type: () -> Optional[float]
        """When `poll()` must run at the latest (the delay's end, the step's timeout);
        a child's exit is also worth a poll (SIGCHLD)."""
        if self.outcome is not None or self._start_at is None:
            return None
        if self._child is None:
            return self._start_at
        return self._deadline

    def poll(self):
        # type: () -> Optional[Outcome]
        """Advance without blocking; the Outcome once the call is over, else None."""
        if self.outcome is not None or self._start_at is None:
            return self.outcome
        while self.outcome is None:
            if self._child is None:
                if self.clock() < self._start_at:
                    return None
                inv = self.step.invocation
                self.steps_run.append(list(inv.argv))
                started = self.clock()
                spawned = _spawn(inv, started, self.base_env)
                if isinstance(spawned, StepResult):
                    self._advance(spawned)
                else:
                    self._child, self._deadline = spawned, started + inv.timeout
                continue
            result = self._reap(self._child)
            if result is None:
                return None
            self._child = None
            self._advance(result)
        return self.outcome

    def _reap(self, child):
        # type: (Child) -> Optional[StepResult]
        rc = child.poll()
        if rc is None:
            if self.clock() < self._deadline:
                return None
            child.expire()
            child.wait(None)  # SIGKILL: the child is gone at once
        return _result(child, rc, self.step.invocation.secrets, self.clock())

    def _advance(self, result):
        # type: (StepResult) -> None
        nxt = self.step.judge(result)
        if isinstance(nxt, Step):
            self.step = nxt
        else:
            self.outcome = nxt

    def wait(self, sleep=time.sleep):
        # type: (Callable[[float], Any]) -> Outcome
        """Block until the call is over (for one-shot commands)."""
        if self._start_at is None:
            self.start()
        while self.poll() is None:
            deadline = self.next_deadline()
            sleep(min(POLL_S, max(0.0, deadline - self.clock())) if deadline is not None else POLL_S)
        assert self.outcome is not None
        return self.outcome

    def cancel(self):
        # type: () -> None
        """Kill a running step (the daemon stopping); the call ends without an outcome."""
        if self._child is not None:
            self._child.kill()
            self._child.wait(None)
            self._child.close()
            self._child = None
        self.outcome = self.outcome or Outcome(self.step.invocation.action, False, "cancelled")


def single_step(inv, interpret, device):
    # type: (Invocation, Callable[..., Outcome], str) -> Step
    """A step whose result is the call's outcome, read by `interpret` (invoke's
    interpret_agent / interpret_glue)."""
    return Step(inv, lambda r: interpret(inv.action, r.rc, r.output, r.timed_out, r.duration, device))


def run_steps(first, delay=0.0, sleep=time.sleep):
    # type: (Step, float, Callable[[float], Any]) -> Outcome
    """Blocking: run a call to its outcome."""
    return FenceCall(first, delay).wait(sleep)


def capture(argv, timeout, stdin=None):
    # type: (List[str], float, Optional[str]) -> StepResult
    """Blocking: run one program with a timeout and keep stdout and stderr apart (metadata
    and host lists are read from stdout; agents print warnings on stderr)."""
    inv = Invocation(argv, "capture", timeout, stdin=stdin)
    spawned = _spawn(inv, time.monotonic(), dict(os.environ))
    if isinstance(spawned, StepResult):
        return spawned
    return _result(spawned, spawned.wait(timeout), inv.secrets, time.monotonic())
