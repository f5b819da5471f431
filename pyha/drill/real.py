"""`pyha drill --url http://VIP/`: the drills on a real pair, run from one of its nodes.

In the lab a drill can act on both nodes and watch from a client namespace; on a real
cluster the operator sits on one node.  So the faults are the ones a node can inflict
on itself (its own daemon, its own links), the holder is what the cluster protocol says
(the local daemon's view of itself and of its peer, asked over the control socket every
100 ms), and the client is a probe on this node requesting `--url` every 100 ms.

Safety, because this runs on production machines:
* `failover` (standby, then takeover back) is the one drill that never leaves a node
  without the service; every other drill takes something down and runs only with
  `--yes`.
* A destructive drill runs only when both daemons are up, the peer is active and the
  group is held by exactly one node: a drill on a degraded pair would be an outage.
* A link taken down is brought up again by a detached process (own session, not a child
  of the drill) after `restore_after` seconds, whatever happens to the drill's session:
  an SSH connection that dies with the link must not leave the node cut off.  The drill
  restores earlier itself when it can; the late restore is then a no-op.

Numbers are honest about what one node can see: while its own public NIC is down, the
probe on this node cannot reach the VIP on the peer, so nic-down reports the hand-over
time from the daemons' state and no client outage.
"""

import os
import shutil
import signal
import subprocess
import time
from collections import OrderedDict
from typing import Any, Callable, Dict, List, Optional

from pyha import paths
from pyha.drill import report
from pyha.drill.drills import (PROBE_INTERVAL, DrillError, Result, Watch, note_failed_requests, probe_argv,
                               wait_for)
from pyha.drill.live import LiveLine

SAMPLE_INTERVAL = 0.1
SAFE = ("failover",)


