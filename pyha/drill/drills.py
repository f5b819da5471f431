"""The tutorial's failover drills, run against the lab and measured.

Each drill: start the client probe (a request to the VIP every 100 ms from the client
namespace) and the holder sampler (who holds the VIP, every 50 ms), wait for a steady
state with the preferred node serving, inject the fault, wait for the expected outcome,
restore, wait for failback, then compute the numbers: detection time, client-visible
outage, who served before and after, duplicate-VIP time, answers alternating between
nodes, failback outage, and PASS/FAIL against what the drill expects.

Drills know nothing about pyha internals: they act like an operator (signals, `ip link`,
power) and observe like a client.  The same code runs in `pyha drill`, in the README's
demo and in CI.
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import OrderedDict
from typing import Any, Callable, Dict, List, Optional

from pyha.drill import fence_report, report
from pyha.drill.live import LiveLine
from pyha.drill.sampler import HolderSampler
from pyha.lab import LabError, scenario

SAMPLE_INTERVAL = 0.05
PROBE_INTERVAL = 0.1
PROBE_TIMEOUT = 0.5


class DrillError(Exception):
    pass


class Watch(object):
    """Probe records and holder samples collected in the background during a drill.

    `probe_argv` runs pyha.drill.probe wherever the client is; `sample()` says who holds
    the VIP now (None: cannot tell, no sample).  The lab and the real-pair mode differ
    only in those two."""

    def __init__(self, probe_argv, sample, interval=SAMPLE_INTERVAL, env=None):
        # type: (List[str], Callable[[], Optional[List[str]]], float, Optional[Dict[str, str]]) -> None
        self.records = []  # type: List[Dict[str, Any]]
        self.samples = []  # type: List[Any]
        self._sample_fn = sample
        self._interval = interval
        self._stop = threading.Event()
        self.probe = subprocess.Popen(probe_argv, stdout=subprocess.PIPE, universal_newlines=True, env=env)
        self._threads = [threading.Thread(target=self._read_probe), threading.Thread(target=self._sample)]
        for t in self._threads:
            t.daemon = True
            t.start()

    def _read_probe(self):
        for line in self.probe.stdout:
            try:
                self.records.append(json.loads(line))
            except ValueError:
                pass

    def _sample(self):
        while not self._stop.is_set():
            holders = self._sample_fn()
            if holders is not None:
                self.samples.append((time.monotonic(), holders))
            self._stop.wait(self._interval)

    def holders(self):
        return self.samples[-1][1] if self.samples else []

    def serving_now(self, window=0.6):
        now = time.monotonic()
        recent = [r for r in self.records if r["sent"] >= now - window - PROBE_TIMEOUT and r["ok"]]
        return recent[-1]["body"] if recent else None

    def outage_since(self, since):
        # type: (float) -> float
        """Longest run of failed requests sent since `since` (s, to the ms)."""
        return round(report.longest_outage(self.records, since=since), 3)

    def duplicate_since(self, since):
        # type: (float) -> float
        """Time two nodes were seen holding the VIP since `since` (s, to the ms)."""
        return round(report.duplicate_time([x for x in self.samples if x[0] >= since], self._interval), 3)

    def answering(self, window=0.6):
        """The last request sent within `window` (plus the timeout) succeeded."""
        now = time.monotonic()
        recent = [r for r in self.records if r["sent"] >= now - window - PROBE_TIMEOUT]
        return bool(recent) and recent[-1]["ok"]

    def close(self):
        self._stop.set()
        self.probe.send_signal(signal.SIGINT)
        try:
            self.probe.wait(5)
        except subprocess.TimeoutExpired:
            self.probe.kill()
        for t in self._threads:
            t.join(5)


def probe_argv(url, probe_interval):
    # type: (str, float) -> List[str]
    return [sys.executable, "-m", "pyha.drill.probe", "--url", url, "--interval", str(probe_interval),
            "--timeout", str(PROBE_TIMEOUT)]


class Observation(Watch):
    """The lab: the client namespace probes, the holders are read from both nodes' links."""

    def __init__(self, lab, vip=scenario.VIP, probe_interval=PROBE_INTERVAL):
        self.lab = lab
        paths = {n: "/run/netns/" + lab.node(n).netns for n in scenario.NODES}
        self.sampler = HolderSampler(paths, vip)
        env = {"PYTHONPATH": os.pathsep.join(p for p in sys.path if p), "PATH": os.environ.get("PATH", "")}
        argv = ["ip", "netns", "exec", lab.node("client").netns] + probe_argv("http://%s/" % vip, probe_interval)
        super(Observation, self).__init__(argv, self.sampler.holders, env=env)

    def close(self):
        super(Observation, self).close()
        self.sampler.close()


