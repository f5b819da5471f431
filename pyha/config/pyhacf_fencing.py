"""pyha.cf directives for fencing (issue 15): `fence NODE AGENT key=value...`,
`fence_delay SECONDS`, `fence_action reboot|off` and `fence_check INTERVAL`.

The lines are read by `pyha.fencing.lines` (pure: a function of the line's words); this
module registers them with pyha.cf (`pyha.config.pyhacf_registry`) and adds the checks that
need ha.cf (the node exists) or the host (a password_script that is safe to run).  Whether
the agent is installed and knows the parameters needs the agent itself: that is
`pyha.fencing.check`, run by `pyha config check` only.  Never runs anything.
"""

from typing import Any

from pyha import diagnostics as dg
from pyha.config.common import show
from pyha.config.pyhacf_schema import Findings, Spec, choice, duration_ms, single
from pyha.fencing.lines import FENCE_DELAY_SYNTAX, FENCE_SYNTAX, FenceLine, param, parse_fence, parse_fence_delay


def _fence_cross(value, context):
    # type: (FenceLine, Any) -> Findings
    nodes = context.hacf.nodes if context.hacf is not None else []
    if nodes and value.node not in nodes:
        return [dg.error("fence-unknown-node", "%s is not a node in ha.cf (%s)" % (show(value.node), ", ".join(nodes)),
                         hint="write one of: %s" % ", ".join(nodes))]
    return []


def _fence_host(value, facts):
    # type: (FenceLine, Any) -> Findings
    script = (param(value, "password_script") or "").split()
    if not script:
        return []
    path = script[0]
    if not (path.startswith("/") and facts.is_executable_file(path)):
        return [dg.error("fence-password-script", "password_script %s is not an executable file given by its "
                         "absolute path; fencing %s would fail" % (show(path), value.node),
                         hint="write a script that prints the password (mode 0700, owned by root)")]
    st = facts.stat(path)
    if st is not None and (st.mode & 0o022 or st.uid != 0):
        return [dg.error("fence-password-script", "password_script %s is %s; whoever can change it runs code as "
                         "root each time a node is fenced" % (show(path), "writable by group or others"
                                                               if st.mode & 0o022 else "not owned by root"),
                         hint="chown root:root %s; chmod 700 %s" % (path, path))]
    return []

FENCE_ACTIONS = ("reboot", "off")
FENCE_CHECK_DEFAULT_MS = 300 * 1000


DIRECTIVES = [
    Spec("fence", parse_fence, kind="many", key=lambda v: v.node, syntax=FENCE_SYNTAX,
         doc="The Red Hat fence agent (fence_ipmilan, fence_ilo, ...) that powers NODE off, with the agent's own "
             "parameters (see `AGENT -o metadata`); they reach the agent on stdin, never on a command line, with "
             "action= set by pyha.  Keep passwords out of this file with password_script=.  delay=SECONDS waits "
             "before fencing this node.  A fence line for a node wins over ha.cf's stonith lines.  Used by "
             "`pyha fence` and by the daemon, which fences a dead peer before taking anything over, and a peer "
             "not heard within initdead at start-up before taking any group, its own included (start-up fencing, "
             "as heartbeat does with a stonith device).  A SIGHUP applies changed fence lines (and ha.cf's stonith "
             "lines) from the next call on; taking the device away while a fencing is under way is refused and "
             "logged.",
         example=("fence ha2 fence_ipmilan ip=192.0.2.12 username=admin password_script=/etc/ha.d/bmc-pw "
                  "lanplus=1 cipher=3",),
         cross_check=_fence_cross, host_check=_fence_host),
    Spec("fence_delay", parse_fence_delay, default=0.0, syntax=FENCE_DELAY_SYNTAX,
         doc="Seconds to wait before fencing the preferred node (the first node of haresources), so that when "
             "both nodes try to fence each other the preferred one wins.  A fence line's delay= wins over it.",
         example=("fence_delay 5",)),
    Spec("fence_action", single(choice(*FENCE_ACTIONS)), default="reboot", syntax="fence_action reboot|off",
         doc="What the daemon asks the device to do to a dead peer before taking over: `reboot` (heartbeat's "
             "reset, the fence agents' default: the node comes back and rejoins) or `off` (it stays off until "
             "someone looks at it).  Default reboot.",
         example=("fence_action off",)),
    Spec("fence_check", single(duration_ms(0, 24 * 3600 * 1000)), default=FENCE_CHECK_DEFAULT_MS,
         syntax="fence_check INTERVAL",
         doc="How often the daemon asks the peer's fence device for the peer's power state (the agent's "
             "status action, cluster-glue's -S), so that a broken device shows in `pyha status` and the log "
             "before it is needed.  0 turns the checks off.  Default 5min (heartbeat: hourly).",
         example=("fence_check 10min",)),
]
