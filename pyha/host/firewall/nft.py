"""nftables facts that matter to pyha's legacy rules: which `iptables` the host has
(`iptables -V`), which nftables input chains drop or reject (`nft list ruleset`), and the
notes that tell the operator.

Why it matters (shared/DEPENDENCIES.md, checked in the lab): python-iptables drives the
*legacy* x_tables interface.  On nft-based hosts (Debian 10+, EL8+) the `iptables` command
is iptables-nft and does not list these rules: `iptables-legacy -S INPUT` does.  The kernel
runs both: a packet must be accepted by the legacy table *and* by every nftables input
chain, so an nftables chain that drops it still wins.

Pure parsers over command output; it must never run a command nor change a rule.
"""

import re
from typing import Any, Dict, List, Optional, Tuple

from pyha import diagnostics as dg


def iptables_variant(version_output):
    # type: (str) -> Optional[str]
    """"nf_tables" or "legacy" from `iptables -V` (1.8+), "legacy" for older ones."""
    m = re.search(r"\((nf_tables|legacy)\)", version_output)
    if m:
        return m.group(1)
    if re.search(r"iptables v\d", version_output):
        return "legacy"  # before 1.8 there was only x_tables
    return None


def nft_input_blockers(ruleset):
    # type: (str) -> List[str]
    """nftables chains hooked on input that drop or reject (by policy or by a rule), from
    `nft list ruleset`: "family table chain" names.  pyha's legacy ACCEPT cannot override
    them: the kernel runs the legacy and the nftables hooks one after the other."""
    out = []
    family = table = chain = None
    hooked = blocking = False
    depth = 0

    def close_chain():
        if chain is not None and hooked and blocking:
            out.append("%s %s %s" % (family, table, chain))

    for raw in ruleset.splitlines():
        line = raw.strip()
        m = re.match(r"^table\s+(\S+)\s+(\S+)\s*\{", line)
        if m and depth == 0:
            family, table = m.group(1), m.group(2)
            depth = 1
            continue
        m = re.match(r"^chain\s+(\S+)\s*\{", line)
        if m and depth == 1:
            chain, hooked, blocking = m.group(1), False, False
            depth = 2
            continue
        if line.endswith("{"):
            depth += 1
            continue
        if line == "}":
            if depth == 2:
                close_chain()
                chain = None
            depth = max(0, depth - 1)
            continue
        if depth == 2 and chain is not None:
            if re.search(r"\btype\s+filter\s+hook\s+input\b", line):
                hooked = True
                if re.search(r"\bpolicy\s+drop\b", line):
                    blocking = True
            elif re.search(r"(^|\s)(drop|reject)(\s|$|;)", line) and not line.startswith("#"):
                blocking = True
    return out


def legacy_warning_in_nft(output):
    # type: (str) -> bool
    """iptables-nft prints this when legacy tables hold rules it cannot show."""
    return "iptables-legacy tables present" in output


# The chain iptables-nft keeps INPUT in: pyha's own rules are there when the iptables
# commands are iptables-nft, and rule_states already judges what in it blocks them.
IPTABLES_NFT_INPUT = "ip filter INPUT"


def nft_notes(variant, ruleset, legacy_library=True):
    # type: (Optional[str], Optional[str], bool) -> Tuple[Dict[str, Any], List[dg.Diagnostic]]
    """The facts (`iptables_command`, `nft_input_blockers`) and the notes for the operator,
    from `variant` (iptables_variant's answer) and `ruleset` (`nft list ruleset`, None if
    there is no nft).  `legacy_library`: pyha edits through python-iptables (legacy
    x_tables); otherwise through the iptables commands, i.e. in `variant`'s tables."""
    notes = []
    in_nft = variant == "nf_tables" and not legacy_library
    if variant == "nf_tables" and legacy_library:
        notes.append(dg.info(
            "fw-nft-iptables", "`iptables` on this host is iptables-nft: it does not list pyha's rules, "
            "which python-iptables puts in the legacy x_tables filter table",
            hint="see them with `iptables-legacy -S INPUT` (or iptables-legacy-save)"))
    blockers = [b for b in (nft_input_blockers(ruleset) if ruleset else []) if not (in_nft and b == IPTABLES_NFT_INPUT)]
    if blockers:
        notes.append(dg.warning(
            "fw-nft-blocks", "nftables input chain(s) %s drop or reject packets; a legacy iptables ACCEPT does not "
            "override them (the kernel runs both, a packet must pass each)" % ", ".join(blockers),
            hint="open the same ports there too, e.g. `iptables-nft -I INPUT -p udp --dport 694 -j ACCEPT`, or "
                 "use firewalld"))
    return {"iptables_command": variant, "nft_input_blockers": blockers}, notes
