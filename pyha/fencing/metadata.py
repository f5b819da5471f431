"""What a fence agent or cluster-glue device type says about itself.

* Red Hat agents: `fence_X -o metadata` prints XML listing every parameter
  (`<parameter name=... obsoletes=... deprecated=...>`); the names are what stdin accepts.
* cluster-glue: `stonith -t TYPE -n` prints the parameter names in positional order (the
  order a stonith_host line's words are read in); exit 8 for an unknown type.

`parse_agent_metadata` and `parse_glue_names` are pure; `Probe` runs the programs (with
timeouts, through `pyha.fencing.runner.capture`) and remembers answers, so a check of
several lines runs each program once.  Used by `pyha config check` and `pyha fence`,
never by the daemon's loop.
"""

import os
import xml.etree.ElementTree as ET
from typing import Dict, List, Optional, Tuple

from pyha.fencing.runner import capture

AGENT_DIRS = ("/usr/sbin", "/sbin", "/usr/bin", "/bin")
STONITH = "stonith"
PROBE_TIMEOUT_S = 15.0


class AgentMeta(object):
    """An agent's parameters: `names` (every accepted stdin key, old names included),
    `required`, and `replaced` (old name -> new name, for hints)."""

    def __init__(self, names, required=(), replaced=None):
        # type: (List[str], Tuple[str, ...], Optional[Dict[str, str]]) -> None
        self.names = list(names)
        self.required = tuple(required)
        self.replaced = dict(replaced or {})


def parse_agent_metadata(text):
    # type: (str) -> Optional[AgentMeta]
    """The parameters an agent's metadata lists; None when the text is not such XML."""
    start = text.find("<resource-agent")
    if start < 0:
        return None
    try:
        root = ET.fromstring(text[start:].strip())
    except ET.ParseError:
        return None
    names, required, replaced = [], [], {}  # type: List[str], List[str], Dict[str, str]
    for p in root.iter("parameter"):
        name = p.get("name")
        if not name:
            continue
        names.append(name.replace("-", "_"))
        if p.get("required") == "1":
            required.append(name)
        old = p.get("obsoletes")
        if old:
            replaced[old.replace("-", "_")] = name
    return AgentMeta(names, tuple(required), replaced)


def parse_glue_names(text):
    # type: (str) -> List[str]
    """`stonith -t TYPE -n`'s output: names separated by blanks, in order."""
    return text.split()


def find_program(name, path_env=None, dirs=AGENT_DIRS):
    # type: (str, Optional[str], Tuple[str, ...]) -> Optional[str]
    """An absolute path is taken as it is; a name is looked up in the sbin/bin
    directories and then $PATH.  None when no executable file is found."""
    if name.startswith("/"):
        return name if os.path.isfile(name) and os.access(name, os.X_OK) else None
    if "/" in name:
        return None
    search = list(dirs) + [d for d in (path_env if path_env is not None else os.environ.get("PATH", "")).split(":")
                           if d]
    for d in search:
        candidate = os.path.join(d, name)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


class Probe(object):
    """Runs the programs that describe devices, once per question."""

    def __init__(self, timeout=PROBE_TIMEOUT_S):
        # type: (float) -> None
        self.timeout = timeout
        self._agents = {}  # type: Dict[str, Tuple[Optional[AgentMeta], str]]
        self._glue = {}  # type: Dict[str, Tuple[Optional[List[str]], str]]
        self._types = None  # type: Optional[List[str]]

    def agent_path(self, agent):
        # type: (str) -> Optional[str]
        return find_program(agent)

    def stonith_path(self):
        # type: () -> Optional[str]
        return find_program(STONITH)

    def agent_meta(self, agent):
        # type: (str) -> Tuple[Optional[AgentMeta], str]
        """(metadata, "") or (None, why not)."""
        if agent not in self._agents:
            path = self.agent_path(agent)
            if path is None:
                self._agents[agent] = (None, "not found")
            else:
                r = capture([path, "-o", "metadata"], self.timeout)
                meta = parse_agent_metadata(r.stdout) if r.rc == 0 else None
                why = "" if meta else ("`%s -o metadata` %s" % (agent, "timed out" if r.timed_out else
                                                               r.error or "printed no metadata (exit %s)" % r.rc))
                self._agents[agent] = (meta, why)
        return self._agents[agent]

    def glue_types(self, path):
        # type: (str) -> List[str]
        """`stonith -L`: every device type cluster-glue has ([] when it cannot say)."""
        if self._types is None:
            r = capture([path, "-L"], self.timeout)
            self._types = r.stdout.split() if r.rc == 0 else []
        return self._types

    def glue_names(self, type_):
        # type: (str) -> Tuple[Optional[List[str]], str]
        """(positional names, "") or (None, why not: no stonith command, unknown type)."""
        if type_ not in self._glue:
            path = self.stonith_path()
            if path is None:
                self._glue[type_] = (None, "cluster-glue's stonith command is not installed")
            elif type_ not in (self.glue_types(path) or [type_]):
                # `stonith -t external/NOSUCH -n` prints nothing and exits 0: ask the list
                self._glue[type_] = (None, "%s is not a cluster-glue device type (see `stonith -L`)" % type_)
            else:
                r = capture([path, "-t", type_, "-n"], self.timeout)
                if r.rc == 0:
                    self._glue[type_] = (parse_glue_names(r.stdout), "")
                else:
                    self._glue[type_] = (None, "`stonith -t %s -n` %s" % (
                        type_, "timed out" if r.timed_out else r.error or
                        "exit %s: unknown device type (see `stonith -L`)" % r.rc))
        return self._glue[type_]