class RealPair(object):
    """This node, its peer and the service group, as the local daemon and /etc/ha.d say."""

    def __init__(self, ha_dir=paths.HA_DIR, run_dir=paths.RUN_DIR, group=None, restart_cmd=None,
                 start_cmd=None):
        # type: (str, str, Optional[str], Optional[str], Optional[str]) -> None
        from pyha.config.haresources import Haresources
        from pyha.resources import agents, ipaddr
        self.run_dir = run_dir
        self.control = paths.control_path(run_dir)
        st = self.status()
        if st is None:
            raise DrillError("pyha is not running on this node (no answer on %s)" % self.control)
        self.me = st["daemon"]["node"]
        cfg = st.get("config", {})
        self.keepalive = cfg.get("keepalive_ms", 1000) / 1000.0
        self.deadtime = cfg.get("deadtime_ms", 30000) / 1000.0
        self.initdead = cfg.get("initdead_ms", 60000) / 1000.0
        res = st.get("resources") or {}
        self.peer = res.get("peer") or next((n for n in cfg.get("nodes", []) if n != self.me), None)
        if not self.peer:
            raise DrillError("this node's daemon knows no peer")
        self.auto_failback = res.get("auto_failback", "on")
        try:
            har = Haresources.load(os.path.join(ha_dir, "haresources"))
        except (OSError, ValueError) as exc:
            raise DrillError("cannot read %s/haresources: %s" % (ha_dir, exc))
        self.group = None  # type: Optional[str]
        self.vip_iface = None  # type: Optional[str]
        for g in har.groups:
            if group is not None and g.key != group:
                continue
            for r in g.resources:
                try:
                    agent = agents.resolve(r.token, resource_d=os.path.join(ha_dir, "resource.d"), systemd=False)
                except agents.AgentError:
                    continue
                if agent.kind == agents.KIND_IP:
                    spec = ipaddr.IpSpec.parse(agent.ip_spec())
                    try:
                        self.vip_iface = spec.ifname or ipaddr.resolve(spec)[0]
                    except ipaddr.IpResourceError as exc:
                        raise DrillError("cannot find the interface for %s here: %s" % (spec.ip, exc))
                    self.group = g.key
                    self.vip_spec = spec
                    self.preferred = g.node.lower()
                    break
            if self.group:
                break
        if self.group is None:
            raise DrillError("no resource group with a service address%s in %s/haresources" % (
                " named %s" % group if group else "", ha_dir))
        self.hb_ifaces = sorted(set(m for m in cfg.get("media", []) if m != self.vip_iface))
        self.restart_cmd = restart_cmd
        self.start_cmd = start_cmd

    # -- asking the daemons ------------------------------------------------------------
    def status(self):
        # type: () -> Optional[Dict[str, Any]]
        from pyha.daemon.control import ControlError, request
        try:
            return request(self.control, {"cmd": "status"}, timeout=2).get("status")
        except (ControlError, OSError, ValueError):
            return None

    def holders(self, st=None):
        # type: (Optional[Dict[str, Any]]) -> Optional[List[str]]
        """Who runs the group: this daemon for itself, and what the peer last reported over
        the cluster (None when the local daemon does not answer)."""
        st = st if st is not None else self.status()
        if st is None:
            return None
        res = st.get("resources") or {}
        out = []
        g = (res.get("groups") or {}).get(self.group) or {}
        if g.get("state") == "held":
            out.append(self.me)
        peer = res.get("peer_state") or {}
        running = peer.get("running_groups")
        if running is None:
            running = peer.get("holds_groups") or []
        if peer.get("state") == "up" and self.group in running:
            out.append(self.peer)
        return sorted(out)

    def command(self, cmd, which="all"):
        from pyha.daemon.control import ControlError, request
        try:
            answer = request(self.control, {"cmd": cmd, "which": which}, timeout=10)
        except ControlError as exc:
            raise DrillError("%s: %s" % (cmd, exc.message))
        if not answer.get("ok"):
            raise DrillError("%s refused: %s" % (cmd, answer.get("error") or answer.get("reason")))

    def healthy(self):
        # type: () -> Optional[str]
        """None when a destructive drill may run, else why not."""
        st = self.status()
        if st is None:
            return "the local daemon does not answer"
        peer = st.get("nodes", {}).get(self.peer, {})
        if peer.get("state") != "up" or peer.get("status") != "active":
            return "the peer %s is %s/%s, not up and active" % (self.peer, peer.get("state"), peer.get("status"))
        holders = self.holders(st)
        if holders is None or len(holders) != 1:
            return "the group %s is held by %s, not by exactly one node" % (self.group, holders or "nobody")
        if not (st.get("resources") or {}).get("stable"):
            return "resources are in flux here (%s)" % (st.get("resources") or {}).get("phase")
        return None

    # -- acting on this node -----------------------------------------------------------
    def link(self, dev, up):
        r = subprocess.run(["ip", "link", "set", dev, "up" if up else "down"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, universal_newlines=True)
        if r.returncode != 0:
            raise DrillError("ip link set %s %s: %s" % (dev, "up" if up else "down", r.stderr.strip()))

    def schedule_restore(self, devs, after_s):
        # type: (List[str], float) -> int
        """Bring `devs` up after `after_s` seconds from a process in its own session that
        survives the drill (and its terminal or SSH connection).  Returns its PID."""
        ip = shutil.which("ip") or "/sbin/ip"
        script = "sleep %.1f; for d in %s; do %s link set \"$d\" up; done" % (after_s, " ".join(devs), ip)
        proc = subprocess.Popen(["sh", "-c", script], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True, close_fds=True)
        return proc.pid

    def vip_here(self):
        # type: () -> bool
        from pyha.resources import ipaddr
        return ipaddr.is_present(self.vip_spec)

    def vip_diagnosis(self):
        # type: () -> str
        """Where this node sends packets for the VIP: a failed drill's first question."""
        from pyha.resources import ipaddr
        try:
            if ipaddr.is_present(self.vip_spec):
                return "%s is configured on this node" % self.vip_spec.ip
        except Exception as exc:  # noqa: a diagnostic must never hide the drill's result
            return "cannot tell whether %s is on this node: %s" % (self.vip_spec.ip, exc)
        try:
            r = subprocess.run(["ip", "neigh", "show", "to", self.vip_spec.ip], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, universal_newlines=True, timeout=10)
            entry = r.stdout.strip() or "no neighbour entry"
        except (OSError, subprocess.SubprocessError) as exc:
            entry = "cannot run ip: %s" % exc
        return "%s is not on this node; ip neigh: %s" % (self.vip_spec.ip, entry)

    def daemon_pid(self):
        # type: () -> Optional[int]
        try:
            with open(paths.pid_path(self.run_dir)) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def service(self, action):
        # type: (str) -> None
        """Restart or start the local daemon the way this host runs it."""
        cmd = self.restart_cmd if action == "restart" else self.start_cmd
        if cmd:
            argv = ["sh", "-c", cmd]
        elif os.path.isdir("/run/systemd/system") and shutil.which("systemctl"):
            argv = ["systemctl", action, "pyha"]
        elif os.path.exists("/etc/init.d/pyha"):
            argv = ["/etc/init.d/pyha", action]
        else:
            raise DrillError("cannot %s pyha here: no systemd unit or /etc/init.d/pyha; give --%s-cmd" % (
                action, action))
        r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                           timeout=120)
        if r.returncode != 0:
            raise DrillError("%s failed (exit %d): %s" % (" ".join(argv), r.returncode, r.stdout.strip()[-300:]))


