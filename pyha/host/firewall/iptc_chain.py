"""The live INPUT chain of the legacy filter table, through python-iptables: read it as
`LiveRule`s, apply planned edits in one commit under the xtables lock.

`import iptc` scans ldconfig and loads libxtables at import time, which can fail: it is
imported lazily, and failures (and libiptc's terse errors) become a SetupError that says
what to install or load.  This is the only module that imports iptc.  It applies the
edits it is given and must never decide them: no flush, no policy change, no rule
chosen here.
"""

import contextlib
import errno
import fcntl
import os
import socket
import time
from typing import Any, Callable, Iterator, List, Tuple

from pyha.host.firewall.rules import LiveRule, PortRule
from pyha.host.hostenv import SetupError

XTABLES_LOCK = "/run/xtables.lock"


class IptcChain(object):
    """The live INPUT chain of the legacy filter table, through python-iptables.

    Edits happen on one libiptc handle and are committed at once (the kernel swaps the
    whole table), under the xtables lock that the iptables commands also take."""

    via = "python-iptables"

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


class IptcUnavailable(SetupError):
    """python-iptables does not import here: the module is absent (the RPM does not ship
    it) or it cannot load libxtables/libip4tc.  FirewallHost then uses the commands."""


def _import_iptc():
    try:
        import iptc  # noqa: F401  (lazy: the import scans ldconfig and loads libxtables)
    except ImportError as exc:
        raise IptcUnavailable("python-iptables is not installed (%s)" % (exc,),
                              "it is optional: pyha uses the iptables-save/iptables-restore commands instead "
                              "(pip install python-iptables to use it)")
    except Exception as exc:
        raise IptcUnavailable("python-iptables cannot load the iptables libraries: %s" % (exc,),
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
