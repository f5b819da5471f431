"""`pyha lab cts`: heartbeat's own Cluster Test Suite (CTS) against the lab, side by side.

CTS (Debian's heartbeat package, /usr/share/heartbeat/cts) is the test suite heartbeat's
authors wrote for exactly this: it starts, stops, restarts, kills, isolates and
stands-by cluster nodes at random and checks, from the logs and the resource scripts,
that the cluster does what heartbeat does.  A suite nobody on this project wrote is the
strongest evidence of a drop-in, so this module runs it unchanged against the lab:
first with genuine heartbeat 3.0.6 on both nodes, then with pyha on both, and reports
both results.

What it sets up per run (everything inside the lab; nothing on the host is changed):
* a fresh lab (`scenario.up`, both nodes the same daemon) and sshd in both nodes (CTS
  drives the nodes over ssh, by node name);
* the test machine = the lab's client namespace, entered with its own mount and UTS
  namespaces so that a private /etc/hosts can name the nodes (ha1, ha2);
* the one log file CTS watches (`cts_log.Collector`: every node's logfile, host field
  added);
* for pyha, in each node: `log_ident heartbeat` in /etc/ha.d/pyha.cf (the setting pyha
  offers to log tooling written for heartbeat: CTS's patterns name heartbeat's ident),
  and under /var/lib/pyha/cts a `pyha` launcher plus the project's SysV init script
  (packaging/initscripts) as the start/stop/status commands, as an EL6 admin runs it;
* on the test machine, `cts-comm`: CTS's communication break (below);
* CTS's view of the configuration: a copy of /etc/ha.d (see `cts_hadir`);
* `cts_driver.py` under Python 2.7 (CTS is Python 2 only) with the adapter's patches.

CTS behaviours the adapter replaces, and why: `cts_driver.py`'s docstring (runtime
patches) and here:
* Split_brain's link break: CM_hb writes heartbeat's debugging hook
  /etc/ha.d/OnlyForTesting (xmitloss/rcvloss) and reloads.  pyha has no test hooks in
  its daemon, so the adapter makes the fault real instead: `cts-comm break NODE`, run on
  the test machine, drops every heartbeat packet (udp port of ha.cf) to and from the
  node's switch ports with ebtables in the lab's switch namespace, like pulled cables that
  leave ssh and the LAN up; `fix NODE` removes exactly those rules.  Drops at the switch
  are silent (iptables in the node would make sendto fail with EPERM, which heartbeat
  logs as errors).  The same mapping is used for heartbeat, so both daemons meet the
  same fault.
* `killall -9 heartbeat` (DetectionTime) names heartbeat's process: for pyha it becomes
  `kill -9` of the pid in pyha's pid file.
* `logger` (CTS's check that remote logging works, after a failed test): the lab has no
  syslog, so the message is appended to the node's logfile, which the collector follows.
* Split_brain's end, for pyha only: heartbeat restarts both nodes after a heal and CTS
  waits for their "Initial resource acquisition complete"; pyha resolves the heal in
  place (no restart, no outage) and CTS waits for each node's "Partition with <peer>
  resolved" instead (`HEAL_END`, the driver's patch 12).

A failing run keeps its directory (collected log, CTS's output, the configuration it
used) under /var/tmp/pyha-cts; a passing one is removed unless `keep`.
"""

import ast
import glob
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from typing import Any, Callable, Dict, List, Optional

from pyha.lab import scenario
from pyha.lab.cts_log import Collector
from pyha.lab.netns import LabError
from pyha.lab.sshd import start_sshd

CTS_DIR = "/usr/share/heartbeat/cts"
KINDS = ("heartbeat", "pyha")
WORK_BASE = "/var/tmp/pyha-cts"
NODE_DIR = "/var/lib/pyha/cts"  # inside each node (its private /var/lib/pyha)
HB_DIR = "/usr/libexec/heartbeat"  # Debian; CM_hb says /usr/lib/heartbeat
DRIVER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cts_driver.py")
INIT_SCRIPT = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                           "packaging", "initscripts", "pyha")