class RealObservation(Watch):
    """This node requests the URL; the daemons say who holds the group."""

    def __init__(self, pair, url, probe_interval=PROBE_INTERVAL):
        self.pair = pair
        super(RealObservation, self).__init__(probe_argv(url, probe_interval), pair.holders,
                                              interval=SAMPLE_INTERVAL)

    def holders(self):
        return self.samples[-1][1] if self.samples else None


def _switch(res, obs, t0, new_holder, limit, client=True):
    def moved():
        # seen at any moment since t0: a restart may have handed over and back already
        return report.first_time(obs.samples, lambda h: h == [new_holder], since=t0) is not None

    ok = wait_for(lambda: moved() and (not client or obs.answering()), limit)
    t_switch = report.first_time(obs.samples, lambda h: h == [new_holder], since=t0)
    res.values["detection_s"] = None if t_switch is None else round(t_switch - t0, 3)
    if client:
        time.sleep(0.5)
        res.values["outage_s"] = obs.outage_since(t0 - 1.0)
    res.values["duplicate_vip_s"] = obs.duplicate_since(t0 - 1)
    res.check("group moved to %s" % new_holder, ok, "holders %s" % obs.holders())
    res.check("never held by both nodes", res.values["duplicate_vip_s"] == 0,
              "%.2f s" % res.values["duplicate_vip_s"])
    return ok


def _back(res, pair, obs, t0, holder, limit, key="failback_outage_s"):
    ok = wait_for(lambda: obs.holders() == [holder] and obs.answering(), limit)
    time.sleep(0.5)
    res.values[key] = obs.outage_since(t0)
    res.check("group back on %s" % holder, ok, "holders %s" % obs.holders())


def drill_failover(pair, obs, res, opts):
    """Standby on the holder's side, then back: safe on a production pair."""
    if obs.holders() == [pair.me]:
        first, then, there, home = "standby", "takeover", pair.peer, pair.me
    else:
        first, then, there, home = "takeover", "standby", pair.me, pair.peer
    t0 = time.monotonic()
    pair.command(first)
    _switch(res, obs, t0, there, pair.deadtime + 30)
    t1 = time.monotonic()
    pair.command(then)
    _back(res, pair, obs, t1, home, pair.deadtime + 30)


def drill_restart(pair, obs, res, opts):
    """Graceful restart of this node's daemon.  A stopping daemon no longer follows its
    peer's reports and a fast pair hands back within a second, so the hand-over itself
    may never show in the samples: judged by the client, and by one holder at the end."""
    holder = obs.holders()[0]
    t0 = time.monotonic()
    pair.service("restart")
    ok = wait_for(lambda: obs.holders() is not None and len(obs.holders()) == 1 and obs.answering(),
                  pair.initdead + pair.deadtime + 30)
    time.sleep(0.5)
    res.values["outage_s"] = obs.outage_since(t0 - 1.0)
    res.values["duplicate_vip_s"] = obs.duplicate_since(t0)
    res.check("one holder after the restart, clients served", ok, "holders %s" % obs.holders())
    res.check("client outage within 2 s", res.values["outage_s"] <= 2.0, "%.2f s" % res.values["outage_s"])
    res.check("never held by both nodes", res.values["duplicate_vip_s"] == 0)
    if holder == pair.me and pair.auto_failback == "on" and pair.preferred == pair.me:
        _back(res, pair, obs, t0, pair.me, pair.initdead + pair.deadtime + 30)