class Result(object):
    def __init__(self, name, expect):
        self.name = name
        self.expect = expect
        self.values = OrderedDict()  # type: Dict[str, Any]
        self.checks = []  # type: List[Any]
        self.notes = []  # type: List[str]

    def check(self, what, ok, detail=""):
        self.checks.append((what, bool(ok), detail))

    @property
    def passed(self):
        return all(ok for _, ok, _ in self.checks)

    def to_dict(self):
        return {"drill": self.name, "expect": self.expect, "passed": self.passed, "values": self.values,
                "checks": [{"check": w, "ok": ok, "detail": d} for w, ok, d in self.checks], "notes": self.notes}


def wait_for(cond, limit, step=0.05):
    """scenario.wait_for at the drills' finer step (they time sub-second events)."""
    return scenario.wait_for(cond, limit, step)


class Cluster(object):
    """Operator actions on the lab's two nodes, whichever daemon each runs."""

    def __init__(self, lab):
        self.lab = lab
        meta = scenario.load_meta(lab)
        self.kinds = meta.get("daemons") or {"HA1": meta.get("peer_daemon", "pyha"), "HA2": "pyha"}
        self.profile = meta.get("profile", "tutorial")
        self.nginx_init = meta.get("nginx_init", "debian")  # labs from before the option: stock script

    def node(self, name):
        return self.lab.node(name)

    PID_FILES = {"heartbeat": "/run/heartbeat.pid", "keepalived": "/run/keepalived.pid", "pyha": "/run/pyha/pyha.pid"}

    def daemon_pid(self, name):
        path = self.PID_FILES[self.kinds[name]]
        r = self.node(name).exec(["cat", path], timeout=10)
        return r.stdout.strip() if r.returncode == 0 else None

    def stop_daemon(self, name, timeout=60):
        if self.kinds[name] == "heartbeat":
            self.node(name).exec(["/etc/init.d/heartbeat", "stop"], timeout=timeout)
            return
        pid = self.daemon_pid(name)  # pyha and keepalived: SIGTERM is the graceful stop
        if pid:
            self.node(name).exec(["kill", "-TERM", pid], timeout=10)
            wait_for(lambda: self.node(name).exec(["kill", "-0", pid], timeout=10).returncode != 0, timeout)

    def kill_daemon(self, name):
        pid = self.daemon_pid(name)
        if self.kinds[name] == "heartbeat":
            # the tutorial's `killall -9 heartbeat`, confined to this node's PID namespace
            self.node(name).exec(["pkill", "-9", "-x", "heartbeat"], timeout=10)
        elif pid:
            self.node(name).exec(["kill", "-KILL", pid], timeout=10)

    def start_daemon(self, name):
        # pyha's pid file is a lock: a stale one (SIGKILL) is harmless, and removing one
        # could take a starting daemon's lock file away
        scenario.start_daemon(self.node(name), self.kinds[name])

    def daemon_running(self, name):
        pid = self.daemon_pid(name)
        return bool(pid) and self.node(name).exec(["kill", "-0", pid], timeout=10).returncode == 0

    def status(self, name):
        """The pyha daemon's status, over its control socket (None for heartbeat/down)."""
        if self.kinds[name] != "pyha":
            return None
        from pyha.daemon.control import ControlError, request
        try:
            return request(self.node(name).host_path("/run/pyha/pyha.sock"), {"cmd": "status"},
                           timeout=5).get("status")
        except (ControlError, OSError):
            return None

    def settled(self, observer, peer):
        """True once `observer` sees `peer` advertising its plain deadtime."""
        st = self.status(observer)
        if st is None:
            return True
        n = st.get("nodes", {}).get(peer, {})
        return n.get("advertised_dt_ms") is not None and n.get("advertised_dt_ms") == n.get("dead_time_ms") \
            and n.get("dead_time_ms") == int(self.timings()[1] * 1000)

    def timings(self):
        """(keepalive, deadtime, initdead) in seconds from HA1's ha.cf."""
        from pyha.config.hacf import HaCf
        cf = HaCf.load(self.node("HA2").host_path("/etc/ha.d/ha.cf"))
        return cf.keepalive_ms / 1000.0, cf.deadtime_ms / 1000.0, cf.initdead_ms / 1000.0


