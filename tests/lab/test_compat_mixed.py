"""pyha-heartbeat-compat against genuine heartbeat 3.0.6, live, in one mixed lab (issue 13
item 3): genuine heartbeat on HA1, pyha on HA2.  The same questions go to genuine cl_status
on HA1 and to pyha's on HA2, naming the peer (HA2 for HA1, HA1 for HA2) or itself: output
and exit code must match, node names swapped, error lines compared without their time
stamp, host and pid.  hb_takeover from each side moves the group and each side's rscstatus
says the same; both stopped, both say so.  `pyha status` exits 0 for the healthy mixed
pair, 1 once heartbeat stops (the peer named), 3 once pyha stops.  And `pyha daemon` refuses to start on the node
where genuine heartbeat holds udp/694, saying heartbeat runs there and what to do.
"""

import json
import re
import sys
import time

import pytest

from labutil import pyha_env, wait_until
from pyha.lab import scenario

pytestmark = [pytest.mark.lab]

PYHA_CL_STATUS = [sys.executable, "-m", "pyha.compat.cl_status"]
HB_TOOL = ("import sys; sys.argv[0] = '/usr/share/heartbeat/hb_%s'\n"
           "from pyha.compat.hb_tools import main_%s; sys.exit(main_%s())")
# (sub-command and arguments as HA1 asks them; "SELF"/"PEER" are replaced per node)
QUESTIONS = [
    [], ["hbstatus"], ["hbstatus", "-m"], ["listnodes"], ["listnodes", "-n"], ["listnodes", "-p"],
    ["listnodes", "-v"], ["listnodes", "-m"], ["listnodes", "-x"],
    ["nodetype", "PEER"], ["nodetype", "-m", "SELF"], ["nodetype", "192.0.2.1"], ["nodetype", "nosuch"], ["nodetype"],
    ["nodestatus", "PEER"], ["nodestatus", "-m", "PEER"], ["nodestatus", "SELF"], ["nodestatus", "192.0.2.1"],
    ["nodestatus", "nosuch"], ["nodestatus"], ["nodestatus", "-v", "PEER"],
    ["listhblinks", "PEER"], ["listhblinks", "-v", "PEER"], ["listhblinks", "-m", "SELF"],
    ["listhblinks", "-v", "192.0.2.1"], ["listhblinks", "nosuch"], ["listhblinks"],
    ["hblinkstatus", "PEER", "eth0"], ["hblinkstatus", "-m", "PEER", "eth1"], ["hblinkstatus", "SELF", "eth1"],
    ["hblinkstatus", "PEER", "eth9"], ["hblinkstatus", "PEER"],
    ["rscstatus"], ["rscstatus", "-m"], ["rscstatus", "-x"], ["bogus"],
    ["nodeweight", "PEER"], ["nodeweight", "-m", "SELF"], ["nodeweight", "nosuch"],
    ["nodesite", "PEER"], ["nodesite", "-m", "PEER"], ["nodesite", "nosuch"],
]
LOG_PREFIX = re.compile(r"^\w{3} [ \d]\d \d\d:\d\d:\d\d \S+ cl_status: \[\d+\]: ", re.M)
NAMES = {"HA1": ("ha1", "ha2"), "HA2": ("ha2", "ha1")}  # (self, peer)


@pytest.fixture(scope="module")
def lab(lab_prefix):
    prefix = lab_prefix("cx")
    the_lab = scenario.up(prefix=prefix, profile="fast", peer_daemon="heartbeat")
    try:
        yield the_lab
    finally:
        scenario.down(prefix)


def ask(lab, name, args):
    """(stdout, stderr, rc) of cl_status ARGS on node `name`: genuine on HA1, pyha's on
    HA2; output normalised to HA1's point of view (names swapped back on HA2, log line
    prefixes dropped).  Node lists are in ha.cf's order on both nodes: never swapped."""
    me, peer = NAMES[name]
    named = [me if a == "SELF" else peer if a == "PEER" else a for a in args]
    argv = (["cl_status"] if name == "HA1" else PYHA_CL_STATUS) + named
    r = lab.node(name).exec(argv, env=pyha_env(), timeout=30)
    out, err = r.stdout, LOG_PREFIX.sub("", r.stderr)
    if name == "HA2" and ("SELF" in args or "PEER" in args):
        swap = {"ha1": "ha2", "ha2": "ha1"}
        out, err = [re.sub(r"\bha[12]\b", lambda m: swap[m.group(0)], t) for t in (out, err)]
    return out, err, r.returncode


def hb_tool(lab, name, tool, *args):
    node = lab.node(name)
    if name == "HA1":
        argv = ["/usr/share/heartbeat/hb_" + tool] + list(args)
    else:
        argv = [sys.executable, "-c", HB_TOOL % (tool, tool, tool)] + list(args)
    r = node.exec(argv, env=pyha_env(), timeout=30)
    # hb_standby's "Going standby" line carries the time: compare without it
    return r.stdout, re.sub(r"^\w{3} [ \d]\d \d\d:\d\d:\d\d ", "", r.stderr, flags=re.M), r.returncode


def pyha_status(lab):
    """(exit code, health problems) of `pyha status --json` on HA2."""
    r = scenario.run_pyha(lab.node("HA2"), "status", "--json", timeout=30)
    try:
        problems = json.loads(r.stdout).get("health", {}).get("problems")
    except ValueError:
        problems = None
    return r.returncode, problems


