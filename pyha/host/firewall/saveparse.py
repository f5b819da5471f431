"""The live INPUT chain read from `iptables-save -t filter` text: the policy and each rule
as a `LiveRule`, with the same reduction python-iptables' reader makes (iptc_chain.py), so
both ways of reading the chain plan the same edits.

Why: where python-iptables does not import (the RPM ships without it: it is source-only
and has no EL package), pyha reads the chain through the `iptables-save` command.

Pure text in, data out.  It must never run a command; anything it does not understand
in a rule makes that rule `extra` (never one of pyha's plain port rules), never an error.
"""

import shlex
from typing import List, Optional, Tuple

from pyha.host.firewall.rules import LiveRule

# options that take one argument and are the ones LiveRule models
_PROTO = ("-p", "--protocol")
_SOURCE = ("-s", "--source", "--src")
_DPORT = ("--dport", "--destination-port")
_MATCH = ("-m", "--match")
_JUMP = ("-j", "--jump")


def input_chain(text):
    # type: (str) -> Tuple[str, List[LiveRule]]
    """(policy, rules) of INPUT in the filter table of iptables-save text.  No filter
    table at all (nothing loaded yet) reads as policy ACCEPT with no rule: what the
    kernel does then."""
    policy = "ACCEPT"
    rules = []  # type: List[LiveRule]
    in_filter = False
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("*"):
            in_filter = line == "*filter"
        elif line == "COMMIT":
            in_filter = False
        elif in_filter and line.startswith(":INPUT "):
            policy = line.split()[1]
        elif in_filter and line.split()[:2] in (["-A", "INPUT"], ["--append", "INPUT"]):
            rules.append(parse_rule(line))
    return policy, rules


def parse_rule(line):
    # type: (str) -> LiveRule
    """One `-A INPUT ...` line as a LiveRule.  Only proto, a source, a tcp/udp dport,
    the comment and the target are modelled; any other match, option or negation makes
    the rule `extra`, like python-iptables' reader (interfaces, -d, -f, state, ...)."""
    try:
        toks = shlex.split(line)
    except ValueError:
        return LiveRule(extra=True)
    toks = toks[2:]  # -A INPUT
    target = ""
    for i, t in enumerate(toks[:-1]):
        if t in _JUMP:
            target = toks[i + 1]
            toks = toks[:i]  # what follows are the target's own options (--reject-with ...)
            break
    proto = source = dport = comment = None  # type: Optional[str]
    extra = False
    match = None  # the -m module whose options follow
    i = 0
    while i < len(toks):
        t = toks[i]
        arg = toks[i + 1] if i + 1 < len(toks) else ""
        i += 1
        if t in _PROTO:
            proto = None if arg == "all" else arg
        elif t in _SOURCE:
            source = None if arg.startswith("0.0.0.0/") else (arg if "/" in arg else arg + "/32")
        elif t in _MATCH:
            match = arg
            extra = extra or arg not in ("tcp", "udp", "comment")
        elif t == "--comment" and match == "comment":
            comment = arg
        elif t in _DPORT and match in ("tcp", "udp"):
            dport = arg
        else:
            # -i, -o, -d, "!", -f, --sport, --tcp-flags, another module's options, or the
            # argument of one of those: not a plain port rule.  One token at a time, as
            # an unknown option may take no argument (-f) or two (--match-set NAME src).
            extra = True
            continue
        i += 1
    return LiveRule(proto, source, dport, comment, target, extra)