def _steady(cluster, obs, holder="HA1", limit=None):
    _, dead, initdead = cluster.timings()
    limit = limit or max(initdead, dead) + 15
    ok = wait_for(lambda: obs.holders() == [holder] and obs.serving_now() == holder, limit)
    if not ok:
        raise DrillError("no steady state: holders %s, serving %s (expected %s)"
                         % (obs.holders(), obs.serving_now(), holder))
    # A daemon advertises dt = deadtime + 2 s during its first 5 s (heartbeat does, and
    # its peer honours it); a hard-failure drill started then would measure that.
    wait_for(lambda: cluster.settled("HA2", "ha1") and cluster.settled("HA1", "ha2"), 8)


def _measure(res, obs, t_fault, new_holder, t_restore=None):
    after = [r for r in obs.records if r["sent"] >= t_fault - 1.0]
    res.values["serving_before"] = report.serving(obs.records, before=t_fault)
    t_switch = report.first_time(obs.samples, lambda h: h == [new_holder], since=t_fault)
    res.values["detection_s"] = None if t_switch is None else round(t_switch - t_fault, 3)
    res.values["outage_s"] = round(report.longest_outage(after, since=t_fault - 1.0, until=t_restore), 3)
    res.values["serving_after"] = report.serving(obs.records, after=t_fault, before=t_restore)
    res.values["duplicate_vip_s"] = obs.duplicate_since(t_fault - 1)
    res.values["answers_alternating"] = report.alternations(after)
    return t_switch


def _measure_stay(res, obs, t0):
    """The numbers of a drill where nothing should move: who served, outage, duplicates."""
    res.values["serving_before"] = report.serving(obs.records, before=t0)
    res.values["serving_after"] = obs.serving_now()
    res.values["outage_s"] = obs.outage_since(t0)
    res.values["duplicate_vip_s"] = obs.duplicate_since(t0)
    res.values["answers_alternating"] = report.alternations([r for r in obs.records if r["sent"] >= t0])


def _clean_after_heartbeat_kill(cluster):
    """Genuine heartbeat leaves its VIP and pid file behind after SIGKILL: clean up like
    an operator before starting it again."""
    cluster.node("HA1").exec(["sh", "-c", "ip addr del %s/24 dev eth0 2>/dev/null; rm -f /run/heartbeat.pid"
                              % scenario.VIP], timeout=10)


def _common_checks(res, deadline_s, new_holder):
    res.check("clients served by %s after the fault" % new_holder, res.values["serving_after"] == new_holder,
              "served by %s" % res.values["serving_after"])
    res.check("no duplicate VIP during the takeover", res.values["duplicate_vip_s"] == 0,
              "%.2f s" % res.values["duplicate_vip_s"])
    res.check("no answers alternating between nodes", res.values["answers_alternating"] == 0)
    if deadline_s is not None:
        res.check("outage within %.1f s" % deadline_s, res.values["outage_s"] <= deadline_s,
                  "%.2f s" % res.values["outage_s"])


def _failback(res, cluster, obs, t_restore):
    _, dead, initdead = cluster.timings()
    back = wait_for(lambda: obs.holders() == ["HA1"] and obs.serving_now() == "HA1", initdead + dead + 20)
    res.values["failback"] = bool(back)
    res.values["failback_outage_s"] = obs.outage_since(t_restore)
    res.check("failback to HA1 (auto_failback on)", back)
    res.values["failback_duplicate_vip_s"] = obs.duplicate_since(t_restore - 0.2)


