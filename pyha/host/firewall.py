"""`pyha firewall open|close|status`: let heartbeat packets and the service through the firewall.

Step 5 of the reference tutorial (open udp/694 and tcp/80 in /etc/sysconfig/iptables and
restart iptables), done safely and repeatably:

* The live rules go into the filter table's INPUT chain through python-iptables, each
  tagged with an iptables comment starting with "pyha", inserted before the first REJECT
  or DROP rule (a rule after it would never be reached).  Running `open` twice adds
  nothing; `close` deletes only rules with pyha's tag.
* `--persist` merges the same rules into the boot-time rules file (iptables-save
  format) as text, keeping every other line as it was.
* When firewalld runs, it owns the firewall: pyha then uses `firewall-cmd` and remembers
  which ports and rich rules it added (a small state file), so `close` removes only those.

Facts that shape this module (shared/DEPENDENCIES.md, checked in the lab):
* python-iptables drives the *legacy* x_tables interface.  On nft-based hosts (Debian 10+,
  EL8+) the `iptables` command is iptables-nft and does not list these rules:
  `iptables-legacy -S INPUT` does.  The kernel runs both: a packet must be accepted by the
  legacy table *and* by every nftables input chain, so an nftables chain that drops it
  still wins.  `status` looks for such chains and says so.
* `import iptc` scans ldconfig and loads libxtables at import time, which can fail: it is
  imported lazily, and failures become a SetupError that says what to install.

Pure parts (planning the rule set, planning INPUT chain edits, merging iptables-save
text, parsing nft output) are plain functions over data; everything that touches the host
goes through `FirewallHost`, which tests replace with fakes.  Never touch a rule without
pyha's tag, never flush a chain, never change a chain policy.
"""

import contextlib
import errno
import fcntl
import json
import os
import re
import shlex
import socket
import time
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

from pyha import diagnostics as dg
from pyha.host import files
from pyha.host.hostenv import (DONE, FAILED, UNCHANGED, WOULD, Runner, SetupError, Step, detect_release, read_file,
                               require_root, under)

TAG = "pyha"
CLUSTER_WHY = "cluster"
SERVICE_WHY = "service"
DEFAULT_UDPPORT = 694
# Services whose port pyha knows, by the resource name in haresources.
KNOWN_SERVICE_PORTS = {
    "nginx": [("tcp", 80)],
    "httpd": [("tcp", 80)],
    "apache2": [("tcp", 80)],
    "apache": [("tcp", 80)],
}
DEFAULT_SERVICE_PORTS = [("tcp", 80)]  # the tutorial's nginx, when haresources cannot be read
BLOCKING_TARGETS = ("REJECT", "DROP")
EL_PERSIST_FILE = "/etc/sysconfig/iptables"
DEBIAN_PERSIST_FILE = "/etc/iptables/rules.v4"
FIREWALLD_STATE = "/var/lib/pyha/firewalld.json"
XTABLES_LOCK = "/run/xtables.lock"


def is_pyha_comment(text):
    # type: (Optional[str]) -> bool
    return bool(text) and (text == TAG or text.startswith(TAG + " "))


