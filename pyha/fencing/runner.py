"""Fence calls as child processes that never block an event loop: start, poll, outcome.

A fence call is a short sequence of steps (cluster-glue: ask the device which hosts it
controls, then act; an agent: act), each one child process in its own process group, with
stdin from an unlinked temp file (the arguments, passwords included, never sit in a pipe
the caller must drain, nor on a command line) and stdout/stderr into unlinked temp files.
`poll()` never waits: it reaps with WNOHANG, kills the group (SIGKILL) once the step's
monotonic deadline has passed, and starts the next step.  A delay before the first step
(`fence_delay`) is part of the call, not a sleep.  `wait()` is the blocking convenience for
the CLI.

The daemon's policy (not written yet) will `start()` a call, `poll()` it at
`next_deadline()` and on SIGCHLD, and read `outcome`.  Nothing here decides whether to
fence; it runs what `pyha.fencing.plan` built.
"""

import os
import signal
import subprocess
import tempfile
import time
from typing import Any, Callable, Dict, List, Optional

from pyha.fencing.invoke import Invocation, Outcome, scrub

MAX_OUTPUT = 64 * 1024
POLL_S = 0.02  # the blocking wait's poll period


class StepResult(object):
    """How one child ended: rc None when it timed out (killed) or could not start."""

    __slots__ = ("rc", "stdout", "stderr", "timed_out", "duration", "error")

    def __init__(self, rc, stdout, stderr, timed_out, duration, error=None):
        # type: (Optional[int], str, str, bool, float, Optional[str]) -> None
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr
        self.timed_out = timed_out
        self.duration = duration
        self.error = error

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


class _Child(object):
    __slots__ = ("proc", "out", "err", "started", "deadline", "timed_out")


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
        self._child = None  # type: Optional[_Child]
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
        return self._child.deadline

    def poll(self):
        # type: () -> Optional[Outcome]
        """Advance without blocking; the Outcome once the call is over, else None."""
        if self.outcome is not None or self._start_at is None:
            return self.outcome
        while self.outcome is None:
            if self._child is None:
                if self.clock() < self._start_at:
                    return None
                self._spawn(self.step.invocation)
                continue
            result = self._reap()
            if result is None:
                return None
            self._child = None
            self._advance(result)
        return self.outcome

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
            _killpg(self._child.proc.pid)
            self._child.proc.wait()
            self._close(self._child)
            self._child = None
        self.outcome = self.outcome or Outcome(self.step.invocation.action, False, "cancelled")

    # -- one child ------------------------------------------------------------------------

    def _spawn(self, inv):
        # type: (Invocation) -> None
        self.steps_run.append(list(inv.argv))
        child = _Child()
        child.started = self.clock()
        child.deadline = child.started + inv.timeout
        child.timed_out = False
        child.out, child.err = tempfile.TemporaryFile(), tempfile.TemporaryFile()
        stdin = tempfile.TemporaryFile()
        try:
            if inv.stdin is not None:
                stdin.write(inv.stdin.encode("utf-8", "surrogateescape"))
                stdin.seek(0)
            child.proc = subprocess.Popen(inv.argv, stdin=stdin, stdout=child.out, stderr=child.err,
                                          env=inv.environment(self.base_env), cwd="/", close_fds=True,
                                          start_new_session=True)
        except OSError as exc:
            self._close(child)
            self._child = None
            self._advance(StepResult(None, "", "", False, 0.0, error="cannot run %s: %s" % (inv.argv[0], exc.strerror)))
            return
        finally:
            stdin.close()
        self._child = child

    def _reap(self):
        # type: () -> Optional[StepResult]
        child = self._child
        assert child is not None
        rc = child.proc.poll()
        if rc is None:
            if self.clock() < child.deadline:
                return None
            child.timed_out = True
            _killpg(child.proc.pid)
            child.proc.wait()  # SIGKILL: the child is gone at once
        secrets = self.step.invocation.secrets
        result = StepResult(None if child.timed_out else rc, scrub(_read(child.out), secrets),
                            scrub(_read(child.err), secrets), child.timed_out, self.clock() - child.started)
        self._close(child)
        return result

    @staticmethod
    def _close(child):
        # type: (_Child) -> None
        for f in (child.out, child.err):
            try:
                f.close()
            except OSError:
                pass


def _killpg(pid):
    # type: (int) -> None
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass


def _read(f):
    # type: (Any) -> str
    f.seek(0)
    return f.read(MAX_OUTPUT).decode("utf-8", "replace")


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
    got = []  # type: List[StepResult]

    def keep(result):
        # type: (StepResult) -> Outcome
        got.append(result)
        return Outcome("capture", result.rc == 0, "")

    FenceCall(Step(Invocation(argv, "capture", timeout, stdin=stdin), keep)).wait()
    return got[0]