# --- the drills ------------------------------------------------------------------------

def drill_failover(cluster, obs, res):
    """`pyha standby` on the holder, then `pyha takeover`: the safe production drill."""
    t0 = time.monotonic()
    if cluster.kinds["HA1"] == "heartbeat":
        cluster.node("HA1").exec(["/usr/share/heartbeat/hb_standby", "all"], timeout=30)
    else:
        scenario.run_pyha(cluster.node("HA1"), "standby")
    wait_for(lambda: obs.holders() == ["HA2"] and obs.serving_now() == "HA2", 30)
    time.sleep(1.0)
    _measure(res, obs, t0, "HA2", None)
    _common_checks(res, 2.0, "HA2")
    t1 = time.monotonic()
    if cluster.kinds["HA1"] == "heartbeat":
        cluster.node("HA1").exec(["/usr/share/heartbeat/hb_takeover", "all"], timeout=30)
    else:
        scenario.run_pyha(cluster.node("HA1"), "takeover")
    back = wait_for(lambda: obs.holders() == ["HA1"] and obs.serving_now() == "HA1", 30)
    time.sleep(0.5)
    res.values["failback"] = bool(back)
    res.values["failback_outage_s"] = obs.outage_since(t1 - 0.5)
    res.check("takeover brings the group back to HA1", back)
    if res.values["failback_outage_s"] > 2.0:
        # Seen once (5.9 s, the first drill after `lab up`), not reproduced since: say so
        # and keep the daemons' logs instead of passing silently.
        res.values["suspect"] = True
        res.notes.append("the takeover back to HA1 cost %.1f s of client outage (expected well under 2 s)"
                         % res.values["failback_outage_s"])


def drill_restart(cluster, obs, res):
    """Graceful restart of the holder's daemon (the tutorial's drill 1)."""
    t0 = time.monotonic()
    cluster.stop_daemon("HA1")
    wait_for(lambda: obs.holders() == ["HA2"] and obs.serving_now() == "HA2", 30)
    _measure(res, obs, t0, "HA2", None)
    _common_checks(res, 2.0, "HA2")
    t1 = time.monotonic()
    cluster.start_daemon("HA1")
    _failback(res, cluster, obs, t1)


def drill_halt(cluster, obs, res):
    """The holder loses power: every process killed, links down (drill 3)."""
    _, dead, _ = cluster.timings()
    t0 = time.monotonic()
    cluster.node("HA1").power_off()
    wait_for(lambda: obs.holders() == ["HA2"] and obs.serving_now() == "HA2", dead + 15)
    time.sleep(0.5)
    _measure(res, obs, t0, "HA2", None)
    _common_checks(res, dead + 2.0, "HA2")
    t1 = time.monotonic()
    cluster.node("HA1").power_on()
    scenario.setup_web(cluster.node("HA1"), cluster.nginx_init)
    scenario.start_nginx(cluster.node("HA1"))
    cluster.start_daemon("HA1")
    _failback(res, cluster, obs, t1)


def drill_kill(cluster, obs, res):
    """SIGKILL of the holder's daemon (drill 5): takeover, and never a duplicate VIP."""
    _, dead, _ = cluster.timings()
    t0 = time.monotonic()
    cluster.kill_daemon("HA1")
    if cluster.kinds["HA1"] == "heartbeat" and cluster.kinds["HA2"] == "pyha":
        # Genuine heartbeat leaves the VIP and nginx running after SIGKILL.  pyha on HA2
        # declares it dead, probes the VIP, hears HA1 answer, and must not take it.
        time.sleep(dead + 2.0)
        _measure_stay(res, obs, t0)
        res.notes.append("genuine heartbeat keeps its VIP after SIGKILL; pyha must not duplicate it")
        res.check("pyha does not take a VIP that still answers", obs.holders() == ["HA1"],
                  "holders %s" % obs.holders())
        res.check("no duplicate VIP", res.values["duplicate_vip_s"] == 0)
        res.check("no answers alternating between nodes", res.values["answers_alternating"] == 0)
        _clean_after_heartbeat_kill(cluster)
        wait_for(lambda: obs.holders() == ["HA2"], dead + 10)  # the VIP is free now: HA2 takes it
        t1 = time.monotonic()
        cluster.start_daemon("HA1")
        _failback(res, cluster, obs, t1)
        return
    wait_for(lambda: obs.holders() == ["HA2"] and obs.serving_now() == "HA2", dead + 15)
    time.sleep(0.5)
    _measure(res, obs, t0, "HA2", None)
    _common_checks(res, dead + 2.0, "HA2")
    t1 = time.monotonic()
    if cluster.kinds["HA1"] == "heartbeat":
        _clean_after_heartbeat_kill(cluster)
    cluster.start_daemon("HA1")
    _failback(res, cluster, obs, t1)


