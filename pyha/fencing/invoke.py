"""How to call a fence device for one action, and what its exit code means.

Red Hat fence agents (ClusterLabs `FenceAgentAPI`): arguments on stdin, `key=value` one per
line, always with `action=` (an agent given no action, or an unknown key such as
`option=`, runs its default action: reboot).  Exit codes: off/on/reboot 0 success, else
failure; status 0 on, 2 off, 1 (or anything else) device unreachable or error; monitor
0 device ok.  `delay=` is not passed on: pyha waits itself (`pyha.fencing.runner`), so a
delay counts once and never eats into the agent's timeout.

cluster-glue (`stonith -t TYPE`): parameters in the environment (`-E`), so that passwords
never show in `ps`; `-T off|on|reset NODE`; `-S` checks the device (it cannot tell a
node's power state), `-l` lists the hosts the device controls.  Exit 0 is success.

Pure: builds argv/stdin/environment and reads results; runs nothing.
"""

from typing import Any, Dict, List, Optional, Sequence

ACTIONS = ("status", "off", "on", "reboot", "monitor")
ON, OFF = "on", "off"
STATUS_ON, STATUS_ERROR, STATUS_OFF = 0, 1, 2
DEFAULT_TIMEOUT_S = {"status": 30.0, "monitor": 30.0, "list": 15.0, "off": 60.0, "on": 60.0, "reboot": 90.0}
GLUE_ACTION = {"off": "off", "on": "on", "reboot": "reset"}
OUTPUT_TAIL = 400
# cluster-glue plugins log through ha_log.sh: without logd it prints only "logd is not
# running" and sends the reason to syslog; this puts the reason on stderr, where pyha reads it
GLUE_LOG_ENV = (("HA_LOGD", "no"), ("HA_LOGFACILITY", "none"), ("HA_LOGFILE", "/dev/stderr"))
# lines that never explain a failure (Python warnings of the agents, cluster-glue's logd note)
NOISE = ("DeprecationWarning", "from pipes import", "logd is not running")


class Invocation(object):
    """One child process: argv, stdin text (None: /dev/null), environment changes
    (`env_set`, `env_unset`), timeout in seconds, and `secrets` to scrub from output."""

    __slots__ = ("argv", "stdin", "env_set", "env_unset", "timeout", "secrets", "action")

    def __init__(self, argv, action, timeout, stdin=None, env_set=None, env_unset=(), secrets=()):
        # type: (List[str], str, float, Optional[str], Optional[Dict[str, str]], Sequence[str], Sequence[str]) -> None
        self.argv = list(argv)
        self.action = action
        self.timeout = timeout
        self.stdin = stdin
        self.env_set = dict(env_set or {})
        self.env_unset = tuple(env_unset)
        self.secrets = tuple(s for s in secrets if s)

    def environment(self, base):
        # type: (Dict[str, str]) -> Dict[str, str]
        env = dict((k, v) for k, v in base.items() if k not in self.env_unset)
        env.update(self.env_set)
        return env


class Outcome(object):
    """What a fence call came to.  ok: the action did what was asked (status: the
    device answered); power: "on"/"off" when the device said, else None; message: one
    line for people; rc/timed_out/duration/output: what the child did (output scrubbed)."""

    __slots__ = ("action", "ok", "power", "message", "rc", "timed_out", "duration", "output")

    def __init__(self, action, ok, message, power=None, rc=None, timed_out=False, duration=0.0, output=""):
        # type: (str, bool, str, Optional[str], Optional[int], bool, float, str) -> None
        self.action = action
        self.ok = ok
        self.power = power
        self.message = message
        self.rc = rc
        self.timed_out = timed_out
        self.duration = duration
        self.output = output

    def to_dict(self):
        # type: () -> Dict[str, Any]
        return dict((k, getattr(self, k)) for k in self.__slots__)

    def __repr__(self):
        return "Outcome(%s ok=%s power=%s: %s)" % (self.action, self.ok, self.power, self.message)


def agent_invocation(agent_path, params, action, timeout=None, secrets=()):
    # type: (str, Sequence[Any], str, Optional[float], Sequence[str]) -> Invocation
    """A fence agent call: `params` ((key, value), ...) on stdin, `delay` left out, and
    `action=` always last (so nothing in the file can override it)."""
    if action not in ACTIONS:
        raise ValueError("unknown fence action %r" % (action,))
    lines = ["%s=%s" % (k, v) for k, v in params if k not in ("delay", "action", "option")]
    lines.append("action=%s" % action)
    return Invocation([agent_path], action, timeout or DEFAULT_TIMEOUT_S[action], stdin="\n".join(lines) + "\n",
                      secrets=secrets)


