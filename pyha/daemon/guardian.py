"""The guardian: releases this node's resources when the daemon dies without a clean stop.

Genuine heartbeat leaves the VIP configured when its master process is SIGKILLed, so
the peer's takeover makes a duplicate VIP (8 s measured).  pyha's daemon starts this
small process and keeps a pipe to it, telling it what it may be holding (the resource
tokens, in start order).  When the pipe closes without the word "clean", the daemon is
gone: the guardian removes the VIPs at once (netlink, milliseconds, long before the peer
reaches deadtime) and then stops the services in reverse order.

It ignores SIGTERM/SIGINT/SIGHUP (a service manager stopping the unit signals the whole
group; the daemon's own clean stop is what should happen then) and must be run with
systemd `KillMode=process`, so that the daemon's death does not take it along.
Protocol on stdin: one JSON object per line: {"hold": [token, ...]} or {"clean": true}.

The release lock: a daemon restarted right after a SIGKILL must not start the services
while the dead daemon's guardian is still stopping them (it did, in the lab: the new
daemon found nginx "already running", took the group, and the old guardian then stopped
nginx under it: 20 s of refused requests on the node holding the VIP).  So the daemon
takes an exclusive flock on <run dir>/resources.lock before it manages anything and
hands the same open file to its guardian; the lock is free only when both are gone.  A
new daemon waits for it (`wait_for_release`) before it joins the cluster.
"""

import errno
import fcntl
import json
import logging
import os
import signal
import subprocess
import sys
import time
from typing import IO, Any, Callable, List, Optional

from pyha.resources import agents, ipaddr
from pyha.resources.runner import run_blocking

STOP_TIMEOUT = 30.0
LOCK_NAME = "resources.lock"
# A previous guardian removes addresses in milliseconds and then stops each service with
# STOP_TIMEOUT; a wait longer than this means it is stuck, and starting anyway would run
# the services twice.
RELEASE_WAIT_S = 120.0
log = logging.getLogger("pyha.guardian")


class ReleaseInProgress(Exception):
    """The previous daemon's guardian still holds the release lock after the wait."""


def _lock_holder(fd):
    # type: (int) -> str
    try:
        text = os.pread(fd, 64, 0).decode("ascii", "replace").strip()
    except OSError:
        text = ""
    return "pid %s" % text if text.isdigit() else "pid unknown"


def wait_for_release(run_dir, limit=RELEASE_WAIT_S, clock=time.monotonic, sleep=time.sleep, say=None):
    # type: (str, float, Callable[[], float], Callable[[float], Any], Optional[Callable[[str], Any]]) -> int
    """Open and exclusively lock <run_dir>/resources.lock, waiting up to `limit` seconds
    while a dead daemon's guardian still releases under it.  Returns the locked fd
    (close-on-exec; give it to the guardian with GuardianLink(lock_fd=...))."""
    os.makedirs(run_dir, mode=0o755, exist_ok=True)
    path = os.path.join(run_dir, LOCK_NAME)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    start = clock()
    next_say = start
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if clock() > start + 0.001 and say is not None:
                say("the previous daemon's guardian finished releasing after %.1f s" % (clock() - start))
            return fd
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                os.close(fd)
                raise
        now = clock()
        if now - start >= limit:
            holder = _lock_holder(fd)
            os.close(fd)
            raise ReleaseInProgress(
                "the guardian of the previous pyha daemon (%s) still holds %s after %.0f s: it is "
                "still stopping that daemon's resources; not starting (starting now would run them "
                "twice).  Look at that process, then start pyha again" % (holder, path, limit))
        if now >= next_say and say is not None:
            say("waiting for the guardian of the previous daemon (%s) to finish releasing its "
                "resources (%s)" % (_lock_holder(fd), path))
            next_say = now + 5.0
        sleep(0.05)


