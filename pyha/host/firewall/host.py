"""`FirewallHost`: everything the firewall commands ask of the machine (root or not, the
INPUT chain through python-iptables or else the iptables commands, local addresses, name lookups, firewalld, iptables -V, nft list ruleset).
Tests replace it with a fake; it is the one seam between the commands and the host.

It answers questions and hands out the chain; it must never decide what to open nor
change a rule itself.
"""

import os
import socket
from typing import Any, Callable, List, Optional

from pyha.host.firewall.command_chain import CommandChain
from pyha.host.firewall.iptc_chain import IptcChain, IptcUnavailable
from pyha.host.firewall.nft import iptables_variant
from pyha.host.hostenv import Runner, SetupError


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
        """An object with read() -> (policy, [LiveRule]), edit(planner) -> ops and `via`.
        python-iptables where it imports; else the iptables-save/iptables-restore commands
        (the RPM ships no python-iptables), which then carry `instead_of`: why.  Neither:
        a SetupError that says both and what to install."""
        if self._chain is None:
            try:
                self._chain = IptcChain()
            except IptcUnavailable as exc:
                try:
                    chain = CommandChain(self.runner)
                except SetupError as missing:
                    raise SetupError("no way to edit iptables here: %s, and %s" % (exc.message, missing.message),
                                     missing.hint)
                chain.instead_of = exc.message
                self._chain = chain
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
