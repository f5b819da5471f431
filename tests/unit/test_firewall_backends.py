"""The seams of the pyha.host.firewall package: each command picks its backend once
(firewalld when it runs, else python-iptables) and both backends stand behind the same
`Backend` interface; the nftables notes are a pure function of what the host said."""

import pytest

from pyha.host import firewall as fw
from pyha.host.firewall.backend import Backend
from test_firewall import EL6_DEFAULT, NFT_DROP, FakeFirewalld, FakeHost


class CountingHost(FakeHost):
    def __init__(self, running):
        super(CountingHost, self).__init__(runner=FakeFirewalld(running=running))
        self.asked = 0

    def firewalld_running(self):
        self.asked += 1
        return super(CountingHost, self).firewalld_running()


@pytest.mark.parametrize("running,backend", [(False, "iptables"), (True, "firewalld")])
@pytest.mark.parametrize("call", [
    lambda h, root: fw.firewall_open(root=root, host=h, persist=True),
    lambda h, root: fw.firewall_close(root=root, host=h, persist=True),
    lambda h, root: fw.firewall_status(root=root, host=h),
])
def test_each_command_asks_for_firewalld_once_and_reports_that_backend(tmp_path, running, backend, call):
    (tmp_path / "etc" / "sysconfig").mkdir(parents=True)
    (tmp_path / "etc" / "sysconfig" / "iptables").write_text(EL6_DEFAULT)
    host = CountingHost(running)
    result = call(host, str(tmp_path))
    assert host.asked == 1
    assert result.backend == backend and result.ok


def test_choose_backend_and_both_implement_the_whole_interface(tmp_path):
    iptables = fw.choose_backend(FakeHost(runner=FakeFirewalld(running=False)), str(tmp_path))
    firewalld = fw.choose_backend(FakeHost(runner=FakeFirewalld(running=True)), str(tmp_path))
    assert (type(iptables), type(firewalld)) == (fw.IptablesBackend, fw.FirewalldBackend)
    for b in (iptables, firewalld):
        assert isinstance(b, Backend) and b.root == str(tmp_path)
        for method in ("open", "close", "status"):
            assert getattr(type(b), method) is not getattr(Backend, method), (b.name, method)
    with pytest.raises(NotImplementedError):
        Backend(None, "/").status(fw.FirewallResult("status", "none"), [])


def test_nft_notes_from_the_variant_and_the_ruleset():
    info, notes = fw.nft_notes("nf_tables", NFT_DROP)
    assert info == {"iptables_command": "nf_tables", "nft_input_blockers": ["inet filter input"]}
    assert [(d.code, d.severity) for d in notes] == [("fw-nft-iptables", "info"), ("fw-nft-blocks", "warning")]
    assert "inet filter input" in notes[1].message
    assert fw.nft_notes("legacy", None) == ({"iptables_command": "legacy", "nft_input_blockers": []}, [])
    assert fw.nft_notes(None, "") == ({"iptables_command": None, "nft_input_blockers": []}, [])