class PortRule(object):
    """A rule pyha wants: accept `proto`/`port` in INPUT, from `source` (an IPv4 address)
    or from anywhere (None).  `why` goes into the comment: "pyha cluster" / "pyha service"."""

    __slots__ = ("proto", "port", "source", "why")

    def __init__(self, proto, port, source=None, why=SERVICE_WHY):
        # type: (str, int, Optional[str], str) -> None
        self.proto = proto
        self.port = int(port)
        self.source = source
        self.why = why

    @property
    def comment(self):
        # type: () -> str
        return "%s %s" % (TAG, self.why)

    @property
    def key(self):
        # type: () -> Tuple[str, int, Optional[str]]
        return (self.proto, self.port, self.source)

    def describe(self):
        # type: () -> str
        return "%s/%d from %s" % (self.proto, self.port, self.source or "anywhere")

    def save_line(self, chain="INPUT"):
        # type: (str) -> str
        """The rule as iptables-save prints it (so a saved file compares equal)."""
        parts = ["-A", chain]
        if self.source:
            parts += ["-s", self.source + "/32"]
        parts += ["-p", self.proto, "-m", self.proto, "--dport", str(self.port),
                  "-m", "comment", "--comment", '"%s"' % self.comment, "-j", "ACCEPT"]
        return " ".join(parts)

    def firewalld_item(self):
        # type: () -> Tuple[str, str]
        """("port", "694/udp") or ("rich-rule", 'rule family="ipv4" ...') for firewall-cmd."""
        if self.source is None:
            return "port", "%d/%s" % (self.port, self.proto)
        return "rich-rule", ('rule family="ipv4" source address="%s" port port="%d" protocol="%s" accept'
                             % (self.source, self.port, self.proto))

    def to_dict(self):
        # type: () -> Dict[str, Any]
        return {"proto": self.proto, "port": self.port, "source": self.source, "comment": self.comment}

    def __eq__(self, other):
        return isinstance(other, PortRule) and self.key == other.key and self.why == other.why

    def __ne__(self, other):
        return not self == other

    def __hash__(self):
        return hash(self.key)

    def __repr__(self):
        return "PortRule(%r, %d, %r, %r)" % (self.proto, self.port, self.source, self.why)


class LiveRule(object):
    """One rule of the live INPUT chain, reduced to what pyha needs to reason about it.
    `source` is None for 0.0.0.0/0, else `a.b.c.d/len`; `dport` a string as iptables has it."""

    __slots__ = ("proto", "source", "dport", "comment", "target", "extra")

    def __init__(self, proto=None, source=None, dport=None, comment=None, target="", extra=False):
        # type: (Optional[str], Optional[str], Optional[str], Optional[str], str, bool) -> None
        self.proto = proto
        self.source = source
        self.dport = dport
        self.comment = comment
        self.target = target
        self.extra = extra  # matches or interfaces beyond proto/dport/comment

    @classmethod
    def from_port_rule(cls, rule):
        # type: (PortRule) -> LiveRule
        return cls(rule.proto, rule.source + "/32" if rule.source else None, str(rule.port), rule.comment, "ACCEPT")

    @property
    def ours(self):
        # type: () -> bool
        return is_pyha_comment(self.comment)

    @property
    def blocking(self):
        # type: () -> bool
        return self.target in BLOCKING_TARGETS

    def key(self):
        # type: () -> Optional[Tuple[str, int, Optional[str]]]
        """The PortRule key this rule implements, None if it is not a plain port rule."""
        if (self.extra or self.proto not in ("tcp", "udp") or not self.dport or not self.dport.isdigit()
                or self.target != "ACCEPT"):
            return None
        src = self.source
        if src is not None:
            if not src.endswith("/32"):
                return None
            src = src[:-3]
        return (self.proto, int(self.dport), src)

    def describe(self):
        # type: () -> str
        what = "%s/%s" % (self.proto or "all", self.dport or "*") if self.proto else "all"
        return "%s from %s -> %s%s" % (what, self.source or "anywhere", self.target,
                                       ' "%s"' % self.comment if self.comment else "")

    def to_dict(self):
        # type: () -> Dict[str, Any]
        return dict((k, getattr(self, k)) for k in self.__slots__)

    def __eq__(self, other):
        return isinstance(other, LiveRule) and self.to_dict() == other.to_dict()

    def __ne__(self, other):
        return not self == other

    def __repr__(self):
        return "LiveRule(%s)" % self.describe()


# -- what to open (pure) -----------------------------------------------------------------------

