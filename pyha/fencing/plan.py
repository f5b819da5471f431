"""Turn "do ACTION to NODE" into a ready-to-start `FenceCall` with the one device allowed.

The device comes from `FenceConfig.device_for` (a node without a device is refused with
the reason).  A Red Hat agent is one step.  A cluster-glue device is two: first the device
is asked which hosts it controls (`stonith -l`), and the action runs only when the target
is among them, because cluster-glue plugins such as external/ipmi act on whatever they
point at, whatever node name they are given.

Program paths and cluster-glue parameter names come from a `pyha.fencing.metadata.Probe`
(blocking: the CLI calls this directly; the daemon would build plans beside its loop).
Nothing runs until the caller starts the call.
"""

from typing import Any, Optional, Tuple

from pyha.fencing.devices import AGENT, FenceConfig, secret_values
from pyha.fencing.invoke import (Invocation, Outcome, agent_invocation, glue_hosts, glue_invocation, interpret_agent,
                                 interpret_glue)
from pyha.fencing.runner import FenceCall, Step, StepResult, single_step


class Plan(object):
    """A chosen device and the call that will run it."""

    def __init__(self, device, call, names=()):
        # type: (Any, FenceCall, Any) -> None
        self.device = device
        self.call = call
        self.names = tuple(names)

    def describe(self):
        # type: () -> dict
        return self.device.describe(self.names)


def plan_call(config, target, action, local_node, probe, timeout=None, delay=0.0):
    # type: (FenceConfig, str, str, str, Any, Optional[float], float) -> Tuple[Optional[Plan], Optional[str]]
    """(Plan, None), or (None, why no call can be made)."""
    target = target.lower()
    # the agent line for the target wins; glue names are needed only to judge a glue device
    names = None
    glue = None if config.agent_for(target) is not None else config.glue_for(local_node)
    if glue is not None:
        names, why = probe.glue_names(glue.type)
        if names is None:
            return None, "stonith device %s (%s): %s" % (glue.type, glue.where(), why)
    choice = config.device_for(target, local_node, names)
    device = choice.device
    if device is None:
        return None, choice.reason
    if device.kind == AGENT:
        path = probe.agent_path(device.agent)
        if path is None:
            return None, "fence agent %s (%s) is not installed (not found in /usr/sbin, /sbin or $PATH)" % (
                device.agent, device.where())
        inv = agent_invocation(path, device.params, action, timeout, secret_values(device))
        label = "%s (%s)" % (device.agent, device.where())
        return Plan(device, FenceCall(single_step(inv, interpret_agent, label), delay)), None
    stonith = probe.stonith_path()
    if stonith is None:
        return None, "ha.cf configures stonith device %s (%s), but cluster-glue's stonith command is not installed" % (
            device.type, device.where())
    params = device.params(names) if device.configfile is None else None
    if device.configfile is None and params is None:
        return None, "stonith device %s (%s) has fewer parameters than it needs (%s)" % (
            device.type, device.where(), " ".join(names))
    secrets = secret_values(device, names)
    label = "stonith device %s (%s)" % (device.type, device.where())

    def invocation(act):
        # type: (str) -> Invocation
        return glue_invocation(stonith, device.type, names, params, device.configfile, act, target, timeout, secrets)

    act = invocation(action)

    def hosts_known(result):
        # type: (StepResult) -> Any
        if result.rc != 0:
            listing = interpret_glue("list", result.rc, result.output, result.timed_out, result.duration, label)
            return Outcome(action, False, "cannot ask %s which hosts it controls: %s" % (label, listing.message),
                           rc=listing.rc, timed_out=listing.timed_out, duration=listing.duration,
                           output=listing.output)
        hosts = glue_hosts(result.stdout)
        if target not in hosts:
            return Outcome(action, False, "%s controls %s, not %s: refused (pyha never points a device at a node "
                                          "it is not configured for)" % (label, ", ".join(hosts) or "no host", target),
                           rc=result.rc, duration=result.duration)
        return single_step(act, interpret_glue, label)

    first = Step(invocation("list"), hosts_known)
    return Plan(device, FenceCall(first, delay), names), None
