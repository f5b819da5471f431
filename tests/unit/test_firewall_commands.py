"""pyha firewall without python-iptables: the INPUT chain read from iptables-save text, the
edits written as iptables-restore input, the fall-back from python-iptables to the
commands (and the hints when neither works), the notes that say which way pyha went.

The commands themselves are faked here by `FakeCommands`, a few lines that keep INPUT as
iptables-save lines and apply -D/-I/-A of a restore script; tests/lab/test_firewall_lab.py
runs the real iptables-save/iptables-restore in a namespace with a DROP policy."""

import builtins
import shlex

import pytest

from pyha.host import firewall as fw
from pyha.host.firewall import LiveRule, PortRule
from pyha.host.firewall.command_chain import CommandChain, restore_script
from pyha.host.firewall.iptables_backend import boot_loader_missing
from pyha.host.firewall.saveparse import input_chain, parse_rule
from pyha.host.hostenv import RunResult, SetupError
from test_firewall import EL6_DEFAULT, NFT_DROP, WITH_NAT, FakeChain, FakeHost, etc  # noqa: F401 (fixture)

CLUSTER = PortRule("udp", 694, None, "cluster")
PEER = PortRule("udp", 694, "198.51.100.2", "cluster")
HTTP = PortRule("tcp", 80, None, "service")


# -- reading iptables-save text ------------------------------------------------------------------

def test_el6_default_file_reads_like_python_iptables_reads_that_chain():
    policy, rules = input_chain(EL6_DEFAULT)
    assert policy == "ACCEPT"
    assert [(r.proto, r.dport, r.target, r.extra) for r in rules] == [
        (None, None, "ACCEPT", True),      # -m state --state ESTABLISHED,RELATED
        ("icmp", None, "ACCEPT", False),
        (None, None, "ACCEPT", True),      # -i lo
        ("tcp", "22", "ACCEPT", True),     # -m state --state NEW ... --dport 22
        (None, None, "REJECT", False)]     # --reject-with is the target's option, not a match
    assert fw.first_blocking(rules) == 4


def test_only_the_filter_tables_input_counts():
    assert input_chain(WITH_NAT) == ("DROP", [LiveRule(None, None, None, None, "ACCEPT", extra=True)])
    assert input_chain("") == ("ACCEPT", [])  # no filter table loaded yet: the kernel accepts
    assert input_chain("*filter\n:INPUT DROP [3:180]\nCOMMIT\n") == ("DROP", [])


def test_pyhas_own_lines_read_back_as_the_rules_pyha_wants():
    for rule in (CLUSTER, PEER, HTTP, PortRule("tcp", 8443, "192.0.2.9", "service")):
        assert parse_rule(rule.save_line()) == LiveRule.from_port_rule(rule)
        assert parse_rule(rule.save_line()).key() == rule.key


@pytest.mark.parametrize("line", [
    '-A INPUT -i eth1 -p udp -m udp --dport 694 -m comment --comment "pyha cluster" -j ACCEPT',
    '-A INPUT ! -s 198.51.100.2/32 -p udp -m udp --dport 694 -m comment --comment "pyha cluster" -j ACCEPT',
    '-A INPUT -p udp -m udp --sport 694 --dport 694 -m comment --comment "pyha cluster" -j ACCEPT',
    '-A INPUT -p udp -m set --match-set peers src -m udp --dport 694 -m comment --comment "pyha cluster" -j ACCEPT',
    '-A INPUT -d 192.0.2.1/32 -p udp -m udp --dport 694 -m comment --comment "pyha cluster" -j ACCEPT',
    '-A INPUT -p udp -m multiport --dports 694,695 -m comment --comment "pyha cluster" -j ACCEPT',
    '-A INPUT -p udp -m udp --dport 694 -m comment --comment "pyha cluster" -j LOG --log-prefix x',
    '-A INPUT -p udp -m udp --dport 694:700 -m comment --comment "pyha cluster" -j ACCEPT',
    '-A INPUT -p udp -m udp --dport 694 -m comment --comment "pyha cluster',  # unbalanced quote
])
def test_a_tagged_line_with_anything_more_is_not_a_plain_pyha_rule(line):
    assert parse_rule(line).key() is None


