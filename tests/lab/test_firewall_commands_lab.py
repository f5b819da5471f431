"""`pyha firewall` as the EL7 RPM runs it: without python-iptables, through the iptables
commands, against real netfilter in a namespace whose INPUT policy is DROP.

How "as the RPM runs it": the EL7 RPM is built (packaging/rpm/build.sh, offline) and
installed into a scratch root; its /usr/bin/pyha runs on CPython 3.6 started with -S -s,
so nothing but the RPM's own files is importable: no python-iptables (the RPM does not
ship it), nothing from any site-packages.  The iptables commands are EL's: on EL6/EL7
`iptables`, `iptables-save` and `iptables-restore` are legacy x_tables; this Debian host's
plain names are iptables-nft, so the RPM's pyha runs with a PATH whose first directory
holds those three names linked to xtables-legacy-multi (the legacy x_tables code EL's
iptables is, which dispatches on its name).

Topology (names `pyhafc<pid>{n,c}`, leftovers of dead runs removed first):
client 198.51.100.2 --veth-- 198.51.100.1 node; the node runs a UDP echo on 694 and a
TCP server on 80 (started here, stopped by PID).  The same namespace then shows that
python-iptables (the test interpreter's, from the checkout) and the commands write the
same rules, byte for byte in iptables-save's output, and each finds the other's rules
already there.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest

from test_firewall_lab import CLI, PROBE, TCP_SERVER, UDP_ECHO, _pid_alive, must, root_filter_table, sh

pytestmark = [pytest.mark.lab, pytest.mark.slow]

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PID = os.getpid()
BASE = "pyhafc"
NODE, CLIENT = ["%s%d%s" % (BASE, PID, s) for s in ("n", "c")]
NODE_IP, CLIENT_IP = "198.51.100.1", "198.51.100.2"
_LEFTOVER = re.compile(r"^%s(\d+)[a-z]$" % BASE)
LEGACY_MULTI = "/usr/sbin/xtables-legacy-multi"
LIB = "/usr/share/pyha/lib"

HACF = "keepalive 2\ndeadtime 30\nudpport 694\nucast eth0 %s\nucast eth0 %s\nnode ha1\nnode ha2\n" % (
    NODE_IP, CLIENT_IP)
EXPECTED = [
    '-A INPUT -i lo -j ACCEPT',
    '-A INPUT -p udp -m udp --dport 694 -m comment --comment "pyha cluster" -j ACCEPT',
    '-A INPUT -p tcp -m tcp --dport 80 -m comment --comment "pyha service" -j ACCEPT']


def python36():
    for p in (os.environ.get("PYHA_PY36"), "/var/tmp/pyha-venvs/py36/bin/python",
              os.path.expanduser("~/.pyenv/versions/3.6.15/bin/python")):
        if p and os.path.exists(p):
            r = sh(p, "-c", "import sys; print(sys.version_info[:2] == (3, 6))", timeout=20)
            if r.stdout.strip() == "True":
                return p
    return None


def in_node(*argv, **kw):
    return sh("ip", "netns", "exec", NODE, *argv, **kw)


def legacy(*args):
    out = in_node("iptables-legacy", *args)
    assert out.returncode == 0, out.stderr
    return out.stdout


def input_lines():
    """INPUT's rules as iptables-legacy-save prints them."""
    out = in_node("iptables-legacy-save", "-t", "filter")
    assert out.returncode == 0, out.stderr
    return [l for l in out.stdout.splitlines() if l.startswith("-A INPUT ")]


def reach(proto, port):
    out = sh("ip", "netns", "exec", CLIENT, sys.executable, "-c", PROBE, proto, NODE_IP, str(port))
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def cleanup_leftovers():
    for line in sh("ip", "netns", "list").stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        m = _LEFTOVER.match(name)
        if m and (int(m.group(1)) == PID or not _pid_alive(int(m.group(1)))):
            sh("ip", "netns", "del", name)


