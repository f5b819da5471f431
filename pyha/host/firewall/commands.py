"""`pyha firewall open|close|status`: what the three commands share, done once: the root
check, the rules ha.cf and haresources want, picking the backend (firewalld when it runs,
else python-iptables) and the head of the `FirewallResult`; the backend does the rest.

It must never talk to iptables or firewall-cmd itself: every change goes through the
chosen backend, every question about the machine through the FirewallHost.
"""

import os
from typing import Any, List, Sequence, Tuple

from pyha import diagnostics as dg
from pyha.host.firewall.backend import Backend, FirewallResult
from pyha.host.firewall.firewalld_backend import FirewalldBackend
from pyha.host.firewall.iptables_backend import IptablesBackend
from pyha.host.firewall.rules import PortRule
from pyha.host.firewall.wanted import DEFAULT_UDPPORT, plan_rules
from pyha.host.hostenv import require_root, under


def choose_backend(host, root):
    # type: (Any, str) -> Backend
    """firewalld owns the firewall when it runs; otherwise pyha edits iptables itself."""
    if host.firewalld_running():
        return FirewalldBackend(host, root)
    return IptablesBackend(host, root)


def firewall_open(directory="/etc/ha.d", ports=(), from_peers=False, persist=False, root="/", dry_run=False,
                  host=None):
    # type: (str, Sequence[Tuple[str, int]], bool, bool, str, bool, Any) -> FirewallResult
    """Open heartbeat's UDP port(s) and the service ports (before any REJECT/DROP, tagged
    "pyha"); with `persist` also at boot."""
    host = _root_host(host, "open")
    wanted, notes = _desired(directory, root, host, from_peers, ports)
    backend = choose_backend(host, root)
    result = _result("open", backend, dry_run, wanted, notes)
    backend.open(result, wanted, persist, dry_run)
    return result


def firewall_close(persist=False, root="/", dry_run=False, host=None):
    # type: (bool, str, bool, Any) -> FirewallResult
    """Delete every pyha-tagged rule (live; in the rules file too with `persist`)."""
    host = _root_host(host, "close")
    backend = choose_backend(host, root)
    result = _result("close", backend, dry_run, [], [])
    backend.close(result, persist, dry_run)
    return result


def firewall_status(directory="/etc/ha.d", ports=(), from_peers=False, root="/", host=None):
    # type: (str, Sequence[Tuple[str, int]], bool, str, Any) -> FirewallResult
    """Which of the rules `open` would add are in place and reachable, what else of pyha's
    is there, and what stands in the way (nftables chains, firewalld)."""
    host = _root_host(host, "status")
    wanted, notes = _desired(directory, root, host, from_peers, ports)
    backend = choose_backend(host, root)
    result = _result("status", backend, False, wanted, notes)
    backend.status(result, wanted)
    return result


def _root_host(host, action):
    # type: (Any, str) -> Any
    if host is None:
        # looked up on the package when called: pyha.host.firewall.FirewallHost is the name
        # callers know, and the one the CLI tests replace with a fake
        from pyha.host import firewall
        host = firewall.FirewallHost()
    require_root("pyha firewall %s" % action, host.geteuid)
    return host


def _result(action, backend, dry_run, wanted, notes):
    # type: (str, Backend, bool, List[PortRule], List[dg.Diagnostic]) -> FirewallResult
    result = FirewallResult(action, backend.name, dry_run)
    result.notes.extend(notes)
    result.rules = wanted
    return result


def _desired(directory, root, host, from_peers, ports):
    # type: (str, str, Any, bool, Sequence[Tuple[str, int]]) -> Tuple[List[PortRule], List[dg.Diagnostic]]
    cf, hares, notes = _load_config(directory, root)
    local = host.local_addresses() if from_peers else []
    rules, more = plan_rules(cf, hares, local, from_peers, ports, host.resolve)
    return rules, notes + more


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
