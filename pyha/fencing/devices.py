"""Which fence device may fence which node, from ha.cf's stonith lines and pyha.cf's fence lines.

Two kinds of device:

* `GlueDevice`: heartbeat's `stonith TYPE FILE` / `stonith_host HOSTFROM TYPE PARAMS...`
  through cluster-glue's `stonith` command.  Heartbeat's rule for which line a node uses:
  a `stonith_host` line applies on a node when its first field is `*` or that node's name
  (lowercased), a `stonith` line on every node, and each applicable line replaces the one
  before (heartbeat keeps one device).  The parameters are positional, in the order
  `stonith -t TYPE -n` prints, and the last name takes the rest of the line.
* `AgentDevice`: `fence NODE AGENT key=value...` for a Red Hat fence agent; the line names
  the node it fences.

pyha improves on heartbeat in one way that matters: a device is only ever called for a
node it is configured for.  cluster-glue's external/ipmi resets whatever BMC it points at,
whatever node name it is given, so `FenceConfig.device_for` refuses a target that is not
the device's `hostname`/`hostlist` (and the runner asks the device's own host list too).

Pure: never runs a program, never reads a file.  Parameter names of a cluster-glue type
come in as an argument (`names`), read by `pyha.fencing.metadata`.
"""

from collections import namedtuple
from typing import Any, Dict, List, Optional, Sequence, Tuple

from dataclasses import dataclass, field

from pyha.config.common import split_ws
from pyha.fencing.lines import SECRET_KEYS, FenceLine, masked, param, parse_seconds

GLUE = "glue"
AGENT = "agent"

# glue parameters that name the hosts a device controls
HOST_PARAMS = ("hostname", "hostlist")

Choice = namedtuple("Choice", "device reason")  # device None -> reason says why


@dataclass(eq=False)
class GlueDevice(object):
    """One stonith/stonith_host line.  `configfile` is set for `stonith TYPE FILE`, `text`
    (the positional parameters as written) for stonith_host."""

    kind = GLUE

    type: str
    text: Optional[str] = field(default=None, repr=False)  # may hold a password
    configfile: Optional[str] = None
    hostfrom: Optional[str] = None
    file: Optional[str] = None
    lineno: Optional[int] = None

    @property
    def name(self):
        # type: () -> str
        return self.type

    def params(self, names):
        # type: (Sequence[str]) -> Optional[List[Tuple[str, str]]]
        """The parameters by name (cluster-glue's compat rule: one word per name, the last
        name takes the rest); None when the line has fewer words than names, which
        cluster-glue refuses.  A `stonith TYPE FILE` device has none here (the file has)."""
        if self.text is None:
            return []
        words = split_ws(self.text)
        if len(words) < len(names):
            return None
        if not names:
            return []
        out = list(zip(names[:-1], words[:len(names) - 1]))
        rest = self.text
        for w in words[:len(names) - 1]:
            rest = rest[rest.index(w) + len(w):]
        out.append((names[-1], rest.strip()))
        return out

    def targets(self, names):
        # type: (Sequence[str]) -> Optional[List[str]]
        """The hosts this device controls, lowercased, when its parameters say
        (hostname/hostlist); None when only the device itself can tell (`stonith -l`)."""
        params = self.params(names)
        if not params:
            return None
        for key, value in params:
            if key in HOST_PARAMS:
                return [h.lower() for h in split_ws(value.replace(",", " "))]
        return None

    def where(self):
        # type: () -> str
        return "%s:%s" % (self.file, self.lineno) if self.file else "ha.cf"

    def describe(self, names=()):
        # type: (Sequence[str]) -> Dict[str, Any]
        params = self.params(names) if names else None
        return {"kind": GLUE, "type": self.type, "where": self.where(), "hostfrom": self.hostfrom,
                "configfile": self.configfile,
                "params": [[k, v] for k, v in masked(tuple(params))] if params else None}


class AgentDevice(object):
    """One `fence NODE AGENT key=value...` line."""

    kind = AGENT

    def __init__(self, line, file=None, lineno=None):
        # type: (FenceLine, Optional[str], Optional[int]) -> None
        self.line = line
        self.node = line.node
        self.agent = line.agent
        self.file = file
        self.lineno = lineno

    @property
    def name(self):
        # type: () -> str
        return self.agent

    @property
    def params(self):
        # type: () -> Tuple[Tuple[str, str], ...]
        return self.line.params

    @property
    def delay_s(self):
        # type: () -> Optional[float]
        """The line's own `delay=` (seconds), None when it has none."""
        value = param(self.line, "delay")
        return None if value is None else parse_seconds(value, "delay")

    def where(self):
        # type: () -> str
        return "%s:%s" % (self.file, self.lineno) if self.file else "pyha.cf"

    def describe(self, names=()):
        # type: (Sequence[str]) -> Dict[str, Any]
        return {"kind": AGENT, "agent": self.agent, "where": self.where(), "node": self.node,
                "params": [[k, v] for k, v in masked(self.params)]}


