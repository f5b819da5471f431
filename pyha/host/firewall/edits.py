"""Edits of the live INPUT chain, planned over data: what `open` inserts and deletes so the
wanted rules are present and reachable (before the first REJECT/DROP), what `close`
deletes, and which wanted rules are open, unreachable or missing.

Pure: lists of `LiveRule` in, lists of edits out.  It must never touch netfilter (the
backends apply the edits) and never plan an edit of a rule without pyha's tag.
"""

from typing import Any, Dict, List, Optional, Sequence, Tuple

from pyha.host.firewall.rules import LiveRule, PortRule


def first_blocking(chain):
    # type: (Sequence[LiveRule]) -> Optional[int]
    for i, r in enumerate(chain):
        if r.blocking and not r.ours:
            return i
    return None


def plan_open(chain, wanted):
    # type: (Sequence[LiveRule], Sequence[PortRule]) -> List[Tuple[Any, ...]]
    """Edits that make `wanted` present and reachable in `chain`, as a list of
    ("delete", index, LiveRule) / ("insert", index, PortRule), each index valid when its
    edit is applied in order.

    A pyha rule is kept when it is one of the wanted rules and sits before the first
    REJECT/DROP; it is deleted when it is a duplicate, sits after a REJECT/DROP (never
    reached), or opens a wanted port to other sources (so `open --from-peers` narrows an
    earlier `open`).  pyha rules for other ports are left alone (close removes them).
    Missing rules go just before the first REJECT/DROP, or at the end."""
    wanted_keys = [r.key for r in wanted]
    wanted_ports = set((r.proto, r.port) for r in wanted)
    sim = list(chain)
    ops = []  # type: List[Tuple[Any, ...]]
    block = first_blocking(sim)
    seen = set()
    doomed = []
    for i, r in enumerate(sim):
        k = r.key() if r.ours else None
        if k is None or (k[0], k[1]) not in wanted_ports:
            continue  # not ours, or ours for a port this call is not about
        if k in wanted_keys and (block is None or i < block) and k not in seen:
            seen.add(k)
        else:
            doomed.append(i)  # duplicate, never reached, or the port opened to other sources
    for i in reversed(doomed):
        ops.append(("delete", i, sim[i]))
        del sim[i]
    block = first_blocking(sim)
    pos = len(sim) if block is None else block
    for rule in wanted:
        if rule.key in seen:
            continue
        seen.add(rule.key)
        ops.append(("insert", pos, rule))
        sim.insert(pos, LiveRule.from_port_rule(rule))
        pos += 1
    return ops


def plan_close(chain):
    # type: (Sequence[LiveRule]) -> List[Tuple[Any, ...]]
    """Delete every pyha-tagged rule, last first (so indices stay valid)."""
    return [("delete", i, r) for i, r in reversed(list(enumerate(chain))) if r.ours]


def apply_ops(chain, ops):
    # type: (Sequence[LiveRule], Sequence[Tuple[Any, ...]]) -> List[LiveRule]
    """What `chain` looks like after `ops` (for fakes, dry runs and tests)."""
    out = list(chain)
    for op in ops:
        if op[0] == "delete":
            del out[op[1]]
        else:
            out.insert(op[1], LiveRule.from_port_rule(op[2]))
    return out


def rule_states(chain, wanted):
    # type: (Sequence[LiveRule], Sequence[PortRule]) -> List[Dict[str, Any]]
    """For each wanted rule: "open" (present before any REJECT/DROP), "unreachable" (only
    after one) or "missing"; plus the 1-based rule number as `iptables -L --line-numbers`."""
    block = first_blocking(chain)
    out = []
    for rule in wanted:
        state, number = "missing", None
        for i, r in enumerate(chain):
            if r.ours and r.key() == rule.key:
                if block is None or i < block:
                    state, number = "open", i + 1
                    break
                state, number = "unreachable", i + 1
        out.append({"rule": rule.to_dict(), "describe": rule.describe(), "state": state, "number": number})
    return out
