"""/etc/ha.d/haresources: resource groups, parsed and rendered like heartbeat 3.0.x.

Each logical line (physical lines joined by a trailing backslash) is one group:
`<preferred node> <resource> [<resource>...]`; the group key is its first resource.  A
resource is an IP shorthand (`ip[/prefix[/iface-or-broadcast[/broadcast]]]`, meaning
`IPaddr::<token>`), `Script::arg1::arg2`, or a plain script/service name.

The model keeps every physical line so an unchanged file renders back byte for byte;
groups added or changed through the API render canonically.  `check()` reports what this
file shows on its own; whether the node is in ha.cf and whether scripts exist on the host
is checked in `pyha.config.check`.  Nothing here touches the host, and bad input never
raises.
"""

import re
from typing import Any, List, Optional, Tuple

from pyha import diagnostics as dg
from pyha.config.common import WHITESPACE, TextLines, is_ipv4, netmask_to_prefix, read_text, show, split_ws

# Agents pyha implements itself: they never need a script on the host.
BUILTIN_AGENTS = ("IPaddr", "IPaddr2", "SendArp")
IP_AGENTS = ("IPaddr", "IPaddr2")

# ResourceManager's isip(): the shell pattern [0-9]*.[0-9]*.[0-9]*.[0-9]*
_ISIP = re.compile(r"^[0-9].*\.[0-9].*\.[0-9].*\.[0-9].*$", re.DOTALL)


def script_name_problem(name):
    # type: (str) -> Optional[str]
    """Why `name` cannot name a resource script, or None if it can.  The one rule for
    `pyha config check` and the daemon (`pyha.resources.agents.resolve`): a script is a
    plain file name looked up in resource.d, /etc/init.d and systemd's unit directories;
    a path (`/bin/sh`, `../../bin/sh`) would make the root daemon run any program."""
    if not name:
        return "the script name is empty"
    if name in (".", ".."):
        return "%s is not a script name" % show(name)
    if "/" in name:
        return "%s is a path; a script is a bare name looked up in resource.d and /etc/init.d" % show(name)
    if "\0" in name:
        return "%s contains a NUL character" % show(name)
    return None


def looks_like_ip(token):
    # type: (str) -> bool
    """True when heartbeat treats `token` as IP shorthand for IPaddr::token."""
    return bool(_ISIP.match(token))


