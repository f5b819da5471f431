"""`pyha firewall open|close|status`: let heartbeat packets and the service through the firewall.

Step 5 of the reference tutorial (open udp/694 and tcp/80 in /etc/sysconfig/iptables and
restart iptables), done safely and repeatably: pyha's rules are tagged "pyha", `open`
twice adds nothing, `close` removes only what pyha added; python-iptables edits the INPUT
chain (where it does not import, e.g. from the RPM: the iptables-save/iptables-restore
commands, same rules) unless firewalld runs, then firewall-cmd does.

The package, one job a module (pure ones first):

| module | job |
| --- | --- |
| rules.py | the rule model: PortRule, LiveRule, pyha's tag |
| wanted.py | which rules ha.cf, haresources and --port want |
| edits.py | planning INPUT chain edits over data |
| saved.py | iptables-save text for --persist |
| nft.py | nftables facts and notes for the operator |
| backend.py | the backend interface and FirewallResult |
| iptables_backend.py | the INPUT chain (either way), the rules file, nft notes |
| iptc_chain.py | python-iptables: read the chain, commit edits |
| saveparse.py | iptables-save text as the INPUT chain model |
| command_chain.py | iptables-save/iptables-restore: read the chain, commit edits |
| firewalld_backend.py | firewall-cmd and the record of what pyha added |
| host.py | FirewallHost: what the commands ask of the machine |
| commands.py | open/close/status: shared steps, backend chosen once |

This file only re-exports the names callers use (`from pyha.host import firewall as fw`);
it must never hold logic.
"""

from pyha.host.firewall.backend import Backend, FirewallResult
from pyha.host.firewall.commands import choose_backend, firewall_close, firewall_open, firewall_status
from pyha.host.firewall.edits import apply_ops, first_blocking, plan_close, plan_open, rule_states
from pyha.host.firewall.firewalld_backend import FIREWALLD_STATE, FirewalldBackend
from pyha.host.firewall.host import FirewallHost, local_ipv4_addresses
from pyha.host.firewall.iptables_backend import DEBIAN_PERSIST_FILE, EL_PERSIST_FILE, IptablesBackend, persist_path
from pyha.host.firewall.iptc_chain import XTABLES_LOCK, IptcChain, _explain_iptc_error, xtables_lock  # noqa: F401
from pyha.host.firewall.nft import iptables_variant, legacy_warning_in_nft, nft_input_blockers, nft_notes
from pyha.host.firewall.rules import BLOCKING_TARGETS, CLUSTER_WHY, SERVICE_WHY, TAG, LiveRule, PortRule, is_pyha_comment
from pyha.host.firewall.saved import merge_saved, remove_saved, saved_pyha_rules
from pyha.host.firewall.wanted import (DEFAULT_SERVICE_PORTS, DEFAULT_UDPPORT, KNOWN_SERVICE_PORTS, cluster_ports,
                                       parse_port_spec, peer_addresses, plan_rules, service_ports)

__all__ = ["PortRule", "LiveRule", "FirewallHost", "FirewallResult", "IptcChain", "firewall_open", "firewall_close",
           "firewall_status", "plan_rules", "plan_open", "plan_close", "apply_ops", "rule_states", "merge_saved",
           "remove_saved", "saved_pyha_rules", "nft_input_blockers", "iptables_variant", "parse_port_spec",
           "is_pyha_comment", "persist_path"]
