#!/usr/bin/env python3
"""A junk flood at a node's heartbeat port: what it costs the daemon, and whether its peer
ever saw a late heartbeat (issue 11 item 3).

Part 1 (any user): the cost of refusing one junk datagram in pyha's receive path
(`decode_verified`), per kind, in this interpreter.

Part 2 (root, --lab): builds the lab (prefix pyhahjunk), runs pyha, then genuine
heartbeat 3.0.6 as the reference, on both nodes (keepalive 100 ms, deadtime 500 ms,
warntime 300 ms, ucast on both links, sha1 authkeys), and from the lab's client host
sends --rate junk datagrams a second for --seconds to HA2's public address, port 694.
It reports HA2's daemon CPU (% of one core, user + system) idle and under the flood,
the datagrams sent, those HA2's kernel dropped (full receive buffer, failed
reassembly), those pyha read and refused, and every "Late heartbeat" or death either node logged during the flood (HA2
busy would send late, or read HA1 late).  The flood is bounded (rate x seconds
datagrams) and stays inside the namespaces this bench builds and removes.

    python bench/bench_junk_flood.py                       # part 1
    python bench/bench_junk_flood.py --lab [--seconds 10] [--rate 1000] [--kind netstring,small,classic]
    python bench/bench_junk_flood.py --lab --daemons pyha --pyha-tree /tmp/old-pyha   # before/after
"""

import argparse
import os
import subprocess
import sys
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
for p in (REPO, BENCH):
    if p not in sys.path:
        sys.path.insert(0, p)

from pyha.wire import Keyring, WireError, decode_verified  # noqa: E402

PREFIX = "pyhahjunk"
KEEPALIVE_MS = 100
TARGET = ("192.0.2.162", 694)   # HA2's public address; ha.cf has `ucast eth0 192.0.2.162`

# The packets are built by plain code shared with the sender (which runs in the client's
# namespace with no pyha import): the 37 KB, 4,095-field netstring packet with a
# well-formed trailer and a wrong digest (27 IP fragments each: the kernel's reassembly
# work is in the figure too); the same shape in one 1,400-byte frame; a classic packet of 63 fields + auth, the most a
# classic packet may hold before authentication; random bytes behind a '###' marker.
PACKETS = r'''
import os
def make(kind):
    if kind == "netstring":
        return b"###\n" + b"6:(0)a=x," * 4095 + b"%%%\n" + b"42:1 " + b"0" * 40 + b","
    if kind == "small":  # the same in one unfragmented frame (1,400 bytes, 150 fields)
        return b"###\n" + b"6:(0)a=x," * 150 + b"%%%\n" + b"42:1 " + b"0" * 40 + b","
    if kind == "classic":
        return b">>>\n" + b"a=x\n" * 63 + b"auth=1 " + b"0" * 40 + b"\n<<<\n"
    if kind == "random":
        return b"###\n" + os.urandom(1400)
    raise SystemExit("unknown kind %r" % kind)
'''

SENDER = PACKETS + r'''
import socket, sys, time
kind, rate, seconds, host, port = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4], int(sys.argv[5])
data = make(kind)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
total = int(rate * seconds)
t0 = time.monotonic()
sent = 0
while sent < total:
    due = t0 + sent / rate
    now = time.monotonic()
    if now < due:
        time.sleep(due - now)
    if time.monotonic() - t0 > seconds + 5:
        break  # never longer than asked (plus slack), whatever the pace
    try:
        s.sendto(data, (host, port))
    except OSError:
        pass  # a full socket buffer: that datagram is lost, like on a real network
    sent += 1
print(sent, "%.3f" % (time.monotonic() - t0), len(data))
'''


def make_packet(kind):
    scope = {}
    exec(PACKETS, scope)
    return scope["make"](kind)


