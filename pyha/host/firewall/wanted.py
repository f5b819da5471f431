"""Which rules `pyha firewall open` wants: heartbeat's UDP port(s) from ha.cf (from the
ucast peers only with --from-peers), the ports of the services in haresources that pyha
knows, and the operator's --port N[/tcp|/udp].

Pure: it reads parsed configuration objects and returns `PortRule`s plus diagnostics.  It
must never read files, resolve names itself (a resolver comes in as an argument) nor look
at the firewall.
"""

import re
import socket
from typing import Any, Callable, List, Optional, Sequence, Tuple

from pyha import diagnostics as dg
from pyha.host.firewall.rules import CLUSTER_WHY, SERVICE_WHY, PortRule
from pyha.host.hostenv import SetupError

DEFAULT_UDPPORT = 694
# Services whose port pyha knows, by the resource name in haresources.
KNOWN_SERVICE_PORTS = {
    "nginx": [("tcp", 80)],
    "httpd": [("tcp", 80)],
    "apache2": [("tcp", 80)],
    "apache": [("tcp", 80)],
}
DEFAULT_SERVICE_PORTS = [("tcp", 80)]  # the tutorial's nginx, when haresources cannot be read


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
