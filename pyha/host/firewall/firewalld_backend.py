"""The firewalld backend: when firewalld runs, it owns the firewall, so pyha asks
`firewall-cmd` (default zone) for a port, or a rich rule when the source is a peer, and
remembers what it added in a small state file; `--persist` adds the permanent scope.

`close` removes only what the state file says pyha added: it must never remove a port or
rich rule someone else opened, nor touch iptables behind firewalld's back.
"""

import json
import os
from typing import Dict, List, Sequence, Tuple

from pyha import diagnostics as dg
from pyha.host import files
from pyha.host.firewall.backend import Backend, FirewallResult
from pyha.host.firewall.rules import PortRule
from pyha.host.hostenv import DONE, FAILED, UNCHANGED, WOULD, Step, read_file, under

FIREWALLD_STATE = "/var/lib/pyha/firewalld.json"


class FirewalldBackend(Backend):
    """firewall-cmd in the default zone, runtime (and permanent with `persist`)."""

    name = "firewalld"

    def open(self, result, wanted, persist, dry_run):
        # type: (FirewallResult, Sequence[PortRule], bool, bool) -> None
        result.notes.append(dg.info("fw-firewalld", "firewalld is running: using firewall-cmd in the default zone "
                                    "instead of python-iptables"))
        state = self._load_state()
        for scope, extra in _scopes(persist):
            for rule in wanted:
                entry = "%s=%s" % rule.firewalld_item()
                if self._present(extra, entry):
                    result.steps.append(Step("firewalld %s" % scope, entry, UNCHANGED))
                elif self._change(result, scope, extra, "add", entry, dry_run) and entry not in state[scope]:
                    state[scope].append(entry)
        if not dry_run:
            self._save_state(state)

    def close(self, result, persist, dry_run):
        # type: (FirewallResult, bool, bool) -> None
        """Remove what pyha added (its state file), never ports someone else opened."""
        state = self._load_state()
        for scope, extra in _scopes(persist):
            for entry in list(state[scope]):
                if not self._present(extra, entry):
                    state[scope].remove(entry)
                    result.steps.append(Step("firewalld %s" % scope, entry, UNCHANGED, "already gone"))
                elif self._change(result, scope, extra, "remove", entry, dry_run):
                    state[scope].remove(entry)
        if not result.steps:
            result.steps.append(Step("firewalld", "nothing pyha added", UNCHANGED))
        if not dry_run:
            self._save_state(state)

    def status(self, result, wanted):
        # type: (FirewallResult, Sequence[PortRule]) -> None
        state = self._load_state()
        for rule in wanted:
            present = self._present([], "%s=%s" % rule.firewalld_item())
            result.states.append({"rule": rule.to_dict(), "describe": rule.describe(),
                                  "state": "open" if present else "missing", "number": None})
        result.info["firewalld_added"] = state
        result.notes.append(dg.info("fw-firewalld", "firewalld is running: pyha uses firewall-cmd (default zone)"))

    def _present(self, extra, entry):
        # type: (List[str], str) -> bool
        """Whether firewalld has `entry` ("port=694/udp", "rich-rule=...") in the scope."""
        return self.host.runner.run(["firewall-cmd"] + extra + ["--query-" + entry]).ok

    def _change(self, result, scope, extra, verb, entry, dry_run):
        # type: (FirewallResult, str, List[str], str, str, bool) -> bool
        """`firewall-cmd --add-<entry>` or `--remove-<entry>` (not on a dry run), recorded
        as a step; True when firewalld did it."""
        if dry_run:
            result.steps.append(Step("firewalld %s" % scope, entry, WOULD))
            return False
        res = self.host.runner.run(["firewall-cmd"] + extra + ["--%s-%s" % (verb, entry)])
        if res.ok:
            result.steps.append(Step("firewalld %s" % scope, entry, DONE))
        else:
            result.steps.append(Step("firewalld %s" % scope, entry, FAILED, res.text()))
        return res.ok

    def _load_state(self):
        # type: () -> Dict[str, List[str]]
        text = read_file(under(self.root, FIREWALLD_STATE))
        try:
            data = json.loads(text) if text else {}
        except ValueError:
            data = {}
        return {"runtime": list(data.get("runtime", [])), "permanent": list(data.get("permanent", []))}

    def _save_state(self, state):
        # type: (Dict[str, List[str]]) -> None
        path = under(self.root, FIREWALLD_STATE)
        os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
        files.atomic_write(path, json.dumps(state, indent=1, sort_keys=True) + "\n", 0o644)


def _scopes(persist):
    # type: (bool) -> List[Tuple[str, List[str]]]
    scopes = [("runtime", [])]  # type: List[Tuple[str, List[str]]]
    if persist:
        scopes.append(("permanent", ["--permanent"]))
    return scopes