@pytest.fixture(scope="module")
def rpm_pyha(tmp_path_factory):
    """argv and env that run the EL7 RPM's /usr/bin/pyha (scratch-installed) on 3.6 -S."""
    py36 = python36()
    if py36 is None:
        pytest.skip("no CPython 3.6 here (set PYHA_PY36)")
    for tool in ("rpmbuild", "rpm"):
        if shutil.which(tool) is None:
            pytest.skip("%s is not installed" % tool)
    if not os.path.exists(LEGACY_MULTI):
        pytest.skip("%s (legacy x_tables iptables) is not installed" % LEGACY_MULTI)
    build = os.path.join(TOP, "packaging", "rpm", "build.sh")
    prep = sh(build, "--prepare", timeout=300)
    if prep.returncode != 0:
        pytest.skip("bundled wheels unavailable and not downloadable: %s" % prep.stderr.strip()[-300:])
    out = str(tmp_path_factory.mktemp("rpm"))
    r = sh(build, "--el", "7", "--offline", "--outdir", out, timeout=300)
    assert r.returncode == 0, r.stderr
    rpm = [p for p in r.stdout.split() if re.match(r"pyha-\d[^-]*-[^-]+\.el7\.noarch\.rpm$", os.path.basename(p))]
    assert len(rpm) == 1, r.stdout
    root = str(tmp_path_factory.mktemp("rpmroot"))
    assert sh("rpm", "--root", root, "--dbpath", "/var/lib/rpm", "--initdb").returncode == 0
    r = sh("rpm", "--root", root, "--dbpath", "/var/lib/rpm", "-i", "--nodeps", "--noscripts", rpm[0])
    assert r.returncode == 0, r.stderr
    launcher = root + "/usr/bin/pyha"
    with open(launcher) as f:
        text = f.read()
    with open(launcher, "w") as f:
        f.write(text.replace('"%s"' % LIB, '"%s"' % (root + LIB)))
    # EL's iptables command names, as legacy x_tables (see the module docstring)
    eldir = str(tmp_path_factory.mktemp("el-iptables"))
    for name in ("iptables", "iptables-save", "iptables-restore"):
        os.symlink(LEGACY_MULTI, os.path.join(eldir, name))
    env = {"PATH": eldir + ":/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
    check = sh(py36, "-S", "-s", "-c", "import iptc", env=env)
    assert check.returncode != 0, "python-iptables must not be importable for this test"
    return [py36, "-S", "-s", launcher], env


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    root_before = root_filter_table()
    cleanup_leftovers()
    procs = []
    try:
        for ns in (NODE, CLIENT):
            must("ip", "netns", "add", ns)
            must("ip", "-n", ns, "link", "set", "lo", "up")
        must("ip", "-n", NODE, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", CLIENT)
        for ns, addr in ((NODE, NODE_IP), (CLIENT, CLIENT_IP)):
            must("ip", "-n", ns, "addr", "add", addr + "/24", "dev", "eth0")
            must("ip", "-n", ns, "link", "set", "eth0", "up")
        for code in (UDP_ECHO, TCP_SERVER):
            procs.append(subprocess.Popen(["ip", "netns", "exec", NODE, sys.executable, "-c", code]))
        etc = tmp_path_factory.mktemp("fwroot")
        (etc / "etc" / "ha.d").mkdir(parents=True)
        (etc / "etc" / "ha.d" / "ha.cf").write_text(HACF)
        (etc / "etc" / "ha.d" / "haresources").write_text("ha1 198.51.100.160/24/eth0 nginx\n")
        (etc / "etc" / "redhat-release").write_text("CentOS Linux release 7.9.2009 (Core)\n")
        (etc / "etc" / "sysconfig").mkdir()
        # iptables-services' unit, as on an EL7 node that uses the iptables service
        (etc / "usr" / "lib" / "systemd" / "system").mkdir(parents=True)
        (etc / "usr" / "lib" / "systemd" / "system" / "iptables.service").write_text("")
        legacy("-P", "INPUT", "DROP")
        legacy("-A", "INPUT", "-i", "lo", "-j", "ACCEPT")
        # the boot-time file as `service iptables save` leaves it: the node's rules
        (etc / "etc" / "sysconfig" / "iptables").write_text(in_node("iptables-legacy-save").stdout)
        deadline = time.monotonic() + 10
        while reach("tcp", 80) != "closed" or "LISTEN" not in in_node("ss", "-ltn", "sport = :80").stdout:
            assert time.monotonic() < deadline, "the TCP server did not start"
            time.sleep(0.1)
        for p in procs:
            assert p.poll() is None, "a test server died at start"
        yield str(etc)
    finally:
        for p in procs:
            if p.poll() is None:
                os.kill(p.pid, signal.SIGTERM)  # by PID: the servers we started
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.kill(p.pid, signal.SIGKILL)
                p.wait(timeout=5)
        for ns in (NODE, CLIENT):
            sh("ip", "netns", "del", ns)
        left = [l for l in sh("ip", "netns", "list").stdout.splitlines() if l.startswith("%s%d" % (BASE, PID))]
        assert not left, "namespaces left behind: %s" % left
        assert root_filter_table() == root_before, "the root namespace's legacy filter table changed"


def norm(text):
    """iptables-save text without its comments and counters."""
    return [re.sub(r"\[\d+:\d+\]", "", l) for l in text.splitlines() if not l.startswith("#")]


def rpm_run(rpm_pyha, *args):
    argv, env = rpm_pyha
    return in_node(*(argv + list(args)), env=env)


def test_rpm_pyha_without_python_iptables_opens_a_drop_policy_node(rpm_pyha, node):
    assert reach("udp", 694) == "closed" and reach("tcp", 80) == "closed"
    res = rpm_run(rpm_pyha, "firewall", "open", "--root", node, "--persist", "--json")
    assert res.returncode == 0, res.stdout + res.stderr
    data = json.loads(res.stdout)
    assert data["backend"] == "iptables" and data["info"]["iptables_via"] == "iptables-save/iptables-restore"
    assert data["info"]["policy"] == "DROP" and data["info"]["iptables_command"] == "legacy"
    assert [s["status"] for s in data["steps"]] == ["done", "done", "done"]
    assert [n["code"] for n in data["notes"]] == ["fw-iptables-commands"]
    assert "No module named 'iptc'" in data["notes"][0]["message"]
    # real traffic from the client namespace
    assert reach("udp", 694) == "open" and reach("tcp", 80) == "open"
    assert input_lines() == EXPECTED
    # persistence: the file iptables-services restores at boot (here under the test's root)
    path = os.path.join(node, "etc", "sysconfig", "iptables")
    assert data["info"]["persist_file"] == path
    with open(path) as f:
        saved = f.read()
    assert norm(saved) == norm(in_node("iptables-legacy-save").stdout)  # what boot restores = what runs
    assert [l for l in saved.splitlines() if l.startswith("-A INPUT")] == EXPECTED
    check = in_node("iptables-legacy-restore", "--test", path)
    assert check.returncode == 0, check.stderr


def test_rpm_pyha_second_run_changes_nothing_and_status_is_right(rpm_pyha, node):
    before = input_lines()
    path = os.path.join(node, "etc", "sysconfig", "iptables")
    saved = open(path).read()
    res = rpm_run(rpm_pyha, "firewall", "open", "--root", node, "--persist")
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.splitlines()[0] == ("backend: iptables (iptables-save/iptables-restore commands, legacy); "
                                          "INPUT policy DROP")
    assert "unchanged rules: INPUT already has pyha's rules" in res.stdout
    assert input_lines() == before and open(path).read() == saved
    status = rpm_run(rpm_pyha, "firewall", "status", "--root", node, "--json")
    assert status.returncode == 0, status.stderr
    data = json.loads(status.stdout)
    assert [(s["describe"], s["state"], s["number"]) for s in data["states"]] == [
        ("udp/694 from anywhere", "open", 2), ("tcp/80 from anywhere", "open", 3)]
    assert data["info"]["persist_file_rules"] == EXPECTED[1:]
    text = rpm_run(rpm_pyha, "firewall", "status", "--root", node)
    assert re.search(r"udp/694 from anywhere +open \(rule #2\)", text.stdout), text.stdout


def test_rpm_pyha_close_restores_the_drop(rpm_pyha, node):
    res = rpm_run(rpm_pyha, "firewall", "close", "--root", node, "--persist")
    assert res.returncode == 0, res.stdout + res.stderr
    assert input_lines() == EXPECTED[:1]
    assert reach("udp", 694) == "closed" and reach("tcp", 80) == "closed"
    with open(os.path.join(node, "etc", "sysconfig", "iptables")) as f:
        assert norm(f.read()) == norm(in_node("iptables-legacy-save").stdout)


def test_python_iptables_and_the_commands_write_identical_rules(rpm_pyha, node):
    """Same namespace: open with python-iptables (the checkout on the test interpreter),
    then with the RPM's commands; iptables-legacy-save shows the same lines, and each
    backend finds the other's rules already in place."""
    probe = in_node(sys.executable, "-c", "import iptc; iptc.Table(iptc.Table.FILTER)")
    if probe.returncode != 0:
        pytest.skip("python-iptables does not work here: %s" % probe.stderr.strip().splitlines()[-1:])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))

    def via_iptc(*args):
        return in_node(sys.executable, "-c", CLI, *args, env=env)

    res = via_iptc("firewall", "open", "--root", node, "--json")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["info"]["iptables_via"] == "python-iptables"
    by_iptc = input_lines()
    assert by_iptc == EXPECTED
    again = rpm_run(rpm_pyha, "firewall", "open", "--root", node)
    assert again.returncode == 0 and "unchanged rules: INPUT already has pyha's rules" in again.stdout, again.stdout
    assert rpm_run(rpm_pyha, "firewall", "close", "--root", node).returncode == 0
    assert input_lines() == EXPECTED[:1]

    res = rpm_run(rpm_pyha, "firewall", "open", "--root", node)
    assert res.returncode == 0, res.stderr
    assert input_lines() == by_iptc
    again = via_iptc("firewall", "open", "--root", node)
    assert again.returncode == 0 and "unchanged rules: INPUT already has pyha's rules" in again.stdout, again.stdout
    assert via_iptc("firewall", "close", "--root", node).returncode == 0
    assert input_lines() == EXPECTED[:1]