def parse_port_spec(text):
    # type: (str) -> Tuple[str, int]
    """`8080`, `8080/tcp` or `5405/udp` -> (proto, port); ValueError with a readable message."""
    m = re.match(r"^\s*(\d{1,5})(?:\s*/\s*(tcp|udp))?\s*$", text, re.I)
    if not m or not 1 <= int(m.group(1)) <= 65535:
        raise ValueError("--port %r: give a port number 1-65535, optionally with /tcp or /udp (e.g. 8080 or 5405/udp)"
                         % (text,))
    return (m.group(2) or "tcp").lower(), int(m.group(1))


def _is_ipv4(text):
    # type: (str) -> bool
    try:
        socket.inet_aton(text)
    except (OSError, ValueError):
        return False
    return text.count(".") == 3


def cluster_ports(cf):
    # type: (Any) -> List[int]
    """UDP ports heartbeat uses: `udpport` (694 by default) and the ports of the media that
    carry their own (mcast lines, or ucast/bcast lines before a later `udpport`)."""
    if cf is None:
        return [DEFAULT_UDPPORT]
    ports = [cf.udpport]
    for m in cf.media:
        if m.kind in ("ucast", "bcast", "mcast") and m.port and m.port not in ports:
            ports.append(m.port)
    return ports


def peer_addresses(cf, local_addrs, resolve=None):
    # type: (Any, Sequence[str], Optional[Callable[[str], Optional[str]]]) -> Tuple[List[str], List[dg.Diagnostic]]
    """The ucast targets that are not this host's addresses (both nodes' ucast lines may be
    in one shared ha.cf), resolved to IPv4 addresses."""
    notes = []
    out = []  # type: List[str]
    local = set(a.split("/")[0] for a in local_addrs)
    for m in cf.media if cf is not None else []:
        if m.kind != "ucast" or not m.peer:
            continue
        addr = m.peer if _is_ipv4(m.peer) else (resolve(m.peer) if resolve else None)
        if addr is None:
            notes.append(dg.warning("fw-peer-unresolved", "ucast peer %r does not resolve; not opened for it" % m.peer,
                                    cf.filename, m.lineno, "write the peer's address in the ucast line"))
            continue
        if addr in local or addr in out:
            continue
        out.append(addr)
    return out, notes


def service_ports(hares):
    # type: (Any) -> Tuple[List[Tuple[str, int]], List[dg.Diagnostic]]
    """Ports of the services in haresources that pyha knows (nginx, httpd: tcp/80)."""
    if hares is None:
        return list(DEFAULT_SERVICE_PORTS), [dg.info(
            "fw-default-service", "haresources not readable: opening tcp/80 for the tutorial's nginx",
            hint="use --port for other service ports")]
    out = []  # type: List[Tuple[str, int]]
    unknown = []
    for res in hares.resources:
        if res.kind == "ip" or res.script in ("SendArp", "MailTo"):
            continue
        name = res.script.rsplit("/", 1)[-1]
        if name.endswith(".service"):
            name = name[:-len(".service")]
        ports = KNOWN_SERVICE_PORTS.get(name)
        if ports is None:
            unknown.append(name)
            continue
        for p in ports:
            if p not in out:
                out.append(p)
    notes = []
    if unknown:
        notes.append(dg.info("fw-unknown-service", "no known port for %s in haresources" % ", ".join(sorted(set(unknown))),
                             hint="open its ports with --port N[/tcp|/udp]"))
    return out, notes


