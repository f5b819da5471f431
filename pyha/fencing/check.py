"""`pyha config check`'s fencing findings: every device is installed, knows the parameters
it is given, and each node can be fenced by its peer with a device configured for it.

Asks the agents and cluster-glue about themselves (`fence_X -o metadata`, `stonith -t TYPE
-n`) through a `pyha.fencing.metadata.Probe`, so it runs programs: the CLI calls it, the
daemon's start-up and reload checks do not.  Findings name the file and the line.
"""

import difflib
import os
from typing import List, Optional

from pyha import diagnostics as dg
from pyha.config.check import CheckReport
from pyha.fencing.devices import AGENT, AgentDevice, GlueDevice
from pyha.fencing.load import Loaded, load_fencing
from pyha.fencing.metadata import Probe

PACKAGE_HINT = "install the agent (EL7: `yum install fence-agents-ipmilan` or fence-agents-all; EL6: fence-agents; " \
               "Debian: fence-agents)"
GLUE_HINT = "install cluster-glue (it provides /usr/sbin/stonith and its plugins)"


def check_fencing(loaded, probe):
    # type: (Loaded, Probe) -> List[dg.Diagnostic]
    """What only the devices can tell (installed? these parameters?), heartbeat's stonith
    line rules, and whether each node can be fenced by its peer.  The fence lines' own
    syntax, their node and their password_script are pyha.cf's checks
    (`pyha.config.pyhacf_fencing`), run by `check_config`."""
    out = []  # type: List[dg.Diagnostic]
    nodes = loaded.hacf.nodes if loaded.hacf is not None else []
    for d in loaded.config.agents:
        out.extend(_check_agent(d, probe))
    for g in loaded.config.glue:
        out.extend(_check_glue(g, nodes, probe))
    out.extend(_coverage(loaded, nodes, probe))
    return dg.sorted_diagnostics(out)


def _diag(severity, code, msg, device, hint=None):
    # type: (str, str, str, object, Optional[str]) -> dg.Diagnostic
    return dg.Diagnostic(severity, code, msg, getattr(device, "file", None), getattr(device, "lineno", None), hint)


def _check_agent(d, probe):
    # type: (AgentDevice, Probe) -> List[dg.Diagnostic]
    out = []  # type: List[dg.Diagnostic]
    if probe.agent_path(d.agent) is None:
        out.append(_diag(dg.ERROR, "fence-agent-missing", "fence agent %s is not installed (not found in /usr/sbin, "
                         "/sbin or $PATH)" % d.agent, d, PACKAGE_HINT))
        return out
    meta, why = probe.agent_meta(d.agent)
    if meta is None:
        out.append(_diag(dg.WARNING, "fence-agent-metadata", "cannot read %s's parameters: %s" % (d.agent, why), d,
                         "run `%s -o metadata` by hand" % d.agent))
        return out
    for key, _ in d.params:
        if key in meta.names:
            if key in meta.replaced:
                out.append(_diag(dg.INFO, "fence-param-old", "fence %s: %s= is an old name of %s="
                                 % (d.node, key, meta.replaced[key]), d, "write %s=" % meta.replaced[key]))
            continue
        close = difflib.get_close_matches(key, meta.names, n=1)
        out.append(_diag(dg.ERROR, "fence-param-unknown", "fence %s: %s has no parameter %s; the agent would ignore it"
                         % (d.node, d.agent, key), d,
                         "did you mean %s=?" % close[0] if close else "see `%s -o metadata`" % d.agent))
    return out