class FenceConfig(object):
    """Every fence device of the cluster as configured, and `fence_delay`.

    glue: GlueDevice per stonith/stonith_host line, in file order; agents: AgentDevice per
    fence line; fence_delay: seconds (0 when not set)."""

    def __init__(self, glue=(), agents=(), fence_delay=0.0):
        # type: (Sequence[GlueDevice], Sequence[AgentDevice], float) -> None
        self.glue = list(glue)
        self.agents = list(agents)
        self.fence_delay = fence_delay

    @classmethod
    def from_lines(cls, stonith_lines, fence_lines=(), fence_delay=0.0, hacf_file="ha.cf", pyhacf_file="pyha.cf"):
        # type: (Sequence[Any], Sequence[Tuple[FenceLine, Optional[int]]], float, str, str) -> FenceConfig
        """From ha.cf's `Settings.stonith` (StonithLine) and pyha.cf's (FenceLine, lineno)."""
        glue = []
        for s in stonith_lines:
            if s.directive == "stonith":
                glue.append(GlueDevice(s.type, configfile=s.text, file=hacf_file, lineno=s.lineno))
            else:
                glue.append(GlueDevice(s.type, text=s.text, hostfrom=s.hostfrom, file=hacf_file, lineno=s.lineno))
        agents = [AgentDevice(line, pyhacf_file, lineno) for line, lineno in fence_lines]
        return cls(glue, agents, fence_delay)

    @property
    def empty(self):
        # type: () -> bool
        return not self.glue and not self.agents

    def glue_for(self, local_node):
        # type: (str) -> Optional[GlueDevice]
        """The cluster-glue device heartbeat would use on `local_node`: the last line that
        applies there."""
        me = local_node.lower()
        chosen = None
        for d in self.glue:
            if d.hostfrom is None or d.hostfrom in ("*", me):
                chosen = d
        return chosen

    def agent_for(self, target):
        # type: (str) -> Optional[AgentDevice]
        found = [d for d in self.agents if d.node == target.lower()]
        return found[-1] if found else None

    def device_for(self, target, local_node, glue_names=None):
        # type: (str, str, Optional[Sequence[str]]) -> Choice
        """The device `local_node` may use on `target`, or why there is none.  A fence line
        for the target wins over ha.cf's stonith lines.  For a glue device whose
        parameters name its hosts (`glue_names` given), a target not among them is
        refused here; otherwise the runner asks the device (`stonith -l`)."""
        target = target.lower()
        agent = self.agent_for(target)
        if agent is not None:
            return Choice(agent, None)
        glue = self.glue_for(local_node)
        if glue is None:
            if self.glue:
                return Choice(None, "no fence device for %s: no `fence %s ...` line in pyha.cf, and no stonith line in "
                                    "ha.cf applies on %s" % (target, target, local_node.lower()))
            return Choice(None, "no fence device for %s: pyha.cf has no `fence %s ...` line and ha.cf no stonith line"
                          % (target, target))
        if glue_names is not None:
            hosts = glue.targets(glue_names)
            if hosts is not None and target not in hosts:
                return Choice(None, "the stonith device that applies on %s (%s, %s) controls %s, not %s; pyha never "
                                    "points a device at a node it is not configured for"
                              % (local_node.lower(), glue.type, glue.where(), ", ".join(hosts) or "no host", target))
        return Choice(glue, None)

    def delay_for(self, device, target, preferred):
        # type: (Any, str, Optional[str]) -> float
        """Seconds to wait before fencing `target` with `device`: the device's own
        `delay=` if it has one, else `fence_delay` when the target is the preferred node
        (so the preferred node, which fences at once, wins a race between the two), else 0."""
        own = device.delay_s if device.kind == AGENT else None
        if own is not None:
            return own
        if preferred is not None and target.lower() == preferred.lower():
            return self.fence_delay
        return 0.0


def secret_values(device, names=()):
    # type: (Any, Sequence[str]) -> List[str]
    """The secret parameter values of `device` (to scrub from captured output)."""
    pairs = device.params if device.kind == AGENT else (device.params(names) or [])
    return [v for k, v in pairs if k in SECRET_KEYS and v]