def plan_rules(cf, hares, local_addrs=(), from_peers=False, extra_ports=(), resolve=None):
    # type: (Any, Any, Sequence[str], bool, Sequence[Tuple[str, int]], Optional[Callable[[str], Optional[str]]]) -> Tuple[List[PortRule], List[dg.Diagnostic]]
    """The rules `open` wants: heartbeat's UDP port(s) (from the peers only with
    `from_peers`), then the service ports.  SetupError when `from_peers` has no peer."""
    notes = []  # type: List[dg.Diagnostic]
    rules = []  # type: List[PortRule]
    sources = [None]  # type: List[Optional[str]]
    if from_peers:
        if cf is None:
            raise SetupError("--from-peers needs ha.cf to know the peer's address",
                             "run pyha init first, or leave out --from-peers")
        peers, pnotes = peer_addresses(cf, local_addrs, resolve)
        notes.extend(pnotes)
        if not peers:
            raise SetupError("--from-peers: no ucast line in %s names a peer address" % cf.filename,
                             "heartbeat over bcast/mcast has no fixed peer address: leave out --from-peers")
        sources = list(peers)
    for port in cluster_ports(cf):
        for src in sources:
            rules.append(PortRule("udp", port, src, CLUSTER_WHY))
    svc, snotes = service_ports(hares)
    notes.extend(snotes)
    for proto, port in list(svc) + list(extra_ports):
        rule = PortRule(proto, port, None, SERVICE_WHY)
        if all(r.key != rule.key for r in rules):
            rules.append(rule)
    return rules, notes


# -- live INPUT chain edits (pure planning) ----------------------------------------------------

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


# -- the rules file (iptables-save text; pure) -------------------------------------------------

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


# -- nftables and the iptables variant (pure parsers) ------------------------------------------

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


# -- the host ------------------------------------------------------------------------------------

class IptcChain(object):
    """The live INPUT chain of the legacy filter table, through python-iptables.

    Edits happen on one libiptc handle and are committed at once (the kernel swaps the
    whole table), under the xtables lock that the iptables commands also take."""

    def __init__(self):
        self._iptc = _import_iptc()

    def _table(self):
        iptc = self._iptc
        try:
            table = iptc.Table(iptc.Table.FILTER)
            table.refresh()
        except Exception as exc:  # iptc.ip4tc.IPTCError
            raise _explain_iptc_error(exc)
        return table

    def read(self):
        # type: () -> Tuple[str, List[LiveRule]]
        """(policy, rules) of INPUT."""
        table = self._table()
        chain = self._iptc.Chain(table, "INPUT")
        return chain.get_policy().name, [_to_live(r) for r in chain.rules]

    def edit(self, planner):
        # type: (Callable[[List[LiveRule]], List[Tuple[Any, ...]]]) -> List[Tuple[Any, ...]]
        """Read INPUT, let `planner` turn it into edits, apply them and commit, all under
        the xtables lock (so nobody changes the chain between our read and our commit).
        Returns the edits."""
        iptc = self._iptc
        with xtables_lock():
            table = self._table()
            chain = iptc.Chain(table, "INPUT")
            ops = planner([_to_live(r) for r in chain.rules])
            if not ops:
                return ops
            table.autocommit = False
            try:
                for op in ops:
                    if op[0] == "delete":
                        chain.delete_rule(chain.rules[op[1]])
                    else:
                        chain.insert_rule(_to_iptc(iptc, op[2]), position=op[1])
                table.commit()
            except Exception as exc:
                try:
                    table.refresh()  # drop the uncommitted edits
                except Exception:
                    pass
                raise _explain_iptc_error(exc)
            finally:
                table.autocommit = True
        return ops


def _import_iptc():
    try:
        import iptc  # noqa: F401  (lazy: the import scans ldconfig and loads libxtables)
    except Exception as exc:
        raise SetupError("python-iptables cannot load the iptables libraries: %s" % (exc,),
                         "install iptables (EL: yum install iptables; Debian: apt-get install iptables), "
                         "or point XTABLES_LIBDIR at the xtables extensions directory")
    return iptc


def _explain_iptc_error(exc):
    # type: (Exception) -> SetupError
    text = str(exc)
    if "Permission denied" in text or "must be root" in text:
        return SetupError("iptables refused: %s" % text, "run as root")
    if "comment" in text:
        return SetupError("the iptables comment match is missing: %s" % text,
                          "modprobe xt_comment (pyha tags its rules with a comment so close removes only them)")
    if "Table does not exist" in text or "insmod" in text or not os.path.exists("/proc/net/ip_tables_names"):
        return SetupError(
            "this kernel offers no legacy iptables (x_tables) filter table: %s" % text,
            "load it (modprobe ip_tables; modprobe iptable_filter); on an nft-only kernel python-iptables "
            "cannot work: use firewalld (pyha uses it when it runs) or add the rules with nft")
    return SetupError("iptables: %s" % text)


