"""The iptables backend: pyha's rules in the filter table's INPUT chain (through the
host's chain: python-iptables where it imports, else the iptables-save/iptables-restore
commands; both read and edit the same rules the same way), `--persist` as a merge into the
boot-time rules file, and notes on nftables chains that would still drop the packets.

Each rule is tagged with an iptables comment starting with "pyha" and inserted before
the first REJECT or DROP rule (a rule after it would never be reached).  Running `open`
twice adds nothing; `close` deletes only rules with pyha's tag.  It must never touch a
rule without pyha's tag, flush a chain or change a chain policy.
"""

import os
from typing import Any, Callable, Optional, Sequence, Tuple

from pyha import diagnostics as dg
from pyha.host import files
from pyha.host.firewall.backend import Backend, FirewallResult
from pyha.host.firewall.edits import first_blocking, plan_close, plan_open, rule_states
from pyha.host.firewall.nft import nft_notes
from pyha.host.firewall.rules import PortRule
from pyha.host.firewall.saved import merge_saved, remove_saved, saved_pyha_rules
from pyha.host.hostenv import DONE, FAILED, UNCHANGED, WOULD, Step, detect_release, read_file, under

EL_PERSIST_FILE = "/etc/sysconfig/iptables"
DEBIAN_PERSIST_FILE = "/etc/iptables/rules.v4"


def persist_path(root):
    # type: (str) -> str
    """Where the boot-time rules live: EL's iptables service file, or Debian's
    iptables-persistent file on Debian-family systems."""
    rel = detect_release(root)
    return DEBIAN_PERSIST_FILE if rel.family == "debian" else EL_PERSIST_FILE


# What loads the rules file at boot: EL6's iptables init script (package iptables);
# on EL7 and later iptables.service from iptables-services (firewalld is the default);
# Debian's netfilter-persistent (iptables-persistent).
_BOOT_LOADERS = {
    "el": ("/usr/lib/systemd/system/iptables.service",
           "EL7 and later restore it through iptables.service: yum install iptables-services; "
           "systemctl enable iptables"),
    "debian": ("/usr/sbin/netfilter-persistent", "apt-get install iptables-persistent"),
}


def boot_loader_missing(root):
    # type: (str) -> Optional[str]
    """The hint to install what restores the rules file at boot, None when it is there
    (or on EL6, whose iptables package itself has the init script)."""
    rel = detect_release(root)
    loader = _BOOT_LOADERS.get(rel.family)
    if loader is None or (rel.family == "el" and (rel.major is None or rel.el6)) or os.path.exists(under(root, loader[0])):
        return None
    return loader[1]


class IptablesBackend(Backend):
    """The filter table's INPUT chain (`host.chain()`: python-iptables or the commands)."""

    name = "iptables"

    def _chain(self, result):
        # type: (FirewallResult) -> Any
        """The host's chain, and in the result which way it goes (and why not python-iptables)."""
        chain = self.host.chain()
        result.info["iptables_via"] = chain.via
        why = getattr(chain, "instead_of", None)
        if why:
            result.notes.append(dg.info("fw-iptables-commands", "%s: pyha uses the %s commands, same rules"
                                        % (why, chain.via)))
        return chain

    def open(self, result, wanted, persist, dry_run):
        # type: (FirewallResult, Sequence[PortRule], bool, bool) -> None
        chain = self._chain(result)
        policy, current = chain.read()
        result.info["policy"] = policy
        if dry_run:
            ops = plan_open(current, wanted)
        else:
            ops = chain.edit(lambda cur: plan_open(cur, wanted))
        _record_ops(result, ops, dry_run)
        if ops and not dry_run:
            _, after = chain.read()
            bad = [s for s in rule_states(after, wanted) if s["state"] != "open"]
            if bad:
                result.steps.append(Step("verify", ", ".join(s["describe"] for s in bad), FAILED,
                                         "not open after the commit"))
        if not ops:
            result.steps.append(Step("rules", "INPUT already has pyha's rules for %s"
                                     % ", ".join(r.describe() for r in wanted), UNCHANGED))
        if persist:
            self._persist(result, lambda text: merge_saved(text, wanted), dry_run)
        self._nft_notes(result, chain)

    def close(self, result, persist, dry_run):
        # type: (FirewallResult, bool, bool) -> None
        chain = self._chain(result)
        ops = plan_close(chain.read()[1]) if dry_run else chain.edit(plan_close)
        _record_ops(result, ops, dry_run)
        if ops and not dry_run:
            left = [r for r in chain.read()[1] if r.ours]
            if left:
                result.steps.append(Step("verify", ", ".join(r.describe() for r in left), FAILED,
                                         "still in INPUT after the commit (another program changed the chain?)"))
        if not ops:
            result.steps.append(Step("rules", "INPUT has no pyha rule", UNCHANGED))
        if persist:
            self._persist(result, remove_saved, dry_run)

    def status(self, result, wanted):
        # type: (FirewallResult, Sequence[PortRule]) -> None
        chain = self._chain(result)
        policy, current = chain.read()
        result.info["policy"] = policy
        block = first_blocking(current)
        result.info["first_blocking_rule"] = block + 1 if block is not None else None
        result.states = rule_states(current, wanted)
        result.pyha_rules = [dict(r.to_dict(), number=i + 1) for i, r in enumerate(current) if r.ours]
        path = under(self.root, persist_path(self.root))
        text = read_file(path)
        result.info["persist_file"] = path
        result.info["persist_file_rules"] = saved_pyha_rules(text) if text is not None else None
        self._nft_notes(result, chain)

    def _nft_notes(self, result, chain):
        # type: (FirewallResult, Any) -> None
        variant = self.host.iptables_variant()
        info, notes = nft_notes(variant, self.host.nft_ruleset(), legacy_library=chain.via == "python-iptables")
        result.info.update(info)
        result.notes.extend(notes)

    def _persist(self, result, transform, dry_run):
        # type: (FirewallResult, Callable[[Optional[str]], Optional[str]], bool) -> None
        """Write `transform(old text)` to the rules file, keeping its mode (0600 when new)."""
        path = under(self.root, persist_path(self.root))
        result.info["persist_file"] = path
        loader = boot_loader_missing(self.root)
        if loader:
            result.notes.append(dg.info("fw-no-boot-loader", "nothing loads %s at boot here" % persist_path(self.root),
                                        hint=loader))
        old = read_file(path)
        new = transform(old)
        if new is None or new == old:
            result.steps.append(Step("rules file", path, UNCHANGED))
            return
        directory, name = os.path.split(path)
        mode = 0o600
        if old is not None:
            mode = os.stat(path).st_mode & 0o7777
        changes = files.write_files({name: (new, mode)}, directory, dry_run=dry_run)
        for c in changes:
            detail = c.diff + ("(backup %s)\n" % c.backup if c.backup else "")
            result.steps.append(Step("write rules file", c.path, WOULD if dry_run else DONE, detail))


def _record_ops(result, ops, dry_run):
    # type: (FirewallResult, Sequence[Tuple[Any, ...]], bool) -> None
    for op in ops:
        if op[0] == "delete":
            result.steps.append(Step("delete rule", "INPUT #%d %s" % (op[1] + 1, op[2].describe()),
                                     WOULD if dry_run else DONE))
        else:
            result.steps.append(Step("insert rule", "INPUT #%d %s" % (op[1] + 1, op[2].save_line()),
                                     WOULD if dry_run else DONE))
