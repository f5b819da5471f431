"""pyha firewall: the pure parts (rule set, INPUT edits, iptables-save merge, nft parsing)
and the commands against a fake chain and a fake firewall-cmd (no netfilter touched here;
tests/lab/test_firewall_lab.py does it for real in namespaces)."""

import json
import os
import re

import pytest

from pyha.config import HaCf, Haresources
from pyha.host import firewall as fw
from pyha.host.firewall import LiveRule, PortRule
from pyha.host.hostenv import RunResult, SetupError, as_tuple

# /etc/sysconfig/iptables as CentOS 6 installs it (system-config-firewall), the tutorial's start.
EL6_DEFAULT = """\
# Firewall configuration written by system-config-firewall
# Manual customization of this file is not recommended.
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -m state --state ESTABLISHED,RELATED -j ACCEPT
-A INPUT -p icmp -j ACCEPT
-A INPUT -i lo -j ACCEPT
-A INPUT -m state --state NEW -m tcp -p tcp --dport 22 -j ACCEPT
-A INPUT -j REJECT --reject-with icmp-host-prohibited
-A FORWARD -j REJECT --reject-with icmp-host-prohibited
COMMIT
"""

WITH_NAT = """\
*nat
:PREROUTING ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A POSTROUTING -o eth0 -j MASQUERADE
COMMIT
*filter
:INPUT DROP [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -i lo -j ACCEPT
COMMIT
"""

HACF = """\
# tutorial ha.cf
udpport 694
ucast eth1 10.0.0.1
ucast eth1 10.0.0.2
node ha1
node ha2
"""


def cluster(src=None):
    return PortRule("udp", 694, src, "cluster")


def http():
    return PortRule("tcp", 80, None, "service")


def live(rule):
    return LiveRule.from_port_rule(rule)


ESTABLISHED = LiveRule(None, None, None, None, "ACCEPT", extra=True)
SSH = LiveRule("tcp", None, "22", None, "ACCEPT")
REJECT = LiveRule(None, None, None, None, "REJECT")


# -- what to open ---------------------------------------------------------------------------

def test_parse_port_spec():
    assert fw.parse_port_spec("8080") == ("tcp", 8080)
    assert fw.parse_port_spec("5405/udp") == ("udp", 5405)
    assert fw.parse_port_spec(" 443/TCP ") == ("tcp", 443)
    for bad in ("0", "65536", "http", "80/sctp", "", "80/"):
        with pytest.raises(ValueError):
            fw.parse_port_spec(bad)


def test_plan_rules_tutorial_opens_694_and_80():
    cf = HaCf.parse(HACF)
    hares = Haresources.parse("ha1 10.168.0.160/24/eth0 nginx\n")
    rules, notes = fw.plan_rules(cf, hares)
    assert rules == [cluster(), http()]
    assert notes == []


def test_plan_rules_from_peers_uses_ucast_lines_that_are_not_ours():
    cf = HaCf.parse(HACF)
    rules, _ = fw.plan_rules(cf, Haresources.parse("ha1 nginx\n"), local_addrs=["10.0.0.1", "10.168.0.161"],
                             from_peers=True)
    assert rules == [cluster("10.0.0.2"), http()]


def test_plan_rules_from_peers_resolves_names_and_skips_unresolvable():
    cf = HaCf.parse("ucast eth1 ha2-hb\nucast eth1 nowhere\nnode a\nnode b\n")
    rules, notes = fw.plan_rules(cf, None, ["10.0.0.1"], True,
                                 resolve=lambda n: {"ha2-hb": "10.0.0.2"}.get(n))
    assert rules[0] == cluster("10.0.0.2")
    assert [d.code for d in notes] == ["fw-peer-unresolved", "fw-default-service"]
    assert notes[0].line == 2


def test_plan_rules_from_peers_without_ucast_is_refused():
    with pytest.raises(SetupError) as exc:
        fw.plan_rules(HaCf.parse("bcast eth1\nnode a\nnode b\n"), None, [], True)
    assert "ucast" in exc.value.message
    with pytest.raises(SetupError):
        fw.plan_rules(None, None, [], True)


