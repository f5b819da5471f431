"""pyha.cf's fencing lines, read from their words: `fence NODE AGENT key=value...` and
`fence_delay SECONDS`.

Each parser takes the line's value as blank-separated words (and the text as written) and
returns `(value, findings)` or raises `BadValue(message, hint)`: the shape pyha.cf's
directive registry expects, so the same functions serve `pyha config check`, `pyha fence`
and (later) the daemon.  Values are immutable (namedtuples of strings and tuples).

Never looks at the host: whether the agent exists and knows these parameters is
`pyha.fencing.check`'s job.  Never keeps a password anywhere but in the value itself, and
`masked()` is what messages show.
"""

import re
from collections import namedtuple
from typing import List, Optional, Tuple

from pyha import diagnostics as dg
from pyha.config.common import BadValue, show

# node: lowercased like heartbeat's node names; agent: a name (fence_ipmilan) or an
# absolute path; params: ((key, value), ...) in the order written, `delay` included.
FenceLine = namedtuple("FenceLine", "node agent params")

FENCE_SYNTAX = "fence NODE AGENT key=value..."
FENCE_DELAY_SYNTAX = "fence_delay SECONDS"
FENCE_HINT = ("write `fence ha2 fence_ipmilan ip=192.0.2.12 username=admin password_script=/etc/ha.d/ipmi-pw "
              "lanplus=1`")

# Parameters whose values never appear in messages, JSON or logs.
SECRET_KEYS = ("password", "passwd")
# pyha sets these itself on every call (see pyha.fencing.invoke).
RESERVED_KEYS = ("action", "option")
MAX_DELAY_S = 600.0

_AGENT_NAME = re.compile(r"^fence_[A-Za-z0-9_.-]+$")
_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")
_SECONDS = re.compile(r"^(\d+(?:\.\d*)?|\.\d+)(s|ms)?$")

Findings = List[dg.Diagnostic]


def parse_seconds(text, what):
    # type: (str, str) -> float
    """`5`, `2.5`, `1500ms`, `5s` as seconds (0 .. MAX_DELAY_S); BadValue otherwise."""
    m = _SECONDS.match(text)
    if not m:
        raise BadValue("%s %s is not a number of seconds" % (what, show(text)), "write e.g. `5` or `2500ms`")
    value = float(m.group(1)) / (1000.0 if m.group(2) == "ms" else 1.0)
    if value > MAX_DELAY_S:
        raise BadValue("%s %s is more than %d s" % (what, show(text), MAX_DELAY_S),
                       "a fencing delay is a few seconds (long enough for the preferred node to fence first)")
    return value


def parse_fence(args, rest=""):
    # type: (List[str], str) -> Tuple[FenceLine, Findings]
    """`fence NODE AGENT key=value...` -> FenceLine.  `action=` is refused (pyha always
    sends its own), as are repeated keys and words without `=`."""
    if len(args) < 2:
        raise BadValue("fence needs a node and an agent (%s)" % FENCE_SYNTAX, FENCE_HINT)
    node, agent = args[0].lower(), args[1]
    if not (_AGENT_NAME.match(agent) or (agent.startswith("/") and "\0" not in agent)):
        raise BadValue("fence agent %s is neither a fence_* name nor an absolute path" % show(agent),
                       "write the agent's name, e.g. fence_ipmilan (see `ls /usr/sbin/fence_*`)")
    findings = []  # type: Findings
    params = []  # type: List[Tuple[str, str]]
    seen = set()
    for word in args[2:]:
        key, eq, value = word.partition("=")
        if not eq or not _KEY.match(key):
            raise BadValue("fence parameter %s is not key=value" % show(masked_word(word)),
                           "write parameters as key=value with no blanks around `=` (a value with blanks or `#` "
                           "belongs in a password_script)")
        key = key.replace("-", "_")  # agents read stdin keys with underscores
        if key in RESERVED_KEYS:
            raise BadValue("fence %s: pyha sets %s= itself on every call" % (node, key),
                           "remove %s=...; `pyha fence status|off|on|reboot` chooses the action" % key)
        if key in seen:
            raise BadValue("fence %s: parameter %s is given twice" % (node, key), "keep one %s=" % key)
        seen.add(key)
        if key == "delay":
            parse_seconds(value, "delay")
        params.append((key, value))
    if "password" in seen and "password_script" in seen:
        findings.append(dg.warning("fence-password-twice", "fence %s: both password= and password_script= are given;"
                                   " the agent uses the script's answer" % node,
                                   hint="keep password_script= and remove password= from the file"))
    return FenceLine(node, agent, tuple(params)), findings


def parse_fence_delay(args, rest=""):
    # type: (List[str], str) -> Tuple[float, Findings]
    """`fence_delay SECONDS`: how long a node waits before fencing the preferred node."""
    if len(args) != 1:
        raise BadValue("fence_delay takes one value (%s)" % FENCE_DELAY_SYNTAX, "write e.g. `fence_delay 5`")
    return parse_seconds(args[0], "fence_delay"), []


def masked_word(word):
    # type: (str) -> str
    """A `key=value` word as messages may show it (secrets as ****)."""
    key, eq, _ = word.partition("=")
    return key + "=****" if eq and key.replace("-", "_") in SECRET_KEYS else word


def masked(params):
    # type: (Tuple[Tuple[str, str], ...]) -> List[Tuple[str, str]]
    """`params` with secret values replaced by ****."""
    return [(k, "****" if k in SECRET_KEYS else v) for k, v in params]


def param(line, key, default=None):
    # type: (FenceLine, str, Optional[str]) -> Optional[str]
    for k, v in line.params:
        if k == key:
            return v
    return default