def drill_link_down(cluster, obs, res):
    """Only the heartbeat link (eth1) dies: no takeover is the expected result."""
    _, dead, _ = cluster.timings()
    t0 = time.monotonic()
    cluster.node("HA1").link_down("eth1")
    time.sleep(dead * 2 + 2)
    _no_takeover(res, obs, t0)
    cluster.node("HA1").link_up("eth1")
    time.sleep(dead + 1)


def drill_nic_down(cluster, obs, res):
    """The holder's public NIC (eth0) goes down (drill 2)."""
    _, dead, _ = cluster.timings()
    t0 = time.monotonic()
    cluster.node("HA1").link_down("eth0")
    wait_for(lambda: obs.holders() == ["HA2"] and obs.serving_now() == "HA2", dead + 20)
    time.sleep(0.5)
    _measure(res, obs, t0, "HA2", None)
    _common_checks(res, None, "HA2")
    if cluster.kinds["HA1"] == "pyha" and cluster.kinds["HA2"] == "pyha":
        # pyha hands over on the carrier loss itself (issue 4 item 9), not after ping
        # arbitration or deadtime; the outage is then the services' stop and start.
        st = cluster.status("HA1") or {}
        reasons = [d.get("reason", "") for d in st.get("resources", {}).get("decisions", [])]
        res.check("HA1 handed over because eth0 lost its carrier",
                  any("eth0 has no carrier (carrying" in r for r in reasons),
                  "decisions: %s" % "; ".join(reasons[-3:]))
    t1 = time.monotonic()
    cluster.node("HA1").link_up("eth0")
    _failback(res, cluster, obs, t1)


def drill_link_then_nic(cluster, obs, res):
    """Drill 4: eth1 down (no takeover), then eth0 down too (takeover)."""
    _, dead, _ = cluster.timings()
    cluster.node("HA1").link_down("eth1")
    time.sleep(dead * 2 + 1)
    res.check("no takeover while only eth1 is down", obs.holders() == ["HA1"], "holders %s" % obs.holders())
    t0 = time.monotonic()
    cluster.node("HA1").link_down("eth0")
    wait_for(lambda: obs.holders() == ["HA2"] and obs.serving_now() == "HA2", dead + 20)
    time.sleep(0.5)
    _measure(res, obs, t0, "HA2", None)
    _common_checks(res, dead + 2.0, "HA2")
    t1 = time.monotonic()
    cluster.node("HA1").link_up("eth0")
    cluster.node("HA1").link_up("eth1")
    _failback(res, cluster, obs, t1)
    if cluster.kinds["HA1"] == "pyha":
        # HA1 could not hand its dark group over (its peer was dead to it): it released it,
        # so the address does not come back beside HA2's with the carrier.  (A genuine HA1
        # keeps it: that duplicate is heartbeat's, measured but not judged.)
        res.check("no duplicate VIP when both links come back", res.values["failback_duplicate_vip_s"] == 0,
                  "%s s" % res.values["failback_duplicate_vip_s"])


def drill_failback(cluster, obs, res):
    """The preferred node comes back (auto_failback on): how long clients wait."""
    t0 = time.monotonic()
    cluster.stop_daemon("HA1")
    wait_for(lambda: obs.holders() == ["HA2"] and obs.serving_now() == "HA2", 30)
    _measure(res, obs, t0, "HA2", None)
    _common_checks(res, None, "HA2")
    time.sleep(1.0)
    t1 = time.monotonic()
    cluster.start_daemon("HA1")
    _failback(res, cluster, obs, t1)
    res.check("no duplicate VIP during failback", res.values.get("failback_duplicate_vip_s") == 0,
              "%s s" % res.values.get("failback_duplicate_vip_s"))