def test_plan_rules_other_udpport_mcast_port_and_extra_ports():
    cf = HaCf.parse("udpport 5694\nbcast eth1\nmcast eth2 239.0.0.1 6694 1 0\nnode a\nnode b\n")
    hares = Haresources.parse("a 192.0.2.1 httpd postfix\n")
    rules, notes = fw.plan_rules(cf, hares, extra_ports=[("tcp", 443), ("tcp", 80)])
    assert [r.key for r in rules] == [("udp", 5694, None), ("udp", 6694, None), ("tcp", 80, None),
                                      ("tcp", 443, None)]
    assert [d.code for d in notes] == ["fw-unknown-service"]
    assert "postfix" in notes[0].message


def test_plan_rules_without_config_uses_tutorial_defaults():
    rules, notes = fw.plan_rules(None, None)
    assert rules == [cluster(), http()]
    assert [d.code for d in notes] == ["fw-default-service"]


def test_port_rule_save_line_matches_iptables_save():
    # the exact text iptables-legacy-save prints for the rule python-iptables inserts (lab-checked)
    assert cluster("198.51.100.2").save_line() == (
        '-A INPUT -s 198.51.100.2/32 -p udp -m udp --dport 694 -m comment --comment "pyha cluster" -j ACCEPT')
    assert http().save_line() == '-A INPUT -p tcp -m tcp --dport 80 -m comment --comment "pyha service" -j ACCEPT'


def test_is_pyha_comment():
    assert fw.is_pyha_comment("pyha") and fw.is_pyha_comment("pyha cluster")
    assert not fw.is_pyha_comment("pyhax") and not fw.is_pyha_comment(None) and not fw.is_pyha_comment("my pyha")


# -- INPUT edits --------------------------------------------------------------------------------

def test_plan_open_inserts_before_first_reject_and_is_idempotent():
    chain = [ESTABLISHED, SSH, REJECT]
    ops = fw.plan_open(chain, [cluster(), http()])
    assert [(o[0], o[1]) for o in ops] == [("insert", 2), ("insert", 3)]
    after = fw.apply_ops(chain, ops)
    assert after == [ESTABLISHED, SSH, live(cluster()), live(http()), REJECT]
    assert fw.plan_open(after, [cluster(), http()]) == []
    assert [s["state"] for s in fw.rule_states(after, [cluster(), http()])] == ["open", "open"]


def test_plan_open_appends_when_policy_drop_and_no_reject_rule():
    chain = [ESTABLISHED]
    after = fw.apply_ops(chain, fw.plan_open(chain, [cluster()]))
    assert after == [ESTABLISHED, live(cluster())]


def test_plan_open_moves_a_rule_stuck_after_a_reject():
    chain = [SSH, REJECT, live(cluster())]
    assert fw.rule_states(chain, [cluster()])[0]["state"] == "unreachable"
    ops = fw.plan_open(chain, [cluster()])
    after = fw.apply_ops(chain, ops)
    assert after == [SSH, live(cluster()), REJECT]


def test_plan_open_narrows_to_peers_removes_duplicates_keeps_other_ports():
    other = live(PortRule("tcp", 8080, None, "service"))
    chain = [live(cluster()), live(cluster("10.0.0.2")), live(cluster("10.0.0.2")), other, REJECT]
    after = fw.apply_ops(chain, fw.plan_open(chain, [cluster("10.0.0.2")]))
    assert after == [live(cluster("10.0.0.2")), other, REJECT]


def test_plan_open_never_touches_foreign_rules():
    foreign = LiveRule("udp", None, "694", "someone else", "ACCEPT")
    drop = LiveRule("udp", None, "694", None, "DROP")
    chain = [foreign, drop]
    after = fw.apply_ops(chain, fw.plan_open(chain, [cluster()]))
    assert after == [foreign, live(cluster()), drop]


def test_plan_close_removes_only_tagged_rules():
    foreign = LiveRule("tcp", None, "80", None, "ACCEPT")
    chain = [ESTABLISHED, live(cluster()), foreign, live(http()), LiveRule("tcp", None, "1", "pyha", "ACCEPT"), REJECT]
    ops = fw.plan_close(chain)
    assert [o[1] for o in ops] == [4, 3, 1]  # last first, so indices stay valid
    assert fw.apply_ops(chain, ops) == [ESTABLISHED, foreign, REJECT]
    assert fw.plan_close(fw.apply_ops(chain, ops)) == []


