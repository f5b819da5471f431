#!/usr/bin/env python3
"""Service killed on the holder, daemon alive: pyha vs keepalived vs genuine heartbeat (issue 14).

Every nginx process of the holder HA1 is SIGKILLed (by PID, in the node's own PID
namespace) while its HA daemon keeps running; a client polls http://VIP/ every 20 ms.
Measured per round: client-visible outage (longest run of failed requests), duplicate-VIP
time (both nodes holding the VIP on an up eth0, sampled every 50 ms) and what happened:
nginx restarted in place (HA1 serves again), hand-over (HA2 serves) or not recovered
within the cap.  Setups, all at keepalive 1 s / deadtime 5 s:

  pyha, restart in place   pyha.cf `monitor nginx interval=1s timeout=1s restarts=1 window=5s url=http://VIP/`
  pyha, hand-over          the same with restarts=0 (the first failed check hands the group to HA2)
  keepalived track_script  VRRPv3, advert 1 s, `vrrp_script` curl -fsS http://127.0.0.1/ interval 1
                           fall 1: HA1 goes to FAULT and HA2 (lower priority) takes the address;
                           nginx runs on both nodes (keepalived's usual set-up) and nobody
                           restarts HA1's
  heartbeat 3.0.6          haresources mode watches no service: expected "not recovered"

Between rounds each setup is brought back to HA1 serving (pyha: `pyha takeover` on HA1
after a hand-over; keepalived/heartbeat: nginx started again by hand, as an operator).

Usage (root): python bench/bench_service.py [--rounds 3] [--setups 0,1,2,3] [--cap 10] [--json]
Goal (issue 14): client-visible outage under 1 s at interval=1s, 0 s duplicate VIP.
"""

import argparse
import json
import os
import shutil
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from pyha.drill import drills  # noqa: E402
from pyha.lab import scenario  # noqa: E402

PREFIX = "pyhabnsv"
HB_TIMINGS = ("1", "5", "3", "10")  # keepalive, deadtime, warntime, initdead (bench_failover's)
MONITOR = "monitor nginx interval=1s timeout=1s restarts=%d window=5s url=http://%s/"
WINDOW_S = 5.0

KEEPALIVED_TRACK_CONF = """# keepalived for lab node %(node)s (bench_service): VRRPv3 with a service check.
global_defs {
  router_id %(node)s
  vrrp_garp_master_delay 0
  script_user root
}
vrrp_script chk_nginx {
  script "/usr/bin/curl -fsS -o /dev/null -m 0.8 http://127.0.0.1/"
  interval 1
  timeout 1
  fall 1
  rise 1
}
vrrp_instance VIP {
  state BACKUP
  interface eth0
  virtual_router_id 51
  version 3
  priority %(prio)d
  advert_int 1
  virtual_ipaddress {
    %(vip)s dev eth0
  }
  track_script {
    chk_nginx
  }
}
"""

# (daemon kind, restarts for pyha's monitor line or None, label)
SETUPS = [
    ("pyha", 1, "pyha monitor interval=1s, restarts=1"),
    ("pyha", 0, "pyha monitor interval=1s, restarts=0"),
    ("keepalived", None, "keepalived track_script interval 1"),
    ("heartbeat", None, "heartbeat 3.0.6 (haresources)"),
]


def hacf_timings(text):
    import re
    for name, value in zip(("keepalive", "deadtime", "warntime", "initdead"), HB_TIMINGS):
        text = re.sub(r"(?m)^%s .*$" % name, "%s %s" % (name, value), text)
    return text


def set_monitor(lab, restarts):
    """Replace pyha.cf's monitor line on both nodes (the daemons are restarted after)."""
    line = MONITOR % (restarts, scenario.VIP)
    for name in scenario.NODES:
        path = lab.node(name).host_path("/etc/ha.d/pyha.cf")
        with open(path) as f:
            kept = [x for x in f.read().splitlines() if not x.startswith("monitor ")]
        with open(path, "w") as f:
            f.write("\n".join(kept + [line]) + "\n")
    return line


def start_keepalived_tracked(node):
    path = node.host_path("/etc/ha.d/keepalived.conf")
    with open(path, "w") as f:
        f.write(KEEPALIVED_TRACK_CONF % {"node": node.name, "prio": 150 if node.name == "HA1" else 100,
                                         "vip": scenario.VIP})
    r = node.exec(["keepalived", "-f", "/etc/ha.d/keepalived.conf", "-p", "/run/keepalived.pid",
                   "-r", "/run/keepalived-vrrp.pid"], timeout=30)
    if r.returncode != 0:
        raise scenario.LabError("%s: keepalived did not start: %s%s" % (node.name, r.stdout, r.stderr))


def build(kind, restarts):
    """The lab for one setup, daemons running with the bench's configuration."""
    scenario.down(PREFIX)
    lab = scenario.up(prefix=PREFIX, profile="tutorial", peer_daemon=kind, daemon=kind, hacf_edit=hacf_timings)
    cluster = drills.Cluster(lab)
    if kind == "pyha":
        for name in scenario.NODES:
            cluster.stop_daemon(name)
        set_monitor(lab, restarts)
        for name in scenario.NODES:
            cluster.start_daemon(name)
    elif kind == "keepalived":
        for name in scenario.NODES:
            cluster.stop_daemon(name)
        for name in scenario.NODES:
            start_keepalived_tracked(lab.node(name))
    return lab, cluster


def monitor_ok(cluster):
    st = cluster.status("HA1") or {}
    return ((st.get("monitors") or {}).get("nginx") or {}).get("ok") is True


