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
"""

import json
import logging
import signal
import subprocess
import sys
from typing import IO, List, Optional

from pyha.resources import agents, ipaddr
from pyha.resources.runner import run_blocking

STOP_TIMEOUT = 30.0
log = logging.getLogger("pyha.guardian")


def release(tokens, resource_d=agents.RESOURCE_D, stop_timeout=STOP_TIMEOUT):
    # type: (List[str], str, float) -> List[str]
    """VIPs first (fast, and what a duplicate would hurt), then services in reverse."""
    problems = []
    resolved = []
    for token in tokens:
        try:
            resolved.append(agents.resolve(token, resource_d=resource_d))
        except agents.AgentError as exc:
            problems.append(str(exc))
    for agent in resolved:
        if agent.kind == agents.KIND_IP:
            try:
                if ipaddr.remove(ipaddr.IpSpec.parse(agent.ip_spec())):
                    log.warning("guardian: daemon died; removed %s", agent.ip_spec())
            except Exception as exc:  # noqa: any failure must not stop the rest
                problems.append("removing %s: %s" % (agent.token, exc))
    for agent in reversed(resolved):
        if agent.kind == agents.KIND_IP:
            continue
        result = run_blocking(agent.argv("stop"), stop_timeout)
        if result.ok:
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

    def __init__(self, resource_d=agents.RESOURCE_D, argv=None):
        # type: (str, Optional[List[str]]) -> None
        argv = argv or [sys.executable, "-m", "pyha.daemon.guardian", "--resource-d", resource_d]
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, universal_newlines=True,
                                     start_new_session=True, close_fds=True)
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
    args = parser.parse_args(argv)
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