def _to_live(rule):
    # type: (Any) -> LiveRule
    proto = rule.protocol if rule.protocol and rule.protocol != "ip" else None
    src = rule.src
    source = None
    if src and not src.startswith("0.0.0.0/"):
        addr, _, mask = src.partition("/")
        try:
            bits = bin(int.from_bytes(socket.inet_aton(mask), "big")).count("1") if mask else 32
        except OSError:
            bits = 32
        source = "%s/%d" % (addr, bits)
    dport = comment = None
    extra = bool(rule.in_interface or rule.out_interface or rule.fragment
                 or (rule.dst and not rule.dst.startswith("0.0.0.0/")))
    for m in rule.matches:
        params = m.parameters
        if m.name == "comment":
            comment = params.get("comment")
        elif m.name in ("tcp", "udp") and set(params) <= {"dport", "destination_port"}:
            dport = params.get("dport") or params.get("destination_port")
        else:
            extra = True
    target = rule.target.name if rule.target is not None else ""
    return LiveRule(proto, source, dport, comment, target, extra)


def _to_iptc(iptc, pr):
    # type: (Any, PortRule) -> Any
    rule = iptc.Rule()
    rule.protocol = pr.proto
    if pr.source:
        rule.src = pr.source + "/255.255.255.255"
    m = rule.create_match(pr.proto)
    m.dport = str(pr.port)
    c = rule.create_match("comment")
    c.comment = pr.comment
    rule.target = iptc.Target(rule, "ACCEPT")
    return rule


@contextlib.contextmanager
def xtables_lock(path=XTABLES_LOCK, timeout=10.0):
    # type: (str, float) -> Iterator[None]
    """The lock iptables/iptables-restore take, so pyha's commit never interleaves with
    theirs.  Waits up to `timeout` seconds (monotonic clock)."""
    try:
        fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    except OSError:
        yield  # no /run (odd chroot): go on without, like iptables -w does when it cannot lock
        return
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() >= deadline:
                    raise SetupError("another program holds the xtables lock %s" % path,
                                     "wait for the other iptables command to finish and retry")
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)


def local_ipv4_addresses():
    # type: () -> List[str]
    from pyroute2 import IPRoute  # third-party: imported where used
    ipr = IPRoute()
    try:
        return [a.get_attr("IFA_ADDRESS") for a in ipr.get_addr(family=socket.AF_INET)]
    finally:
        ipr.close()


def _resolve(name):
    # type: (str) -> Optional[str]
    try:
        return socket.gethostbyname(name)
    except (OSError, UnicodeError):
        return None


class FirewallHost(object):
    """Everything `open/close/status` need from the machine; tests pass a fake."""

    def __init__(self, runner=None, geteuid=None):
        # type: (Optional[Runner], Optional[Callable[[], int]]) -> None
        self.runner = runner or Runner()
        self.geteuid = geteuid or os.geteuid
        self._chain = None  # type: Optional[IptcChain]

    def chain(self):
        # type: () -> Any
        """An object with read() -> (policy, [LiveRule]) and edit(planner) -> ops."""
        if self._chain is None:
            self._chain = IptcChain()
        return self._chain

    def local_addresses(self):
        # type: () -> List[str]
        return local_ipv4_addresses()

    def resolve(self, name):
        # type: (str) -> Optional[str]
        return _resolve(name)

    def firewalld_running(self):
        # type: () -> bool
        if self.runner.which("firewall-cmd") is None:
            return False
        res = self.runner.run(["firewall-cmd", "--state"], timeout=15)
        return res.ok and res.out.strip() == "running"

    def iptables_variant(self):
        # type: () -> Optional[str]
        res = self.runner.run(["iptables", "-V"], timeout=10)
        return iptables_variant(res.out + res.err) if res.ok else None

    def nft_ruleset(self):
        # type: () -> Optional[str]
        if self.runner.which("nft") is None:
            return None
        res = self.runner.run(["nft", "list", "ruleset"], timeout=15)
        return res.out if res.ok else None