def decode_costs(seconds=1.0):
    ring = Keyring.from_mapping(1, {1: ("sha1", "ab" * 32)})
    print("python %s: refusing one junk datagram (decode_verified)" % sys.version.split()[0])
    print("%-10s %7s %12s %12s  %s" % ("kind", "bytes", "ms/datagram", "datagrams/s", "refused as"))
    for kind in ("netstring", "small", "classic", "random"):
        data = make_packet(kind)
        code = None
        n = 0
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            try:
                decode_verified(data, ring)
            except WireError as exc:
                code = exc.code
            n += 1
        each = (time.perf_counter() - t0) / n
        print("%-10s %7d %12.3f %12.0f  %s" % (kind, len(data), each * 1000, 1 / each, code))


def cpu_times(node, match):
    """{pid: (user, system)} CPU seconds of the node's daemon processes."""
    import bench_daemon as bd
    out = {}
    for p in bd.node_procs(node, match):
        try:
            t = p.cpu_times()
            out[p.pid] = (t.user, t.system)
        except Exception:
            pass
    return out


def cpu_pct(before, after, wall):
    """(user %, system %) of one core between two cpu_times() samples."""
    user = sum(after[p][0] - before[p][0] for p in after if p in before)
    system = sum(after[p][1] - before[p][1] for p in after if p in before)
    return 100.0 * user / wall, 100.0 * system / wall


def kernel_drops(node):
    """Datagrams the node's kernel dropped: UDP receive buffer full, failed reassembly."""
    r = node.exec(["cat", "/proc/net/snmp"], timeout=10)
    rows = {}
    lines = r.stdout.splitlines()
    for head, vals in zip(lines[::2], lines[1::2]):
        names, values = head.split()[1:], vals.split()[1:]
        rows[head.split(":")[0]] = dict(zip(names, (int(v) for v in values)))
    return rows.get("Udp", {}).get("RcvbufErrors", 0), rows.get("Ip", {}).get("ReasmFails", 0)


def sample(node, match, seconds):
    before = cpu_times(node, match)
    t0 = time.monotonic()
    time.sleep(seconds)
    return cpu_pct(before, cpu_times(node, match), time.monotonic() - t0)


def log_lines(node, since):
    path = node.host_path("/var/log/ha-log")
    try:
        with open(path, "rb") as f:
            f.seek(since)
            return f.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return []


def log_size(node):
    try:
        return os.path.getsize(node.host_path("/var/log/ha-log"))
    except OSError:
        return 0


def alarms(lines):
    """Log lines saying a peer, or a link to it, was late or dead."""
    return [ln for ln in lines if "Late heartbeat" in ln or "is dead" in ln or ("Link " in ln and " dead" in ln)]


def flood_run(lab, kind, daemon, flood, args):
    import bench_daemon as bd
    matchers = {"pyha": bd.is_pyha, "heartbeat": bd.is_heartbeat}
    ha1, ha2, client = lab.node("HA1"), lab.node("HA2"), lab.node("client")
    handles = {n: bd.start(daemon, lab.node(n)) for n in ("HA1", "HA2")}
    try:
        time.sleep(4)  # pair formed, start-up bursts over
        idle = sample(ha2, matchers[daemon], min(5.0, args.seconds))
        marks = {n: log_size(lab.node(n)) for n in ("HA1", "HA2")}
        drops0 = kernel_drops(ha2)
        sender = client.spawn([sys.executable, "-c", SENDER, flood, str(args.rate), str(args.seconds)]
                              + [TARGET[0], str(TARGET[1])], stdout=subprocess.PIPE, universal_newlines=True)
        busy = sample(ha2, matchers[daemon], args.seconds)
        out, _ = sender.communicate(timeout=args.seconds + 30)
        drops = [b - a for a, b in zip(drops0, kernel_drops(ha2))]
        time.sleep(1.0)  # a death would be declared within deadtime (0.5 s) of the flood's end
        sent, took, size = out.split()
        late = {n: alarms(log_lines(lab.node(n), marks[n])) for n in ("HA1", "HA2")}
        dropped = None
        if daemon == "pyha":
            from pyha.daemon.control import request
            st = request(ha2.host_path("/run/pyha/pyha.sock"), {"cmd": "status"}, timeout=5).get("status") or {}
            dropped = sum((st.get("daemon") or {}).get("dropped", {}).values())
    finally:
        for n in ("HA1", "HA2"):
            bd.stop(daemon, lab.node(n), handles[n])
    return {"daemon": daemon, "kind": kind, "bytes": int(size), "sent": int(sent), "took_s": float(took),
            "idle_cpu": sum(idle), "flood_user": busy[0], "flood_sys": busy[1],
            "read_and_dropped": dropped, "rcvbuf_drops": drops[0], "reasm_fails": drops[1], "alarms": late}