def settled(lab):
    """Both sides see each other, every link and the ping node, and hold steady."""
    for name in ("HA1", "HA2"):
        out, _, rc = ask(lab, name, ["listnodes", "-v"])
        if rc != 0 or "dead" in out or "init" in out or out.count("\tup") != 5:
            return False
        if ask(lab, name, ["rscstatus"])[0].strip() not in ("all", "local", "foreign", "none"):
            return False
    return True


def test_compat_commands_answer_as_genuine_heartbeat(lab):
    assert wait_until(lambda: settled(lab), 30)[0], [ask(lab, n, ["listnodes", "-v"]) for n in ("HA1", "HA2")]

    # `pyha daemon` on the heartbeat node: refused at once, heartbeat named, what to do said.
    t0 = time.monotonic()
    r = scenario.run_pyha(lab.node("HA1"), "daemon", "--no-resources", timeout=60)
    assert r.returncode == 1 and time.monotonic() - t0 < 10, (r.stdout, r.stderr)
    assert "heartbeat is running on this node: UDP port 694 is held by heartbeat (pid " in r.stderr, r.stderr
    assert "service heartbeat stop" in r.stderr and "chkconfig heartbeat off" in r.stderr
    named = re.search(r"held by heartbeat \(pid (\d+)\)", r.stderr).group(1)
    comm = lab.node("HA1").exec(["cat", "/proc/%s/comm" % named], timeout=10).stdout
    assert comm == "heartbeat\n", comm  # a genuine heartbeat process of this node, by its pid
    assert ask(lab, "HA1", ["hbstatus"])[2] == 0  # genuine heartbeat untouched

    # Every question: same output and exit code on both sides (HA1's point of view).
    different = []
    for q in QUESTIONS:
        genuine, ours = ask(lab, "HA1", q), ask(lab, "HA2", q)
        if genuine != ours:
            different.append((q, genuine, ours))
    assert not different, "\n".join("%s:\n  genuine %r\n  pyha    %r" % d for d in different)
    # hbstatus -v: the same but for the version line
    genuine, ours = ask(lab, "HA1", ["hbstatus", "-v"]), ask(lab, "HA2", ["hbstatus", "-v"])
    assert genuine[2] == ours[2] == 0
    assert genuine[0].splitlines()[1:] == ours[0].splitlines()[1:] and len(genuine[0].splitlines()) > 8
    assert ours[0].splitlines()[0] == "version:\tpyha %s" % __import__("pyha").__version__

    # hb_takeover from pyha's side, then from genuine's: the group moves each time, and each
    # side's rscstatus says what genuine's says in the mirrored situation.
    assert hb_tool(lab, "HA2", "takeover") == ("", "", 0)
    assert wait_until(lambda: scenario.vip_holders(lab) == ["HA2"] and ask(lab, "HA2", ["rscstatus"])[0] == "all\n"
                      and ask(lab, "HA1", ["rscstatus"])[0] == "none\n", 20)[0]
    assert hb_tool(lab, "HA1", "takeover") == ("", "", 0)
    assert wait_until(lambda: scenario.vip_holders(lab) == ["HA1"] and ask(lab, "HA1", ["rscstatus"])[0] == "all\n"
                      and ask(lab, "HA2", ["rscstatus"])[0] == "none\n", 20)[0]
    # hb_standby from pyha's side hands back what it holds (nothing) and says so as genuine
    assert hb_tool(lab, "HA2", "standby", "local") == hb_tool(lab, "HA1", "standby", "local") \
        == ("", "Going standby [local].\n", 0)
    for args in (["bogus"], ["a", "b"], ["--help"]):
        for tool in ("standby", "takeover"):
            assert hb_tool(lab, "HA2", tool, *args) == hb_tool(lab, "HA1", tool, *args), (tool, args)

    # `pyha status` exit codes on a real pair: healthy 0 (both sides up, the group on HA1).
    assert wait_until(lambda: pyha_status(lab)[0] == 0, 20)[0], pyha_status(lab)

    # Genuine heartbeat stops: pyha's side is degraded (1, the peer named), its cl_status
    # calls the peer dead (1); then pyha stops: not running (3), and both cl_status say
    # heartbeat is stopped and cannot sign on, alike.
    assert lab.node("HA1").exec(["/etc/init.d/heartbeat", "stop"], timeout=60).returncode == 0
    assert wait_until(lambda: pyha_status(lab)[0] == 1 and ask(lab, "HA2", ["nodestatus", "SELF"])[0] == "active\n"
                      and ask(lab, "HA2", ["nodestatus", "PEER"]) == ("dead\n", "", 1), 20)[0], pyha_status(lab)
    assert [p for p in pyha_status(lab)[1] if p.startswith("peer ha1 is ")], pyha_status(lab)
    with open(lab.node("HA2").host_path("/run/pyha/pyha.pid")) as f:
        pyha_pid = int(f.read())
    lab.node("HA2").exec(["kill", "-TERM", str(pyha_pid)], timeout=10)
    assert wait_until(lambda: ask(lab, "HA2", ["hbstatus"])[2] == 1, 30)[0]
    assert pyha_status(lab)[0] == 3
    for q in (["hbstatus"], ["hbstatus", "-v"], ["listnodes"], ["rscstatus"], ["nodestatus", "PEER"]):
        genuine, ours = ask(lab, "HA1", q), ask(lab, "HA2", q)
        assert genuine == ours and genuine[2] == 1, (q, genuine, ours)