def init_script():
    # type: () -> str
    """pyha's SysV init script: $PYHA_INIT_SCRIPT, else the source checkout's (an installed
    package has no packaging/ beside it; the tests name the checkout's)."""
    return os.environ.get("PYHA_INIT_SCRIPT") or INIT_SCRIPT
DEFAULT_PROFILE = "fast"
# Timings of the CTS runs (over the profile's): fast enough for many iterations, slow
# enough for heartbeat, which pings its ping node once a second and calls a ping reply
# later than deadtime a "CRIT: Late heartbeat" (with the fast profile's 200 ms, always).
PYHACF_LINE = "log_ident heartbeat"
CTS_TIMINGS = (("keepalive", "500ms"), ("deadtime", "2"), ("warntime", "1500ms"), ("initdead", "4"))

COMM_SCRIPT = """#!/bin/sh
# pyha lab, CTS adapter (runs on the test machine): CTS's communication break as a real
# fault.  break NODE drops every heartbeat packet (udp %(port)d) to and from NODE's
# ports at the lab's switch, like pulled heartbeat cables that leave ssh and the VIP's
# LAN up; fix NODE removes exactly those rules.  Silent drops: neither daemon sees an
# error from the kernel, only silence, as with heartbeat's OnlyForTesting hook.
set -u
node=${2:-}
case "$node" in %(nodes)s) ;; *) echo "usage: $0 break|fix NODE" >&2; exit 2 ;; esac
eb() { ip netns exec %(switch)s ebtables "$@"; }
rules() {
    for port in $(ip -n %(switch)s -o link show 2>/dev/null | sed -n "s/^[0-9]*: \\($node-[^@:]*\\).*/\\1/p"); do
        echo "-i $port -p IPv4 --ip-proto udp --ip-dport %(port)d -j DROP"
        echo "-o $port -p IPv4 --ip-proto udp --ip-dport %(port)d -j DROP"
    done
}
case "${1:-}" in
break)
    rules | while read -r r; do eb -D FORWARD $r 2>/dev/null; eb -A FORWARD $r || exit 1; done ;;
fix)
    rules | while read -r r; do while eb -D FORWARD $r 2>/dev/null; do :; done; done ;;
*)
    echo "usage: $0 break|fix NODE" >&2; exit 2 ;;
esac
"""

LAUNCHER = """#!/bin/sh
# pyha lab, CTS adapter: the `pyha` command inside this node (the checkout under test).
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
PYTHONPATH=%(pythonpath)s
LANG=C.UTF-8
export PATH PYTHONPATH LANG
exec %(python)s -m pyha "$@"
"""

SYSCONFIG = """# pyha lab, CTS adapter: /etc/sysconfig/pyha for the SysV script
PYHA_BIN=%(dir)s/pyha
"""

CTL = """#!/bin/sh
# pyha lab, CTS adapter: the project's SysV init script with this node's sysconfig.
PYHA_SYSCONFIG=%(dir)s/sysconfig exec %(dir)s/pyha.init "$@"
"""


