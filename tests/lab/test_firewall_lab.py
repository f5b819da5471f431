"""`pyha firewall` against real netfilter, inside network namespaces.

Topology (all made here, names `pyhafw<pid>{n,c,x}`; leftovers of dead runs removed first):

    client  198.51.100.2 --veth-- 198.51.100.1  node  192.0.2.1 --veth-- 192.0.2.2  stranger

The node runs a UDP echo server on 694 and a TCP server on 80 (Python, started here and
stopped by PID), has INPUT policy DROP in its own legacy filter table, and an ha.cf whose
ucast line names the client as the peer.  `pyha firewall` runs inside the node namespace
(python-iptables acts on the netns of the process), through the real CLI.  Nothing is
done in the root namespace: its legacy filter table is compared before and after (only
read when it already exists).
"""

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time

import pytest

pytestmark = pytest.mark.lab

PID = os.getpid()
BASE = "pyhafw"
NODE, CLIENT, STRANGER = ["%s%d%s" % (BASE, PID, s) for s in ("n", "c", "x")]
NODE_IP, CLIENT_IP, NODE_IP2, STRANGER_IP = "198.51.100.1", "198.51.100.2", "192.0.2.1", "192.0.2.2"
_LEFTOVER = re.compile(r"^%s[a-z]*(\d+)[a-z]$" % BASE)

HACF = """\
# lab ha.cf: the client namespace plays the peer
keepalive 2
deadtime 30
udpport 694
ucast eth0 %s
ucast eth0 %s
node ha1
node ha2
""" % (NODE_IP, CLIENT_IP)

# the CLI as the lead will wire it: main.app plus hostsetup_cmd.register (done here if not yet)
CLI = textwrap.dedent("""
    import sys
    from pyha.cli import main, hostsetup_cmd
    if "firewall" not in [c.name for c in main.app.registered_commands]:
        hostsetup_cmd.register(main.app)
    sys.argv[0] = "pyha"
    main.main()
""")

UDP_ECHO = textwrap.dedent("""
    import socket
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", 694))
    while True:
        data, peer = s.recvfrom(2048)
        s.sendto(b"echo:" + data, peer)
""")

TCP_SERVER = textwrap.dedent("""
    import socket
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", 80))
    s.listen(8)
    while True:
        c, _ = s.accept()
        c.sendall(b"HA1\\n")
        c.close()
""")

PROBE = textwrap.dedent("""
    import socket, sys
    proto, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    try:
        if proto == "udp":
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.settimeout(0.7)
            s.sendto(b"ping", (host, port))
            ok = s.recvfrom(100)[0] == b"echo:ping"
        else:
            s = socket.create_connection((host, port), timeout=0.7)
            ok = s.recv(10) == b"HA1\\n"
    except (OSError, socket.timeout):
        ok = False
    print("open" if ok else "closed")
""")


