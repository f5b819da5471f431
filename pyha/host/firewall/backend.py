"""The contract between the firewall commands and a backend: `FirewallResult` (what a
command did or found) and `Backend` (what every backend does: open, close, status).

Why whole commands and not read/plan/apply: the two backends share no model below that
level.  python-iptables shows an ordered chain that pyha plans positional edits against
(before the first REJECT/DROP) and commits at once; firewalld offers only unordered
query/add/remove of items, and pyha must remember what it added.  `--persist` is a text
file merge for one and firewalld's permanent configuration for the other.  A shared
read/plan/apply would force one model onto the other, so the commands do what is the
same for both (root check, the wanted rules from ha.cf and haresources, picking the
backend once, the head of the result) and the backend fills the rest of the result in.

No backend logic here: it must never run a command, read a file or touch a rule.
"""

from typing import Any, Dict, List, Sequence

from pyha import diagnostics as dg
from pyha.host.firewall.rules import PortRule
from pyha.host.hostenv import FAILED, Step


class FirewallResult(object):
    """What a firewall command did or found.  `backend`: "iptables" (python-iptables,
    legacy x_tables) or "firewalld"; `rules`: the rules pyha wants (open, status);
    `states`: per wanted rule, open/unreachable/missing (status); `info`: the facts
    behind the notes (iptables variant, nft blockers, policy, persist file)."""

    def __init__(self, action, backend, dry_run=False):
        # type: (str, str, bool) -> None
        self.action = action
        self.backend = backend
        self.dry_run = dry_run
        self.steps = []  # type: List[Step]
        self.notes = []  # type: List[dg.Diagnostic]
        self.rules = []  # type: List[PortRule]
        self.states = []  # type: List[Dict[str, Any]]
        self.pyha_rules = []  # type: List[Dict[str, Any]]
        self.info = {}  # type: Dict[str, Any]

    @property
    def ok(self):
        # type: () -> bool
        return not any(s.status == FAILED for s in self.steps) and not dg.has_errors(self.notes)

    def to_dict(self):
        # type: () -> Dict[str, Any]
        return {"action": self.action, "backend": self.backend, "dry_run": self.dry_run, "ok": self.ok,
                "steps": [s.to_dict() for s in self.steps], "notes": [d.to_dict() for d in self.notes],
                "rules": [r.to_dict() for r in self.rules], "states": self.states,
                "pyha_rules": self.pyha_rules, "info": self.info}


class Backend(object):
    """One way of changing the firewall.  `name` is the result's `backend`; `host` the
    FirewallHost; `root` the directory files are read and written under."""

    name = ""

    def __init__(self, host, root):
        # type: (Any, str) -> None
        self.host = host
        self.root = root

    def open(self, result, wanted, persist, dry_run):
        # type: (FirewallResult, Sequence[PortRule], bool, bool) -> None
        """Make `wanted` accepted (also at boot with `persist`); record steps and notes."""
        raise NotImplementedError

    def close(self, result, persist, dry_run):
        # type: (FirewallResult, bool, bool) -> None
        """Remove what pyha added, nothing else (also at boot with `persist`)."""
        raise NotImplementedError

    def status(self, result, wanted):
        # type: (FirewallResult, Sequence[PortRule]) -> None
        """Fill `result.states` (open/unreachable/missing per wanted rule) and the facts."""
        raise NotImplementedError