def drill_kill(pair, obs, res, opts):
    """SIGKILL this node's daemon: the guardian releases, the peer takes over after deadtime."""
    pid = pair.daemon_pid()
    if pid is None:
        raise DrillError("no pid file for the local daemon")
    holder = obs.holders()[0]
    t0 = time.monotonic()
    os.kill(pid, 9)
    # The local daemon is gone, and with it our view of the peer until it is restarted:
    # watch the client and the address on this node instead.
    t_gone = t0
    if holder == pair.me:
        gone = wait_for(lambda: not pair.vip_here(), 5, step=0.01)
        t_gone = time.monotonic()
        res.values["address_removed_s"] = round(t_gone - t0, 3)
        res.check("the guardian removed the address here at once", gone)
    # an answer to a request sent once the address left this node comes from the peer
    served = wait_for(lambda: any(r["ok"] and r["sent"] >= t_gone for r in list(obs.records)),
                      pair.deadtime + 30)
    time.sleep(0.5)
    res.values["outage_s"] = obs.outage_since(t0 - 1.0)
    res.check("clients served again", served)
    t1 = time.monotonic()
    pair.service("start")
    if holder == pair.me and pair.auto_failback == "on" and pair.preferred == pair.me:
        _back(res, pair, obs, t1, pair.me, pair.initdead + pair.deadtime + 30)
    else:
        ok = wait_for(lambda: obs.holders() is not None and len(obs.holders()) == 1, pair.initdead + 30)
        res.check("one holder after the restart", ok, "holders %s" % obs.holders())


def drill_link_down(pair, obs, res, opts):
    """This node's heartbeat-only links go down: nothing must move."""
    if not pair.hb_ifaces:
        raise DrillError("this node has no heartbeat link besides %s (ha.cf media: the public one only)"
                         % pair.vip_iface)
    before = obs.holders()
    wait_s = 2 * pair.deadtime + 1
    pid = pair.schedule_restore(pair.hb_ifaces, opts["restore_after"] or wait_s + 30)
    res.notes.append("restore scheduled: pid %d brings %s up in any case" % (pid, ", ".join(pair.hb_ifaces)))
    t0 = time.monotonic()
    for dev in pair.hb_ifaces:
        pair.link(dev, False)
    try:
        time.sleep(wait_s)
        res.values["outage_s"] = obs.outage_since(t0)
    finally:
        for dev in pair.hb_ifaces:
            pair.link(dev, True)
    # the peer's view was stale while cut; judge by our own daemon and the client
    res.check("no outage", res.values["outage_s"] == 0, "%.2f s" % res.values["outage_s"])
    time.sleep(pair.deadtime + 2 * pair.keepalive + 1)
    res.check("nothing moved", obs.holders() == before, "holders %s, before %s" % (obs.holders(), before))
    res.values["duplicate_vip_s"] = obs.duplicate_since(t0)


def drill_nic_down(pair, obs, res, opts):
    """This node's public NIC (the VIP's interface) goes down."""
    holder = obs.holders()[0]
    limit = pair.deadtime + 20
    pid = pair.schedule_restore([pair.vip_iface], opts["restore_after"] or limit + 30)
    res.notes.append("restore scheduled: pid %d brings %s up in any case" % (pid, pair.vip_iface))
    t0 = time.monotonic()
    pair.link(pair.vip_iface, False)
    try:
        if holder == pair.me:
            _switch(res, obs, t0, pair.peer, limit, client=False)
        else:
            time.sleep(pair.deadtime + 2)
            res.check("the peer kept the group", obs.holders() == [pair.peer], "holders %s" % obs.holders())
    finally:
        pair.link(pair.vip_iface, True)
    res.notes.append("no client outage measured: with its public NIC down this node cannot reach the VIP")
    if holder == pair.me and pair.auto_failback == "on" and pair.preferred == pair.me:
        _back(res, pair, obs, time.monotonic(), pair.me, pair.deadtime + 30)


def service_pids(name, proc="/proc"):
    # type: (str, str) -> List[int]
    """PIDs of the processes whose name (comm, at most 15 characters) is `name`, read from
    /proc: the drill kills exactly these, one by one."""
    out = []
    for entry in os.listdir(proc):
        if not entry.isdigit():
            continue
        try:
            with open(os.path.join(proc, entry, "comm")) as f:
                comm = f.read().strip()
        except OSError:
            continue  # gone meanwhile
        if comm == name[:15]:
            out.append(int(entry))
    return sorted(out)


def monitored_service(st, group):
    # type: (Dict[str, Any], str) -> Optional[str]
    """The process name of the service a pyha.cf `monitor` line checks in `group` (its
    script name, before any `::`), from the daemon's status."""
    for name, m in (st.get("monitors") or {}).items():
        if m.get("group") == group:
            return name.split("::")[0].split("/")[-1]
    return None