def sh(*argv, **kw):
    kw.setdefault("timeout", 60)
    return subprocess.run(list(argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, **kw)


def env():
    e = dict(os.environ)
    e["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    return e


def in_ns(ns, *argv, **kw):
    return sh("ip", "netns", "exec", ns, *argv, env=env(), **kw)


def pyha(*args):
    """Run the pyha CLI inside the node namespace; returns the CompletedProcess."""
    return in_ns(NODE, sys.executable, "-c", CLI, *args)


def reach(src_ns, proto, host, port):
    out = in_ns(src_ns, sys.executable, "-c", PROBE, proto, host, str(port))
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def ipt(*args):
    out = in_ns(NODE, "iptables-legacy", *args)
    assert out.returncode == 0, out.stderr
    return out.stdout


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def cleanup_leftovers():
    """Namespaces of earlier runs whose pytest process is gone, and our own."""
    for line in sh("ip", "netns", "list").stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        m = _LEFTOVER.match(name)
        if m and (int(m.group(1)) == PID or not _pid_alive(int(m.group(1)))):
            sh("ip", "netns", "del", name)


def root_filter_table():
    """The root namespace's legacy filter table as `iptables-legacy -S` shows it, or None
    when it does not exist (then it is not read: reading would instantiate it)."""
    try:
        with open("/proc/net/ip_tables_names") as f:
            names = f.read().split()
    except OSError:
        return None
    return sh("iptables-legacy", "-S").stdout if "filter" in names else None


def must(*argv):
    out = sh(*argv)
    assert out.returncode == 0, "%s: %s" % (" ".join(argv), out.stderr)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    for tool in ("iptables-legacy", "iptables-legacy-save"):
        if sh("which", tool).returncode != 0:
            pytest.skip("%s is not installed" % tool)
    root_before = root_filter_table()
    cleanup_leftovers()
    procs = []
    try:
        for ns in (NODE, CLIENT, STRANGER):
            must("ip", "netns", "add", ns)
            must("ip", "-n", ns, "link", "set", "lo", "up")
        must("ip", "-n", NODE, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", CLIENT)
        must("ip", "-n", NODE, "link", "add", "eth1", "type", "veth", "peer", "name", "eth0", "netns", STRANGER)
        for ns, dev, addr in ((NODE, "eth0", NODE_IP), (CLIENT, "eth0", CLIENT_IP), (NODE, "eth1", NODE_IP2),
                              (STRANGER, "eth0", STRANGER_IP)):
            must("ip", "-n", ns, "addr", "add", addr + "/24", "dev", dev)
            must("ip", "-n", ns, "link", "set", dev, "up")
        probe = in_ns(NODE, sys.executable, "-c", "import iptc; iptc.Table(iptc.Table.FILTER)")
        if probe.returncode != 0:
            pytest.skip("python-iptables does not work here: %s" % probe.stderr.strip().splitlines()[-1:])
        for code in (UDP_ECHO, TCP_SERVER):
            procs.append(subprocess.Popen(["ip", "netns", "exec", NODE, sys.executable, "-c", code], env=env()))
        etc = tmp_path_factory.mktemp("fwroot")
        (etc / "etc" / "ha.d").mkdir(parents=True)
        (etc / "etc" / "ha.d" / "ha.cf").write_text(HACF)
        (etc / "etc" / "ha.d" / "haresources").write_text("ha1 198.51.100.160/24/eth0 nginx\n")
        (etc / "etc" / "redhat-release").write_text("CentOS release 6.10 (Final)\n")
        time.sleep(0.3)
        for p in procs:
            assert p.poll() is None, "a test server died at start"
        # the node's firewall: default DROP, loopback allowed (like a locked-down host)
        ipt("-P", "INPUT", "DROP")
        ipt("-A", "INPUT", "-i", "lo", "-j", "ACCEPT")
        yield str(etc)
    finally:
        for p in procs:
            if p.poll() is None:
                os.kill(p.pid, signal.SIGTERM)  # by PID: the server we started
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.kill(p.pid, signal.SIGKILL)
                p.wait(timeout=5)
        for ns in (NODE, CLIENT, STRANGER):
            sh("ip", "netns", "del", ns)
        left = [l for l in sh("ip", "netns", "list").stdout.splitlines() if l.startswith("%s%d" % (BASE, PID))]
        assert not left, "namespaces left behind: %s" % left
        assert root_filter_table() == root_before, "the root namespace's legacy filter table changed"


def pyha_rules():
    return [l for l in ipt("-S", "INPUT").splitlines() if '"pyha' in l]


def test_1_drop_policy_blocks_until_open(lab):
    assert reach(CLIENT, "udp", NODE_IP, 694) == "closed"
    assert reach(CLIENT, "tcp", NODE_IP, 80) == "closed"
    dry = pyha("firewall", "open", "--root", lab, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "would     insert rule" in dry.stdout and pyha_rules() == []

    res = pyha("firewall", "open", "--root", lab, "--json")
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["backend"] == "iptables" and data["info"]["policy"] == "DROP"
    assert [s["status"] for s in data["steps"]] == ["done", "done"]
    assert reach(CLIENT, "udp", NODE_IP, 694) == "open"
    assert reach(CLIENT, "tcp", NODE_IP, 80) == "open"
    assert reach(STRANGER, "udp", NODE_IP2, 694) == "open"  # not restricted without --from-peers
    assert pyha_rules() == [
        '-A INPUT -p udp -m udp --dport 694 -m comment --comment "pyha cluster" -j ACCEPT',
        '-A INPUT -p tcp -m tcp --dport 80 -m comment --comment "pyha service" -j ACCEPT']


def test_2_open_again_adds_nothing(lab):
    before = ipt("-S", "INPUT")
    res = pyha("firewall", "open", "--root", lab)
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines()[1].startswith("unchanged rules: INPUT already has pyha's rules")
    assert ipt("-S", "INPUT") == before


def test_3_from_peers_narrows_udp_to_the_peer(lab):
    res = pyha("firewall", "open", "--root", lab, "--from-peers")
    assert res.returncode == 0, res.stderr
    assert reach(CLIENT, "udp", NODE_IP, 694) == "open"
    assert reach(STRANGER, "udp", NODE_IP2, 694) == "closed"
    assert reach(STRANGER, "tcp", NODE_IP2, 80) == "open"
    assert pyha_rules() == [
        '-A INPUT -p tcp -m tcp --dport 80 -m comment --comment "pyha service" -j ACCEPT',
        '-A INPUT -s %s/32 -p udp -m udp --dport 694 -m comment --comment "pyha cluster" -j ACCEPT' % CLIENT_IP]
    status = json.loads(pyha("firewall", "status", "--root", lab, "--from-peers", "--json").stdout)
    assert [s["state"] for s in status["states"]] == ["open", "open"]


def test_4_close_removes_only_pyha_rules(lab):
    ipt("-A", "INPUT", "-p", "tcp", "--dport", "22", "-j", "ACCEPT")  # the operator's own rule
    res = pyha("firewall", "close", "--root", lab)
    assert res.returncode == 0, res.stderr
    assert pyha_rules() == []
    assert "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT" in ipt("-S", "INPUT")
    assert reach(CLIENT, "udp", NODE_IP, 694) == "closed"
    assert reach(CLIENT, "tcp", NODE_IP, 80) == "closed"
    again = pyha("firewall", "close", "--root", lab)
    assert again.returncode == 0 and "unchanged rules: INPUT has no pyha rule" in again.stdout


def test_5_inserts_before_reject_and_persists(lab):
    ipt("-A", "INPUT", "-j", "REJECT", "--reject-with", "icmp-host-prohibited")
    sysconfig = os.path.join(lab, "etc", "sysconfig")
    os.makedirs(sysconfig)
    saved = in_ns(NODE, "iptables-legacy-save").stdout
    with open(os.path.join(sysconfig, "iptables"), "w") as f:
        f.write(saved)
    res = pyha("firewall", "open", "--root", lab, "--persist")
    assert res.returncode == 0, res.stderr
    rules = ipt("-S", "INPUT").splitlines()
    reject = rules.index("-A INPUT -j REJECT --reject-with icmp-host-prohibited")
    assert rules[reject - 2:reject] == [
        '-A INPUT -p udp -m udp --dport 694 -m comment --comment "pyha cluster" -j ACCEPT',
        '-A INPUT -p tcp -m tcp --dport 80 -m comment --comment "pyha service" -j ACCEPT']
    assert reach(CLIENT, "udp", NODE_IP, 694) == "open" and reach(CLIENT, "tcp", NODE_IP, 80) == "open"
    # the merged file is what iptables-legacy-save now prints (modulo comments and counters)
    with open(os.path.join(sysconfig, "iptables")) as f:
        merged = f.read()
    now = in_ns(NODE, "iptables-legacy-save").stdout

    def norm(text):
        return [re.sub(r"\[\d+:\d+\]", "", l) for l in text.splitlines() if not l.startswith("#")]

    assert norm(merged) == norm(now)
    # and iptables-legacy-restore accepts it
    restore = in_ns(NODE, "iptables-legacy-restore", "--test", os.path.join(sysconfig, "iptables"))
    assert restore.returncode == 0, restore.stderr
    res = pyha("firewall", "close", "--root", lab, "--persist")
    assert res.returncode == 0
    with open(os.path.join(sysconfig, "iptables")) as f:
        assert f.read() == saved


def test_6_nft_facts(lab):
    """The node's `iptables` is iptables-nft here: it does not list pyha's (legacy) rules, and
    an nftables input chain that drops still drops what pyha opened (both hooks run)."""
    assert pyha("firewall", "open", "--root", lab).returncode == 0
    variant = in_ns(NODE, "iptables", "-V").stdout
    if "nf_tables" in variant:
        nft_view = in_ns(NODE, "iptables", "-S", "INPUT")
        assert "pyha" not in nft_view.stdout
        assert "iptables-legacy tables present" in nft_view.stdout + nft_view.stderr
    if sh("which", "nft").returncode != 0:
        pytest.skip("nft is not installed")
    ruleset = ("table inet pyhalab {\n chain input {\n  type filter hook input priority 10; policy accept;\n"
               "  udp dport 694 drop\n }\n}\n")
    load = in_ns(NODE, "nft", "-f", "-", input=ruleset)
    assert load.returncode == 0, load.stderr
    try:
        assert reach(CLIENT, "udp", NODE_IP, 694) == "closed"  # the legacy ACCEPT does not help
        assert reach(CLIENT, "tcp", NODE_IP, 80) == "open"
        status = pyha("firewall", "status", "--root", lab, "--json")
        data = json.loads(status.stdout)
        assert data["info"]["nft_input_blockers"] == ["inet pyhalab input"]
        assert "fw-nft-blocks" in [n["code"] for n in data["notes"]]
        text = pyha("firewall", "status", "--root", lab)
        assert "nftables input chain(s) inet pyhalab input drop or reject" in text.stderr
    finally:
        in_ns(NODE, "nft", "delete", "table", "inet", "pyhalab")
    assert reach(CLIENT, "udp", NODE_IP, 694) == "open"
    assert pyha("firewall", "close", "--root", lab).returncode == 0


def test_7_not_root_is_refused(lab):
    if sh("which", "setpriv").returncode != 0:
        pytest.skip("setpriv is not installed")
    nobody = ("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable)
    usable = in_ns(NODE, *(nobody + ("-c", "import pyha.cli.main")))
    if usable.returncode != 0:
        pytest.skip("this interpreter or checkout is not usable by uid 65534: %s" % usable.stderr.strip()[-200:])
    res = in_ns(NODE, *(nobody + ("-c", CLI, "firewall", "open", "--root", lab)))
    assert res.returncode == 1
    assert "pyha: error: pyha firewall open needs root (running as uid 65534)" in res.stderr
