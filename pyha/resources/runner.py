"""Child processes for resource operations and fence calls, run without ever blocking the
daemon's loop.

Resource scripts (nginx's init script, heartbeat's resource.d scripts) can take seconds;
keepalives must keep flowing meanwhile.  Each operation is a child process in its own
process group, its end noticed through SIGCHLD + waitpid(WNOHANG), and a monotonic
timeout kills the whole group.  Output goes to an unlinked temp file, not a pipe: a
daemon started by an init script inherits stdout and may keep it open forever, and once
we closed a pipe's read end its next write would kill it with SIGPIPE.

`Child` is that one contract (process group, temp-file stdin/stdout/stderr, group kill,
bounded output); `ProcessRunner` and `run_blocking` drive it for resource operations,
`pyha.fencing.runner` for fence calls.
"""

import os
import signal
import subprocess
import tempfile
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from dataclasses import dataclass

MAX_OUTPUT = 64 * 1024

# The daemon's own interpreter settings.  They belong to the Python that runs pyha, not to
# the programs it starts: inherited, they point a Python agent (fence_ipmilan, an OCF agent
# written in Python) run by another interpreter at the wrong library, and it dies with
# "SRE module mismatch" (the lab's Python 3.6 daemon fencing with Debian's python3).
INTERPRETER_VARS = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONEXECUTABLE", "PYTHONUSERBASE")


def child_environ(env=None):
    # type: (Optional[Dict[str, str]]) -> Dict[str, str]
    """`env` (default: the daemon's environment) without the daemon interpreter's settings."""
    base = os.environ if env is None else env
    return dict((k, v) for k, v in base.items() if k not in INTERPRETER_VARS)


@dataclass(eq=False)
class Completed(object):
    """How an operation ended.  `returncode` is None when it timed out (and was killed)."""

    argv: List[str]
    returncode: Optional[int]
    output: str
    timed_out: bool
    duration: float
    error: Optional[str] = None

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


class Child(object):
    """One child process in its own process group (a timeout kills its children too), cwd
    `cwd`, stdin from /dev/null or from an unlinked temp file holding `stdin` (arguments,
    passwords included, never sit in a pipe the caller must drain, nor on a command line),
    stdout into an unlinked temp file and stderr with it, or apart (`split_stderr`), and the
    environment `env` (default: the daemon's) without its interpreter's settings
    (`child_environ`).  Raises OSError (nothing left open) when the program cannot be run."""

    __slots__ = ("argv", "proc", "out", "err", "started", "timed_out")

    def __init__(self, argv, started, env=None, cwd="/", stdin=None, split_stderr=False):
        # type: (Sequence[str], float, Optional[Dict[str, str]], Optional[str], Optional[str], bool) -> None
        self.argv = list(argv)
        self.started = started
        self.timed_out = False
        self.out = tempfile.TemporaryFile()
        self.err = tempfile.TemporaryFile() if split_stderr else None
        source = None
        try:
            if stdin is not None:
                source = tempfile.TemporaryFile()
                source.write(stdin.encode("utf-8", "surrogateescape"))
                source.seek(0)
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL if source is None else source,
                                         stdout=self.out, stderr=subprocess.STDOUT if self.err is None else self.err,
                                         env=child_environ(env), cwd=cwd, start_new_session=True,
                                         close_fds=True)
        except OSError:
            self.close()
            raise
        finally:
            if source is not None:
                source.close()

    @property
    def pid(self):
        # type: () -> int
        return self.proc.pid

    def poll(self):
        # type: () -> Optional[int]
        """Never waits: the exit code (-N for signal N), or None while it runs."""
        return self.proc.poll()

    def wait(self, timeout):
        # type: (float) -> Optional[int]
        """Blocking (one-shot tools): the exit code, or None once `timeout` seconds passed
        and the group was killed."""
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.expire()
            self.proc.wait()  # SIGKILL: the child is gone at once
            return None

    def expire(self):
        # type: () -> None
        """Its time is up: kill the whole group and remember why."""
        self.timed_out = True
        self.kill()

    def kill(self):
        # type: () -> None
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except OSError:
            pass

    def collect(self):
        # type: () -> Tuple[str, str]
        """(stdout, stderr: "" when it went into stdout), at most MAX_OUTPUT bytes each;
        closes the files."""
        try:
            return _read(self.out), _read(self.err) if self.err is not None else ""
        finally:
            self.close()

    def close(self):
        # type: () -> None
        for f in (self.out, self.err):
            if f is not None:
                try:
                    f.close()
                except OSError:
                    pass


def _read(f):
    # type: (Any) -> str
    f.seek(0)
    return f.read(MAX_OUTPUT).decode("utf-8", "replace")


class ProcessRunner(object):
    """Start children from an EventLoop; `callback(Completed)` runs in the loop when done."""

    def __init__(self, loop, clock=time.monotonic):
        # type: (Any, Callable[[], float]) -> None
        self.loop = loop
        self.clock = clock
        self.children = {}  # type: Dict[int, Tuple[Child, Callable[[Completed], Any], Any]]
        loop.add_signal_handler(signal.SIGCHLD, lambda s: self.reap())

    def start(self, argv, callback, timeout, env=None, cwd="/"):
        # type: (Sequence[str], Callable[[Completed], Any], float, Optional[Dict[str, str]], str) -> Optional[int]
        argv = list(argv)
        try:
            child = Child(argv, self.clock(), env, cwd)
        except OSError as exc:
            result = Completed(argv, None, "", False, 0.0, error="cannot run: %s" % exc.strerror)
            self.loop.call_later(0, lambda: callback(result))
            return None
        pid = child.pid
        timer = self.loop.call_at(child.started + timeout, lambda: self._timeout(pid))
        self.children[pid] = (child, callback, timer)
        # The child may have exited before we registered for SIGCHLD delivery.
        self.loop.call_later(0, self.reap)
        return pid

    def _timeout(self, pid):
        # type: (int) -> None
        if pid in self.children:
            self.children[pid][0].expire()
            self.loop.call_later(0, self.reap)

    def reap(self):
        # type: () -> None
        for pid in list(self.children):
            child, callback, timer = self.children[pid]
            rc = child.poll()
            if rc is None:
                continue
            del self.children[pid]
            timer.cancel()
            output = child.collect()[0]
            callback(Completed(child.argv, None if child.timed_out else rc, output, child.timed_out,
                               self.clock() - child.started))

    def kill_all(self):
        for child, _callback, _timer in list(self.children.values()):
            child.kill()


def run_blocking(argv, timeout, env=None):
    # type: (Sequence[str], float, Optional[Dict[str, str]]) -> Completed
    """The same contract for one-shot tools (the guardian, `pyha` CLI commands), blocking."""
    argv = list(argv)
    try:
        child = Child(argv, time.monotonic(), env, cwd=None)
    except OSError as exc:
        return Completed(argv, None, "", False, 0.0, error="cannot run: %s" % exc.strerror)
    rc = child.wait(timeout)
    return Completed(argv, rc, child.collect()[0], child.timed_out, time.monotonic() - child.started)