# -- results -------------------------------------------------------------------------------------

class FirewallResult(object):
    """What a firewall command did or found.  `backend`: "iptables" (python-iptables,
    legacy x_tables) or "firewalld"; `rules`: the rules pyha wants (open) or removed
    (close); `states`: per wanted rule, open/unreachable/missing (status); `info`: the
    facts behind the notes (iptables variant, nft blockers, policy, persist file)."""

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


# -- the commands ----------------------------------------------------------------------------

def _load_config(directory, root):
    # type: (str, str) -> Tuple[Any, Any, List[dg.Diagnostic]]
    from pyha.config import HaCf, Haresources
    notes = []
    cf = hares = None
    path = under(root, os.path.join(directory, "ha.cf"))
    try:
        cf = HaCf.load(path)
    except OSError as exc:
        notes.append(dg.info("fw-no-hacf", "%s not readable (%s): using udpport %d"
                             % (path, exc.strerror, DEFAULT_UDPPORT), path))
    try:
        hares = Haresources.load(under(root, os.path.join(directory, "haresources")))
    except OSError:
        pass
    return cf, hares, notes


def persist_path(root):
    # type: (str) -> str
    """Where the boot-time rules live: EL's iptables service file, or Debian's
    iptables-persistent file on Debian-family systems."""
    rel = detect_release(root)
    return DEBIAN_PERSIST_FILE if rel.family == "debian" else EL_PERSIST_FILE


def _nft_notes(host, result):
    # type: (FirewallHost, FirewallResult) -> None
    variant = host.iptables_variant()
    result.info["iptables_command"] = variant
    if variant == "nf_tables":
        result.notes.append(dg.info(
            "fw-nft-iptables", "`iptables` on this host is iptables-nft: it does not list pyha's rules, "
            "which python-iptables puts in the legacy x_tables filter table",
            hint="see them with `iptables-legacy -S INPUT` (or iptables-legacy-save)"))
    ruleset = host.nft_ruleset()
    blockers = nft_input_blockers(ruleset) if ruleset else []
    result.info["nft_input_blockers"] = blockers
    if blockers:
        result.notes.append(dg.warning(
            "fw-nft-blocks", "nftables input chain(s) %s drop or reject packets; a legacy iptables ACCEPT does not "
            "override them (the kernel runs both, a packet must pass each)" % ", ".join(blockers),
            hint="open the same ports there too, e.g. `iptables-nft -I INPUT -p udp --dport 694 -j ACCEPT`, or "
                 "use firewalld"))


def _desired(directory, root, host, from_peers, ports):
    # type: (str, str, FirewallHost, bool, Sequence[Tuple[str, int]]) -> Tuple[List[PortRule], List[dg.Diagnostic]]
    cf, hares, notes = _load_config(directory, root)
    local = host.local_addresses() if from_peers else []
    rules, more = plan_rules(cf, hares, local, from_peers, ports, host.resolve)
    return rules, notes + more


def firewall_open(directory="/etc/ha.d", ports=(), from_peers=False, persist=False, root="/", dry_run=False,
                  host=None):
    # type: (str, Sequence[Tuple[str, int]], bool, bool, str, bool, Optional[FirewallHost]) -> FirewallResult
    """Open heartbeat's UDP port(s) and the service ports; see the module docstring."""
    host = host or FirewallHost()
    require_root("pyha firewall open", host.geteuid)
    wanted, notes = _desired(directory, root, host, from_peers, ports)
    if host.firewalld_running():
        result = FirewallResult("open", "firewalld", dry_run)
        result.notes.extend(notes)
        result.rules = wanted
        _firewalld_open(host, result, wanted, persist, root, dry_run)
        return result
    result = FirewallResult("open", "iptables", dry_run)
    result.notes.extend(notes)
    result.rules = wanted
    chain = host.chain()
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
        _persist(result, root, lambda text: merge_saved(text, wanted), dry_run)
    _nft_notes(host, result)
    return result