class Resource(object):
    """One resource of a group.

    kind: "ip" for IPaddr / IPaddr2 (shorthand or explicit), "script" for everything else
    (including the built-in SendArp).  `script` is the agent name (IPaddr for the
    shorthand), `args` the `::`-separated arguments.  For IP kinds (and SendArp) `ip`,
    `prefix`, `iface`, `broadcast` hold the parsed address fields (None when absent or
    unparsable).  `problems` lists (severity, code, message, hint) found in the token."""

    __slots__ = ("token", "script", "args", "kind", "shorthand", "ip", "prefix", "iface",
                 "broadcast", "lineno", "problems")

    def __init__(self, token, lineno=None):
        # type: (str, Optional[int]) -> None
        self.token = token
        self.lineno = lineno
        self.ip = self.iface = self.broadcast = None  # type: Optional[str]
        self.prefix = None  # type: Optional[int]
        self.problems = []  # type: List[Tuple[str, str, str, Optional[str]]]
        self.shorthand = looks_like_ip(token)
        if self.shorthand:
            self.script, self.args = "IPaddr", [token]
        elif "::" in token:
            self.script, rest = token.split("::", 1)
            parts = rest.split("::")
            if any(p == "" for p in parts):
                # ResourceManager turns `::` into blanks and the shell drops empty words
                self._problem(dg.WARNING, "hares-empty-arg",
                              "%s has an empty argument; heartbeat silently drops it" % show(token),
                              "remove the doubled or trailing `::`")
            self.args = [p for p in parts if p]
            if not self.script:
                self._problem(dg.ERROR, "hares-syntax", "%s has no script name before `::`" % show(token),
                              "write `Script::argument`")
        else:
            self.script, self.args = token, []
        self.kind = "ip" if self.script in IP_AGENTS else "script"
        if self.kind == "ip" or self.script == "SendArp":
            self._parse_ip()

    # -- constructors for building a file programmatically ------------------------------

    @classmethod
    def parse(cls, token, lineno=None):
        # type: (str, Optional[int]) -> Resource
        return cls(token, lineno)

    @classmethod
    def ipaddr(cls, ip, prefix=None, iface=None, broadcast=None):
        # type: (str, Optional[int], Optional[str], Optional[str]) -> Resource
        """The IP shorthand `ip/prefix/iface/broadcast` (ValueError if `ip` is not IPv4)."""
        if not is_ipv4(ip):
            raise ValueError("%r is not an IPv4 address" % (ip,))
        parts = [ip]
        if prefix is not None or iface or broadcast:
            if prefix is None:
                raise ValueError("give a prefix length with an interface or broadcast")
            parts.append(str(int(prefix)))
        if iface:
            parts.append(iface)
        if broadcast:
            parts.append(broadcast)
        return cls("/".join(parts))

    @classmethod
    def service(cls, name, *args):
        # type: (str, *str) -> Resource
        """`name` or `name::arg1::arg2` (ValueError for text haresources cannot hold)."""
        for part in (name,) + args:
            if not part or "::" in part or "#" in part or any(c in part for c in WHITESPACE + "\\"):
                raise ValueError("%r cannot be written in haresources" % (part,))
        return cls("::".join((name,) + args))

    # -- properties ---------------------------------------------------------------------

    @property
    def builtin(self):
        # type: () -> bool
        """Implemented inside pyha (no script needed on the host)."""
        return self.script in BUILTIN_AGENTS

    def _problem(self, severity, code, message, hint=None):
        # type: (str, str, str, Optional[str]) -> None
        self.problems.append((severity, code, message, hint))

    def _parse_ip(self):
        if not self.args:
            self._problem(dg.ERROR, "hares-bad-ip", "%s needs an address argument" % show(self.token),
                          "write `%s::192.0.2.160/24/eth0`" % self.script)
            return
        if len(self.args) > 1:
            self._problem(dg.WARNING, "hares-extra-args", "%s takes one argument; the agent ignores %s"
                          % (self.script, " ".join(self.args[1:])), "write `%s::ip/prefix/iface`" % self.script)
        spec = self.args[0]
        parts = spec.split("/")
        ip = parts[0]
        if not is_ipv4(ip):
            self._problem(dg.ERROR, "hares-bad-ip", "%s: %s is not an IPv4 address" % (show(self.token), show(ip)),
                          "write e.g. 192.0.2.160/24/eth0")
            return
        self.ip = ip
        if self.script == "SendArp":
            if len(parts) != 2 or not parts[1]:
                self._problem(dg.ERROR, "hares-bad-ip", "SendArp needs `ip/interface`, not %s" % show(spec),
                              "write `SendArp::192.0.2.160/eth0`")
            else:
                self.iface = parts[1]
            return
        if any(p == "" for p in parts[1:]):
            self._problem(dg.ERROR, "hares-bad-ip", "%s has an empty field (`//` or a trailing `/`); the agent "
                          "would misread the rest" % show(spec), "write ip/prefix/iface, e.g. 192.0.2.160/24/eth0")
            return
        if len(parts) > 4:
            self._problem(dg.WARNING, "hares-extra-args", "%s has more than ip/prefix/iface/broadcast; the agent "
                          "ignores %s" % (show(spec), "/".join(parts[4:])))
        if len(parts) > 1:
            mask = parts[1]
            if mask.isdigit():
                if not 1 <= int(mask) <= 32:
                    self._problem(dg.ERROR, "hares-bad-ip", "%s: prefix length %s is not 1..32" % (show(spec), mask),
                                  "e.g. /24 for a 255.255.255.0 network")
                    return
                self.prefix = int(mask)
            else:
                prefix = netmask_to_prefix(mask)
                if prefix is None:
                    self._problem(dg.ERROR, "hares-bad-ip", "%s: %s is neither a prefix length nor a netmask"
                                  % (show(spec), show(mask)), "e.g. /24")
                    return
                self.prefix = prefix
        if len(parts) > 2:
            third = parts[2]
            if third[0].isdigit():
                # heartbeat: a third field starting with a digit is the broadcast address
                if not is_ipv4(third):
                    self._problem(dg.ERROR, "hares-bad-ip", "%s: broadcast %s is not an IPv4 address"
                                  % (show(spec), show(third)))
                    return
                self.broadcast = third
                if len(parts) > 3:
                    self._problem(dg.WARNING, "hares-extra-args", "%s: after a broadcast address the agent "
                                  "ignores %s" % (show(spec), "/".join(parts[3:])))
            else:
                self.iface = third
                if len(parts) > 3:
                    if not is_ipv4(parts[3]):
                        self._problem(dg.ERROR, "hares-bad-ip", "%s: broadcast %s is not an IPv4 address"
                                      % (show(spec), show(parts[3])))
                        return
                    self.broadcast = parts[3]

    @property
    def base_iface(self):
        # type: () -> Optional[str]
        """The interface without an alias label (`eth0:1` -> `eth0`)."""
        return self.iface.split(":", 1)[0] if self.iface else None

    def __str__(self):
        return self.token

    def __repr__(self):
        return "Resource(%r)" % (self.token,)

    def __eq__(self, other):
        return isinstance(other, Resource) and self.token == other.token

    def __ne__(self, other):
        return not self == other

    def __hash__(self):
        return hash(self.token)


