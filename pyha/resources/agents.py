"""Resource agents: how to start, stop and check one haresources resource.

Three kinds, looked up the way heartbeat does (spec 3.2) plus systemd:
- `IPaddr`/`IPaddr2` and the bare-IP shorthand: built in (netlink, see ipaddr.py);
- a heartbeat `resource.d` script or an LSB init script: run as a child process
  `<script> [args...] start|stop|status`;
- a systemd unit, when systemd is running and no script of that name exists.

Status is read like heartbeat's ResourceManager for resource.d scripts (stdout saying
"running"/"OK", not "not running"), and by LSB exit code for init scripts and units
(0 running, 3 stopped, others unknown) since those are specified by LSB and heartbeat's
heuristic misreads e.g. "nginx is not running" variants.  This module only builds
command lines and interprets results; running them is the process runner's job.
"""

import os
import re
from typing import List, Optional, Sequence

from pyha.config.haresources import script_name_problem

RUNNING = "running"
STOPPED = "stopped"
UNKNOWN = "unknown"

KIND_IP = "ip"
KIND_HEARTBEAT = "heartbeat-script"
KIND_LSB = "lsb"
KIND_SYSTEMD = "systemd"

BUILTIN_IP = ("IPaddr", "IPaddr2")
_IPV4_RE = re.compile(r"^\d{1,3}(\.\d{1,3}){3}(/|$)")

RESOURCE_D = "/etc/ha.d/resource.d"
INIT_D = ("/etc/init.d", "/etc/rc.d/init.d")
SYSTEMD_DIRS = ("/etc/systemd/system", "/run/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system")


class AgentError(Exception):
    pass


class Agent(object):
    """One resource of a group, resolved to how it is operated on this host."""

    __slots__ = ("token", "kind", "name", "args", "path")

    def __init__(self, token, kind, name, args, path=None):
        # type: (str, str, str, List[str], Optional[str]) -> None
        self.token = token  # as written in haresources
        self.kind = kind
        self.name = name
        self.args = args
        self.path = path

    def argv(self, op):
        # type: (str) -> List[str]
        """Command line for `op` (start/stop/status) of a script or unit resource."""
        if op not in ("start", "stop", "status"):
            raise AgentError("unknown operation %r" % op)
        if self.kind == KIND_SYSTEMD:
            verb = {"start": "start", "stop": "stop", "status": "is-active"}[op]
            return ["systemctl", verb, self.name]
        if self.kind in (KIND_HEARTBEAT, KIND_LSB):
            return [self.path] + list(self.args) + [op]
        raise AgentError("%s is built in, it has no command line" % self.token)

    def interpret_status(self, returncode, output):
        # type: (Optional[int], str) -> str
        if returncode is None:
            return UNKNOWN
        if self.kind == KIND_HEARTBEAT:
            low = output.lower()
            if re.search(r"\bnot\b.*\brunning\b", low) or "stopped" in low:
                return STOPPED
            if "running" in low or re.search(r"\bok\b", low):
                return RUNNING
            return STOPPED
        if returncode == 0:
            return RUNNING
        if returncode in (1, 2, 3):
            return STOPPED
        return UNKNOWN

    def ip_spec(self):
        # type: () -> str
        if self.kind != KIND_IP:
            raise AgentError("%s is not an IP resource" % self.token)
        return self.args[0]

    def __repr__(self):
        return "Agent(%r, %s)" % (self.token, self.kind)


def systemd_running(root="/"):
    # type: (str) -> bool
    return os.path.isdir(os.path.join(root, "run/systemd/system"))


def _executable(path):
    # type: (str) -> bool
    return os.path.isfile(path) and os.access(path, os.X_OK)


def split_token(token):
    # type: (str) -> List[str]
    return token.split("::")


def resolve(token, resource_d=RESOURCE_D, init_dirs=INIT_D, systemd=None, systemd_dirs=SYSTEMD_DIRS):
    # type: (str, str, Sequence[str], Optional[bool], Sequence[str]) -> Agent
    """Turn a haresources token into an Agent, or raise AgentError saying what is missing."""
    if _IPV4_RE.match(token):
        return Agent(token, KIND_IP, "IPaddr", [token])
    parts = split_token(token)
    name, args = parts[0], parts[1:]
    problem = script_name_problem(name)
    if problem:
        raise AgentError("resource %r: %s" % (token, problem))
    if name in BUILTIN_IP:
        if not args:
            raise AgentError("resource %r: %s needs the address (%s::10.0.0.1/24/eth0)" % (token, name, name))
        return Agent(token, KIND_IP, name, args[:1])
    path = os.path.join(resource_d, name)
    if _executable(path):
        return Agent(token, KIND_HEARTBEAT, name, args, path)
    for d in init_dirs:
        path = os.path.join(d, name)
        if _executable(path):
            return Agent(token, KIND_LSB, name, args, path)
    if systemd is None:
        systemd = systemd_running()
    unit = name if name.endswith(".service") else name + ".service"
    if systemd and any(os.path.exists(os.path.join(d, unit)) for d in systemd_dirs):
        if args:
            raise AgentError("resource %r: systemd unit %s takes no ::arguments" % (token, unit))
        return Agent(token, KIND_SYSTEMD, unit, [])
    raise AgentError("Cannot locate resource script %s (looked in %s, %s%s)" % (
        name, resource_d, ", ".join(init_dirs), " and systemd units" if systemd else ""))
