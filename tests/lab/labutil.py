"""Running pyha inside lab nodes: the command line, a daemon handle, status polling."""

import os
import subprocess
import sys
import time

from pyha.daemon.control import ControlError, request


def pyha_env():
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
           "PYTHONPATH": os.pathsep.join(p for p in sys.path if p), "LANG": "C.UTF-8"}
    return env


def pyha(node, *args, **kw):
    """Run `pyha ARGS` inside `node` with this interpreter; returns CompletedProcess."""
    kw.setdefault("timeout", 120)
    return node.exec([sys.executable, "-m", "pyha"] + list(args), env=pyha_env(), **kw)


class Daemon(object):
    """`pyha daemon` running in a node, its output kept in the node's private /var/log."""

    def __init__(self, node, *args):
        self.node = node
        self.log_path = node.host_path("/var/log/pyha-daemon.out")
        self.out = open(self.log_path, "w")
        self.proc = node.spawn([sys.executable, "-m", "pyha", "daemon"] + list(args), env=pyha_env(),
                               stdout=self.out, stderr=subprocess.STDOUT)

    def status(self):
        """The daemon's status over its control socket, reached through the node's private
        /run from the host (a Unix socket is a file: no namespace entry and no interpreter
        start, so polling is fast enough to time deadtime)."""
        try:
            answer = request(self.node.host_path("/run/pyha/pyha.sock"), {"cmd": "status"}, timeout=5)
        except ControlError:
            return None
        return answer.get("status")

    def stop(self, timeout=15):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.out.close()
        return self.proc.returncode

    def kill(self):
        self.proc.kill()
        self.proc.wait(5)
        self.out.close()

    def output(self):
        with open(self.log_path) as f:
            return f.read()


def wait_until(cond, limit, step=0.05):
    """Poll `cond()` until truthy; returns (value, seconds waited) or (None, limit)."""
    start = time.monotonic()
    while True:
        value = cond()
        if value:
            return value, time.monotonic() - start
        if time.monotonic() - start > limit:
            return None, limit
        time.sleep(step)


def node_state(daemon, peer):
    st = daemon.status()
    if st is None:
        return None
    return st["nodes"].get(peer, {}).get("state")


def link_state(daemon, peer, medium):
    st = daemon.status()
    if st is None:
        return None
    return st["nodes"].get(peer, {}).get("links", {}).get(medium, {}).get("state")
