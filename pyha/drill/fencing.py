"""The fencing drills (issue 15), run against a `pyha lab up --fencing` pair and measured.

* fence-links-cut: every heartbeat link is cut (iptables on HA1 drops UDP 694 both ways,
  so both nodes run and serve, each sees the other die).  Measured: cut to the fence
  call and to its outcome in the survivor's status, cut to "exactly one node running"
  (the fenced node's BMC hook powered its namespace off), who survived (the preferred
  node: the other waits fence_delay), client outage and duplicate-VIP time (both must
  be 0).  With `fence_action reboot` the fenced node's BMC powers it on again.  Then the
  links heal and the fenced node boots its services (the drill plays its init system:
  nginx, then pyha); it must rejoin without a duplicate VIP.
* fence-broken-bmc: the holder's BMC gets another password (every call refused); the
  peer's periodic device check must report it.  The holder's daemon is SIGKILLed: the
  peer must not take over, `pyha status` says the fencing failed and it retries.  Then
  the BMC gets its password back: the next retry fences the holder and the takeover
  follows (measured).  Then the fenced node boots again and the group fails back.

Both leave the lab as they found it (both nodes on, daemons running, HA1 serving), so
drills can follow each other.  They refuse a lab brought up without `--fencing`.
The numbers and verdicts are computed in `pyha.drill.fence_report` (pure).
"""

import os
import threading
import time
from typing import Any, Dict, List

from pyha.drill import fence_report as fr
from pyha.drill import report
from pyha.drill.drills import DrillError, _failback, both_ways, wait_for
from pyha.lab import scenario
from pyha.lab.topology import Lab

CUT = ["-p", "udp", "--dport", "694", "-j", "DROP"]
WRONG_PASSWORD = "drill-changed-it"  # IPMI passwords have at most 16 characters
SAMPLE_S = 0.05


def require_fencing(meta):
    # type: (Dict[str, Any]) -> None
    """Refuse a lab without BMCs and fence lines (or with another daemon than pyha)."""
    if not meta.get("fencing"):
        raise DrillError("the lab was brought up without --fencing (no BMCs, no fence lines): "
                         "pyha lab down, then pyha lab up --profile fast --fencing")
    kinds = meta.get("daemons") or {}
    if any(k != "pyha" for k in kinds.values()):
        raise DrillError("the fencing drills need pyha on both nodes (this lab runs %s)"
                         % ", ".join("%s on %s" % (k, n) for n, k in sorted(kinds.items())))


class FenceWatch(object):
    """Every 50 ms: each node's power and its daemon's fencing state, in the background.

    Power comes from the lab's recorded state, re-read each time: a BMC's hook (another
    process) powers nodes off and on."""

    def __init__(self, cluster):
        self.cluster = cluster
        self.samples = []  # type: List[fr.Sample]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run)
        self._thread.daemon = True
        self._thread.start()

    def view(self, name, lab):
        # type: (str, Any) -> fr.NodeView
        on = lab.node(name).is_running()
        out = {"on": on}  # type: Dict[str, Any]
        st = self.cluster.status(name) if on else None
        if st is not None:
            fence = (st.get("resources") or {}).get("fencing") or {}
            check = (st.get("fence_device") or {}).get("last_check") or {}
            out.update(fence=fence.get("state"), attempts=fence.get("attempts"), reason=fence.get("reason"),
                       blocking=fence.get("blocking_takeover"), delay_s=fence.get("delay_s"),
                       check_ok=check.get("ok"), check_age_s=check.get("age_s"), check_message=check.get("message"))
        return out

    def _run(self):
        while not self._stop.is_set():
            try:
                lab = Lab.load(self.cluster.lab.statedir)
                views = {n: self.view(n, lab) for n in scenario.NODES}
                self.samples.append((time.monotonic(), views))
            except Exception:  # noqa: a lab state file being rewritten: skip this sample
                pass
            self._stop.wait(SAMPLE_S)

    def last(self, name):
        # type: (str) -> fr.NodeView
        return self.samples[-1][1].get(name, {}) if self.samples else {}

    def close(self):
        self._stop.set()
        self._thread.join(5)


def _fresh(cluster):
    """Re-read the lab (a BMC hook changed a node's init) for the cluster's actions."""
    cluster.lab = Lab.load(cluster.lab.statedir)


def _cut(node, on):
    both_ways(node, CUT, on, "cut the heartbeat links")


def _preferred(watch):
    # type: (FenceWatch) -> str
    """The node that fences at once (fence_delay 0): it must be the one that survives."""
    # "fenced": the state a daemon shows until its fenced peer speaks again
    ok = wait_for(lambda: all(watch.last(n).get("fence") in ("idle", "fenced") for n in scenario.NODES), 15)
    if not ok:
        raise DrillError("fencing is under way on a node: %s"
                         % {n: watch.last(n).get("fence") for n in scenario.NODES})
    quick = [n for n in scenario.NODES if not watch.last(n).get("delay_s")]
    if len(quick) != 1:
        raise DrillError("expected exactly one node without fence_delay, not %s" % (quick or "none"))
    return quick[0]