# -- the rules file -----------------------------------------------------------------------------

def test_merge_el6_default_file_keeps_everything_else():
    out = fw.merge_saved(EL6_DEFAULT, [cluster(), http()])
    lines = out.splitlines()
    old = EL6_DEFAULT.splitlines()
    reject = lines.index("-A INPUT -j REJECT --reject-with icmp-host-prohibited")
    assert lines[reject - 2:reject] == [cluster().save_line(), http().save_line()]
    assert [l for l in lines if "pyha" not in l] == old
    assert fw.merge_saved(out, [cluster(), http()]) == out  # idempotent
    assert fw.saved_pyha_rules(out) == [cluster().save_line(), http().save_line()]
    assert fw.remove_saved(out) == EL6_DEFAULT


def test_merge_keeps_other_tables_and_appends_after_last_input_rule():
    out = fw.merge_saved(WITH_NAT, [cluster()])
    assert out.startswith(WITH_NAT.split("*filter")[0])
    assert "-A INPUT -i lo -j ACCEPT\n" + cluster().save_line() + "\nCOMMIT\n" in out
    assert fw.remove_saved(out) == WITH_NAT


def test_merge_replaces_rules_for_the_same_port_and_moves_unreachable_ones():
    stale = EL6_DEFAULT.replace("COMMIT\n", cluster().save_line() + "\nCOMMIT\n")  # after FORWARD REJECT
    stale = stale.replace("-A INPUT -j REJECT", cluster("10.0.0.2").save_line() + "\n-A INPUT -j REJECT")
    out = fw.merge_saved(stale, [cluster("10.0.0.9")])
    assert fw.saved_pyha_rules(out) == [cluster("10.0.0.9").save_line()]


def test_merge_into_missing_or_empty_file_creates_a_filter_table():
    for text in (None, "", "# just a comment\n"):
        out = fw.merge_saved(text, [cluster()])
        assert "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n" in out
        assert out.rstrip().endswith(cluster().save_line() + "\nCOMMIT")
        assert fw.merge_saved(out, [cluster()]) == out
    assert fw.merge_saved("# just a comment\n", [cluster()]).startswith("# just a comment\n*filter")


def test_merge_keeps_a_missing_final_newline_and_odd_lines():
    text = EL6_DEFAULT.rstrip("\n")
    text = text.replace("-A INPUT -p icmp", '-A INPUT -m comment --comment "not \\"pyha\\"" -p icmp')
    out = fw.merge_saved(text, [cluster()])
    assert not out.endswith("\n")
    assert fw.remove_saved(out) == text


def test_remove_saved_none_and_untouched():
    assert fw.remove_saved(None) is None
    assert fw.remove_saved(EL6_DEFAULT) == EL6_DEFAULT


# -- nftables / variant -------------------------------------------------------------------------

NFT_DROP = """\
table inet filter {
	chain input {
		type filter hook input priority filter; policy drop;
		ct state established,related accept
		iif "lo" accept
	}
	chain forward {
		type filter hook forward priority filter; policy drop;
	}
}
table ip nat {
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "eth0" masquerade
	}
}
"""

NFT_REJECT_RULE = """\
table ip filter {
	chain INPUT {
		type filter hook input priority filter; policy accept;
		meta l4proto udp udp dport 694 counter packets 0 bytes 0 reject
	}
	chain OUTPUT {
		type filter hook output priority filter; policy accept;
	}
}
"""

NFT_HARMLESS = """\
table ip filter {
	chain INPUT {
		type filter hook input priority filter; policy accept;
		tcp dport 22 counter packets 3 bytes 180 accept
	}
	chain user_chain {
		drop
	}
}
"""


def test_nft_input_blockers():
    assert fw.nft_input_blockers(NFT_DROP) == ["inet filter input"]
    assert fw.nft_input_blockers(NFT_REJECT_RULE) == ["ip filter INPUT"]
    assert fw.nft_input_blockers(NFT_HARMLESS) == []
    assert fw.nft_input_blockers("") == []