def find_python2():
    # type: () -> Optional[str]
    """A Python 2.7 that can import what CTS needs (PYHA_CTS_PYTHON2 wins)."""
    candidates = [os.environ.get("PYHA_CTS_PYTHON2", "")]
    candidates += sorted(glob.glob(os.path.expanduser("~root/.pyenv/versions/2.7*/bin/python2.7")), reverse=True)
    candidates += [shutil.which("python2.7") or "", shutil.which("python2") or ""]
    for c in candidates:
        if not c or not os.access(c, os.X_OK):
            continue
        try:
            r = subprocess.run([c, "-B", "-c", "import UserDict, popen2"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if r.returncode == 0:
            return c
    return None


def missing_requirements():
    # type: () -> List[str]
    """What this machine lacks to run CTS (empty: ready)."""
    out = []
    if not os.path.exists(os.path.join(CTS_DIR, "CTSlab.py")):
        out.append("heartbeat's CTS (%s, Debian package heartbeat)" % CTS_DIR)
    if find_python2() is None:
        out.append("a Python 2.7 (CTS is Python 2 only; set PYHA_CTS_PYTHON2)")
    if not os.path.exists(init_script()):
        out.append("pyha's SysV init script %s (a source checkout, or set PYHA_INIT_SCRIPT)" % init_script())
    for tool in ("iptables", "unshare", "ssh"):
        if shutil.which(tool) is None:
            out.append(tool)
    return out


# -- pure parts ------------------------------------------------------------------------

def cts_hadir(hacf, haresources):
    # type: (str, str) -> Dict[str, str]
    """The ha.cf and haresources CTS reads (its -D directory), from the nodes' files.

    Two spellings change, neither changes meaning for heartbeat: node names in lower case
    (CTS matches them case-sensitively in log lines, where heartbeat and pyha write them
    in lower case), and a VIP resource spelt `IPaddr::ADDR/...` (CTS recognises a bare
    address only without /prefix/interface; heartbeat reads both the same way)."""
    cf_lines = []
    for line in hacf.splitlines():
        words = line.split("#", 1)[0].split()
        if words and words[0] == "node":
            line = " ".join(["node"] + [w.lower() for w in words[1:]])
        cf_lines.append(line)
    rsc_lines = []
    for line in haresources.splitlines():
        body = line.split("#", 1)[0]
        words = body.split()
        if not words:
            rsc_lines.append(line)
            continue
        out = [words[0].lower()]
        for w in words[1:]:
            if re.match(r"^\d+\.\d+\.\d+\.\d+/", w):
                w = "IPaddr::" + w
            out.append(w)
        rsc_lines.append(" ".join(out))
    return {"ha.cf": "\n".join(cf_lines) + "\n", "haresources": "\n".join(rsc_lines) + "\n"}


def cts_timings(hacf):
    # type: (str) -> str
    """ha.cf with CTS_TIMINGS in place of its own timing lines."""
    keys = dict(CTS_TIMINGS)
    out, done = [], set()
    for line in hacf.splitlines():
        words = line.split()
        if words and words[0] in keys:
            if words[0] in done:
                continue
            line = "%s %s" % (words[0], keys[words[0]])
            done.add(words[0])
        out.append(line)
    out += ["%s %s" % (k, v) for k, v in CTS_TIMINGS if k not in done]
    return "\n".join(out) + "\n"


def cm_settings(kind, deadtime_ms, initdead_ms, comm):
    # type: (str, int, int, str) -> Dict[str, Any]
    """CTS cluster-manager keys for `kind` (CM_hb's commands at this system's paths)."""
    dead = max(5, int((deadtime_ms + 999) // 1000) + 2)
    stable = max(5, int((max(deadtime_ms, initdead_ms) + 999) // 1000) + 3)
    out = {"DeadTime": dead, "StableTime": stable,
           "BreakCommCmd": "@local %s break {node}" % comm,
           "FixCommCmd": "@local %s fix {node}" % comm,
           "DelFileCommCmd": "@local %s fix {node}" % comm}
    if kind == "heartbeat":
        out.update({
            "StartCmd": "%s/heartbeat >/dev/null 2>&1" % HB_DIR,
            "StopCmd": "%s/heartbeat -k" % HB_DIR,
            "StatusCmd": "%s/heartbeat -s" % HB_DIR,
            "RereadCmd": "%s/heartbeat -r" % HB_DIR,
            "Standby": "/usr/share/heartbeat/hb_standby >/dev/null 2>&1",
        })
    elif kind == "pyha":
        out.update({
            "StartCmd": "%s/pyhactl start >/dev/null 2>&1" % NODE_DIR,
            "StopCmd": "%s/pyhactl stop >/dev/null 2>&1" % NODE_DIR,
            # CTS reads the word "stopped" like heartbeat -s prints it; LSB status codes
            # 1-3 (dead with a pid file, e.g. after kill -9) all mean not running
            "StatusCmd": "if %s/pyhactl status >/dev/null 2>&1; then echo pyha is running; "
                         "else echo pyha is stopped; fi" % NODE_DIR,
            "RereadCmd": "%s/pyhactl reload >/dev/null 2>&1" % NODE_DIR,
            # CTS checks that the first word is executable on the test machine
            "Standby": "/bin/sh %s/pyha standby >/dev/null 2>&1" % NODE_DIR,
        })
    else:
        raise ValueError("unknown daemon kind %r" % kind)
    return out


# Split_brain's end for pyha (cts_driver.py, patch 12): heartbeat restarts both nodes after
# a heal and CTS waits for their start line; pyha resolves the heal in place and says so.
HEAL_END = r" (%s) .* Partition with \S+ resolved"


def rewrites(kind, logfile):
    # type: (str, str) -> List[List[str]]
    """(regex, replacement) applied to every command CTS runs on a node."""
    stamp = "$(LC_ALL=C date '+%b %d %H:%M:%S') $(uname -n)"
    out = [[r"^logger -p \S+ (.*)$", 'echo "%s logger: \\1" >> %s' % (stamp, logfile)]]
    if kind == "heartbeat":
        out.append([r"/usr/lib/heartbeat/(ccm|ipfail)", HB_DIR + r"/\1"])
    else:
        out.append([r"^killall -9 heartbeat$", "kill -9 $(cat /run/pyha/pyha.pid)"])
    return out


_OVERALL_RE = re.compile(r"Overall Results:(\{.*\})")
_TEST_RE = re.compile(r"Test (\S+):\s+(\{.*\})")
_SEED_RE = re.compile(r"Random seed is: (\S+)")


def parse_output(text):
    # type: (str) -> Dict[str, Any]
    """CTS's summary lines: overall counts, per-test counts, the seed it used."""
    overall = None  # type: Optional[Dict[str, Any]]
    tests = {}  # type: Dict[str, Dict[str, Any]]
    seed = None
    for line in text.splitlines():
        m = _OVERALL_RE.search(line)
        if m:
            try:
                overall = ast.literal_eval(m.group(1))
            except (ValueError, SyntaxError):
                pass
            tests = {}
            continue
        m = _TEST_RE.search(line)
        if m and overall is not None:
            try:
                tests[m.group(1)] = ast.literal_eval(m.group(2))
            except (ValueError, SyntaxError):
                pass
            continue
        m = _SEED_RE.search(line)
        if m and seed is None:
            seed = m.group(1)
    return {"overall": overall, "tests": tests, "seed": seed}


def verdict(result):
    # type: (Dict[str, Any]) -> bool
    """Passed: CTS exited 0 (no failed test, every iteration ran) and no audit failed."""
    overall = result.get("overall") or {}
    return result.get("returncode") == 0 and not overall.get("failure") and not overall.get("auditfail")


def side_by_side(results):
    # type: (List[Dict[str, Any]]) -> str
    """A table: one column per run, one row per CTS test (calls/success/failure; CTS's
    own per-test counters, the overall row is its verdict per iteration)."""
    names = []  # type: List[str]
    for r in results:
        for n in sorted(r.get("tests") or {}):
            if n not in names:
                names.append(n)
    heads = ["%s (%s iter, seed %s)" % (r["kind"], r.get("iterations"), r.get("seed")) for r in results]
    width = max([34] + [len(h) for h in heads])
    lines = ["%-16s" % "test" + "".join(" %-*s" % (width, h) for h in heads)]

    def cell(r, name):
        t = (r.get("tests") or {}).get(name)
        if t is None:
            return "-"
        # calls: SpecialTest1 passes without counting a success of its own
        text = "%d run: %d ok / %d failed" % (t.get("calls", 0), t.get("success", 0), t.get("failure", 0))
        if t.get("skipped"):
            text += " / %d skipped" % t["skipped"]
        if t.get("auditfail"):
            text += " / %d audit" % t["auditfail"]
        return text

    for n in names:
        lines.append("%-16s" % n + "".join(" %-*s" % (width, cell(r, n)) for r in results))

    def total(r):
        o = r.get("overall")
        if o is None:
            return "no summary (%s)" % (r.get("error") or "CTS exit %s" % r.get("returncode"))
        return "%d ok / %d failed" % (o.get("success", 0), o.get("failure", 0))

    lines.append("%-16s" % "overall" + "".join(" %-*s" % (width, total(r)) for r in results))
    lines.append("%-16s" % "audit failures" + "".join(
        " %-*s" % (width, (r.get("overall") or {}).get("auditfail", 0)) for r in results))
    lines.append("%-16s" % "BadNews lines" + "".join(
        " %-*s" % (width, (r.get("overall") or {}).get("BadNews", "-")) for r in results))
    lines.append("%-16s" % "verdict" + "".join(
        " %-*s" % (width, "PASS" if verdict(r) else "FAIL") for r in results))
    lines.append("%-16s" % "time" + "".join(
        " %-*s" % (width, "%.0f s" % r.get("duration_s", 0)) for r in results))
    return "\n".join(lines)


# -- I/O -------------------------------------------------------------------------------

def _write(path, text, mode=0o644):
    # type: (str, str, int) -> None
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


def _install_node_files(node, kind):
    # type: (Any, str) -> None
    if kind != "pyha":
        return
    # the setting pyha offers for log tooling written for heartbeat (issue 17 gap 2)
    with open(node.host_path("/etc/ha.d/pyha.cf"), "a") as f:
        f.write("\n# pyha lab, CTS: heartbeat's ident and words, as CTS's patterns expect\n%s\n" % PYHACF_LINE)
    d = node.host_path(NODE_DIR)
    os.makedirs(d, exist_ok=True)
    pythonpath = os.pathsep.join(p for p in sys.path if p)
    _write(os.path.join(d, "pyha"), LAUNCHER % {"pythonpath": shlex.quote(pythonpath),
                                               "python": shlex.quote(sys.executable)}, 0o755)
    shutil.copyfile(init_script(), os.path.join(d, "pyha.init"))
    os.chmod(os.path.join(d, "pyha.init"), 0o755)
    _write(os.path.join(d, "sysconfig"), SYSCONFIG % {"dir": NODE_DIR})
    _write(os.path.join(d, "pyhactl"), CTL % {"dir": NODE_DIR}, 0o755)


def _ssh_config(lab, access):
    # type: (Any, Any) -> str
    names = " ".join(n.lower() for n in scenario.NODES)
    opts = access.host_options
    lines = ["# pyha lab, CTS adapter: how the test machine reaches the nodes", "Host " + names, "  User root",
             "  LogLevel ERROR"]
    for i in range(0, len(opts), 2):
        if opts[i] == "-i":
            lines.append("  IdentityFile " + opts[i + 1])
        else:
            lines.append("  " + " ".join(opts[i + 1].split("=", 1)))
    return "\n".join(lines) + "\n"


def _hosts(lab):
    # type: (Any) -> str
    lines = ["127.0.0.1 localhost", "127.0.1.1 cts-exerciser"]
    for name in scenario.NODES:
        addr = lab.node(name).spec.interface("eth0").address
        lines.append("%s %s %s" % (addr, name.lower(), name))
    return "\n".join(lines) + "\n"


def run_one(kind, iterations=12, seed=None, prefix="pyhacts", profile=DEFAULT_PROFILE, keep=False,
            progress=None, tests=None, python2=None):
    # type: (str, int, Optional[str], str, str, bool, Optional[Callable[[str], None]], Optional[List[str]], Optional[str]) -> Dict[str, Any]
    """Bring a lab up with `kind` on both nodes, run CTS, take the lab down; the result."""
    from pyha.config.hacf import HaCf
    say = progress or (lambda text: None)
    if kind not in KINDS:
        raise LabError("daemon must be one of %s, not %r" % (", ".join(KINDS), kind))
    python2 = python2 or find_python2()
    if python2 is None:
        raise LabError("no usable Python 2.7 for CTS (set PYHA_CTS_PYTHON2)")
    os.makedirs(WORK_BASE, exist_ok=True)
    workdir = os.path.join(WORK_BASE, "%s-%s-%d" % (time.strftime("%Y%m%d-%H%M%S"), kind, os.getpid()))
    os.makedirs(workdir)
    result = {"kind": kind, "iterations": iterations, "seed": seed, "workdir": workdir,
              "returncode": None, "overall": None, "tests": {}}  # type: Dict[str, Any]
    started = time.monotonic()
    collector = None
    lab = None
    try:
        say("%s: lab up (profile %s, %s on both nodes)" % (kind, profile, kind))
        lab = scenario.up(prefix=prefix, profile=profile, peer_daemon=kind, daemon=kind, hacf_edit=cts_timings)
        ha1 = lab.node("HA1")
        cf = HaCf.load(ha1.host_path("/etc/ha.d/ha.cf"))
        logfile = cf.get("logfile") or "/var/log/ha-log"
        port = cf.udpport
        access = None
        for name in scenario.NODES:
            _install_node_files(lab.node(name), kind)
            access = start_sshd(lab, name, clients=[])
        hadir = os.path.join(workdir, "ha.d")
        os.makedirs(hadir)
        with open(ha1.host_path("/etc/ha.d/ha.cf")) as f:
            hacf = f.read()
        with open(ha1.host_path("/etc/ha.d/haresources")) as f:
            haresources = f.read()
        for fname, text in cts_hadir(hacf, haresources).items():
            _write(os.path.join(hadir, fname), text)
        comm = os.path.join(workdir, "cts-comm")
        _write(comm, COMM_SCRIPT % {"port": port, "switch": lab.switch_netns,
                                    "nodes": "|".join(n.lower() for n in scenario.NODES)}, 0o755)
        ssh_config = os.path.join(workdir, "ssh_config")
        _write(ssh_config, _ssh_config(lab, access), 0o600)
        hosts = os.path.join(workdir, "hosts")
        _write(hosts, _hosts(lab))
        ctslog = os.path.join(workdir, "cts.log")
        collector = Collector({n.lower(): lab.node(n).host_path(logfile) for n in scenario.NODES}, ctslog).start()
        argv = ["-D", hadir, "-L", ctslog, "--stonith", "no"]
        if seed is not None:
            argv += ["--seed", str(seed)]
        for t in tests or []:
            argv += ["--choose", t]
        argv.append(str(iterations))
        config = {"cts_dir": CTS_DIR, "ssh_config": ssh_config, "argv": argv,
                  "cm": cm_settings(kind, cf.deadtime_ms, cf.initdead_ms, comm),
                  "resource_dirs": ["/etc/init.d"], "rewrites": rewrites(kind, logfile)}
        if kind == "pyha":
            config["heal_end"] = HEAL_END
        config_path = os.path.join(workdir, "config.json")
        _write(config_path, json.dumps(config, indent=2, sort_keys=True) + "\n")
        script = "mount --bind %s /etc/hosts && hostname cts-exerciser && exec %s -B %s %s" % (
            shlex.quote(hosts), shlex.quote(python2), shlex.quote(DRIVER), shlex.quote(config_path))
        say("%s: CTS, %d iterations%s (log %s)" % (kind, iterations, ", seed %s" % seed if seed else "", ctslog))
        out_path = os.path.join(workdir, "cts.out")
        with open(out_path, "w") as out:
            r = lab.node("client").exec(["unshare", "-m", "-u", "sh", "-c", script], timeout=600 + 300 * iterations,
                                        stdout=out, stderr=subprocess.STDOUT)
        result["returncode"] = r.returncode
        with open(out_path, errors="replace") as f:
            parsed = parse_output(f.read())
        result.update({k: v for k, v in parsed.items() if v is not None or k != "seed"})
        if result["seed"] is None:
            result["seed"] = seed
    except (LabError, OSError, subprocess.TimeoutExpired) as exc:
        result["error"] = str(exc)
    finally:
        if collector is not None:
            collector.stop()
        if lab is not None:
            say("%s: lab down" % kind)
            scenario.down(prefix, lab.statedir)
    result["duration_s"] = round(time.monotonic() - started, 1)
    result["passed"] = verdict(result) and "error" not in result
    if result["passed"] and not keep:
        shutil.rmtree(workdir, ignore_errors=True)
        result["workdir"] = None
    return result


def run(kinds=KINDS, iterations=12, seed=None, prefix="pyhacts", profile=DEFAULT_PROFILE, keep=False,
        progress=None, tests=None):
    # type: (Any, int, Optional[str], str, str, bool, Optional[Callable[[str], None]], Optional[List[str]]) -> List[Dict[str, Any]]
    """CTS against each daemon kind in turn (same seed, same iterations)."""
    missing = missing_requirements()
    if missing:
        raise LabError("cannot run CTS here; missing: %s" % "; ".join(missing))
    return [run_one(k, iterations, seed, prefix, profile, keep, progress, tests) for k in kinds]