def _boot(cluster, name, res):
    """`name` is powered on again: start its services as its init system would (nginx,
    then pyha), and measure until its peer hears it again (rejoined)."""
    _fresh(cluster)
    node = cluster.node(name)
    scenario.setup_web(node, cluster.nginx_init)
    scenario.start_nginx(node)
    t_start = time.monotonic()
    cluster.start_daemon(name)
    other = [n for n in scenario.NODES if n != name][0]
    peer = name.lower()
    _, dead, initdead = cluster.timings()

    def heard():
        st = cluster.status(other) or {}
        n = st.get("nodes", {}).get(peer, {})
        return n.get("state") == "up" and n.get("status") == "active"
    ok = wait_for(heard, initdead + dead + 20)
    res.values["rejoin_s"] = round(time.monotonic() - t_start, 3) if ok else None
    return ok


def _power_on(cluster, watch, fencer, name):
    """Power `name` on through its BMC, as an operator would after a fence_action off."""
    if not watch.last(name).get("on"):
        r = scenario.run_pyha(cluster.node(fencer), "fence", "on", name.lower(), "--yes", timeout=120)
        if r.returncode != 0:
            raise DrillError("pyha fence on %s failed: %s" % (name.lower(), (r.stdout + r.stderr).strip()[-300:]))
    if not wait_for(lambda: watch.last(name).get("on"), 30):
        raise DrillError("%s did not come back on" % name)
    return time.monotonic()


def drill_fence_links_cut(cluster, obs, res):
    """Every heartbeat link cut, fencing configured: exactly one node keeps running."""
    _fresh(cluster)  # an earlier fencing drill may have power-cycled a node
    action = scenario.load_meta(cluster.lab).get("fence_action") or "off"
    res.values["fence_action"] = action
    watch = FenceWatch(cluster)
    cut_node = cluster.node("HA1")
    healed = []
    try:
        preferred = _preferred(watch)
        res.values["preferred"] = preferred
        t0 = time.monotonic()
        _cut(cut_node, True)
        try:
            def fenced_and_settled():
                cycles = {n: fr.power_cycles(watch.samples, n, t0) for n in scenario.NODES}
                gone = [n for n in scenario.NODES if cycles[n]]
                if not gone or fr.fence_outcome(watch.samples, "fenced", t0)[1] is None:
                    return False
                return action != "reboot" or all(c[-1][1] is not None for c in cycles.values() if c)
            wait_for(fenced_and_settled, 60)
            time.sleep(1.0)  # a second more: nobody else is fenced, clients still served
        finally:
            _cut(cut_node, False)
            healed.append(time.monotonic())
        _measure_cut(res, obs, watch, t0, preferred, healed[0])
        v = res.values
        fenced = v.get("fenced_node")
        if fenced:
            # off: powered on through its BMC; reboot: already on (if not, the check
            # above fails and this still gives the next drill a whole lab)
            _power_on(cluster, watch, [n for n in scenario.NODES if n != fenced][0], fenced)
            t_boot = time.monotonic()
            _boot(cluster, fenced, res)
            time.sleep(0.5)
            v["rejoin_duplicate_vip_s"] = obs.duplicate_since(t_boot)
        for what, ok, detail in fr.links_cut_checks(v, action, preferred):
            res.check(what, ok, detail)
        res.check("%s still serves after the rejoin" % preferred, obs.holders() == [preferred]
                  and obs.serving_now() == preferred, "holders %s" % obs.holders())
    finally:
        watch.close()
        if not healed:
            _cut(cut_node, False)


def _measure_cut(res, obs, watch, t0, preferred, t_healed):
    v = res.values
    s = watch.samples
    t_call, t_fenced, _ = fr.fence_outcome(s, "fenced", t0)
    v["cut_to_fence_call_s"] = fr.since(t_call, t0)
    v["cut_to_fenced_s"] = fr.since(t_fenced, t0)
    cycles = {n: fr.power_cycles(s, n, t0) for n in scenario.NODES}
    off = sorted((c[0][0], n) for n, c in cycles.items() if c)
    v["cut_to_power_off_s"] = fr.since(off[0][0], t0) if off else None
    v["fenced_node"] = off[0][1] if off else None
    running = [n for n in scenario.NODES if not cycles[n]]
    v["survivor"] = running[0] if len(running) == 1 else None
    v["survivor_powered_off"] = preferred in [n for _, n in off]
    v["both_off"] = fr.ever_both_off(s, scenario.NODES, t0)
    if off and cycles[off[0][1]][0][1] is not None:
        v["back_on_s"] = round(cycles[off[0][1]][0][1] - off[0][0], 3)
    if v["survivor"]:
        last = [views[v["survivor"]] for _, views in s if views.get(v["survivor"], {}).get("reason")]
        v["fence_reason"] = last[-1]["reason"] if last else None
    v["outage_s"] = obs.outage_since(t0 - 1.0)
    v["duplicate_vip_s"] = obs.duplicate_since(t0 - 1.0)
    v["serving_after"] = obs.serving_now()
    v["links_cut_s"] = round(t_healed - t0, 3)