def glue_invocation(stonith_path, type_, names, params, configfile, action, target=None, timeout=None,
                    secrets=()):
    # type: (str, str, Sequence[str], Optional[Sequence[Any]], Optional[str], str, Optional[str], Optional[float], Sequence[str]) -> Invocation
    """A `stonith -t TYPE` call.  `action` is one of ACTIONS or "list"; parameters go in
    the environment (every config name not given is removed from it, so nothing stale
    in pyha's own environment reaches the device), or `-F configfile`."""
    argv = [stonith_path, "-t", type_]
    env_set = dict(GLUE_LOG_ENV)
    if configfile is not None:
        argv += ["-F", configfile]
    else:
        argv.append("-E")
        env_set.update((k, v) for k, v in (params or []))
    if action == "list":
        argv.append("-l")
    elif action in ("status", "monitor"):
        argv.append("-S")
    elif action in GLUE_ACTION:
        if not target:
            raise ValueError("cluster-glue %s needs a target node" % action)
        argv += ["-T", GLUE_ACTION[action], target]
    else:
        raise ValueError("unknown fence action %r" % (action,))
    return Invocation(argv, action, timeout or DEFAULT_TIMEOUT_S[action], env_set=env_set, env_unset=names,
                      secrets=secrets)


MIN_SCRUB = 4  # shorter secrets cannot be told from ordinary text (a password `p`)


def scrub(text, secrets):
    # type: (str, Sequence[str]) -> str
    """`text` with each secret of MIN_SCRUB characters or more replaced by ****."""
    for s in secrets:
        if len(s) >= MIN_SCRUB:
            text = text.replace(s, "****")
    return text


def tail(text, limit=OUTPUT_TAIL):
    # type: (str, int) -> str
    text = text.strip()
    return text if len(text) <= limit else "..." + text[-limit:]


def _last_line(output):
    # type: (str) -> str
    # agents print Python warnings first (DeprecationWarning on stderr); the last line says why
    lines = [ln.strip() for ln in output.strip().splitlines()
             if ln.strip() and not any(n in ln for n in NOISE)]
    return lines[-1] if lines else ""


def _not_run(action, rc, output, timed_out, duration, device, common):
    # type: (str, Optional[int], str, bool, float, str, Dict[str, Any]) -> Optional[Outcome]
    """The failure of a call that never gave an exit code (timed out, or not started)."""
    if timed_out:
        return Outcome(action, False, "%s %s timed out after %.0f s (killed)" % (device, action, duration), **common)
    if rc is None:
        return Outcome(action, False, "%s could not be run: %s" % (device, output.strip()), **common)
    return None


def interpret_agent(action, rc, output, timed_out, duration, device="fence agent"):
    # type: (str, Optional[int], str, bool, float, str) -> Outcome
    """A fence agent's exit code by the agent API."""
    common = dict(rc=rc, timed_out=timed_out, duration=duration, output=tail(output))
    failed = _not_run(action, rc, output, timed_out, duration, device, common)
    if failed is not None:
        return failed
    why = _last_line(output)
    if action == "status":
        if rc == STATUS_ON:
            return Outcome(action, True, "power is on", ON, **common)
        if rc == STATUS_OFF:
            return Outcome(action, True, "power is off", OFF, **common)
        return Outcome(action, False, "%s status failed (exit %d)%s" % (device, rc, ": " + why if why else ""),
                       **common)
    if rc == 0:
        done = {"off": "powered off", "on": "powered on", "reboot": "rebooted", "monitor": "device answers"}[action]
        return Outcome(action, True, done, OFF if action == "off" else ON if action in ("on", "reboot") else None,
                       **common)
    return Outcome(action, False, "%s %s failed (exit %d)%s" % (device, action, rc, ": " + why if why else ""),
                   **common)


def interpret_glue(action, rc, output, timed_out, duration, device="stonith device"):
    # type: (str, Optional[int], str, bool, float, str) -> Outcome
    """cluster-glue's `stonith` exit code: 0 success, anything else failure.  Its status
    is the device's, never the node's power state."""
    common = dict(rc=rc, timed_out=timed_out, duration=duration, output=tail(output))
    failed = _not_run(action, rc, output, timed_out, duration, device, common)
    if failed is not None:
        return failed
    why = _last_line(output)
    if rc != 0:
        return Outcome(action, False, "%s %s failed (exit %d)%s" % (device, action, rc, ": " + why if why else ""),
                       **common)
    done = {"status": "device answers (cluster-glue cannot tell the node's power state)",
            "monitor": "device answers", "off": "powered off", "on": "powered on", "reboot": "reset",
            "list": "hosts listed"}[action]
    return Outcome(action, True, done, OFF if action == "off" else ON if action in ("on", "reboot") else None,
                   **common)


def glue_hosts(output):
    # type: (str) -> List[str]
    """The hosts `stonith -l` printed, lowercased (cluster-glue's log noise such as
    "logd is not running" goes to stderr, which is captured too: keep plain words)."""
    hosts = []
    for line in output.splitlines():
        word = line.strip()
        if word and " " not in word and word.lower() not in hosts:
            hosts.append(word.lower())
    return hosts