class Group(object):
    """A resource group: preferred `node` (lowercased; `node_text` as written) and its
    resources, started left to right.  `lineno`..`end_lineno` are its physical lines."""

    __slots__ = ("node_text", "resources", "lineno", "end_lineno")

    def __init__(self, node, resources, lineno=None, end_lineno=None):
        # type: (str, List[Resource], Optional[int], Optional[int]) -> None
        self.node_text = node
        self.resources = list(resources)
        self.lineno = lineno
        self.end_lineno = end_lineno if end_lineno is not None else lineno

    @property
    def node(self):
        # type: () -> str
        return self.node_text.lower()

    @property
    def key(self):
        # type: () -> Optional[str]
        """ResourceManager's group key: the first resource as written."""
        return self.resources[0].token if self.resources else None

    def render(self):
        # type: () -> str
        return " ".join([self.node_text] + [r.token for r in self.resources])

    def __repr__(self):
        return "Group(%r, %r, line %r)" % (self.node_text, [r.token for r in self.resources], self.lineno)


class _Block(object):
    """Physical line(s) of the file: a comment/blank line, or a group's lines.  `raw` is
    None once the group was changed through the API (render it canonically)."""

    __slots__ = ("raw", "group")

    def __init__(self, raw, group=None):
        # type: (Optional[List[str]], Optional[Group]) -> None
        self.raw = raw
        self.group = group


def _strip_comment(raw):
    # type: (str) -> str
    hash_at = raw.find("#")
    return raw if hash_at < 0 else raw[:hash_at]