def firewall_close(persist=False, root="/", dry_run=False, host=None):
    # type: (bool, str, bool, Optional[FirewallHost]) -> FirewallResult
    """Delete every pyha-tagged rule (live; in the rules file too with `persist`)."""
    host = host or FirewallHost()
    require_root("pyha firewall close", host.geteuid)
    if host.firewalld_running():
        result = FirewallResult("close", "firewalld", dry_run)
        _firewalld_close(host, result, persist, root, dry_run)
        return result
    result = FirewallResult("close", "iptables", dry_run)
    chain = host.chain()
    ops = plan_close(chain.read()[1]) if dry_run else chain.edit(plan_close)
    _record_ops(result, ops, dry_run)
    if not ops:
        result.steps.append(Step("rules", "INPUT has no pyha rule", UNCHANGED))
    if persist:
        _persist(result, root, remove_saved, dry_run)
    return result


def firewall_status(directory="/etc/ha.d", ports=(), from_peers=False, root="/", host=None):
    # type: (str, Sequence[Tuple[str, int]], bool, str, Optional[FirewallHost]) -> FirewallResult
    """Which of the rules `open` would add are in place and reachable, what else of pyha's
    is there, and what stands in the way (nftables chains, firewalld)."""
    host = host or FirewallHost()
    require_root("pyha firewall status", host.geteuid)
    wanted, notes = _desired(directory, root, host, from_peers, ports)
    if host.firewalld_running():
        result = FirewallResult("status", "firewalld")
        result.notes.extend(notes)
        result.rules = wanted
        state = _load_fwd_state(root)
        for rule in wanted:
            kind, item = rule.firewalld_item()
            present = host.runner.run(["firewall-cmd", "--query-%s=%s" % (kind, item)]).ok
            result.states.append({"rule": rule.to_dict(), "describe": rule.describe(),
                                  "state": "open" if present else "missing", "number": None})
        result.info["firewalld_added"] = state
        result.notes.append(dg.info("fw-firewalld", "firewalld is running: pyha uses firewall-cmd (default zone)"))
        return result
    result = FirewallResult("status", "iptables")
    result.notes.extend(notes)
    result.rules = wanted
    policy, current = host.chain().read()
    result.info["policy"] = policy
    block = first_blocking(current)
    result.info["first_blocking_rule"] = block + 1 if block is not None else None
    result.states = rule_states(current, wanted)
    result.pyha_rules = [dict(r.to_dict(), number=i + 1) for i, r in enumerate(current) if r.ours]
    path = under(root, persist_path(root))
    text = read_file(path)
    result.info["persist_file"] = path
    result.info["persist_file_rules"] = saved_pyha_rules(text) if text is not None else None
    _nft_notes(host, result)
    return result


def _record_ops(result, ops, dry_run):
    # type: (FirewallResult, Sequence[Tuple[Any, ...]], bool) -> None
    for op in ops:
        if op[0] == "delete":
            result.steps.append(Step("delete rule", "INPUT #%d %s" % (op[1] + 1, op[2].describe()),
                                     WOULD if dry_run else DONE))
        else:
            result.steps.append(Step("insert rule", "INPUT #%d %s" % (op[1] + 1, op[2].save_line()),
                                     WOULD if dry_run else DONE))


def _persist(result, root, transform, dry_run):
    # type: (FirewallResult, str, Callable[[Optional[str]], Optional[str]], bool) -> None
    path = under(root, persist_path(root))
    result.info["persist_file"] = path
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