def test_targets_survive_options_without_arguments_and_negations():
    assert parse_rule("-A INPUT -f -j DROP").target == "DROP"
    assert parse_rule("-A INPUT ! -i lo -p tcp -m tcp --syn -j REJECT --reject-with tcp-reset").blocking
    assert parse_rule("-A INPUT -s 10.0.0.0/8 -j DROP").source == "10.0.0.0/8"
    assert parse_rule("-A INPUT -p all -s 0.0.0.0/0 -j ACCEPT") == LiveRule(None, None, None, None, "ACCEPT")


# -- the edits as iptables-restore input ------------------------------------------------------------

def test_restore_script_inserts_before_the_reject_and_appends_at_the_end():
    _, chain = input_chain(EL6_DEFAULT)
    assert restore_script(len(chain), fw.plan_open(chain, [CLUSTER, HTTP])) == (
        "*filter\n"
        '-I INPUT 5 -p udp -m udp --dport 694 -m comment --comment "pyha cluster" -j ACCEPT\n'
        '-I INPUT 6 -p tcp -m tcp --dport 80 -m comment --comment "pyha service" -j ACCEPT\n'
        "COMMIT\n")
    _, drop_policy = input_chain(WITH_NAT)  # no REJECT rule: pyha's rules go at the end
    assert restore_script(1, fw.plan_open(drop_policy, [PEER])).splitlines()[1] == (
        '-A INPUT -s 198.51.100.2/32 -p udp -m udp --dport 694 -m comment --comment "pyha cluster" -j ACCEPT')


def test_restore_script_deletes_last_first():
    chain = [LiveRule.from_port_rule(CLUSTER), LiveRule("tcp", None, "22", None, "ACCEPT"),
             LiveRule.from_port_rule(HTTP)]
    assert restore_script(3, fw.plan_close(chain)) == "*filter\n-D INPUT 3\n-D INPUT 1\nCOMMIT\n"


class FakeCommands(object):
    """iptables-save / iptables-restore over INPUT kept as save lines (a fake: the real
    commands run in tests/lab/test_firewall_lab.py).  `restore_help` is what
    `iptables-restore --help` prints (EL7's 1.4.21 has no --wait)."""

    def __init__(self, lines=(), policy="DROP", present=True, restore_help="Usage: iptables-restore [-c] [-w secs]\n"
                                                                              "[ --wait=<seconds>\n"):
        self.lines = list(lines)
        self.policy = policy
        self.present = present
        self.restore_help = restore_help
        self.calls = []
        self.fail_restore = None

    def which(self, name):
        return "/sbin/" + name if self.present and name in ("iptables-save", "iptables-restore") else None

    def save(self):
        return "*filter\n:INPUT %s [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n%sCOMMIT\n" % (
            self.policy, "".join(l + "\n" for l in self.lines))

    def run(self, argv, timeout=30.0, input=None):
        self.calls.append(list(argv))
        if argv[0] == "iptables-save":
            return RunResult(argv, 0, self.save())
        if argv == ["iptables-restore", "--help"]:
            return RunResult(argv, 0, self.restore_help)
        if argv[0] == "iptables-restore":
            assert "--noflush" in argv
            if self.fail_restore:
                return RunResult(argv, 1, "", self.fail_restore)
            for line in input.splitlines()[1:-1]:
                toks = shlex.split(line)
                if toks[0] == "-D":
                    del self.lines[int(toks[2]) - 1]
                elif toks[0] == "-I":
                    self.lines.insert(int(toks[2]) - 1, "-A INPUT " + line.split(None, 3)[3])
                else:
                    self.lines.append(line)
            return RunResult(argv, 0)
        if argv[:2] == ["iptables", "-V"]:
            return RunResult(argv, 0, "iptables v1.4.21\n")
        return RunResult(argv, 127, "", "%s: command not found" % argv[0])


