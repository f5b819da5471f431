"""Calling an OCF resource agent: its environment, its actions, its exit codes.

The OCF resource agent API (1.0, as heartbeat's wrappers call it, with the 1.1 names
added): parameters travel in the environment as `OCF_RESKEY_<name>`, next to
`OCF_ROOT`, `OCF_RA_VERSION_MAJOR/MINOR`, `OCF_RESOURCE_INSTANCE`, `OCF_RESOURCE_TYPE`
(heartbeat: `OCF_TYPE`) and `OCF_RESOURCE_PROVIDER`; the action is the only argument.
heartbeat's `status` is the agent's `monitor` (hto-mapfuncs does the same).  Exit codes:
0 success, 7 not running, anything else a failure; for `stop`, 7 means the goal is met.

This module builds values and reads codes; it never runs anything (the process runner
does, as a child with a timeout).
"""

import os
from typing import Dict, Mapping, Optional

OCF_ROOT = "/usr/lib/ocf"

OCF_SUCCESS = 0
OCF_NOT_RUNNING = 7

# The spec's names, for messages ("exit 5 (not installed)").
CODE_NAMES = {
    0: "success", 1: "generic error", 2: "invalid arguments", 3: "unimplemented", 4: "insufficient privilege",
    5: "not installed", 6: "not configured", 7: "not running", 8: "running as master", 9: "failed as master",
}

ACTIONS = {"start": "start", "stop": "stop", "status": "monitor", "monitor": "monitor"}

# Inherited OCF_ variables would change which resource an agent acts on: never pass the daemon's own.
_OWN_PREFIXES = ("OCF_",)


def agent_path(ocf_type, provider="heartbeat", ocf_root=OCF_ROOT):
    # type: (str, str, str) -> str
    return os.path.join(ocf_root, "resource.d", provider, ocf_type)


def environment(ocf_type, reskeys, instance, provider="heartbeat", ocf_root=OCF_ROOT, base=None):
    # type: (str, Mapping[str, str], str, str, str, Optional[Mapping[str, str]]) -> Dict[str, str]
    """The environment of one agent call: `base` (the daemon's environment) without its
    OCF_ variables, plus the OCF variables of this resource."""
    env = dict((k, v) for k, v in (base or {}).items() if not k.startswith(_OWN_PREFIXES))
    env.update({
        "OCF_ROOT": ocf_root,
        "OCF_RA_VERSION_MAJOR": "1",
        "OCF_RA_VERSION_MINOR": "0",
        "OCF_RESOURCE_INSTANCE": instance,
        "OCF_RESOURCE_TYPE": ocf_type,
        "OCF_RESOURCE_PROVIDER": provider,
        "OCF_TYPE": ocf_type,  # what heartbeat's wrappers export
    })
    if "PATH" not in env:
        env["PATH"] = "/usr/sbin:/usr/bin:/sbin:/bin"
    for key, value in reskeys.items():
        env["OCF_RESKEY_" + key] = value
    return env


def action(op):
    # type: (str) -> str
    """The OCF action for a heartbeat operation (start/stop/status)."""
    try:
        return ACTIONS[op]
    except KeyError:
        raise ValueError("unknown operation %r" % (op,))


def succeeded(op, returncode):
    # type: (str, Optional[int]) -> bool
    """Did `op` do its job?  A stop that finds the resource not running has."""
    if returncode == OCF_SUCCESS:
        return True
    return op == "stop" and returncode == OCF_NOT_RUNNING


def explain(returncode):
    # type: (Optional[int]) -> str
    if returncode is None:
        return "no exit code"
    if returncode < 0:
        return "killed by signal %d" % -returncode
    return CODE_NAMES.get(returncode, "unknown OCF code")
