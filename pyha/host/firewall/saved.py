"""iptables-save text for `--persist`: find, merge and remove pyha's INPUT rules in the
boot-time rules file (/etc/sysconfig/iptables, /etc/iptables/rules.v4).

Pure text in, text out.  It must never read or write the file itself, and never change a
line that is not one of pyha's rules: every other line stays byte for byte.
"""

import shlex
from typing import List, Optional, Sequence, Tuple

from pyha.host.firewall.rules import BLOCKING_TARGETS, PortRule, is_pyha_comment


def _line_comment(line):
    # type: (str) -> Optional[str]
    try:
        toks = shlex.split(line)
    except ValueError:
        return None
    for i, t in enumerate(toks[:-1]):
        if t == "--comment":
            return toks[i + 1]
    return None


def _line_target(line):
    # type: (str) -> Optional[str]
    toks = line.split()
    for i, t in enumerate(toks[:-1]):
        if t in ("-j", "--jump"):
            return toks[i + 1]
    return None


def _is_input_rule(line):
    # type: (str) -> bool
    toks = line.split()
    return len(toks) >= 2 and toks[0] in ("-A", "--append") and toks[1] == "INPUT"


def _filter_section(lines):
    # type: (List[str]) -> Optional[Tuple[int, int]]
    """(index of `*filter`, index of its COMMIT) or None."""
    start = None
    for i, raw in enumerate(lines):
        s = raw.strip()
        if s == "*filter":
            start = i
        elif start is not None and s == "COMMIT":
            return start, i
    if start is not None:
        return start, len(lines)  # no COMMIT: treat the rest of the file as the section
    return None


def saved_pyha_rules(text):
    # type: (str) -> List[str]
    """The pyha-tagged INPUT rule lines of the filter table in iptables-save text."""
    lines = text.splitlines()
    sec = _filter_section(lines)
    if sec is None:
        return []
    return [l.strip() for l in lines[sec[0] + 1:sec[1]] if _is_input_rule(l.strip()) and is_pyha_comment(_line_comment(l))]


def merge_saved(text, wanted):
    # type: (Optional[str], Sequence[PortRule]) -> str
    """`text` (an iptables-save file, None if absent) with pyha's rules for the wanted
    ports replaced by `wanted`, placed before the first REJECT/DROP in INPUT.  Every other
    line stays byte for byte; pyha rules for other ports stay too (like `plan_open`).
    If the rules are already there, in a reachable place, `text` comes back unchanged."""
    new_lines = [r.save_line() for r in wanted]
    if text is None or _filter_section(text.splitlines()) is None:
        head = text if text else "# Firewall rules; pyha added the ones tagged \"pyha\".\n"
        if head and not head.endswith("\n"):
            head += "\n"
        block = ["*filter", ":INPUT ACCEPT [0:0]", ":FORWARD ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]"]
        return head + "\n".join(block + new_lines + ["COMMIT"]) + "\n"
    final_nl = text.endswith("\n")
    lines = text.splitlines()
    start, end = _filter_section(lines)  # type: ignore
    body = lines[start + 1:end]
    wanted_ports = set((r.proto, r.port) for r in wanted)

    def key_of(line):
        return _save_line_key(line)

    # already right? (every wanted line present once, before any REJECT/DROP)
    block_at = None
    for i, l in enumerate(body):
        s = l.strip()
        if _is_input_rule(s) and not is_pyha_comment(_line_comment(s)) and _line_target(s) in BLOCKING_TARGETS:
            block_at = i
            break
    ours = [(i, l.strip()) for i, l in enumerate(body)
            if _is_input_rule(l.strip()) and is_pyha_comment(_line_comment(l))]
    relevant = [(i, l) for i, l in ours if key_of(l) is None or (key_of(l)[0], key_of(l)[1]) in wanted_ports]
    if sorted(l for _, l in relevant) == sorted(new_lines) and all(block_at is None or i < block_at for i, _ in relevant):
        return text
    drop = set(i for i, _ in relevant)
    kept = [l for i, l in enumerate(body) if i not in drop]
    pos = None
    last_input = None
    last_decl = None
    for i, l in enumerate(kept):
        s = l.strip()
        if _is_input_rule(s):
            last_input = i
            if pos is None and not is_pyha_comment(_line_comment(s)) and _line_target(s) in BLOCKING_TARGETS:
                pos = i
        elif s.startswith(":"):
            last_decl = i
    if pos is None:
        if last_input is not None:
            pos = last_input + 1
        elif last_decl is not None:
            pos = last_decl + 1
        else:
            pos = 0
    kept[pos:pos] = new_lines
    out = lines[:start + 1] + kept + lines[end:]
    return "\n".join(out) + ("\n" if final_nl or not out else "")


def _save_line_key(line):
    # type: (str) -> Optional[Tuple[str, int, Optional[str]]]
    try:
        toks = shlex.split(line)
    except ValueError:
        return None
    proto = src = dport = None
    for i, t in enumerate(toks[:-1]):
        if t in ("-p", "--protocol"):
            proto = toks[i + 1]
        elif t in ("-s", "--source"):
            src = toks[i + 1]
        elif t in ("--dport", "--destination-port"):
            dport = toks[i + 1]
    if proto not in ("tcp", "udp") or not dport or not dport.isdigit():
        return None
    if src is not None:
        src = src[:-3] if src.endswith("/32") else src
    return (proto, int(dport), src)


def remove_saved(text):
    # type: (Optional[str]) -> Optional[str]
    """`text` without pyha-tagged INPUT rules in the filter table (None stays None)."""
    if text is None:
        return None
    lines = text.splitlines()
    sec = _filter_section(lines)
    if sec is None:
        return text
    start, end = sec
    body = [l for l in lines[start + 1:end] if not (_is_input_rule(l.strip()) and is_pyha_comment(_line_comment(l)))]
    if len(body) == end - start - 1:
        return text
    out = lines[:start + 1] + body + lines[end:]
    return "\n".join(out) + ("\n" if text.endswith("\n") else "")
