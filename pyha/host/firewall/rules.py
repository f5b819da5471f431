"""The rule model of `pyha firewall`: the rules pyha wants (`PortRule`) and the rules it
finds in the INPUT chain (`LiveRule`), and how pyha's tag marks its own.

Pure data: no I/O, no netfilter, no firewall-cmd.  It must never decide what to open
(wanted.py) nor how to edit a chain (edits.py); it only says what a rule is.
"""

from typing import Any, Dict, Optional, Tuple

TAG = "pyha"
CLUSTER_WHY = "cluster"
SERVICE_WHY = "service"
BLOCKING_TARGETS = ("REJECT", "DROP")


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
        return "-A %s %s" % (chain, self.spec())

    def spec(self):
        # type: () -> str
        """The rule's matches and target in iptables-save's order, without the chain."""
        parts = []
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