def test_command_chain_open_twice_adds_nothing_and_close_removes_only_pyhas():
    cmds = FakeCommands(["-A INPUT -i lo -j ACCEPT", "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT"])
    chain = CommandChain(cmds)
    ops = chain.edit(lambda cur: fw.plan_open(cur, [CLUSTER, HTTP]))
    assert len(ops) == 2
    assert cmds.lines[2:] == [CLUSTER.save_line(), HTTP.save_line()]
    restores = [c for c in cmds.calls if c[0] == "iptables-restore" and "--help" not in c]
    assert restores == [["iptables-restore", "--noflush", "--wait", "10"]]
    assert chain.edit(lambda cur: fw.plan_open(cur, [CLUSTER, HTTP])) == []
    assert len([c for c in cmds.calls if c[0] == "iptables-restore" and "--help" not in c]) == 1
    chain.edit(fw.plan_close)
    assert cmds.lines == ["-A INPUT -i lo -j ACCEPT", "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT"]


def test_command_chain_without_wait_option_and_its_errors_are_explained():
    cmds = FakeCommands(restore_help="Usage: iptables-restore [-b] [-c] [-v] [-t] [-h]\n")  # EL6/EL7
    chain = CommandChain(cmds)
    chain.edit(lambda cur: fw.plan_open(cur, [CLUSTER]))
    assert ["iptables-restore", "--noflush"] in cmds.calls
    cmds.fail_restore = "iptables-restore: line 2 failed: Couldn't load match `comment':No such file or directory"
    with pytest.raises(SetupError) as exc:
        chain.edit(lambda cur: fw.plan_open(cur, [HTTP]))
    assert "comment match" in exc.value.message and "modprobe xt_comment" in exc.value.hint


# -- choosing python-iptables or the commands -------------------------------------------------------

def iptc_import_raises(monkeypatch, exc):
    """`import iptc` raises `exc` from here on (this test's monkeypatch)."""
    real_import = builtins.__import__

    def blocked(name, *a, **kw):
        if name == "iptc":
            raise exc
        return real_import(name, *a, **kw)

    monkeypatch.setattr(builtins, "__import__", blocked)


@pytest.fixture
def no_iptc(monkeypatch):
    """`import iptc` fails as on the installed RPM (no python-iptables in it)."""
    iptc_import_raises(monkeypatch, ImportError("No module named 'iptc'"))


def test_without_python_iptables_the_host_uses_the_commands(no_iptc):
    host = fw.FirewallHost(runner=FakeCommands(), geteuid=lambda: 0)
    chain = host.chain()
    assert isinstance(chain, CommandChain) and chain.via == "iptables-save/iptables-restore"
    assert "No module named 'iptc'" in chain.instead_of
    assert host.chain() is chain


def test_without_python_iptables_nor_the_commands_the_hint_is_true(no_iptc):
    host = fw.FirewallHost(runner=FakeCommands(present=False), geteuid=lambda: 0)
    with pytest.raises(SetupError) as exc:
        host.chain()
    assert "No module named 'iptc'" in exc.value.message and "iptables-save and iptables-restore not found" \
        in exc.value.message
    assert "yum install iptables" in exc.value.hint


def test_python_iptables_failing_to_load_its_libraries_also_falls_back(monkeypatch):
    iptc_import_raises(monkeypatch, OSError("libxtables.so.12: cannot open shared object file"))
    chain = fw.FirewallHost(runner=FakeCommands()).chain()
    assert isinstance(chain, CommandChain) and "libxtables" in chain.instead_of


class CommandsHost(FakeHost):
    """FakeHost whose chain is a CommandChain over FakeCommands, as when iptc is absent."""

    def __init__(self, cmds, **kw):
        super(CommandsHost, self).__init__(chain=FakeChain([]), **kw)
        self._fake_chain = CommandChain(cmds)
        self._fake_chain.instead_of = "python-iptables is not installed (No module named 'iptc')"


