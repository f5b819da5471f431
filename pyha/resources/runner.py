"""Child processes for resource operations, run without ever blocking the daemon's loop.

Resource scripts (nginx's init script, heartbeat's resource.d scripts) can take seconds;
keepalives must keep flowing meanwhile.  Each operation is a child process in its own
process group, its end noticed through SIGCHLD + waitpid(WNOHANG), and a monotonic
timeout kills the whole group.  Output goes to an unlinked temp file, not a pipe: a
daemon started by an init script inherits stdout and may keep it open forever, and once
we closed a pipe's read end its next write would kill it with SIGPIPE.
"""

import os
import signal
import subprocess
import tempfile
import time
from typing import Any, Callable, Dict, List, Optional, Sequence

MAX_OUTPUT = 64 * 1024


class Completed(object):
    """How an operation ended.  `returncode` is None when it timed out (and was killed)."""

    __slots__ = ("argv", "returncode", "output", "timed_out", "duration", "error")

    def __init__(self, argv, returncode, output, timed_out, duration, error=None):
        # type: (List[str], Optional[int], str, bool, float, Optional[str]) -> None
        self.argv = argv
        self.returncode = returncode
        self.output = output
        self.timed_out = timed_out
        self.duration = duration
        self.error = error

    @property
    def ok(self):
        return self.returncode == 0 and not self.timed_out and self.error is None

    def describe(self):
        # type: () -> str
        cmd = " ".join(self.argv)
        if self.error:
            return "%s: %s" % (cmd, self.error)
        if self.timed_out:
            return "%s: timed out after %.1f s (killed)" % (cmd, self.duration)
        return "%s: exit %d in %.2f s" % (cmd, self.returncode, self.duration)


class _Child(object):
    __slots__ = ("proc", "argv", "started", "output", "timer", "callback", "timed_out")


class ProcessRunner(object):
    """Start children from an EventLoop; `callback(Completed)` runs in the loop when done."""

    def __init__(self, loop, clock=time.monotonic):
        # type: (Any, Callable[[], float]) -> None
        self.loop = loop
        self.clock = clock
        self.children = {}  # type: Dict[int, _Child]
        loop.add_signal_handler(signal.SIGCHLD, lambda s: self.reap())

    def start(self, argv, callback, timeout, env=None, cwd="/"):
        # type: (Sequence[str], Callable[[Completed], Any], float, Optional[Dict[str, str]], str) -> Optional[int]
        argv = list(argv)
        started = self.clock()
        out = tempfile.TemporaryFile()
        try:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                    env=env, cwd=cwd, start_new_session=True, close_fds=True)
        except OSError as exc:
            out.close()
            result = Completed(argv, None, "", False, 0.0, error="cannot run: %s" % exc.strerror)
            self.loop.call_later(0, lambda: callback(result))
            return None
        child = _Child()
        child.proc, child.argv, child.started, child.output = proc, argv, started, out
        child.callback, child.timed_out = callback, False
        child.timer = self.loop.call_at(started + timeout, lambda: self._timeout(proc.pid))
        self.children[proc.pid] = child
        # The child may have exited before we registered for SIGCHLD delivery.
        self.loop.call_later(0, self.reap)
        return proc.pid

    def _timeout(self, pid):
        # type: (int) -> None
        child = self.children.get(pid)
        if child is None:
            return
        child.timed_out = True
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass
        self.loop.call_later(0, self.reap)

    def reap(self):
        # type: () -> None
        for pid in list(self.children):
            child = self.children[pid]
            try:
                done, status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                done, status = pid, 0
            if done == 0:
                continue
            del self.children[pid]
            child.timer.cancel()
            child.proc.returncode = _exit_code(status)
            output = _read_output(child.output)
            rc = None if child.timed_out else child.proc.returncode
            child.callback(Completed(child.argv, rc, output, child.timed_out, self.clock() - child.started))

    def kill_all(self):
        for pid in list(self.children):
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass


def _exit_code(status):
    # type: (int) -> int
    if os.WIFSIGNALED(status):
        return -os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


def _read_output(f):
    # type: (Any) -> str
    try:
        f.seek(0)
        return f.read(MAX_OUTPUT).decode("utf-8", "replace")
    finally:
        f.close()


def run_blocking(argv, timeout, env=None):
    # type: (Sequence[str], float, Optional[Dict[str, str]]) -> Completed
    """The same contract for one-shot tools (the guardian, `pyha` CLI commands), blocking."""
    argv = list(argv)
    started = time.monotonic()
    out = tempfile.TemporaryFile()
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                env=env, start_new_session=True)
    except OSError as exc:
        out.close()
        return Completed(argv, None, "", False, 0.0, error="cannot run: %s" % exc.strerror)
    try:
        rc = proc.wait(timeout=timeout)
        return Completed(argv, rc, _read_output(out), False, time.monotonic() - started)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
        proc.wait()
        return Completed(argv, None, _read_output(out), True, time.monotonic() - started)
