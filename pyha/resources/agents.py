"""Resource agents: how to start, stop and check one haresources resource.

Kinds, looked up in heartbeat's order plus systemd and OCF (`pyha.resources.lookup`):
- `IPaddr`/`IPaddr2` and the bare-IP shorthand: built in (netlink, see ipaddr.py);
- a heartbeat `resource.d` script or an LSB init script: run as a child process
  `<script> [args...] start|stop|status`;
- a systemd unit, when systemd is running and no script of that name exists;
- a heartbeat standard name (Delay, MailTo, Filesystem, ...) without its resource.d
  wrapper: the OCF agent from resource-agents, called as the wrapper would (arguments
  mapped to `OCF_RESKEY_*`, `status` = `monitor`), or pyha's built-in for the few that
  have none (`pyha.resources.builtin`, the same calling convention).

Status is read like heartbeat's ResourceManager for resource.d scripts (stdout saying
"running"/"OK", not "not running"), by LSB exit code for init scripts and units
(0 running, 3 stopped, others unknown) since those are specified by LSB and heartbeat's
heuristic misreads e.g. "nginx is not running" variants, and by OCF exit code for OCF
agents and built-ins (0 running, 7 stopped, others failure).  This module only builds
command lines and environments and interprets results; running them is the process
runner's job.
"""

import os
import re
import sys
from typing import Dict, List, Optional, Sequence

from pyha.config.haresources import script_name_problem
from pyha.config.hostfacts import RealHostFacts
from pyha.resources import lookup, ocf, standard

RUNNING = "running"
STOPPED = "stopped"
UNKNOWN = "unknown"

KIND_IP = "ip"
KIND_HEARTBEAT = lookup.KIND_HEARTBEAT
KIND_LSB = lookup.KIND_LSB
KIND_SYSTEMD = lookup.KIND_SYSTEMD
KIND_OCF = lookup.KIND_OCF
KIND_BUILTIN = lookup.KIND_BUILTIN
OCF_KINDS = (KIND_OCF, KIND_BUILTIN)

BUILTIN_IP = ("IPaddr", "IPaddr2")
_IPV4_RE = re.compile(r"^\d{1,3}(\.\d{1,3}){3}(/|$)")

RESOURCE_D = lookup.RESOURCE_D
INIT_D = lookup.INIT_D
SYSTEMD_DIRS = lookup.SYSTEMD_DIRS
OCF_ROOT = lookup.OCF_ROOT


class AgentError(Exception):
    pass


class Agent(object):
    """One resource of a group, resolved to how it is operated on this host."""

    __slots__ = ("token", "kind", "name", "args", "path", "mapped", "ocf_root")

    def __init__(self, token, kind, name, args, path=None, mapped=None, ocf_root=OCF_ROOT):
        # type: (str, str, str, List[str], Optional[str], Optional[standard.Mapped], str) -> None
        self.token = token  # as written in haresources
        self.kind = kind
        self.name = name
        self.args = args
        self.path = path
        self.mapped = mapped  # OCF type, OCF_RESKEY_* and instance (OCF and built-in kinds)
        self.ocf_root = ocf_root

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
        if self.kind == KIND_OCF:
            return [self.path, ocf.action(op)]
        if self.kind == KIND_BUILTIN:
            return [sys.executable, "-m", "pyha.resources.builtin", self.name, ocf.action(op)]
        raise AgentError("%s is built in, it has no command line" % self.token)

    def env(self, base=None):
        # type: (Optional[Dict[str, str]]) -> Optional[Dict[str, str]]
        """The child's environment: None (the daemon's own) except for OCF agents and
        built-ins, which get `base` (default: the daemon's) plus the OCF variables."""
        if self.kind not in OCF_KINDS or self.mapped is None:
            return None
        m = self.mapped
        return ocf.environment(m.ocf_type, m.reskeys, m.instance, standard.PROVIDER, self.ocf_root,
                               os.environ if base is None else base)

    def succeeded(self, op, returncode):
        # type: (str, Optional[int]) -> bool
        """Did `op` (start/stop) succeed?  OCF: a stop answered "not running" did."""
        if self.kind in OCF_KINDS:
            return ocf.succeeded(op, returncode)
        return returncode == 0

    def explain(self, returncode):
        # type: (Optional[int]) -> str
        """The meaning of an exit code, for messages ("" where none is specified)."""
        if self.kind in OCF_KINDS and returncode is not None and returncode != 0:
            return "OCF: " + ocf.explain(returncode)
        return ""

    def interpret_status(self, returncode, output):
        # type: (Optional[int], str) -> str
        if returncode is None:
            return UNKNOWN
        if self.kind in OCF_KINDS:
            if returncode == ocf.OCF_SUCCESS:
                return RUNNING
            return STOPPED if returncode == ocf.OCF_NOT_RUNNING else UNKNOWN
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


# Agents to stop before the group's addresses go: the kernel deletes every route whose
# source address is removed, so IPsrcaddr must put the default route back first.
STOP_BEFORE_IP = ("IPsrcaddr",)


def stop_order(group_agents):
    # type: (Sequence[Agent]) -> List[Agent]
    """The order a group is stopped in: right to left, except that the IP addresses go
    first (a duplicate VIP hurts most), after only the agents of STOP_BEFORE_IP."""
    order = list(reversed(group_agents))
    first = [a for a in order if a.kind != KIND_IP and a.name in STOP_BEFORE_IP]
    ips = [a for a in order if a.kind == KIND_IP]
    return first + ips + [a for a in order if a not in first and a not in ips]


def systemd_running(root="/"):
    # type: (str) -> bool
    return os.path.isdir(os.path.join(root, "run/systemd/system"))


def split_token(token):
    # type: (str) -> List[str]
    return token.split("::")


def resolve(token, resource_d=RESOURCE_D, init_dirs=INIT_D, systemd=None, systemd_dirs=SYSTEMD_DIRS,
            ocf_root=OCF_ROOT):
    # type: (str, str, Sequence[str], Optional[bool], Sequence[str], str) -> Agent
    """Turn a haresources token into an Agent, or raise AgentError saying what is missing."""
    if _IPV4_RE.match(token):
        return Agent(token, KIND_IP, "IPaddr", [token])
    parts = split_token(token)
    name, args = parts[0], [a for a in parts[1:] if a]  # heartbeat drops empty `::` words
    problem = script_name_problem(name)
    if problem:
        raise AgentError("resource %r: %s" % (token, problem))
    if name in BUILTIN_IP:
        if not args:
            raise AgentError("resource %r: %s needs the address (%s::10.0.0.1/24/eth0)" % (token, name, name))
        return Agent(token, KIND_IP, name, args[:1])
    if systemd is None:
        systemd = systemd_running()
    try:
        found = lookup.locate(name, args, RealHostFacts(), resource_d, init_dirs, systemd, systemd_dirs, ocf_root)
    except standard.ArgsError as exc:
        raise AgentError("resource %r: %s" % (token, exc))
    except lookup.NotFound as exc:
        raise AgentError("%s; %s" % (exc, exc.hint))
    if found.kind == KIND_SYSTEMD:
        if args:
            raise AgentError("resource %r: systemd unit %s takes no ::arguments" % (token, lookup.unit_name(name)))
        return Agent(token, KIND_SYSTEMD, lookup.unit_name(name), [])
    return Agent(token, found.kind, name, args, found.path, found.mapped, ocf_root)