def test_open_status_close_through_the_commands(etc):
    sysconfig = etc / "etc" / "sysconfig"
    sysconfig.mkdir()
    (sysconfig / "iptables").write_text(EL6_DEFAULT)
    cmds = FakeCommands(["-A INPUT -i lo -j ACCEPT", "-A INPUT -j REJECT --reject-with icmp-host-prohibited"],
                        policy="ACCEPT")
    host = CommandsHost(cmds, variant="legacy")
    r = fw.firewall_open(root=str(etc), persist=True, host=host)
    assert r.ok and r.backend == "iptables" and r.info["iptables_via"] == "iptables-save/iptables-restore"
    assert [s.status for s in r.steps] == ["done", "done", "done"]
    assert cmds.lines == ["-A INPUT -i lo -j ACCEPT", CLUSTER.save_line(), HTTP.save_line(),
                          "-A INPUT -j REJECT --reject-with icmp-host-prohibited"]
    assert [n.code for n in r.notes] == ["fw-iptables-commands"]
    assert "No module named 'iptc'" in r.notes[0].message
    assert fw.saved_pyha_rules((sysconfig / "iptables").read_text()) == [CLUSTER.save_line(), HTTP.save_line()]
    again = fw.firewall_open(root=str(etc), persist=True, host=host)
    assert [s.status for s in again.steps] == ["unchanged", "unchanged"]
    status = fw.firewall_status(root=str(etc), host=host)
    assert [s["state"] for s in status.states] == ["open", "open"]
    assert [s["number"] for s in status.states] == [2, 3]
    closed = fw.firewall_close(root=str(etc), persist=True, host=host)
    assert closed.ok and cmds.lines == ["-A INPUT -i lo -j ACCEPT",
                                        "-A INPUT -j REJECT --reject-with icmp-host-prohibited"]


def test_close_reports_rules_that_did_not_go(etc):
    class Stubborn(FakeChain):
        def edit(self, planner):
            return planner(list(self.rules))  # says it deleted, deletes nothing

    host = FakeHost(Stubborn([LiveRule.from_port_rule(CLUSTER)]))
    r = fw.firewall_close(root=str(etc), host=host)
    assert not r.ok and r.steps[-1].action == "verify" and "udp/694" in r.steps[-1].target


def test_cli_head_names_the_commands(monkeypatch, etc):
    from test_firewall import cli
    fake = CommandsHost(FakeCommands(), variant="legacy")
    monkeypatch.setattr(fw, "FirewallHost", lambda: fake)
    res = cli(["firewall", "status", "--root", str(etc)])
    assert res.exit_code == 0, res.stderr
    assert res.stdout.splitlines()[0] == ("backend: iptables (iptables-save/iptables-restore commands, legacy); "
                                          "INPUT policy DROP")
    assert "No module named 'iptc'): pyha uses the iptables-save/iptables-restore commands" in res.stdout


# -- notes that are true for the way pyha went --------------------------------------------------------

def test_nft_notes_when_the_commands_are_iptables_nft():
    ruleset = NFT_DROP + "table ip filter {\n\tchain INPUT {\n\t\ttype filter hook input priority filter; policy drop;\n" \
                         "\t}\n}\n"
    info, notes = fw.nft_notes("nf_tables", ruleset, legacy_library=False)
    # pyha's rules are in ip filter INPUT then: not a blocker, and no "iptables does not list them"
    assert info["nft_input_blockers"] == ["inet filter input"]
    assert [d.code for d in notes] == ["fw-nft-blocks"]
    info, notes = fw.nft_notes("nf_tables", ruleset)  # python-iptables: legacy tables
    assert info["nft_input_blockers"] == ["inet filter input", "ip filter INPUT"]
    assert [d.code for d in notes] == ["fw-nft-iptables", "fw-nft-blocks"]


@pytest.mark.parametrize("release,present,hint", [
    (("redhat-release", "CentOS Linux release 7.9.2009 (Core)\n"), None, "yum install iptables-services"),
    (("redhat-release", "CentOS Linux release 7.9.2009 (Core)\n"), "usr/lib/systemd/system/iptables.service", None),
    (("redhat-release", "CentOS release 6.10 (Final)\n"), None, None),  # EL6's iptables package restores it
    (("os-release", 'ID=debian\nVERSION_ID="12"\n'), None, "apt-get install iptables-persistent"),
    (("os-release", 'ID=debian\nVERSION_ID="12"\n'), "usr/sbin/netfilter-persistent", None),
])
def test_persist_says_when_nothing_restores_the_file_at_boot(tmp_path, release, present, hint):
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / release[0]).write_text(release[1])
    if present:
        (tmp_path / present).parent.mkdir(parents=True)
        (tmp_path / present).write_text("")
    found = boot_loader_missing(str(tmp_path))
    assert (found is None) if hint is None else (hint in found)
    r = fw.firewall_open(root=str(tmp_path), persist=True, host=FakeHost(variant="legacy"))
    assert ("fw-no-boot-loader" in [n.code for n in r.notes]) == (hint is not None)