def test_iptables_variant():
    assert fw.iptables_variant("iptables v1.8.9 (nf_tables)\n") == "nf_tables"
    assert fw.iptables_variant("iptables v1.8.4 (legacy)\n") == "legacy"
    assert fw.iptables_variant("iptables v1.4.7\n") == "legacy"  # EL6
    assert fw.iptables_variant("bash: iptables: command not found") is None


# -- the commands with fakes --------------------------------------------------------------------

class FakeChain(object):
    via = "python-iptables"

    def __init__(self, rules, policy="ACCEPT"):
        self.rules = list(rules)
        self.policy = policy
        self.commits = 0

    def read(self):
        return self.policy, list(self.rules)

    def edit(self, planner):
        ops = planner(list(self.rules))
        if ops:
            self.rules = fw.apply_ops(self.rules, ops)
            self.commits += 1
        return ops


class FakeFirewalld(object):
    """firewall-cmd: --state, --query/--add/--remove of port and rich-rule, --permanent."""

    def __init__(self, running=True, preexisting=()):
        self.running = running
        self.calls = []
        self.items = {"runtime": set(preexisting), "permanent": set()}

    def which(self, name):
        return "/usr/bin/" + name if name == "firewall-cmd" else None

    def run(self, argv, timeout=30.0, input=None):
        self.calls.append(list(argv))
        assert argv[0] == "firewall-cmd"
        if argv[1:] == ["--state"]:
            return RunResult(argv, 0 if self.running else 252, "running\n" if self.running else "not running\n")
        scope = "permanent" if "--permanent" in argv else "runtime"
        op, _, item = argv[-1][2:].partition("=")
        verb, kind = op.split("-", 1)
        entry = "%s=%s" % (kind, item)
        if verb == "query":
            return RunResult(argv, 0 if entry in self.items[scope] else 1, "yes\n" if entry in self.items[scope] else "no\n")
        if verb == "add":
            self.items[scope].add(entry)
        elif verb == "remove":
            self.items[scope].discard(entry)
        return RunResult(argv, 0, "success\n")


class FakeHost(fw.FirewallHost):
    def __init__(self, chain=None, runner=None, euid=0, local=("10.0.0.1",), variant="nf_tables", ruleset=""):
        super(FakeHost, self).__init__(runner=runner or FakeFirewalld(running=False), geteuid=lambda: euid)
        self._fake_chain = chain if chain is not None else FakeChain([ESTABLISHED, SSH, REJECT])
        self.local = list(local)
        self.variant = variant
        self.ruleset = ruleset

    def chain(self):
        return self._fake_chain

    def local_addresses(self):
        return self.local

    def resolve(self, name):
        return None

    def iptables_variant(self):
        return self.variant

    def nft_ruleset(self):
        return self.ruleset


@pytest.fixture
def etc(tmp_path):
    d = tmp_path / "etc" / "ha.d"
    d.mkdir(parents=True)
    (d / "ha.cf").write_text(HACF)
    (d / "haresources").write_text("ha1 10.168.0.160/24/eth0 nginx\n")
    (tmp_path / "etc" / "redhat-release").write_text("CentOS release 6.10 (Final)\n")
    return tmp_path


def test_open_twice_adds_nothing_and_persists(etc):
    sysconfig = etc / "etc" / "sysconfig"
    sysconfig.mkdir()
    (sysconfig / "iptables").write_text(EL6_DEFAULT)
    os.chmod(str(sysconfig / "iptables"), 0o600)
    host = FakeHost()
    r = fw.firewall_open(root=str(etc), from_peers=True, persist=True, host=host)
    assert r.ok and r.backend == "iptables"
    assert [s.status for s in r.steps] == ["done", "done", "done"]
    assert host.chain().rules[2:4] == [live(cluster("10.0.0.2")), live(http())]
    text = (sysconfig / "iptables").read_text()
    assert fw.saved_pyha_rules(text) == [cluster("10.0.0.2").save_line(), http().save_line()]
    assert oct(os.stat(str(sysconfig / "iptables")).st_mode & 0o777) == oct(0o600)
    assert [c.code for c in r.notes] == ["fw-nft-iptables"]

    again = fw.firewall_open(root=str(etc), from_peers=True, persist=True, host=host)
    assert [s.status for s in again.steps] == ["unchanged", "unchanged"]
    assert host.chain().commits == 1
    assert (sysconfig / "iptables").read_text() == text