def drill_flap(cluster, obs, res):
    """The heartbeat link flaps (down/up every 0.3 s for 8 s): no takeover, no outage."""
    _, dead, _ = cluster.timings()
    t0 = time.monotonic()
    node = cluster.node("HA1")
    while time.monotonic() - t0 < 8.0:
        node.link_down("eth1")
        time.sleep(0.3)
        node.link_up("eth1")
        time.sleep(0.3)
    time.sleep(dead + 1)
    _no_takeover(res, obs, t0)


def both_ways(node, rule, on, what):
    """Insert (`on`) or delete an iptables `rule` in `node`'s INPUT and OUTPUT chains; a
    failed insert is a DrillError naming `what`."""
    for chain in ("INPUT", "OUTPUT"):
        r = node.exec(["iptables", "-I" if on else "-D", chain] + rule, timeout=20)
        if on and r.returncode != 0:
            raise DrillError("cannot %s: %s" % (what, r.stderr.strip()))


def drill_loss(cluster, obs, res):
    """30% of heartbeat packets lost in both directions on both links for 10 s (iptables
    `statistic`: this kernel has no netem): no false failover, no outage."""
    _, dead, _ = cluster.timings()
    rule = ["-p", "udp", "--dport", "694", "-m", "statistic", "--mode", "random", "--probability", "0.3",
            "-j", "DROP"]
    node = cluster.node("HA1")
    both_ways(node, rule, True, "install the loss rule")
    t0 = time.monotonic()
    try:
        time.sleep(10.0)
    finally:
        both_ways(node, rule, False, "remove the loss rule")
    time.sleep(dead + 1)
    _no_takeover(res, obs, t0)


def drill_cold_start(cluster, obs, res):
    """Both nodes boot at once: exactly one holder, the preferred one, no duplicate."""
    for name in scenario.NODES:
        cluster.stop_daemon(name)
    time.sleep(1.0)
    t0 = time.monotonic()
    for name in scenario.NODES:
        cluster.start_daemon(name)
    _, dead, initdead = cluster.timings()
    up = wait_for(lambda: obs.holders() == ["HA1"] and obs.serving_now() == "HA1", initdead + dead + 20)
    time.sleep(2.0)
    res.values["serving_after"] = obs.serving_now()
    res.values["start_to_service_s"] = round((up and report.first_time(
        obs.samples, lambda h: h == ["HA1"], since=t0) or t0) - t0, 3)
    res.values["duplicate_vip_s"] = obs.duplicate_since(t0)
    res.values["answers_alternating"] = report.alternations([r for r in obs.records if r["sent"] >= t0])
    res.check("the preferred node HA1 serves after a cold start", up and obs.holders() == ["HA1"],
              "holders %s" % obs.holders())
    res.check("no duplicate VIP", res.values["duplicate_vip_s"] == 0)
    res.check("no answers alternating between nodes", res.values["answers_alternating"] == 0)


def kill_service(node, name="nginx"):
    # type: (Any, str) -> List[str]
    """SIGKILL every process called `name` on lab node `node` (its own PID namespace), by
    PID; returns the PIDs killed."""
    r = node.exec(["sh", "-c", "pids=$(pgrep -x %s) && kill -KILL $pids && echo $pids" % name], timeout=10)
    return r.stdout.split() if r.returncode == 0 else []