# -- firewalld -----------------------------------------------------------------------------

def _load_fwd_state(root):
    # type: (str) -> Dict[str, List[str]]
    text = read_file(under(root, FIREWALLD_STATE))
    try:
        data = json.loads(text) if text else {}
    except ValueError:
        data = {}
    return {"runtime": list(data.get("runtime", [])), "permanent": list(data.get("permanent", []))}


def _save_fwd_state(root, state):
    # type: (str, Dict[str, List[str]]) -> None
    path = under(root, FIREWALLD_STATE)
    os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
    files.atomic_write(path, json.dumps(state, indent=1, sort_keys=True) + "\n", 0o644)


def _fwd_scopes(persist):
    # type: (bool) -> List[Tuple[str, List[str]]]
    scopes = [("runtime", [])]  # type: List[Tuple[str, List[str]]]
    if persist:
        scopes.append(("permanent", ["--permanent"]))
    return scopes


def _firewalld_open(host, result, wanted, persist, root, dry_run):
    # type: (FirewallHost, FirewallResult, Sequence[PortRule], bool, str, bool) -> None
    result.notes.append(dg.info("fw-firewalld", "firewalld is running: using firewall-cmd in the default zone "
                                "instead of python-iptables"))
    state = _load_fwd_state(root)
    run = host.runner.run
    for scope, extra in _fwd_scopes(persist):
        for rule in wanted:
            kind, item = rule.firewalld_item()
            entry = "%s=%s" % (kind, item)
            if run(["firewall-cmd"] + extra + ["--query-%s=%s" % (kind, item)]).ok:
                result.steps.append(Step("firewalld %s" % scope, entry, UNCHANGED))
                continue
            if dry_run:
                result.steps.append(Step("firewalld %s" % scope, entry, WOULD))
                continue
            res = run(["firewall-cmd"] + extra + ["--add-%s=%s" % (kind, item)])
            if res.ok:
                if entry not in state[scope]:
                    state[scope].append(entry)
                result.steps.append(Step("firewalld %s" % scope, entry, DONE))
            else:
                result.steps.append(Step("firewalld %s" % scope, entry, FAILED, res.text()))
    if not dry_run:
        _save_fwd_state(root, state)


def _firewalld_close(host, result, persist, root, dry_run):
    # type: (FirewallHost, FirewallResult, bool, str, bool) -> None
    """Remove what pyha added (its state file), never ports someone else opened."""
    state = _load_fwd_state(root)
    run = host.runner.run
    for scope, extra in _fwd_scopes(persist):
        for entry in list(state[scope]):
            kind, item = entry.split("=", 1)
            if not run(["firewall-cmd"] + extra + ["--query-%s=%s" % (kind, item)]).ok:
                state[scope].remove(entry)
                result.steps.append(Step("firewalld %s" % scope, entry, UNCHANGED, "already gone"))
                continue
            if dry_run:
                result.steps.append(Step("firewalld %s" % scope, entry, WOULD))
                continue
            res = run(["firewall-cmd"] + extra + ["--remove-%s=%s" % (kind, item)])
            if res.ok:
                state[scope].remove(entry)
                result.steps.append(Step("firewalld %s" % scope, entry, DONE))
            else:
                result.steps.append(Step("firewalld %s" % scope, entry, FAILED, res.text()))
    if not result.steps:
        result.steps.append(Step("firewalld", "nothing pyha added", UNCHANGED))
    if not dry_run:
        _save_fwd_state(root, state)


__all__ = ["PortRule", "LiveRule", "FirewallHost", "FirewallResult", "IptcChain", "firewall_open", "firewall_close",
           "firewall_status", "plan_rules", "plan_open", "plan_close", "apply_ops", "rule_states", "merge_saved",
           "remove_saved", "saved_pyha_rules", "nft_input_blockers", "iptables_variant", "parse_port_spec",
           "is_pyha_comment", "persist_path"]