def test_open_dry_run_changes_nothing(etc):
    host = FakeHost()
    before = list(host.chain().rules)
    r = fw.firewall_open(root=str(etc), persist=True, dry_run=True, host=host)
    assert [s.status for s in r.steps] == ["would", "would", "would"]
    assert host.chain().rules == before
    assert not (etc / "etc" / "sysconfig" / "iptables").exists()


def test_open_persist_on_debian_writes_rules_v4(tmp_path):
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "os-release").write_text('ID=debian\nVERSION_ID="12"\n')
    r = fw.firewall_open(root=str(tmp_path), persist=True, host=FakeHost())
    assert (tmp_path / "etc" / "iptables" / "rules.v4").exists()
    assert r.info["persist_file"].endswith("/etc/iptables/rules.v4")


def test_close_removes_only_pyha_rules_live_and_in_file(etc):
    foreign = LiveRule("tcp", None, "80", None, "ACCEPT")
    host = FakeHost(FakeChain([ESTABLISHED, foreign, REJECT]))
    fw.firewall_open(root=str(etc), persist=True, host=host)
    r = fw.firewall_close(root=str(etc), persist=True, host=host)
    assert [s.action for s in r.steps] == ["delete rule", "delete rule", "write rules file"]
    assert host.chain().rules == [ESTABLISHED, foreign, REJECT]
    assert fw.saved_pyha_rules((etc / "etc" / "sysconfig" / "iptables").read_text()) == []
    again = fw.firewall_close(root=str(etc), persist=True, host=host)
    assert [s.status for s in again.steps] == ["unchanged", "unchanged"]


def test_status_reports_states_and_nft_blockers(etc):
    host = FakeHost(FakeChain([SSH, REJECT, live(cluster())], policy="DROP"), ruleset=NFT_DROP)
    r = fw.firewall_status(root=str(etc), host=host)
    assert [(s["describe"], s["state"], s["number"]) for s in r.states] == [
        ("udp/694 from anywhere", "unreachable", 3), ("tcp/80 from anywhere", "missing", None)]
    assert r.info["policy"] == "DROP" and r.info["first_blocking_rule"] == 2
    assert r.info["nft_input_blockers"] == ["inet filter input"]
    assert {d.code for d in r.notes} == {"fw-nft-iptables", "fw-nft-blocks"}
    assert r.info["persist_file_rules"] is None
    json.dumps(r.to_dict())


@pytest.mark.parametrize("call", [
    lambda h, root: fw.firewall_open(root=root, host=h),
    lambda h, root: fw.firewall_close(root=root, host=h),
    lambda h, root: fw.firewall_status(root=root, host=h),
    lambda h, root: fw.firewall_open(root=root, host=h, dry_run=True),
])
def test_not_root_is_refused_before_anything(etc, call):
    host = FakeHost(euid=1000)
    with pytest.raises(SetupError) as exc:
        call(host, str(etc))
    assert "needs root" in exc.value.message and "uid 1000" in exc.value.message
    assert host.chain().commits == 0


def test_firewalld_open_close_only_what_pyha_added(etc):
    fwd = FakeFirewalld(preexisting={"port=80/tcp"})
    host = FakeHost(runner=fwd)
    r = fw.firewall_open(root=str(etc), from_peers=True, persist=True, host=host)
    assert r.backend == "firewalld"
    rich = 'rich-rule=rule family="ipv4" source address="10.0.0.2" port port="694" protocol="udp" accept'
    assert as_tuple(r.steps) == (
        ("firewalld runtime", rich, "done"), ("firewalld runtime", "port=80/tcp", "unchanged"),
        ("firewalld permanent", rich, "done"), ("firewalld permanent", "port=80/tcp", "done"))
    assert host.chain().commits == 0  # iptables untouched under firewalld
    again = fw.firewall_open(root=str(etc), from_peers=True, persist=True, host=host)
    assert {s.status for s in again.steps} == {"unchanged"}
    state = json.loads((etc / "var" / "lib" / "pyha" / "firewalld.json").read_text())
    assert state == {"permanent": [rich, "port=80/tcp"], "runtime": [rich]}
    closed = fw.firewall_close(root=str(etc), persist=True, host=host)
    assert [s.status for s in closed.steps] == ["done", "done", "done"]
    assert fwd.items == {"runtime": {"port=80/tcp"}, "permanent": set()}  # the operator's port stays