def drill_service_kill(cluster, obs, res):
    """SIGKILL of every nginx process on the holder, its daemon alive (issue 14): pyha's
    `monitor nginx` check fails and nginx is restarted in place; nothing moves."""
    t0 = time.monotonic()
    killed = kill_service(cluster.node("HA1"))
    if not killed:
        raise DrillError("no nginx process to kill on HA1")
    res.values["killed_pids"] = len(killed)
    if cluster.kinds["HA1"] != "pyha":
        # Nothing watches nginx there (heartbeat's haresources mode): measure a while,
        # then restart it as an operator would.
        time.sleep(10.0)
        _measure_stay(res, obs, t0)
        res.notes.append("%s does not watch nginx: clients get no answer until it is restarted by hand"
                         % cluster.kinds["HA1"])
        res.check("no duplicate VIP", res.values["duplicate_vip_s"] == 0)
        scenario.start_nginx(cluster.node("HA1"))
        wait_for(lambda: obs.serving_now() == "HA1" and obs.answering(), 10)
        return
    wait_for(lambda: not obs.answering(), 5)
    back = wait_for(lambda: obs.answering() and obs.serving_now() == "HA1", 30)
    time.sleep(0.5)
    _measure_stay(res, obs, t0)
    res.check("nginx restarted in place: HA1 serves again", back and obs.holders() == ["HA1"],
              "holders %s, serving %s" % (obs.holders(), obs.serving_now()))
    res.check("no duplicate VIP", res.values["duplicate_vip_s"] == 0)
    res.check("no answers alternating between nodes", res.values["answers_alternating"] == 0)
    # the check interval (2 s in the lab's pyha.cf) + the check + stop and start of nginx
    res.check("outage within 5 s", res.values["outage_s"] <= 5.0, "%.2f s" % res.values["outage_s"])
    st = cluster.status("HA1") or {}
    reasons = [d.get("reason", "") for d in st.get("resources", {}).get("decisions", [])]
    res.check("HA1 restarted nginx because its check failed",
              any(r.startswith("nginx failed its check") and "restarting it here" in r for r in reasons),
              "decisions: %s" % "; ".join(reasons[-3:]))


def _no_takeover(res, obs, t0):
    """Measure since `t0` and check that HA1 kept serving alone without an outage."""
    _measure_stay(res, obs, t0)
    res.check("no takeover: HA1 still serves", res.values["serving_after"] == "HA1" and obs.holders() == ["HA1"],
              "holders %s" % obs.holders())
    res.check("no outage", res.values["outage_s"] == 0, "%.2f s" % res.values["outage_s"])
    res.check("no duplicate VIP", res.values["duplicate_vip_s"] == 0)


DRILLS = OrderedDict([
    ("failover", (drill_failover, "standby moves the group to HA2, takeover brings it back")),
    ("restart", (drill_restart, "graceful restart: switch-over within 2 s, failback")),
    ("halt", (drill_halt, "holder powered off: takeover within deadtime + 2 s, failback")),
    ("kill", (drill_kill, "daemon SIGKILLed: takeover, no duplicate VIP, failback")),
    ("link-down", (drill_link_down, "heartbeat link cut: no takeover")),
    ("nic-down", (drill_nic_down, "public NIC down: takeover, failback")),
    ("link-then-nic", (drill_link_then_nic, "eth1 then eth0 down: no takeover, then takeover")),
    ("failback", (drill_failback, "preferred node returns: the group goes back to it, no duplicate")),
    ("flap", (drill_flap, "heartbeat link flapping: no takeover, no outage")),
    ("loss", (drill_loss, "30% heartbeat packet loss: no false failover")),
    ("cold-start", (drill_cold_start, "both nodes start at once: one holder, the preferred one")),
    ("service-kill", (drill_service_kill, "nginx SIGKILLed on the holder: restarted in place, nothing moves")),
])


def fence_drills():
    # type: () -> Dict[str, Any]
    """The fencing drills (`pyha.drill.fencing`): only for a `pyha lab up --fencing` pair,
    never among the drills run by default."""
    from pyha.drill.fencing import FENCE_DRILLS
    return OrderedDict(FENCE_DRILLS)


# Drills whose holder looks dead to its peer: on a --fencing lab HA2 fences HA1 first
# (fence_delay 5 s, outside their outage limits) and HA1 stays off under the drill.
FENCED_BY_DESIGN = ("halt", "kill", "link-then-nic")