def drill_service_kill(pair, obs, res, opts):
    """SIGKILL of every process of the monitored service on this node, the holder, its
    daemon alive (issue 14): the failed check restarts it in place (or, out of restarts,
    hands the group over); clients are served again, never by both nodes."""
    if obs.holders() != [pair.me]:
        raise DrillError("run service-kill on the node that holds %s (holders: %s)" % (pair.group, obs.holders()))
    name = monitored_service(pair.status() or {}, pair.group)
    if name is None:
        raise DrillError("no pyha.cf monitor line checks a resource of %s: nothing would notice" % pair.group)
    pids = [p for p in service_pids(name) if p != os.getpid()]
    if not pids:
        raise DrillError("no process called %s on this node" % name)
    t0 = time.monotonic()
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    res.values["killed_pids"] = len(pids)
    wait_for(lambda: not obs.answering(), 5)
    back = wait_for(lambda: obs.answering() and obs.holders() is not None and len(obs.holders()) == 1, 60)
    time.sleep(0.5)
    res.values["outage_s"] = obs.outage_since(t0 - 1.0)
    res.values["duplicate_vip_s"] = obs.duplicate_since(t0)
    res.check("clients served again", back, "holders %s" % obs.holders())
    res.check("never held by both nodes", res.values["duplicate_vip_s"] == 0,
              "%.2f s" % res.values["duplicate_vip_s"])
    st = pair.status() or {}
    reasons = [d.get("reason", "") for d in (st.get("resources") or {}).get("decisions", [])]
    res.check("the daemon acted because %s failed its check" % name,
              any(r.startswith("%s failed its check" % name) for r in reasons), "; ".join(reasons[-2:]))


REAL_DRILLS = OrderedDict([
    ("failover", (drill_failover, "standby moves the group to the peer, takeover brings it back")),
    ("restart", (drill_restart, "graceful restart of this node's daemon: hand-over, no duplicate")),
    ("kill", (drill_kill, "SIGKILL of this node's daemon: service back without a duplicate VIP")),
    ("link-down", (drill_link_down, "this node's heartbeat links down: nothing moves")),
    ("nic-down", (drill_nic_down, "this node's public NIC down: hand-over at once")),
    ("service-kill", (drill_service_kill, "SIGKILL of the monitored service here: restarted, served again")),
])


def run(pair, name, url, yes=False, progress=None, restore_after=None, probe_interval=PROBE_INTERVAL, live=False):
    # type: (RealPair, str, str, bool, Optional[Callable[[str], Any]], Optional[float], float, bool) -> Result
    if name not in REAL_DRILLS:
        raise DrillError("drill %r needs the lab (on a real pair: %s)" % (name, ", ".join(REAL_DRILLS)))
    if name not in SAFE and not yes:
        raise DrillError("%s takes the service or a link down on this production node; "
                         "run it with --yes if you mean it (the safe drill is `failover`)" % name)
    func, expect = REAL_DRILLS[name]
    say = progress or (lambda text: None)
    why = pair.healthy()
    if why is not None:
        raise DrillError("not drilling a degraded pair: %s" % why)
    from pyha.resources import ipaddr
    res = Result(name, expect)
    res.values["node"] = pair.me
    obs = RealObservation(pair, url, probe_interval=probe_interval)
    try:
        ok = wait_for(lambda: obs.answering() and obs.holders() and len(obs.holders()) == 1, 15)
        if not ok:
            raise DrillError("%s does not answer from here, or no single holder (holders %s)" % (url, obs.holders()))
        res.values["serving_before"] = obs.holders()[0]
        say("%s: %s" % (name, expect))
        line = LiveLine(obs, name).start() if live else None
        try:
            func(pair, obs, res, {"restore_after": restore_after})
        finally:
            if line is not None:
                line.stop()
        res.values["serving_after"] = (obs.holders() or [None])[0]
        res.values["probes"] = len(obs.records)
    except DrillError as exc:
        res.check("drill ran", False, str(exc))
    except ipaddr.IpResourceError as exc:
        res.check("drill ran", False, str(exc))
    finally:
        obs.close()
    if not res.passed:
        note_failed_requests(res, obs)
        res.notes.append("here now: %s" % pair.vip_diagnosis())
    return res

