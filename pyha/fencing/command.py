"""`pyha fence status|off|on|reboot NODE`: one fence call from the command line, blocking.

Reads the directory's fencing configuration, chooses the one device allowed for NODE
(as seen from this node, or `local_node`), runs the call with its timeout and reports
what happened as a `FenceReport` (text or JSON, passwords masked).  An operator's call is
never delayed by `fence_delay`: that delay is for two nodes racing, not for a person.
"""

import os
from typing import Any, Dict, List, Optional

from pyha import diagnostics as dg
from pyha.fencing.invoke import ACTIONS
from pyha.fencing.load import load_fencing
from pyha.fencing.metadata import Probe
from pyha.fencing.plan import plan_call

CLI_ACTIONS = ("status", "off", "on", "reboot")
NEEDS_YES = ("off", "on", "reboot")


class FenceReport(object):
    """ok: the device did what was asked; exit_code: 0 ok, 1 failure or refusal."""

    def __init__(self, node, action, ok, message, device=None, outcome=None, problems=()):
        # type: (str, str, bool, str, Optional[Dict[str, Any]], Any, Any) -> None
        self.node = node
        self.action = action
        self.ok = ok
        self.message = message
        self.device = device
        self.outcome = outcome
        self.problems = list(problems)  # type: List[dg.Diagnostic]

    @property
    def exit_code(self):
        # type: () -> int
        return 0 if self.ok else 1

    @property
    def power(self):
        # type: () -> Optional[str]
        return self.outcome.power if self.outcome is not None else None

    def to_dict(self):
        # type: () -> Dict[str, Any]
        o = self.outcome
        return {"node": self.node, "action": self.action, "ok": self.ok, "message": self.message,
                "power": self.power, "device": self.device,
                "rc": o.rc if o is not None else None, "timed_out": bool(o and o.timed_out),
                "duration": round(o.duration, 3) if o is not None else None,
                "output": o.output if o is not None else "",
                "problems": [d.to_dict() for d in self.problems]}

    def format_text(self):
        # type: () -> str
        lines = [d.format() for d in self.problems]
        where = ""
        if self.device:
            where = " [%s, %s]" % (self.device.get("agent") or self.device.get("type"), self.device.get("where"))
        lines.append("%s %s: %s%s" % (self.node, self.action, self.message, where))
        if not self.ok and self.outcome is not None and self.outcome.output:
            lines.append("device output:\n    " + self.outcome.output.replace("\n", "\n    "))
        return "\n".join(lines)


def fence_node(ha_dir, action, node, local_node=None, probe=None, timeout=None):
    # type: (str, str, str, Optional[str], Optional[Probe], Optional[float]) -> FenceReport
    """Run `action` on `node` with its configured device; never raises for bad
    configuration or a failing device (the report says)."""
    if action not in ACTIONS:
        raise ValueError("unknown fence action %r" % (action,))
    local_node = local_node or os.uname()[1]
    loaded = load_fencing(ha_dir)
    errors = [d for d in loaded.diagnostics if d.severity == dg.ERROR]
    if errors:
        return FenceReport(node, action, False, "the fencing configuration has errors; nothing was run",
                           problems=loaded.diagnostics)
    nodes = loaded.hacf.nodes if loaded.hacf is not None else []
    if nodes and node.lower() not in nodes:
        return FenceReport(node, action, False, "%s is not a node in ha.cf (%s); nothing was run"
                           % (node, ", ".join(nodes)), problems=loaded.diagnostics)
    plan, why = plan_call(loaded.config, node, action, local_node, probe or Probe(), timeout)
    if plan is None:
        return FenceReport(node, action, False, "%s; nothing was run" % why, problems=loaded.diagnostics)
    outcome = plan.call.wait()
    return FenceReport(node, action, outcome.ok, outcome.message, plan.describe(), outcome, loaded.diagnostics)