def drill_fence_broken_bmc(cluster, obs, res):
    """The holder's BMC refuses every call, the holder's daemon dies: no takeover until
    the BMC works again."""
    from pyha.lab.bmcs import BMC_PASSWORD, replace_bmc
    _fresh(cluster)  # an earlier fencing drill may have power-cycled a node
    workdir = os.path.join(cluster.lab.statedir, "bmcs")
    watch = FenceWatch(cluster)
    victim, fencer = "HA1", "HA2"
    v = res.values
    fixed = []
    try:
        if _preferred(watch) != victim:
            raise DrillError("expected %s to be the preferred node" % victim)
        t_break = time.monotonic()
        replace_bmc(cluster.lab, victim, workdir, password=WRONG_PASSWORD)
        res.notes.append("%s's BMC restarted with another password: every call is refused" % victim)
        try:
            def reported():
                view = watch.last(fencer)
                age = view.get("check_age_s")
                return view.get("check_ok") is False and age is not None \
                    and age <= time.monotonic() - t_break and view
            seen = wait_for(reported, 40)
            t_seen = fr.first(watch.samples, lambda views: views[fencer].get("check_ok") is False
                              and views[fencer].get("check_age_s") is not None, t_break)
            v["check_reported_s"] = fr.since(t_seen, t_break) if seen else None
            v["check_message"] = seen.get("check_message") if seen else None
            t_kill = time.monotonic()
            cluster.kill_daemon(victim)

            def failed_twice():
                view = watch.last(fencer)
                return view.get("fence") == "failed" and (view.get("attempts") or 0) >= 2
            wait_for(failed_twice, 40)
            t_failed = fr.fence_outcome(watch.samples, "failed", t_kill, [fencer])[1]
            v["kill_to_fence_failed_s"] = fr.since(t_failed, t_kill)
            view = watch.last(fencer)
            v["attempts"] = view.get("attempts")
            v["fence_reason"] = view.get("reason")
            text = scenario.run_pyha(cluster.node(fencer), "status").stdout
            v["status_says_failure"] = bool(view.get("blocking")) and "not taking over" in (view.get("reason") or "") \
                and "retrying" in (view.get("reason") or "") \
                and "fencing %s with" % victim.lower() in text and "not taking over" in text
            if not v["status_says_failure"]:
                res.notes.append("pyha status on %s:\n    %s" % (fencer, "\n    ".join(text.splitlines()[-15:])))
            broken = [h for t, h in obs.samples if t >= t_kill]
            v["holders_while_broken"] = sorted(set(n for h in broken for n in h))
            v["taken_over_while_broken"] = fencer in v["holders_while_broken"] \
                or not (watch.last(victim).get("on") and watch.last(fencer).get("on"))
        finally:
            replace_bmc(cluster.lab, victim, workdir, password=BMC_PASSWORD)
            fixed.append(time.monotonic())
        t_fix = fixed[0]
        served = wait_for(lambda: obs.holders() == [fencer] and obs.serving_now() == fencer, 40)
        t_fenced = fr.fence_outcome(watch.samples, "fenced", t_fix - 5.0, [fencer])[1]
        v["fix_to_fenced_s"] = fr.since(t_fenced, t_fix)
        t_took = report.first_time(obs.samples, lambda h: h == [fencer], since=t_fix)
        v["fix_to_takeover_s"] = fr.since(t_took, t_fix) if served else None
        v["outage_s"] = obs.outage_since(t_kill - 1.0)
        v["serving_after"] = obs.serving_now()
        v["duplicate_vip_s"] = obs.duplicate_since(t_break)
        for what, ok, detail in fr.broken_bmc_checks(v):
            res.check(what, ok, detail)
        # back to the start: the fenced node boots its services, the group fails back
        t_on = _power_on(cluster, watch, fencer, victim)
        _boot(cluster, victim, res)
        _failback(res, cluster, obs, t_on)
    finally:
        watch.close()
        if not fixed:
            replace_bmc(cluster.lab, victim, workdir, password=BMC_PASSWORD)


FENCE_DRILLS = [
    ("fence-links-cut", (drill_fence_links_cut, "heartbeat links cut, fencing on: the preferred node fences "
                                                "its peer, exactly one keeps running, no duplicate VIP")),
    ("fence-broken-bmc", (drill_fence_broken_bmc, "holder dead, its BMC refusing: no takeover and a clear "
                                                  "status until the BMC works, then fence and takeover")),
]