def test_firewalld_dry_run_adds_nothing(etc):
    fwd = FakeFirewalld()
    r = fw.firewall_open(root=str(etc), dry_run=True, host=FakeHost(runner=fwd))
    assert [s.status for s in r.steps] == ["would", "would"]
    assert fwd.items["runtime"] == set()
    assert not any(a for a in fwd.calls if any(x.startswith("--add") for x in a))


def test_iptc_import_failure_is_explained(monkeypatch):
    import builtins
    real_import = builtins.__import__

    def broken(name, *a, **kw):
        if name == "iptc":
            raise OSError("libxtables.so.12: cannot open shared object file")
        return real_import(name, *a, **kw)

    monkeypatch.setattr(builtins, "__import__", broken)
    with pytest.raises(SetupError) as exc:
        fw.IptcChain()
    assert "libxtables" in exc.value.message and "install iptables" in exc.value.hint


def test_iptc_errors_are_explained():
    e = fw._explain_iptc_error(Exception("can't initialize iptables table `filter': Table does not exist "
                                         "(do you need to insmod?)"))
    assert "legacy iptables" in e.message and "nft" in e.hint
    assert "run as root" in fw._explain_iptc_error(Exception("Permission denied (you must be root)")).hint


# -- the CLI (pyha firewall) --------------------------------------------------------------------

def cli(args):
    import typer
    from typer.testing import CliRunner

    from pyha.cli import hostsetup_cmd
    app = typer.Typer()
    app.callback()(lambda: None)
    hostsetup_cmd.register(app)
    return CliRunner(mix_stderr=False).invoke(app, args)


def test_cli_usage_errors_exit_2():
    assert cli(["firewall", "shut"]).exit_code == 2
    res = cli(["firewall", "open", "--port", "http"])
    assert res.exit_code == 2 and "--port 'http'" in res.stderr


def test_cli_not_root_exits_1_with_a_clear_message(monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    res = cli(["firewall", "status"])
    assert res.exit_code == 1
    assert "pyha firewall status needs root" in res.stderr and "hint:" in res.stderr


def test_cli_open_text_and_json(monkeypatch, etc):
    fake = FakeHost()
    monkeypatch.setattr(fw, "FirewallHost", lambda: fake)
    res = cli(["firewall", "open", "--root", str(etc), "--port", "8443", "--dry-run"])
    assert res.exit_code == 0, res.stderr
    assert "would     insert rule: INPUT #3 -A INPUT -p udp -m udp --dport 694" in res.stdout
    assert "--dport 8443" in res.stdout and "(dry run: nothing was changed)" in res.stdout
    res = cli(["firewall", "open", "--root", str(etc), "--json"])
    data = json.loads(res.stdout)
    assert res.exit_code == 0 and data["backend"] == "iptables" and data["ok"] is True
    assert [s["status"] for s in data["steps"]] == ["done", "done"]
    res = cli(["firewall", "status", "--root", str(etc)])
    assert re.search(r"udp/694 from anywhere +open \(rule #3\)", res.stdout), res.stdout


def test_a_tagged_rule_with_more_conditions_is_not_taken_for_ours():
    narrowed = LiveRule("udp", None, "694", "pyha cluster", "ACCEPT", extra=True)  # e.g. someone added -i eth1
    chain = [narrowed, REJECT]
    assert fw.rule_states(chain, [cluster()])[0]["state"] == "missing"
    assert fw.apply_ops(chain, fw.plan_open(chain, [cluster()])) == [narrowed, live(cluster()), REJECT]
    assert fw.plan_close(chain) == [("delete", 0, narrowed)]  # but close removes everything tagged
