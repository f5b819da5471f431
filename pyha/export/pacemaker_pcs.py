"""pcs.sh from a `pacemaker_model.Cluster`: cib.xml's configuration as pcs commands.

For admins who prefer to apply the change with pcs: the script edits a copy of the live
CIB offline (`pcs -f`) and pushes it once, so a half-applied configuration never runs.
Only commands whose syntax pcs 0.9 (EL7) and 0.10/0.11 share.  Pure.
"""

from shlex import quote
from typing import List

from pyha.export.pacemaker_model import PING_MULTIPLIER, PREFERENCE_SCORE, Cluster


def render(cluster):
    # type: (Cluster) -> str
    out = ["#!/bin/sh",
           "# Written by `pyha export pacemaker`: the same configuration as cib.xml, as pcs commands.",
           "# Run on one node of the running Pacemaker cluster.  CIB=<file> applies it to that file",
           "# only (offline, nothing pushed).",
           "set -e",
           'if [ -n "$CIB" ]; then push=no; else CIB=$(mktemp); push=yes; pcs cluster cib "$CIB"; fi',
           "p() { pcs -f \"$CIB\" \"$@\"; }",
           "p property set stonith-enabled=%s" % ("true" if cluster.fencing else "false"),
           "p resource defaults resource-stickiness=%s" % cluster.stickiness]
    for g in cluster.groups:
        for prim in g.primitives:
            out.append(" ".join(["p", "resource", "create", quote(prim.id), quote(prim.agent)] + _params(prim.params)
                                + (["meta"] + _params(prim.meta) if prim.meta else [])
                                + ["op", "monitor", "interval=" + prim.monitor[0], "timeout=" + prim.monitor[1],
                                   "--group", quote(g.id)]))
        out.append("p constraint location %s prefers %s=%s" % (quote(g.id), quote(g.node), PREFERENCE_SCORE))
    for dev in cluster.fence_devices:
        out.append(" ".join(["p", "stonith", "create", quote(dev.id), quote(dev.type)]
                            + _params(dev.params + [("pcmk_host_list", " ".join(dev.targets))])
                            + ["op", "monitor", "interval=60s", "timeout=60s"]))
        if dev.avoid:
            out.append("p constraint location %s avoids %s" % (quote(dev.id), quote(dev.avoid)))
    if cluster.ping_hosts:
        out.append(" ".join(["p", "resource", "create", "ping", "ocf:pacemaker:ping",
                             quote("host_list=" + " ".join(cluster.ping_hosts)), "multiplier=" + PING_MULTIPLIER,
                             "op", "monitor", "interval=10s", "timeout=60s", "clone"]))
        for g in cluster.groups:
            out.append("p constraint location %s rule score=-INFINITY not_defined pingd or pingd lte 0"
                       % quote(g.id))
    out += ['if [ "$push" = yes ]; then pcs cluster cib-push "$CIB"; rm -f "$CIB"; fi', ""]
    return "\n".join(out)


def _params(params):
    # type: (List) -> List[str]
    return [quote("%s=%s" % (k, v)) for k, v in params]