def _check_glue(g, nodes, probe):
    # type: (GlueDevice, List[str], Probe) -> List[dg.Diagnostic]
    out = []  # type: List[dg.Diagnostic]
    label = "stonith_host" if g.configfile is None else "stonith"
    if g.hostfrom not in (None, "*") and nodes and g.hostfrom not in nodes:
        out.append(_diag(dg.WARNING, "fence-stonith-hostfrom", "stonith_host %s: not a node in ha.cf (%s); the line "
                         "applies on no node" % (g.hostfrom, ", ".join(nodes)), g,
                         "write the node that uses this device, or *"))
    if probe.stonith_path() is None:
        out.append(_diag(dg.ERROR, "fence-stonith-missing", "%s %s: cluster-glue's stonith command is not installed"
                         % (label, g.type), g, GLUE_HINT))
        return out
    names, why = probe.glue_names(g.type)
    if names is None:
        out.append(_diag(dg.ERROR, "fence-stonith-type", "%s: %s; heartbeat refuses to start (\"Invalid Stonith type\")"
                         % (label, why), g, "see `stonith -L` for the types"))
        return out
    if g.configfile is not None:
        if not os.path.isfile(g.configfile):
            out.append(_diag(dg.ERROR, "fence-stonith-file", "stonith %s: parameter file %s does not exist"
                             % (g.type, g.configfile), g, "write the parameters (%s) in it, in this order"
                             % " ".join(names)))
        return out
    params = g.params(names)
    if params is None:
        out.append(_diag(dg.ERROR, "fence-stonith-params", "stonith_host %s %s: %d parameter(s) given, %s needs %d (%s)"
                         "; heartbeat refuses it" % (g.hostfrom, g.type, len(g.text.split()), g.type, len(names),
                                                    " ".join(names)), g,
                         "write `stonith_host %s %s %s`" % (g.hostfrom, g.type, " ".join(n.upper() for n in names))))
        return out
    hosts = g.targets(names)
    if hosts is not None:
        for h in hosts:
            if nodes and h not in nodes:
                out.append(_diag(dg.WARNING, "fence-stonith-target", "stonith_host %s %s controls %s, which is not a "
                                 "node in ha.cf" % (g.hostfrom, g.type, h), g, "name a node of ha.cf"))
            if h == g.hostfrom or (g.hostfrom == "*" and h in nodes):
                out.append(_diag(dg.WARNING, "fence-stonith-self", "stonith_host %s %s controls %s and applies on %s "
                                 "itself: there it can only shoot its own node" % (g.hostfrom, g.type, h, h), g,
                                 "give each node the device of its peer: `stonith_host ha1 ... ha2 ...` and "
                                 "`stonith_host ha2 ... ha1 ...`"))
    return out


def _coverage(loaded, nodes, probe):
    # type: (Loaded, List[str], Probe) -> List[dg.Diagnostic]
    """Each node should be fenceable by its peer (two-node cluster)."""
    cfg = loaded.config
    if cfg.empty or len(nodes) != 2:
        return []
    out = []  # type: List[dg.Diagnostic]
    for target in nodes:
        peer = [n for n in nodes if n != target][0]
        glue = cfg.glue_for(peer)
        names = probe.glue_names(glue.type)[0] if glue is not None and cfg.agent_for(target) is None else None
        choice = cfg.device_for(target, peer, names)
        if choice.device is None:
            out.append(dg.warning("fence-node-uncovered", "%s cannot be fenced by %s: %s" % (target, peer, choice.reason),
                                  loaded.config.agents[0].file if cfg.agents else cfg.glue[0].file, None,
                                  "add `fence %s AGENT ...` to pyha.cf (see README, Fencing)" % target))
        elif choice.device.kind == AGENT and cfg.glue_for(peer) is not None:
            out.append(_diag(dg.INFO, "fence-line-wins", "%s is fenced with %s (this fence line); ha.cf's stonith "
                             "line is not used for it" % (target, choice.device.agent), choice.device))
    return out


def add_fencing_findings(report, probe=None):
    # type: (CheckReport, Optional[Probe]) -> CheckReport
    """`report` with the fencing findings of its directory added (for `pyha config check`)."""
    if not os.path.isdir(report.ha_dir):
        return report
    extra = check_fencing(load_fencing(report.ha_dir), probe or Probe())
    if not extra:
        return report
    return CheckReport(report.ha_dir, report.hacf, report.haresources, report.authkeys,
                       list(report.diagnostics) + extra, report.pyhacf)