def lab_runs(args):
    import bench_daemon as bd
    from pyha.lab import Lab, cleanup_leftovers, reference_spec
    if os.geteuid() != 0:
        sys.exit("bench_junk_flood --lab: needs root (network namespaces)")
    if args.pyha_tree:
        bd.ENV["PYTHONPATH"] = os.path.abspath(args.pyha_tree)
    daemons = [d for d in args.daemons.split(",") if d != "heartbeat" or os.path.exists("/etc/init.d/heartbeat")]
    cleanup_leftovers(PREFIX)
    lab = Lab(PREFIX, spec=reference_spec()).up()
    results = []
    try:
        bd.write_config(lab, KEEPALIVE_MS)
        for kind in args.kind.split(","):
            for daemon in daemons:
                r = flood_run(lab, kind, daemon, kind, args)
                results.append(r)
                print("  %-9s %-9s: CPU idle %.1f%%, flood %.1f%% user + %.1f%% system, late/dead lines %d" % (
                    daemon, kind, r["idle_cpu"], r["flood_user"], r["flood_sys"],
                    sum(len(v) for v in r["alarms"].values())), flush=True)
    finally:
        lab.down()
    print("\nkeepalive %d ms, deadtime 500 ms, warntime 300 ms; flood from the client host to %s:%d"
          % (KEEPALIVE_MS, TARGET[0], TARGET[1]))
    if args.pyha_tree:
        print("pyha run from %s" % os.path.abspath(args.pyha_tree))
    print("CPU: % of one core (user + system) of HA2's daemon processes; kernel drops: UDP receive buffer full /"
          " failed IP reassembly on HA2; read: datagrams pyha read and refused")
    print("%-9s %-9s %6s %6s %6s %8s %15s %14s %8s %s" % (
        "daemon", "junk", "bytes", "sent", "rate/s", "CPU idle", "CPU flood u+s", "kernel drops", "read",
        "late/dead"))
    for r in results:
        late = sum(len(v) for v in r["alarms"].values())
        print("%-9s %-9s %6d %6d %6.0f %7.1f%% %6.1f%%+%5.1f%% %7d/%6d %8s %s" % (
            r["daemon"], r["kind"], r["bytes"], r["sent"], r["sent"] / max(r["took_s"], 1e-9),
            r["idle_cpu"], r["flood_user"], r["flood_sys"], r["rcvbuf_drops"], r["reasm_fails"],
            "-" if r["read_and_dropped"] is None else r["read_and_dropped"], "none" if not late else late))
        for node, lines in sorted(r["alarms"].items()):
            for line in lines[:3]:
                print("    %s: %s" % (node, line.strip()))
    return 1 if any(any(r["alarms"].values()) for r in results) else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lab", action="store_true", help="run the lab flood (root)")
    ap.add_argument("--seconds", type=float, default=10.0, help="flood duration (lab)")
    ap.add_argument("--rate", type=float, default=1000.0, help="junk datagrams per second (lab)")
    ap.add_argument("--kind", default="netstring,small,classic", help="junk kinds: netstring, small, classic, random")
    ap.add_argument("--daemons", default="pyha,heartbeat")
    ap.add_argument("--pyha-tree", help="run the pyha daemon from this source tree (before/after figures)")
    args = ap.parse_args()
    if not 0 < args.rate <= 20000 or not 0 < args.seconds <= 120:
        sys.exit("bench_junk_flood: --rate must be in (0, 20000] and --seconds in (0, 120]")
    decode_costs()
    if args.lab:
        print()
        return lab_runs(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