class Haresources(object):
    """The haresources model: `parse`/`load`/`new`, `add_group`, `render`, `groups`."""

    def __init__(self, filename="haresources"):
        # type: (str) -> None
        self.filename = filename
        self._blocks = []  # type: List[_Block]
        self._final_newline = True
        self._diags = []  # type: List[dg.Diagnostic]  # found while splitting lines

    @classmethod
    def parse(cls, text, filename="haresources"):
        # type: (str, str) -> Haresources
        self = cls(filename)
        lines = TextLines(text)
        self._final_newline = lines.final_newline
        phys = lines.lines
        crlf_line = None
        i = 0
        while i < len(phys):
            start = i
            tokens = []  # type: List[Tuple[str, int]]
            prev_glued = False
            while True:
                raw = phys[i]
                if raw.endswith("\r"):
                    crlf_line = crlf_line or i + 1
                body = _strip_comment(raw).rstrip("\r")
                if i > start and "#" in raw:
                    self._warn("hares-comment-in-continuation",
                               "comment inside a continued line: heartbeat's ResourceManager only strips "
                               "comments from the first line, so it would read the comment's words as "
                               "resources", i + 1, "put the comment on a line of its own before the group")
                cont = body.endswith("\\")
                if not cont and body.rstrip(WHITESPACE).endswith("\\"):
                    self._warn("hares-backslash-space",
                               "blank after the trailing backslash: heartbeat does not continue this line, so "
                               "the next line becomes a separate group", i + 1,
                               "remove the blanks after `\\`")
                text = body[:-1] if cont else body
                words = split_ws(text)
                # heartbeat joins continued lines without adding a blank
                if prev_glued and words and tokens and text[:1] not in WHITESPACE:
                    joined = tokens[-1][0] + words[0]
                    self._warn("hares-continuation-glue",
                               "heartbeat joins continued lines without a blank, so %s and %s become %s"
                               % (show(tokens[-1][0]), show(words[0]), show(joined)), i + 1,
                               "put a blank before the backslash on line %d" % i)
                    tokens[-1] = (joined, tokens[-1][1])
                    words = words[1:]
                tokens.extend((w, i + 1) for w in words)
                prev_glued = cont and text != "" and text[-1] not in WHITESPACE
                i += 1
                if not cont:
                    break
                if i >= len(phys):
                    self._warn("hares-continuation-eof", "the last line ends with a backslash", i,
                               "remove the trailing `\\`")
                    break
            raw_lines = phys[start:i]
            if not tokens:
                self._blocks.append(_Block(raw_lines))
                continue
            node, node_line = tokens[0]
            group = Group(node, [Resource(t, n) for t, n in tokens[1:]], node_line, i)
            self._blocks.append(_Block(raw_lines, group))
        if crlf_line:
            self._warn("hares-crlf", "the file has DOS (CRLF) line endings", crlf_line,
                       "convert it with `sed -i 's/\\r$//' haresources` (or dos2unix)")
        return self

    @classmethod
    def load(cls, path):
        # type: (str) -> Haresources
        return cls.parse(read_text(path), filename=path)

    @classmethod
    def new(cls, comment=None, filename="haresources"):
        # type: (Any, str) -> Haresources
        self = cls(filename)
        if comment:
            for text in ([comment] if isinstance(comment, str) else comment):
                self.add_comment(text)
        return self

    def _warn(self, code, message, line, hint=None):
        self._diags.append(dg.warning(code, message, self.filename, line, hint))

    def render(self):
        # type: () -> str
        out = []  # type: List[str]
        for b in self._blocks:
            if b.raw is not None:
                out.extend(b.raw)
            elif b.group is not None:
                out.append(b.group.render())
        return TextLines.join(out, self._final_newline)

    def add_comment(self, text=""):
        # type: (str) -> None
        if "\n" in text or "\r" in text:
            raise ValueError("a comment is one line")
        self._blocks.append(_Block([("# " + text) if text else "#"]))

    def add_blank(self):
        # type: () -> None
        self._blocks.append(_Block([""]))

    def add_group(self, node, resources):
        # type: (str, List[Any]) -> Group
        """Append `node res...`; resources are `Resource` objects or tokens (str)."""
        if not node or any(c in node for c in WHITESPACE + "#\\"):
            raise ValueError("%r is not a node name" % (node,))
        res = [r if isinstance(r, Resource) else Resource(str(r)) for r in resources]
        for r in res:
            if not r.token or any(c in r.token for c in WHITESPACE + "#\\"):
                raise ValueError("%r cannot be written in haresources" % (r.token,))
        group = Group(node, res)
        self._blocks.append(_Block(None, group))
        return group

    def remove_group(self, key):
        # type: (str) -> bool
        for b in self._blocks:
            if b.group is not None and b.group.key == key:
                self._blocks.remove(b)
                return True
        return False

    def touch(self, group):
        # type: (Group) -> None
        """Mark a group changed in place (its resources list edited): render it canonically."""
        for b in self._blocks:
            if b.group is group:
                b.raw = None

    @property
    def groups(self):
        # type: () -> List[Group]
        return [b.group for b in self._blocks if b.group is not None]

    def groups_for(self, node):
        # type: (str) -> List[Group]
        """Groups whose preferred node is `node` (case-insensitive)."""
        return [g for g in self.groups if g.node == node.lower()]

    def group(self, key):
        # type: (str) -> Optional[Group]
        for g in self.groups:
            if g.key == key:
                return g
        return None

    @property
    def resources(self):
        # type: () -> List[Resource]
        return [r for g in self.groups for r in g.resources]

    def check(self):
        # type: () -> List[dg.Diagnostic]
        """Problems visible in haresources alone."""
        fn = self.filename
        out = list(self._diags)
        keys = {}  # type: dict
        ips = {}  # type: dict
        if not self.groups:
            out.append(dg.warning("hares-empty", "no resource groups: heartbeat starts but has nothing to fail over",
                                  fn, None, "add e.g. `ha1 192.0.2.160/24/eth0 nginx`"))
        for g in self.groups:
            if not g.resources:
                out.append(dg.warning("hares-no-resources", "group of node %s lists no resources" % show(g.node_text),
                                      fn, g.lineno, "add resources after the node name, or remove the line"))
                continue
            if g.key in keys:
                out.append(dg.warning("hares-duplicate-key", "group key %s is already used on line %d; "
                                      "ResourceManager finds groups by their first resource, so it must be unique"
                                      % (show(g.key), keys[g.key]), fn, g.lineno,
                                      "start each group with a different resource"))
            else:
                keys[g.key] = g.lineno
            for r in g.resources:
                for severity, code, message, hint in r.problems:
                    out.append(dg.Diagnostic(severity, code, message, fn, r.lineno, hint))
                if r.kind == "ip" and r.ip:
                    if r.ip in ips:
                        out.append(dg.warning("hares-duplicate-ip", "address %s is already managed on line %d"
                                              % (r.ip, ips[r.ip]), fn, r.lineno,
                                              "manage each address in one group only"))
                    else:
                        ips[r.ip] = r.lineno
                problem = script_name_problem(r.script) if r.kind == "script" and r.script else None
                if problem:
                    out.append(dg.error("hares-script-name", "%s%s; pyha refuses it"
                                        % ("" if r.token == r.script else "resource %s: " % show(r.token), problem),
                                        fn, r.lineno,
                                        "use the bare script name (e.g. `nginx`), installed in resource.d or "
                                        "/etc/init.d"))
        return out
