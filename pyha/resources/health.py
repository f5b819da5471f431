"""What checking one monitored resource means: which child processes, and how to read them.

A `monitor` line (pyha.cf) on a resolved agent gives a list of `Probe`s, all of which must
pass: the agent's own status (an LSB init script's `status` exit code: 0 running, 3
stopped, anything else a failure; a heartbeat resource.d script read as heartbeat reads
it; `systemctl is-active` for a systemd unit) and, with `url=`, an HTTP GET run by the
`pyha.resources.health_url` child that must answer 2xx or 3xx.  Running them is
`pyha.resources.health_runner`'s job; this module only builds command lines and judges
results, so every verdict is unit-testable without a process.

OCF agents are checked with their `monitor` action in their OCF environment (exit 0
running, 7 not running) once pyha.resources.agents resolves them (its OCF_KINDS and
Agent.env(); until then no agent has an OCF kind and this branch is never taken).
"""

import os
import sys
from collections import namedtuple
from typing import Any, Callable, List, Optional, Tuple

from pyha.resources import agents

# One child process of a check: argv, what it is (for messages), judge(returncode,
# output) -> (ok, detail) (returncode None: it timed out and was killed), and env: the
# child's environment (None: the daemon's; OCF agents need their OCF_* variables).
Probe = namedtuple("Probe", "what argv judge env")
Probe.__new__.__defaults__ = (None,)
# A whole check: ok only if every probe passed; detail says what failed (or what passed).
CheckResult = namedtuple("CheckResult", "resource ok detail duration")

Judge = Callable[[Optional[int], str], Tuple[bool, str]]

LSB_STATUS = {0: "running", 1: "dead, pid file left", 2: "dead, lock file left", 3: "not running",
              4: "status unknown"}
OCF_STATUS = {0: "running", 1: "generic error", 2: "invalid arguments", 3: "unimplemented", 4: "insufficient "
              "privileges", 5: "not installed", 6: "not configured", 7: "not running", 8: "running as master",
              9: "failed as master"}


class UnsupportedResource(ValueError):
    """A resource pyha cannot check (an address: pyha watches those itself)."""


def _first_line(output):
    # type: (str) -> str
    for line in output.splitlines():
        if line.strip():
            return line.strip()[:200]
    return ""


def judge_lsb(returncode, output):
    # type: (Optional[int], str) -> Tuple[bool, str]
    if returncode == 0:
        return True, "status: running"
    if returncode is None:
        return False, "status did not answer in time"
    if returncode < 0:
        return False, "status killed by signal %d" % -returncode
    return False, "status exit %d (%s)" % (returncode, LSB_STATUS.get(returncode, "failed"))


def judge_systemd(returncode, output):
    # type: (Optional[int], str) -> Tuple[bool, str]
    if returncode == 0:
        return True, "active"
    if returncode is None:
        return False, "systemctl is-active did not answer in time"
    return False, "systemctl is-active: %s" % (_first_line(output) or "exit %d" % returncode)


def judge_ocf(returncode, output):
    # type: (Optional[int], str) -> Tuple[bool, str]
    if returncode in (0, 8):
        return True, "monitor: %s" % OCF_STATUS[returncode]
    if returncode is None:
        return False, "monitor did not answer in time"
    return False, "monitor exit %d (%s)" % (returncode, OCF_STATUS.get(returncode, "failed"))


def judge_heartbeat(agent):
    # type: (agents.Agent) -> Judge
    """heartbeat's resource.d scripts report by what they print (heartbeat's own rule)."""
    def judge(returncode, output):
        # type: (Optional[int], str) -> Tuple[bool, str]
        if returncode is None:
            return False, "status did not answer in time"
        state = agent.interpret_status(returncode, output)
        said = _first_line(output)
        return state == agents.RUNNING, "status: %s" % (said or state)
    return judge


def judge_url(returncode, output):
    # type: (Optional[int], str) -> Tuple[bool, str]
    said = _first_line(output)
    if returncode == 0:
        return True, said or "answered"
    if returncode is None:
        return False, "no answer in time"
    return False, said or "exit %d" % returncode


def url_argv(url, timeout_s, python=None):
    # type: (str, float, Optional[str]) -> List[str]
    """The HTTP check's command line: health_url.py run by path in isolated mode (-I), so
    the child never depends on which pyha its sys.path would find, nor on PYTHON* variables;
    the script imports nothing of pyha."""
    from pyha.resources import health_url
    script = os.path.splitext(os.path.abspath(health_url.__file__))[0] + ".py"
    return [python or sys.executable, "-I", script, url, "%.3f" % timeout_s]


def probes(monitor, agent, python=None):
    # type: (Any, agents.Agent, Optional[str]) -> List[Probe]
    """The probes of `monitor` (a pyha.config.pyhacf_monitor.Monitor) for `agent`; raises
    UnsupportedResource for an address."""
    if agent.kind == agents.KIND_IP:
        raise UnsupportedResource("%s is an address; pyha watches addresses itself" % agent.token)
    out = []  # type: List[Probe]
    if agent.kind in getattr(agents, "OCF_KINDS", ()):
        out.append(Probe("%s monitor" % agent.token, agent.argv("status"), judge_ocf, agent.env()))
    elif agent.kind == agents.KIND_SYSTEMD:
        out.append(Probe("systemctl is-active %s" % agent.name, agent.argv("status"), judge_systemd))
    elif agent.kind == agents.KIND_HEARTBEAT:
        out.append(Probe("%s status" % agent.token, agent.argv("status"), judge_heartbeat(agent)))
    else:
        out.append(Probe("%s status" % agent.token, agent.argv("status"), judge_lsb))
    if monitor.url:
        out.append(Probe("GET %s" % monitor.url, url_argv(monitor.url, monitor.timeout_ms / 1000.0, python),
                         judge_url))
    return out
