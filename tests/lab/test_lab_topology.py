"""The reference topology in namespaces: names, addresses, reachability, isolation of each
node (files, processes, reboot), link and power faults, and a tear-down that leaves nothing.

One lab per module (conftest `lab` fixture); tests that change it put it back.  Tests that
need their own lab (tear-down from another process, crash clean-up) build a small one.
"""

import os
import subprocess
import sys
import time

import pytest

from pyha.lab import Lab, LabError, SpecError, cleanup_leftovers, owns_netns, profile, reference_spec
from pyha.lab import netns as nsu
from pyha.lab.node import REBOOT_LOG, SBIN_DIRS, SHADOWED
from pyha.lab.spec import HOST, InterfaceSpec, LabSpec, MemberSpec, NetworkSpec

LAB_TAG = "t"
lab_test = pytest.mark.lab


def ping(member, address, wait=0.5):
    """True when `address` answers one echo request from inside `member` within `wait` s."""
    proc = member.exec(["ping", "-n", "-q", "-c", "1", "-W", str(wait), address], timeout=wait + 5)
    return proc.returncode == 0


def answers_soon(member, address, within=5.0):
    """True when `address` answers within `within` seconds (links just came back)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if ping(member, address, wait=0.5):
            return True
    return False


# -- description (pure) ------------------------------------------------------------------


def test_reference_spec_matches_the_scenario():
    spec = reference_spec()
    assert [m.name for m in spec.members] == ["HA1", "HA2", "gw", "client"]
    ha2 = spec.member("HA2")
    assert [(i.name, i.address) for i in ha2.interfaces] == [("eth0", "192.0.2.162"), ("eth1", "198.51.100.2")]
    assert ha2.gateway == "192.0.2.1"
    assert spec.member("gw").kind == HOST
    assert [m.name for m in profile("one-node").nodes] == ["HA1"]
    three = reference_spec(nodes=("alpha", "beta", "gamma"), heartbeat_cidr=None, client_host=None)
    assert [i.address for m in three.nodes for i in m.interfaces] == ["192.0.2.161", "192.0.2.162", "192.0.2.163"]
    assert LabSpec.from_dict(spec.to_dict()).to_dict() == spec.to_dict()


def test_spec_validation_names_every_problem():
    nets = [NetworkSpec("public", "192.0.2.0/24")]
    bad = LabSpec(nets, [
        MemberSpec("HA1", "node", [InterfaceSpec("eth0", "public", "192.0.2.161")], gateway="10.0.0.1"),
        MemberSpec("ha1", "node", [InterfaceSpec("eth0", "public", "192.0.2.161"),
                                   InterfaceSpec("eth1", "nowhere", "198.51.100.1")]),
        MemberSpec("sw", "box", [], hostname="ha.example.org"),
    ])
    with pytest.raises(SpecError) as info:
        bad.validate()
    text = str(info.value)
    for needle in ("gateway 10.0.0.1", "unique ignoring case", "already used", "unknown network",
                   "reserved", "kind must be", "without dots"):
        assert needle in text


def test_prefix_ownership_is_exact():
    assert owns_netns("pyhat1", "pyhat1-sw")
    assert not owns_netns("pyhat1", "pyhat12-sw")
    assert not owns_netns("pyhat1", "pyha-ha1")
    with pytest.raises(LabError):
        Lab("notpyha")


# -- the built topology ----------------------------------------------------------------------


@lab_test
def test_nodes_have_their_hostnames(lab):
    assert lab.node("HA1").exec(["uname", "-n"], check=True).stdout.strip() == "HA1"
    assert lab.node("HA2").exec(["uname", "-n"], check=True).stdout.strip() == "HA2"


@lab_test
def test_interfaces_and_addresses(lab):
    for name, public, hb in (("HA1", "192.0.2.161", "198.51.100.1"), ("HA2", "192.0.2.162", "198.51.100.2")):
        node = lab.node(name)
        # A fresh sysfs inside the node's netns: only its own interfaces.
        assert sorted(node.exec(["ls", "/sys/class/net"], check=True).stdout.split()) == ["eth0", "eth1", "lo"]
        assert node.addresses("eth0") == [public + "/24"]
        assert node.addresses("eth1") == [hb + "/24"]
        shown = node.exec(["ip", "-o", "-4", "addr", "show", "dev", "eth0"], check=True).stdout
        assert "brd 192.0.2.255" in shown
        routes = node.exec(["ip", "route", "show", "default"], check=True).stdout
        assert "default via 192.0.2.1 dev eth0" in routes
    assert lab.node("client").addresses() == ["192.0.2.8/24"]
    assert lab.node("gw").addresses() == ["192.0.2.1/24"]


@lab_test
def test_reachability(lab):
    ha1 = lab.node("HA1")
    assert answers_soon(ha1, "198.51.100.2")
    assert answers_soon(ha1, "192.0.2.162")
    assert answers_soon(ha1, "192.0.2.1")
    assert answers_soon(lab.node("client"), "192.0.2.161")


@lab_test
def test_nothing_in_the_root_namespace(lab):
    host_links = nsu.run(["ip", "-o", "link", "show"]).stdout
    for word in ("ha1-eth0", "ha2-eth1", "br-public", "br-heartbeat"):
        assert word not in host_links
    mine = sorted(n for n in nsu.list_netns() if owns_netns(lab.prefix, n))
    assert mine == sorted(lab.all_netns())


@lab_test
def test_private_state_dirs(lab):
    ha1, ha2 = lab.node("HA1"), lab.node("HA2")
    probe = "/etc/ha.d/pyha-lab-probe-%d" % os.getpid()
    ha1.sh("echo from-HA1 > %s" % probe, check=True)
    assert ha1.exec(["cat", probe], check=True).stdout.strip() == "from-HA1"
    assert ha2.exec(["test", "-e", probe]).returncode != 0
    assert not os.path.exists(probe)
    with open(ha1.host_path(probe)) as f:
        assert f.read().strip() == "from-HA1"
    # heartbeat's state dir keeps its owners; /run, /tmp, /var/log are the node's own.
    assert ha1.exec(["stat", "-c", "%U:%G", "/var/lib/heartbeat/ccm"], check=True).stdout.strip() == "hacluster:haclient"
    assert ha1.exec(["stat", "-c", "%U", "/run/heartbeat"], check=True).stdout.strip() == "hacluster"
    for path in ("/tmp/pyha-lab-probe", "/run/pyha-lab-probe", "/var/log/pyha-lab-probe", "/var/lib/pyha/probe"):
        ha1.exec(["touch", path], check=True)
        assert ha2.exec(["test", "-e", path]).returncode != 0, path
        assert not os.path.exists(path), path
        assert os.path.exists(ha1.host_path(path)), path
    assert ha1.exec(["test", "-e", "/var/run/pyha-lab-probe"]).returncode == 0  # /var/run is /run
    assert ha1.exec(["test", "-e", "/run/netns"]).returncode != 0


@lab_test
def test_pid_namespace_confines(lab):
    ha1, ha2 = lab.node("HA1"), lab.node("HA2")
    sleeper = ha2.spawn(["sleep", "300"])
    try:
        deadline = time.monotonic() + 5
        while "sleep" not in ha2.exec(["ps", "-e", "-o", "comm="]).stdout and time.monotonic() < deadline:
            time.sleep(0.05)
        listing = ha1.exec(["ps", "-e", "-o", "pid=,comm="], check=True).stdout.split("\n")
        entries = [line.split() for line in listing if line.strip()]
        assert entries[0] == ["1", "python"] or entries[0][0] == "1"
        assert [e[1] for e in entries] == [entries[0][1], "ps"], entries
        assert "sleep" in ha2.exec(["ps", "-e", "-o", "comm="], check=True).stdout
        in_proc = ha1.sh("ls /proc | grep -c '^[0-9]'", check=True).stdout.strip()
        assert int(in_proc) <= 4  # init, sh, ls, grep
        assert len([p for p in os.listdir("/proc") if p.isdigit()]) > 4
    finally:
        sleeper.terminate()
        sleeper.wait(5)
    # terminate() reached the sleep inside, not just the nsenter wrapper.
    assert "sleep" not in ha2.exec(["ps", "-e", "-o", "comm="], check=True).stdout


@lab_test
def test_reboot_and_friends_are_shadowed(lab):
    ha1 = lab.node("HA1")
    for directory in SBIN_DIRS:
        for name in SHADOWED:
            text = ha1.exec(["cat", "%s/%s" % (directory, name)], check=True).stdout
            assert "pyha lab" in text, (directory, name)
    # Only run it once every path is known to be the harmless script.
    proc = ha1.exec(["reboot", "-nf"])
    assert proc.returncode == 0 and "disabled" in proc.stderr
    assert ha1.is_running()
    with open(ha1.host_path(REBOOT_LOG)) as f:
        assert "HA1 reboot -nf" in f.read()
    assert ha1.exec(["test", "-L", "/usr/bin/systemctl"]).returncode != 0  # not shadowed


@lab_test
def test_exec_timeout_kills_the_command(lab):
    ha1 = lab.node("HA1")
    started = time.monotonic()
    with pytest.raises(subprocess.TimeoutExpired):
        ha1.exec(["sleep", "30"], timeout=0.5)
    assert time.monotonic() - started < 5
    assert "sleep" not in ha1.exec(["ps", "-e", "-o", "comm="], check=True).stdout


@lab_test
def test_link_down_of_the_heartbeat_link(lab):
    ha1 = lab.node("HA1")
    ha1.link_down("eth1")
    try:
        assert ha1.link_state("eth1") == "DOWN"
        assert not ping(ha1, "198.51.100.2")
        assert answers_soon(ha1, "192.0.2.162")
    finally:
        ha1.link_up("eth1")
    assert answers_soon(ha1, "198.51.100.2")


@lab_test
def test_public_link_down_and_up_restores_default_route(lab):
    ha2 = lab.node("HA2")
    ha2.link_down("eth0")
    try:
        assert not ping(lab.node("client"), "192.0.2.162")
        assert answers_soon(ha2, "198.51.100.1")
    finally:
        ha2.link_up("eth0")
    assert "default via 192.0.2.1" in ha2.exec(["ip", "route"], check=True).stdout
    assert answers_soon(ha2, "192.0.2.1")


@lab_test
def test_netem_when_the_kernel_has_it(lab):
    ha1 = lab.node("HA1")
    try:
        ha1.set_netem("eth1", delay_ms=50)
    except LabError as exc:
        if "not available" in str(exc):
            pytest.skip(str(exc))
        raise
    try:
        out = ha1.exec(["ping", "-n", "-c", "1", "-W", "2", "198.51.100.2"], check=True).stdout
        rtt = float(out.split("time=")[1].split()[0])
        assert rtt >= 45
    finally:
        ha1.clear_netem("eth1")


@lab_test
def test_power_off_kills_everything_and_power_on_boots_fresh(lab):
    ha1, ha2 = lab.node("HA1"), lab.node("HA2")
    ha2.sh("echo keep > /etc/ha.d/pyha-lab-disk; echo lost > /run/pyha-lab-ram", check=True)
    sleeper = ha2.spawn(["sleep", "300"])
    ha2.exec(["sh", "-c", "setsid sleep 301 </dev/null >/dev/null 2>&1 &"], check=True)
    deadline = time.monotonic() + 5
    while len(ha2.processes()) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    victims = {(p, nsu.start_time(p)) for p in ha2.processes()}
    assert len(victims) >= 3
    old_init = ha2.init_pid
    ha2.power_off()
    try:
        assert not ha2.is_running()
        alive = [p for p, st in victims if nsu.is_same_process(p, st)]
        assert alive == []
        assert sleeper.wait(5) is not None
        with pytest.raises(LabError):
            ha2.exec(["true"])
        # A dead machine answers nothing, on any link.
        assert not ping(ha1, "192.0.2.162")
        assert not ping(ha1, "198.51.100.2")
        assert Lab.load(lab.statedir).node("HA2").is_running() is False
    finally:
        ha2.power_on()
    assert ha2.init_pid != old_init
    assert ha2.exec(["uname", "-n"], check=True).stdout.strip() == "HA2"
    assert ha2.exec(["cat", "/etc/ha.d/pyha-lab-disk"], check=True).stdout.strip() == "keep"
    assert ha2.exec(["test", "-e", "/run/pyha-lab-ram"]).returncode != 0
    assert answers_soon(ha1, "192.0.2.162")
    assert answers_soon(ha1, "198.51.100.2")
    assert "default via 192.0.2.1" in ha2.exec(["ip", "route"], check=True).stdout


@lab_test
def test_halt_terminates_gracefully(lab):
    ha2 = lab.node("HA2")
    # A process that needs SIGTERM to write its goodbye: halt must send it.
    ha2.exec(["sh", "-c", "setsid sh -c 'trap \"echo bye > /var/log/pyha-lab-bye; exit 0\" TERM; "
                          "while :; do sleep 0.1; done' </dev/null >/dev/null 2>&1 &"], check=True)
    time.sleep(0.3)
    ha2.halt(grace=5)
    try:
        assert not ha2.is_running()
        with open(ha2.host_path("/var/log/pyha-lab-bye")) as f:
            assert f.read().strip() == "bye"
    finally:
        ha2.power_on()
    assert ha2.exec(["uname", "-n"], check=True).stdout.strip() == "HA2"


@lab_test
def test_state_file_describes_the_lab(lab):
    again = Lab.load(lab.statedir)
    assert again.prefix == lab.prefix
    assert again.all_netns() == lab.all_netns()
    for node in lab.nodes:
        twin = again.node(node.name)
        assert (twin.init_pid, twin.init_start) == (node.init_pid, node.init_start)
        assert twin.is_running()
    assert again.node("HA1").exec(["uname", "-n"], check=True).stdout.strip() == "HA1"


@lab_test
def test_up_refuses_an_existing_lab(lab):
    with pytest.raises(LabError) as info:
        Lab(lab.prefix).up()
    assert "already exist" in str(info.value)
    assert lab.node("HA1").is_running()  # the refusal did not touch the live lab


# -- tear-down ---------------------------------------------------------------------------------


@lab_test
def test_down_from_another_process_leaves_nothing(lab, lab_prefix, lab_tools):
    prefix = lab_prefix("d")
    cleanup_leftovers(prefix)
    started = time.monotonic()
    small = Lab(prefix, spec=profile("one-node")).up()
    assert time.monotonic() - started < 5
    small.node("HA1").spawn(["sleep", "300"])
    small.node("gw").spawn(["sleep", "300"])
    small.node("HA1").exec(["sh", "-c", "setsid sleep 302 </dev/null >/dev/null 2>&1 &"], check=True)
    time.sleep(0.2)
    procs = lab_tools.snapshot_processes(small)
    assert len(procs) >= 5
    code = "import sys; from pyha.lab import Lab; Lab.load(sys.argv[1]).down()"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    subprocess.run([sys.executable, "-c", code, small.statedir], check=True, timeout=60, env=env)
    lab_tools.assert_gone(prefix, procs)
    assert not os.path.exists(small.statedir)
    small.down()  # idempotent, also for a stale object
    small.down()
    assert lab.node("HA1").is_running()  # another lab's namespaces were not touched


@lab_test
def test_cleanup_leftovers_after_a_crash(lab, lab_prefix, lab_tools):
    prefix = lab_prefix("c")
    cleanup_leftovers(prefix)
    crashed = Lab(prefix, spec=reference_spec(nodes=("HA1",), client_host=None)).up()
    crashed.node("HA1").spawn(["sleep", "300"])
    procs = lab_tools.snapshot_processes(crashed)
    os.unlink(os.path.join(crashed.statedir, "lab.json"))  # even without the record
    removed = cleanup_leftovers(prefix)
    assert sorted(removed) == sorted(crashed.all_netns())
    lab_tools.assert_gone(prefix, procs)
    assert cleanup_leftovers(prefix) == []
    assert all(nsu.netns_exists(n) for n in lab.all_netns())
    nsu.remove_tree(crashed.statedir)  # no lab.json: cleanup leaves an unrecognised dir alone