def release(tokens, resource_d=agents.RESOURCE_D, stop_timeout=STOP_TIMEOUT):
    # type: (List[str], str, float) -> List[str]
    """VIPs first (fast, and what a duplicate would hurt), then services in reverse
    (`agents.stop_order`: IPsrcaddr before the VIPs)."""
    problems = []
    resolved = []
    for token in tokens:
        try:
            resolved.append(agents.resolve(token, resource_d=resource_d))
        except agents.AgentError as exc:
            problems.append(str(exc))
    for agent in agents.stop_order(resolved):
        if agent.kind == agents.KIND_IP:
            try:
                if ipaddr.remove(ipaddr.IpSpec.parse(agent.ip_spec())):
                    log.warning("guardian: daemon died; removed %s", agent.ip_spec())
            except Exception as exc:  # noqa: any failure must not stop the rest
                problems.append("removing %s: %s" % (agent.token, exc))
            continue
        result = run_blocking(agent.argv("stop"), stop_timeout, env=agent.env())
        if not result.timed_out and result.error is None and agent.succeeded("stop", result.returncode):
            log.warning("guardian: daemon died; stopped %s", agent.token)
        else:
            problems.append("stopping %s: %s" % (agent.token, result.describe()))
    for p in problems:
        log.error("guardian: %s", p)
    return problems


def watch(stream, resource_d=agents.RESOURCE_D):
    # type: (IO[str], str) -> int
    """Follow the daemon's messages until EOF; release unless told the stop was clean."""
    holding = []  # type: List[str]
    clean = False
    for line in stream:
        try:
            msg = json.loads(line)
        except ValueError:
            continue
        if not isinstance(msg, dict):
            continue
        if msg.get("clean") is True:
            clean = True
        elif isinstance(msg.get("hold"), list):
            holding = [t for t in msg["hold"] if isinstance(t, str)]
            clean = False
    if clean or not holding:
        return 0
    log.critical("guardian: pyha daemon died without a clean stop while possibly holding %s; "
                 "releasing locally so the peer's takeover makes no duplicate", " ".join(holding))
    return 1 if release(holding, resource_d) else 0


class GuardianLink(object):
    """The daemon's end: start the guardian, tell it what we hold, say goodbye cleanly."""

    def __init__(self, resource_d=agents.RESOURCE_D, argv=None, lock_fd=None):
        # type: (str, Optional[List[str]], Optional[int]) -> None
        """`lock_fd`: the locked release lock (wait_for_release), shared with the guardian."""
        argv = argv or [sys.executable, "-m", "pyha.daemon.guardian", "--resource-d", resource_d]
        pass_fds = ()  # type: Any
        if lock_fd is not None:
            argv = list(argv) + ["--lock-fd", str(lock_fd)]
            pass_fds = (lock_fd,)
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, universal_newlines=True,
                                     start_new_session=True, close_fds=True, pass_fds=pass_fds)
        if lock_fd is not None:
            try:  # who holds the lock, for a daemon that has to wait for it
                os.ftruncate(lock_fd, 0)
                os.pwrite(lock_fd, ("%d\n" % self.proc.pid).encode(), 0)
            except OSError:
                pass
        self.last = None  # type: Optional[List[str]]

    def holding(self, tokens):
        # type: (List[str]) -> None
        tokens = list(tokens)
        if tokens == self.last:
            return
        self.last = tokens
        self._say({"hold": tokens})

    def clean_exit(self):
        self._say({"clean": True})
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass

    def _say(self, msg):
        try:
            self.proc.stdin.write(json.dumps(msg) + "\n")
            self.proc.stdin.flush()
        except (OSError, ValueError):
            pass


def main(argv=None):
    # type: (Optional[List[str]]) -> int
    import argparse
    parser = argparse.ArgumentParser(prog="pyha-guardian")
    parser.add_argument("--resource-d", default=agents.RESOURCE_D)
    parser.add_argument("--lock-fd", type=int, default=None,
                        help="the daemon's release lock: held (open) until the release is done")
    args = parser.parse_args(argv)
    if args.lock_fd is not None:
        try:  # kept open until we exit, but never handed to the stop scripts
            os.set_inheritable(args.lock_fd, False)
        except OSError:
            pass
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    if not logging.getLogger("pyha").handlers:
        logging.basicConfig(level=logging.INFO, format="pyha-guardian: %(levelname)s: %(message)s")
    # Import the netlink library now: when the daemon dies, every millisecond until the
    # VIP is gone counts, and the import alone takes ~0.2 s.
    import pyroute2  # noqa: F401
    return watch(sys.stdin, args.resource_d)


if __name__ == "__main__":
    sys.exit(main())
