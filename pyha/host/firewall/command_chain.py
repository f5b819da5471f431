"""The live INPUT chain of the filter table through the `iptables-save` and
`iptables-restore` commands: the same `read()` / `edit(planner)` as `IptcChain`, for hosts
where python-iptables does not import (the RPM ships without it: it is source-only on
PyPI and no EL release packages it).

Reading is `iptables-save -t filter` (parsed by saveparse.py); the planned edits go to
`iptables-restore --noflush` as one `*filter ... COMMIT` block, so the kernel swaps the
table once, as python-iptables' commit does.  The commands are whichever `iptables-save`
and `iptables-restore` the host has: legacy x_tables on EL6/EL7 (iptables 1.4), the same
tables python-iptables edits, and the ones the iptables service restores at boot.

It applies the edits it is given and must never decide them: no flush (always
`--noflush`), no policy change, no rule chosen here.
"""

from typing import Any, Callable, List, Optional, Sequence, Tuple

from pyha.host.firewall.rules import LiveRule, PortRule
from pyha.host.firewall.saveparse import input_chain
from pyha.host.hostenv import SetupError

SAVE = "iptables-save"
RESTORE = "iptables-restore"
WAIT_SECONDS = 10  # like the xtables lock wait of IptcChain


def restore_script(chain_length, ops):
    # type: (int, Sequence[Tuple[Any, ...]]) -> str
    """The iptables-restore input that applies `ops` (as edits.plan_open / plan_close
    make them: 0-based indices, each valid when its edit is applied in order) to an
    INPUT chain of `chain_length` rules.  An insert at the end is an append: iptables
    1.4's `-I` refuses a position past the last rule on some releases."""
    lines = ["*filter"]
    length = chain_length
    for op in ops:
        if op[0] == "delete":
            lines.append("-D INPUT %d" % (op[1] + 1))
            length -= 1
        else:
            rule = op[2]  # type: PortRule
            if op[1] >= length:
                lines.append("-A INPUT %s" % rule.spec())
            else:
                lines.append("-I INPUT %d %s" % (op[1] + 1, rule.spec()))
            length += 1
    lines.append("COMMIT")
    return "\n".join(lines) + "\n"


class CommandChain(object):
    """The live INPUT chain through iptables-save / iptables-restore (`runner` runs them)."""

    via = "iptables-save/iptables-restore"

    def __init__(self, runner):
        # type: (Any) -> None
        self.runner = runner
        self.instead_of = None  # type: Optional[str]  # why not python-iptables (set by FirewallHost)
        missing = [c for c in (SAVE, RESTORE) if runner.which(c) is None]
        if missing:
            raise SetupError("%s not found" % " and ".join(missing),
                             "install the iptables package (EL6/EL7: yum install iptables; "
                             "Debian: apt-get install iptables)")
        self._wait = None  # type: Optional[List[str]]

    def read(self):
        # type: () -> Tuple[str, List[LiveRule]]
        """(policy, rules) of INPUT."""
        res = self.runner.run([SAVE, "-t", "filter"], timeout=30)
        if not res.ok:
            raise _explain(SAVE, res.text())
        return input_chain(res.out)

    def edit(self, planner):
        # type: (Callable[[List[LiveRule]], List[Tuple[Any, ...]]]) -> List[Tuple[Any, ...]]
        """Read INPUT, let `planner` turn it into edits, apply them in one
        iptables-restore commit.  Between the read and the commit another program could
        change the chain (the commands take the xtables lock only while each runs):
        the backend reads the chain again afterwards and reports what is not as planned."""
        _, current = self.read()
        ops = planner(current)
        if not ops:
            return ops
        res = self.runner.run([RESTORE, "--noflush"] + self._wait_args(), timeout=WAIT_SECONDS + 30,
                              input=restore_script(len(current), ops))
        if not res.ok:
            raise _explain(RESTORE, res.text())
        return ops

    def _wait_args(self):
        # type: () -> List[str]
        """`--wait N` where iptables-restore has it (1.6.2+: it takes the xtables lock and
        fails at once when another program holds it); EL6's 1.4.7 and EL7's 1.4.21 lack it."""
        if self._wait is None:
            res = self.runner.run([RESTORE, "--help"], timeout=10)
            self._wait = ["--wait", str(WAIT_SECONDS)] if "--wait" in res.out + res.err else []
        return self._wait


def _explain(command, text):
    # type: (str, str) -> SetupError
    if "Permission denied" in text or "must be root" in text:
        return SetupError("%s refused: %s" % (command, text), "run as root")
    if "comment" in text:
        return SetupError("the iptables comment match is missing: %s" % text,
                          "modprobe xt_comment (pyha tags its rules with a comment so close removes only them)")
    if "lock" in text:
        return SetupError("%s: %s" % (command, text), "wait for the other iptables command to finish and retry")
    if "Table does not exist" in text or "can't initialize" in text:
        return SetupError("%s: the kernel offers no iptables filter table: %s" % (command, text),
                          "load it (modprobe ip_tables; modprobe iptable_filter), or use firewalld "
                          "(pyha uses it when it runs)")
    return SetupError("%s failed: %s" % (command, text or "no message"))