def one_round(lab, cluster, kind, cap, probe_interval):
    obs = drills.Observation(lab, probe_interval=probe_interval)
    try:
        drills._steady(cluster, obs)
        if kind == "pyha" and not drills.wait_for(lambda: monitor_ok(cluster), 15):
            raise drills.DrillError("HA1's nginx check never reported ok")
        time.sleep(0.5)
        t0 = time.monotonic()
        killed = drills.kill_service(cluster.node("HA1"))
        if not killed:
            raise drills.DrillError("no nginx process to kill on HA1")
        drills.wait_for(lambda: not obs.answering(window=0.1), 3)
        back = drills.wait_for(lambda: obs.answering(window=0.1) and obs.serving_now(window=0.1), cap)
        time.sleep(0.5)
        outage = obs.outage_since(t0 - 0.2)
        who = obs.serving_now(window=0.3) if back else None
        row = {"killed": len(killed), "outage_s": outage, "recovered": bool(back),
               "outcome": {"HA1": "restart in place", "HA2": "hand-over"}.get(who, "not recovered"),
               "duplicate_vip_s": obs.duplicate_since(t0 - 0.2),
               "alternating": drills.report.alternations([r for r in obs.records if r["sent"] >= t0])}
        if not back:
            row["outage_s"] = None
            row["outage_text"] = "not recovered within %g s" % cap
        restore(lab, cluster, kind, obs)
        return row
    finally:
        obs.close()


def restore(lab, cluster, kind, obs):
    """Back to HA1 serving, as an operator would."""
    if kind == "pyha":
        if obs.holders() != ["HA1"]:
            time.sleep(WINDOW_S)  # past the window, so HA1 takes its group again
            scenario.run_pyha(cluster.node("HA1"), "takeover")
        else:
            time.sleep(WINDOW_S)  # the next round's failure must not count with this one
    else:
        scenario.start_nginx(cluster.node("HA1"))
    if not drills.wait_for(lambda: obs.holders() == ["HA1"] and obs.serving_now() == "HA1", 30):
        raise drills.DrillError("HA1 did not serve again after the round (holders %s)" % obs.holders())


def summary(rounds):
    vals = [r["outage_s"] for r in rounds if r.get("outage_s") is not None]
    out = {"rounds": len(rounds), "recovered": sum(1 for r in rounds if r["recovered"]),
           "outcomes": sorted(set(r["outcome"] for r in rounds)),
           "duplicate_vip_max_s": max([r["duplicate_vip_s"] for r in rounds] or [0.0])}
    if vals:
        out["outage_median_s"] = round(statistics.median(vals), 3)
        out["outage_max_s"] = round(max(vals), 3)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--setups", default="all", help="comma-separated row numbers (0-based) of SETUPS, or all")
    ap.add_argument("--cap", type=float, default=10.0, help="seconds to wait for recovery before giving up")
    ap.add_argument("--interval", type=float, default=0.02, help="client probe interval (s)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench_service: needs root (network namespaces)")
    setups = SETUPS if args.setups == "all" else [SETUPS[int(i)] for i in args.setups.split(",")]
    results = []
    for kind, restarts, label in setups:
        if kind == "keepalived" and not shutil.which("keepalived"):
            print("  (keepalived not installed: skipped)")
            continue
        lab, cluster = build(kind, restarts)
        rounds = []
        try:
            for i in range(args.rounds):
                try:
                    row = one_round(lab, cluster, kind, args.cap, args.interval)
                except drills.DrillError as exc:
                    row = {"error": str(exc), "recovered": False, "outcome": "error", "outage_s": None,
                           "duplicate_vip_s": 0.0}
                rounds.append(row)
                if not args.json:
                    print("  %-40s round %d: %-16s outage %-28s dup VIP %s s%s" % (
                        label, i + 1, row["outcome"],
                        row.get("outage_text") or "%s s" % row["outage_s"], row["duplicate_vip_s"],
                        "  (%s)" % row["error"] if "error" in row else ""), flush=True)
                if "error" in row:
                    break
        finally:
            scenario.down(PREFIX)
        results.append({"setup": label, "rounds": rounds, "summary": summary(rounds)})
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print("\nSIGKILL of every nginx process on the holder, daemon alive; keepalive 1 s / deadtime 5 s; "
          "client probe every %g s; %d rounds" % (args.interval, args.rounds))
    print("%-40s %-28s %12s %12s %12s" % ("setup", "outcome", "median s", "max s", "dup VIP s"))
    for res in results:
        s = res["summary"]
        print("%-40s %-28s %12s %12s %12s" % (
            res["setup"], ", ".join(s["outcomes"]), s.get("outage_median_s", "-"), s.get("outage_max_s", "-"),
            s["duplicate_vip_max_s"]))
        if s["recovered"] < s["rounds"]:
            print("  %d of %d rounds not recovered within %g s" % (s["rounds"] - s["recovered"], s["rounds"],
                                                                  args.cap))
    base = {r["setup"]: r["summary"] for r in results}
    print("\nratios of median outage (pyha / other):")
    for mine in (SETUPS[0][2], SETUPS[1][2]):
        for other in (SETUPS[2][2], SETUPS[3][2]):
            a, b = base.get(mine, {}), base.get(other, {})
            if a.get("outage_median_s") is None or other not in base:
                continue
            if b.get("outage_median_s"):
                print("  %-40s / %-36s x%.2f" % (mine, other, a["outage_median_s"] / b["outage_median_s"]))
            else:
                print("  %-40s / %-36s (other never recovered within %g s)" % (mine, other, args.cap))


if __name__ == "__main__":
    main()
