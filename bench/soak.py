#!/usr/bin/env python3
"""Soak: the fast profile on a machine whose cores are all busy, watched for false failovers.

Issue 4 item 10: with keepalive 50 ms / warntime 150 ms / deadtime 200 ms, no false
failover during ten minutes while both cores are busy.  The lab is built (two pyha nodes,
real nginx, `pyha init --profile fast`), then load is started in the root namespace
(CPU spinners, two per core, plus a process that forks /bin/true in a loop, all at
normal priority), and for --seconds the VIP's holders are sampled every 50 ms and a
client requests the VIP every 100 ms.  Printed: holder changes, time with zero or two
holders, failed requests, and what the daemons logged (late heartbeats, dead nodes).

Usage (root): python bench/soak.py [--seconds 600] [--spinners N] [--realtime on|off] [--json]
`--realtime off` writes `realtime off` into ha.cf (the daemons then compete with the load
at normal priority), to see what heartbeat's default buys.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from pyha.drill import drills, report  # noqa: E402
from pyha.lab import scenario  # noqa: E402

PREFIX = "pyhasoak"
LOG = "/var/log/ha-log"


def start_load(spinners):
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(spinners)]
    procs.append(subprocess.Popen(["sh", "-c", "while :; do /bin/true; done"]))
    return procs


def stop_load(procs):
    for p in procs:  # only what we started, by PID
        p.kill()
    for p in procs:
        p.wait()


def log_size(lab, name):
    try:
        return os.path.getsize(lab.node(name).host_path(LOG))
    except OSError:
        return 0


def log_since(lab, name, offset):
    try:
        with open(lab.node(name).host_path(LOG), errors="replace") as f:
            f.seek(offset)
            return f.read().splitlines()
    except OSError:
        return []


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=600.0)
    ap.add_argument("--spinners", type=int, default=2 * (os.cpu_count() or 1))
    ap.add_argument("--realtime", choices=("on", "off"), default="on")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("soak: needs root (network namespaces)")

    def edit(text):
        return text if args.realtime == "on" else re.sub(r"(?m)^realtime .*\n", "", text) + "realtime off\n"

    scenario.down(PREFIX)
    lab = scenario.up(prefix=PREFIX, profile="fast", hacf_edit=edit)
    load = []
    try:
        cluster = drills.Cluster(lab)
        obs = drills.Observation(lab)
        try:
            drills._steady(cluster, obs)
            offsets = {n: log_size(lab, n) for n in scenario.NODES}
            load = start_load(args.spinners)
            t0 = time.monotonic()
            n_before = len(obs.records)
            next_say = t0 + 60
            while time.monotonic() - t0 < args.seconds:
                time.sleep(1)
                if not args.json and time.monotonic() >= next_say:
                    next_say += 60
                    print("  %4.0f s: holders %s, load %s" % (time.monotonic() - t0, obs.holders(),
                                                              open("/proc/loadavg").read().split()[0]), flush=True)
            loadavg = open("/proc/loadavg").read().split()[:3]
            stop_load(load)
            load = []
            samples = [s for s in obs.samples if s[0] >= t0]
            records = obs.records[n_before:]
        finally:
            obs.close()
        changes = sum(1 for a, b in zip(samples, samples[1:]) if a[1] != b[1])
        none_s = sum(drills.SAMPLE_INTERVAL for _, h in samples if not h)
        dup_s = report.duplicate_time(samples, drills.SAMPLE_INTERVAL)
        failed = sum(1 for r in records if not r["ok"])
        logs = {n: log_since(lab, n, offsets[n]) for n in scenario.NODES}
        late = {n: sum(1 for l in lines if "Late heartbeat" in l) for n, lines in logs.items()}
        dead = {n: [l for l in lines if " is dead" in l] for n, lines in logs.items()}
        out = {
            "seconds": args.seconds, "spinners": args.spinners, "realtime": args.realtime,
            "loadavg": loadavg, "samples": len(samples), "holder_changes": changes,
            "no_holder_s": round(none_s, 2), "duplicate_vip_s": round(dup_s, 2),
            "requests": len(records), "failed_requests": failed,
            "late_heartbeat_warnings": late, "dead_declarations": {n: len(v) for n, v in dead.items()},
            "passed": changes == 0 and failed == 0 and not any(dead.values()),
        }
    finally:
        if load:
            stop_load(load)
        scenario.down(PREFIX)
    if args.json:
        print(json.dumps(out, indent=2))
        return
    print("\nsoak, fast profile (keepalive 50 ms, deadtime 200 ms), realtime %s, %d spinners + fork loop "
          "on %d cores, %.0f s" % (args.realtime, args.spinners, os.cpu_count() or 1, args.seconds))
    print("  load average          %s" % " ".join(out["loadavg"]))
    print("  holder changes        %d" % out["holder_changes"])
    print("  time without holder   %.2f s" % out["no_holder_s"])
    print("  duplicate VIP         %.2f s" % out["duplicate_vip_s"])
    print("  client requests       %d, failed %d" % (out["requests"], out["failed_requests"]))
    print("  late heartbeats       %s" % ", ".join("%s %d" % kv for kv in sorted(late.items())))
    print("  dead declarations     %s" % ", ".join("%s %d" % (n, len(v)) for n, v in sorted(dead.items())))
    for n, v in sorted(dead.items()):
        for line in v[:5]:
            print("    %s: %s" % (n, line))
    print("  result                %s" % ("PASS: no false failover" if out["passed"] else "FAIL"))


if __name__ == "__main__":
    main()
