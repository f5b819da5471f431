#!/usr/bin/env python3
"""Client-visible failover, pyha vs genuine heartbeat 3.0.6, measured in one lab run.

For each setup (both nodes pyha, both nodes genuine heartbeat, same ha.cf timings; plus
pyha with the fast profile) the lab is built, and the drills run with a client polling
the VIP every 20 ms: graceful restart of the holder, holder powered off, daemon
SIGKILLed, heartbeat link cut.  Printed per drill: client-visible outage (longest run of
failed requests) and duplicate-VIP time (both nodes holding the VIP on an up interface).

Usage (root): python bench/bench_failover.py [--drills restart,halt,kill,link-down,nic-down]
              [--nginx-init el|debian] [--json]
The graceful figures include the service's stop: `--nginx-init debian` uses Debian's
stock script, whose every stop sleeps 1 s (both daemons pay it); the default stops like
EL's script (pyha/lab/nginxinit.py).
Targets (issue 4): graceful < 0.2 s, powered off < deadtime + 0.2 s (< 0.3 s fast),
0 s duplicate VIP everywhere (heartbeat: 8 s after SIGKILL or a cut heartbeat link).
"""

import argparse
import json
import os
import re
import shutil
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from pyha.drill import drills  # noqa: E402
from pyha.lab import scenario  # noqa: E402

PREFIX = "pyhabenchfo"


def timings(keepalive, deadtime, warntime, initdead):
    def edit(text):
        for name, value in (("keepalive", keepalive), ("deadtime", deadtime), ("warntime", warntime),
                            ("initdead", initdead)):
            text = re.sub(r"(?m)^%s .*$" % name, "%s %s" % (name, value), text)
        return text
    return edit


SETUPS = [
    ("pyha", "pyha", "tutorial", timings("1", "5", "3", "10"), "pyha, keepalive 1 s / deadtime 5 s"),
    ("heartbeat", "heartbeat", "tutorial", timings("1", "5", "3", "10"), "heartbeat, keepalive 1 s / deadtime 5 s"),
    ("pyha", "pyha", "fast", None, "pyha, fast profile (50 ms / 200 ms)"),
    ("keepalived", "keepalived", "fast", None, "keepalived VRRPv3, advert 50 ms"),
]
# keepalived manages only the address (nginx runs on both nodes, its usual set-up) and
# leaves no pid file behind its VRRP child on SIGKILL: its kill drill measures nothing
# comparable.  Its adverts go over eth0, so link-down (eth1) cannot disturb it.
SKIP = {"keepalived": ("kill",)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--drills", default="restart,halt,kill,link-down,nic-down")
    ap.add_argument("--nginx-init", default="el", choices=scenario.NGINX_INITS)
    ap.add_argument("--interval", type=float, default=0.02, help="client probe interval (s)")
    ap.add_argument("--setups", default="all", help="comma-separated row numbers (0-based) of SETUPS, or all")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    setups = SETUPS if args.setups == "all" else [SETUPS[int(i)] for i in args.setups.split(",")]
    if os.geteuid() != 0:
        sys.exit("bench_failover: needs root (network namespaces)")
    rows = []
    for d1, d2, profile, edit, label in setups:
        if d1 == "keepalived" and not shutil.which("keepalived"):
            print("  (keepalived not installed: skipped)")
            continue
        scenario.down(PREFIX)
        lab = scenario.up(prefix=PREFIX, profile=profile, peer_daemon=d1, daemon=d2, hacf_edit=edit,
                          nginx_init=args.nginx_init)
        try:
            for name in args.drills.split(","):
                if name in SKIP.get(d1, ()):
                    continue
                res = drills.run(lab, name, probe_interval=args.interval)
                v = res.values
                rows.append({"setup": label, "drill": name, "outage_s": v.get("outage_s"),
                             "duplicate_vip_s": v.get("duplicate_vip_s"), "passed": res.passed})
                if not args.json:
                    print("  %-42s %-10s outage %-6s dup VIP %-6s" % (label, name, v.get("outage_s"),
                                                                    v.get("duplicate_vip_s")), flush=True)
        finally:
            scenario.down(PREFIX)
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print("\nnginx init script: %s" % args.nginx_init)
    print("%-42s %-10s %10s %12s" % ("setup", "drill", "outage s", "dup VIP s"))
    for r in rows:
        print("%-42s %-10s %10s %12s" % (r["setup"], r["drill"], r["outage_s"], r["duplicate_vip_s"]))
    by = {(r["setup"], r["drill"]): r for r in rows}
    for (i, j, what) in ((0, 1, "pyha / heartbeat (same timings)"), (2, 3, "pyha fast / keepalived (same interval)")):
        print("\nratios %s:" % what)
        for name in args.drills.split(","):
            a, b = by.get((SETUPS[i][4], name)), by.get((SETUPS[j][4], name))
            if a and b and a["outage_s"] is not None and b["outage_s"]:
                print("  %-10s outage x%.2f   duplicate VIP %s s vs %s s" % (
                    name, a["outage_s"] / b["outage_s"], a["duplicate_vip_s"], b["duplicate_vip_s"]))

if __name__ == "__main__":
    main()