def refusal(name, meta):
    # type: (str, Dict[str, Any]) -> Optional[str]
    """Why drill `name` must not run on the lab described by `meta` (scenario.json), or None."""
    if name in fence_drills():
        from pyha.drill.fencing import require_fencing
        try:
            require_fencing(meta)
        except DrillError as exc:
            return "%s: %s" % (name, exc)
    elif name in FENCED_BY_DESIGN and meta.get("fencing"):
        return ("%s: this lab fences (pyha lab up --fencing): the peer would fence HA1 before taking over, "
                "outside this drill's limits, and HA1 would stay off; run it on a lab without --fencing, "
                "or the fence-links-cut and fence-broken-bmc drills here" % name)
    return None


def run(lab, name, progress=None, probe_interval=PROBE_INTERVAL, live=False):
    # type: (Any, str, Optional[Callable[[str], Any]], float, bool) -> Result
    """`live`: a progress line rewritten in place while the drill waits (a terminal).
    A drill this lab cannot run (`refusal`) raises DrillError before touching it."""
    fencing = fence_drills()
    if name not in DRILLS and name not in fencing:
        raise DrillError("unknown drill %r (known: %s)" % (name, ", ".join(list(DRILLS) + list(fencing))))
    why = refusal(name, scenario.load_meta(lab))
    if why is not None:
        raise DrillError(why)
    func, expect = DRILLS[name] if name in DRILLS else fencing[name]
    say = progress or (lambda text: None)
    cluster = Cluster(lab)
    res = Result(name, expect)
    obs = Observation(lab, probe_interval=probe_interval)
    try:
        say("%s: waiting for HA1 to serve the VIP" % name)
        _steady(cluster, obs)
        say("%s: %s" % (name, expect))
        line = LiveLine(obs, name).start() if live else None
        try:
            func(cluster, obs, res)
        finally:
            if line is not None:
                line.stop()
        res.values["probes"] = len(obs.records)
    except (DrillError, LabError) as exc:
        res.check("drill ran", False, str(exc))
    finally:
        obs.close()
    if not res.passed or res.values.get("suspect"):
        note_failed_requests(res, obs)
        try:  # where the client sends packets for the VIP now (a stale ARP entry shows here)
            r = lab.node("client").exec(["ip", "neigh", "show", "to", scenario.VIP], timeout=10)
            res.notes.append("client neighbour entry for %s: %s" % (scenario.VIP, r.stdout.strip() or "none"))
        except Exception as exc:  # noqa: a diagnostic must never hide the drill's result
            res.notes.append("client neighbour entry: unavailable (%s)" % exc)
        for name in scenario.NODES:
            path = lab.node(name).host_path("/var/log/pyha-daemon.out")
            try:
                with open(path) as f:
                    tail = f.read().splitlines()[-25:]
            except OSError:
                continue
            res.notes.append("%s daemon log (last lines):\n    %s" % (name, "\n    ".join(tail)))
    return res


def note_failed_requests(res, obs):
    # type: (Result, Watch) -> None
    """Say how the client's failed requests failed: a connect timeout means nobody held
    the address (or ARP pointed elsewhere), refused means the address without the service."""
    why = report.failure_summary(obs.records)
    if why:
        res.notes.append("failed requests: " + why)


def format_result(res):
    # type: (Result) -> str
    lines = ["drill %-14s %s" % (res.name, "PASS" if res.passed else "FAIL"), "  expected: " + res.expect]
    labels = [("node", "run on node"), ("serving_before", "serving before"), ("serving_after", "serving after"),
              ("start_to_service_s", "start to service (s)"),
              ("detection_s", "detection (s)"), ("outage_s", "client outage (s)"),
              ("duplicate_vip_s", "duplicate VIP (s)"), ("answers_alternating", "split-brain answers"),
              ("address_removed_s", "address removed (s)"),
              ("failback", "failback"), ("failback_outage_s", "failback outage (s)"),
              ("failback_duplicate_vip_s", "failback dup. VIP (s)")] + fence_report.LABELS + [("probes", "probes")]
    for key, label in labels:
        if key in res.values:
            lines.append("  %-22s %s" % (label, res.values[key]))
    for what, ok, detail in res.checks:
        lines.append("  [%s] %s%s" % ("ok" if ok else "FAIL", what, " (%s)" % detail if detail else ""))
    for note in res.notes:
        lines.append("  note: " + note)
    return "\n".join(lines)
