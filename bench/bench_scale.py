#!/usr/bin/env python3
"""100 VIPs on one interface: takeover and hand-over, pyha vs genuine heartbeat (issue 14).

The lab's haresources is replaced on both nodes by 100 addresses 192.0.2.10-109/24 on
eth0 (`IPaddr::ADDR/24/eth0`, genuine heartbeat runs one IPaddr script per address), in
(a) 10 groups of 10 or (b) one group of 100, preferred node HA1, keepalive 1 s /
deadtime 5 s (bench_failover's timings).  Two transitions per round, each moving all
100 addresses from the node holding them to the other:

  hand-over  `pyha standby` / `hb_standby all` on the holder; t0 = the command
  takeover   the new holder powered off (every process SIGKILLed, links down:
             bench_failover's `halt`); t0 = the moment the survivor's log says
             "node NAME: is dead"

Between rounds the dead node is powered on again and its daemon started (the groups go
back to HA1, auto_failback on).  The client namespace watches with one AF_PACKET socket on its eth0 (no process spawn):
it sends an ARP who-has for every address not yet answered by HA2's MAC every 20 ms and
records every ARP frame.  Printed from t0: when ALL 100 addresses answered from HA2
("all answer"), when every address had been announced by at least one gratuitous ARP from
HA2 ("all GARPed"), when the last GARP of the burst was seen, and the CPU seconds spent by
every process of HA2 (its PID namespace: the daemon, its children, their reaped
children) from t0 until the burst was over.

Usage (root): python bench/bench_scale.py [--layouts 10x10,1x100] [--daemons pyha,heartbeat]
              [--rounds 1] [--json]
Goal (issue 14): client-visible outage for all 100 addresses under 0.5 s after detection.
"""

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from pyha.drill import drills  # noqa: E402
from pyha.drill.sampler import _setns  # noqa: E402
from pyha.lab import scenario  # noqa: E402

PREFIX = "pyhabnsc"
HB_TIMINGS = ("1", "5", "3", "10")
ADDRESSES = ["192.0.2.%d" % i for i in range(10, 110)]
CLIENT = "192.0.2.8"  # the lab's client (pyha.lab.spec.reference_spec)
ETH_P_ARP = 0x0806
PROBE_EVERY = 0.02
QUIET_END = 2.0  # the burst is over once no GARP was seen for this long (and all answer)


def hacf_timings(text):
    for name, value in zip(("keepalive", "deadtime", "warntime", "initdead"), HB_TIMINGS):
        text = re.sub(r"(?m)^%s .*$" % name, "%s %s" % (name, value), text)
    return text


def haresources(layout):
    """haresources text: `layout` "10x10" (10 lines of 10) or "1x100" (one line of 100)."""
    groups, per = (int(x) for x in layout.split("x"))
    lines = ["# bench_scale: %d group(s) of %d addresses" % (groups, per)]
    for g in range(groups):
        lines.append("ha1 " + " ".join("IPaddr::%s/24/eth0" % a for a in ADDRESSES[g * per:(g + 1) * per]))
    return "\n".join(lines) + "\n"


class ArpWatch(object):
    """ARP seen and asked from the client's eth0 (a raw socket made inside its namespace)."""

    def __init__(self, netns_path, ifaddr, ifname="eth0"):
        own = os.open("/proc/self/ns/net", os.O_RDONLY)
        target = os.open(netns_path, os.O_RDONLY)
        try:
            _setns(target)
            try:
                self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ARP))
                # our own requests come back too (skipped below); a burst must not overflow it
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
                self.sock.bind((ifname, ETH_P_ARP))
            finally:
                _setns(own)
        finally:
            os.close(target)
            os.close(own)
        self.mac = self.sock.getsockname()[4][:6]
        self.ip = socket.inet_aton(ifaddr)
        self.frames = []  # (t, op, sha, spa, tha, tpa)
        self.ask_mac = None  # ask until every address answered from this MAC
        self.answered = {}  # address -> first time answered from ask_mac since arm()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._recv), threading.Thread(target=self._ask)]
        for t in self._threads:
            t.daemon = True
            t.start()

    def arm(self, mac):
        with self._lock:
            self.answered = {}
            self.ask_mac = mac

    def disarm(self):
        with self._lock:
            self.ask_mac = None

    def _recv(self):
        self.sock.settimeout(0.2)
        while not self._stop.is_set():
            try:
                data, where = self.sock.recvfrom(128)
            except socket.timeout:
                continue
            except OSError:
                return
            t = time.monotonic()
            if len(data) < 42 or where[2] == socket.PACKET_OUTGOING:
                continue
            op, sha, spa, tha, tpa = struct.unpack("!6x6x2x6xH6s4s6s4s", data[:42])
            spa_s, tpa_s = socket.inet_ntoa(spa), socket.inet_ntoa(tpa)
            self.frames.append((t, op, sha, spa_s, tha, tpa_s))
            if op == 2 and tpa == self.ip and tha == self.mac:
                with self._lock:
                    if sha == self.ask_mac and spa_s not in self.answered:
                        self.answered[spa_s] = t

    def _ask(self):
        while not self._stop.is_set():
            with self._lock:
                mac = self.ask_mac
                pending = [a for a in ADDRESSES if a not in self.answered] if mac else []
            for a in pending:
                eth = b"\xff" * 6 + self.mac + struct.pack("!H", ETH_P_ARP)
                arp = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + self.mac + self.ip + b"\x00" * 6 + \
                    socket.inet_aton(a)
                try:
                    self.sock.send(eth + arp + b"\x00" * 18)
                except OSError:
                    pass
            self._stop.wait(PROBE_EVERY)

    def garps(self, mac, since):
        """{address: [times]} of gratuitous ARP (sender = target address) from `mac`."""
        out = {}
        for t, op, sha, spa, tha, tpa in list(self.frames):
            if t >= since and sha == mac and spa == tpa and spa in ADDRESSES:
                out.setdefault(spa, []).append(t)
        return out

    def close(self):
        self._stop.set()
        for t in self._threads:
            t.join(2)
        self.sock.close()


class LogWatch(object):
    """Time (monotonic) at which a line matching `pattern` appeared in a file (polled every 5 ms)."""

    def __init__(self, path, pattern, on_seen=None):
        self.path = path
        self.pattern = pattern
        self.on_seen = on_seen
        self.value = None  # what on_seen returned
        self.offset = os.path.getsize(path) if os.path.exists(path) else 0
        self.seen = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run)
        self._thread.daemon = True
        self._thread.start()

    def _run(self):
        buf = ""
        while not self._stop.is_set() and self.seen is None:
            try:
                with open(self.path, errors="replace") as f:
                    f.seek(self.offset)
                    chunk = f.read()
                    self.offset = f.tell()
            except OSError:
                chunk = ""
            buf += chunk
            if self.pattern.search(buf):
                seen = time.monotonic()
                if self.on_seen is not None:
                    self.value = self.on_seen()
                self.seen = seen
                return
            buf = buf[-200:]
            self._stop.wait(0.005)

    def close(self):
        self._stop.set()
        self._thread.join(2)


def ns_cpu(init_pid):
    """CPU seconds (user+system, own and reaped children) of every process in the PID
    namespace of `init_pid`: a process that exits moves its time into its parent's."""
    tck = os.sysconf("SC_CLK_TCK")
    try:
        want = os.readlink("/proc/%d/ns/pid" % init_pid)
    except OSError:
        return 0.0
    total = 0
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            if os.readlink("/proc/%s/ns/pid" % name) != want:
                continue
            with open("/proc/%s/stat" % name) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
    return total / float(tck)


def node_mac(node):
    r = node.exec(["cat", "/sys/class/net/eth0/address"], timeout=10)
    return bytes(int(x, 16) for x in r.stdout.strip().split(":"))


def held(node):
    r = node.exec(["ip", "-o", "-4", "addr", "show", "dev", "eth0"], timeout=10)
    return set(re.findall(r"inet (192\.0\.2\.\d+)/", r.stdout)) & set(ADDRESSES)


def wait_all_on(node, limit):
    return drills.wait_for(lambda: len(held(node)) == len(ADDRESSES), limit, step=0.2)


def build(daemon, layout):
    scenario.down(PREFIX)
    lab = scenario.up(prefix=PREFIX, profile="tutorial", peer_daemon=daemon, daemon=daemon,
                      hacf_edit=hacf_timings)
    cluster = drills.Cluster(lab)
    for name in scenario.NODES:
        cluster.stop_daemon(name)
    for name in scenario.NODES:
        node = lab.node(name)
        node.exec(["ip", "addr", "flush", "dev", "eth0", "to", scenario.VIP + "/32"], timeout=10)
        with open(node.host_path("/etc/ha.d/haresources"), "w") as f:
            f.write(haresources(layout))
        path = node.host_path("/etc/ha.d/pyha.cf")  # its monitor line names nginx, gone from haresources
        if os.path.exists(path):
            with open(path) as f:
                kept = [x for x in f.read().splitlines() if not x.startswith("monitor ")]
            with open(path, "w") as f:
                f.write("\n".join(kept) + "\n")
    for name in scenario.NODES:
        cluster.start_daemon(name)
    if not wait_all_on(lab.node("HA1"), 300):  # heartbeat runs its 100 IPaddr scripts one by one
        tail = ""
        for log in ("/var/log/pyha-daemon.out", "/var/log/ha-log"):
            try:
                with open(lab.node("HA1").host_path(log)) as f:
                    tail += "".join(f.readlines()[-15:])
            except OSError:
                pass
        count = len(held(lab.node("HA1")))
        scenario.down(PREFIX)
        raise drills.DrillError("HA1 never held all %d addresses (holds %d):\n%s" % (len(ADDRESSES), count, tail))
    return lab, cluster


def measure(watch, ha2, ha2_mac, t0, limit, since=None):
    """Wait for all addresses answered from HA2 and the GARP burst to end; the figures from
    t0.  GARPs are counted from `since` (default t0): a takeover's first ones may leave
    before the detection line is read from the log."""
    since = t0 if since is None else since
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        g = watch.garps(ha2_mac, since)
        last = max((max(v) for v in g.values()), default=t0)
        if len(watch.answered) == len(ADDRESSES) and time.monotonic() - last > QUIET_END:
            break
        time.sleep(0.1)
    cpu_end = ns_cpu(ha2.init_pid)
    g = watch.garps(ha2_mac, since)
    answered = dict(watch.answered)
    row = {"answered": len(answered), "garped": len(g),
           "all_answer_s": round(max(answered.values()) - t0, 3) if len(answered) == len(ADDRESSES) else None,
           "first_answer_s": round(min(answered.values()) - t0, 3) if answered else None,
           "all_garped_s": round(max(min(v) for v in g.values()) - t0, 3) if len(g) == len(ADDRESSES) else None,
           "last_garp_s": round(max(max(v) for v in g.values()) - t0, 3) if g else None,
           "garps": sum(len(v) for v in g.values()), "cpu_end": cpu_end}
    return row


OTHER = {"HA1": "HA2", "HA2": "HA1"}


def handover(lab, kind, watch, giver, limit):
    """`standby` on `giver` (holding all): everything moves to the other node."""
    taker = lab.node(OTHER[giver])
    mac = node_mac(taker)
    watch.arm(mac)
    cpu0 = ns_cpu(taker.init_pid)
    t0 = time.monotonic()
    if kind == "heartbeat":
        lab.node(giver).exec(["/usr/share/heartbeat/hb_standby", "all"], timeout=30)
    else:
        scenario.run_pyha(lab.node(giver), "standby")
    row = measure(watch, taker, mac, t0, limit)
    watch.disarm()
    row["cpu_s"] = round(row.pop("cpu_end") - cpu0, 2)
    return row


def takeover(lab, watch, victim, limit):
    """`victim` (holding all) loses power: the other node takes everything over."""
    survivor = lab.node(OTHER[victim])
    mac = node_mac(survivor)

    def detected():
        # ask for the addresses and count CPU only from detection: 5,000 ARP requests a
        # second during the dead time would load the survivor (pyha reads ARP for its
        # conflict watch)
        watch.arm(mac)
        return ns_cpu(survivor.init_pid)
    logw = LogWatch(survivor.host_path("/var/log/ha-log"), re.compile(r"node %s: is dead" % victim.lower()),
                    detected)
    try:
        t_kill = time.monotonic()
        lab.node(victim).power_off()
        drills.wait_for(lambda: logw.seen is not None, 30, step=0.01)
    finally:
        logw.close()
    if logw.seen is None:
        watch.disarm()
        raise drills.DrillError("%s never logged that %s is dead" % (survivor.name, victim.lower()))
    t0, cpu0 = logw.seen, logw.value
    row = measure(watch, survivor, mac, t0, limit, since=t_kill)
    watch.disarm()
    row["detection_s"] = round(t0 - t_kill, 3)
    row["cpu_s"] = round(row.pop("cpu_end") - cpu0, 2)
    return row


def revive(lab, cluster, dead, limit):
    """Between rounds: power `dead` on again and start its daemon; returns the holder of
    all addresses once one node holds them all (HA1 with auto_failback on)."""
    node = lab.node(dead)
    node.power_on()
    scenario.setup_web(node, cluster.nginx_init)
    scenario.start_nginx(node)
    cluster.start_daemon(dead)
    time.sleep(5.0)  # let the pair settle (failback, if any, starts)
    holder = drills.wait_for(lambda: next((n for n in scenario.NODES if len(held(lab.node(n))) == len(ADDRESSES)
                                           and not held(lab.node(OTHER[n]))), None), limit, step=0.5)
    if holder is None:
        raise drills.DrillError("no node holds all addresses after %s came back" % dead)
    return holder


def save_log(lab, directory, name):
    os.makedirs(directory, exist_ok=True)
    for node in scenario.NODES:
        src = lab.node(node).host_path("/var/log/ha-log")
        if os.path.exists(src):
            shutil.copy(src, os.path.join(directory, "%s-%s.log" % (name, node)))


def fmt(v):
    return "-" if v is None else "%.3f" % v if isinstance(v, float) else str(v)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--layouts", default="10x10,1x100")
    ap.add_argument("--daemons", default="pyha,heartbeat")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--limit", type=float, default=300.0, help="seconds to wait for all addresses")
    ap.add_argument("--logs", help="keep HA2's ha-log of each drill in this directory")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench_scale: needs root (network namespaces)")
    rows = []
    for layout in args.layouts.split(","):
        for kind in args.daemons.split(","):
            label = "%s %s" % (kind, layout)
            lab, cluster = build(kind, layout)
            watch = ArpWatch("/run/netns/" + lab.node("client").netns, CLIENT)
            try:
                holder, dead = "HA1", None
                for i in range(args.rounds):
                    if dead is not None:
                        holder, dead = revive(lab, cluster, dead, args.limit), None
                    for drill in ("handover", "takeover"):
                        try:
                            if drill == "takeover":
                                row = takeover(lab, watch, holder, args.limit)
                            else:
                                row = handover(lab, kind, watch, holder, args.limit)
                        except drills.DrillError as exc:
                            row = {"error": str(exc)}
                        row.update({"setup": label, "drill": drill, "round": i + 1, "from": holder})
                        rows.append(row)
                        if args.logs:
                            save_log(lab, args.logs, "%s-%s-%s-%d" % (kind, layout, drill, i + 1))
                        if not args.json:
                            print("  %-16s %-9s round %d (from %s): detection %s, all answer %s, all GARPed %s, "
                                  "last GARP %s (%s GARPs), CPU %s s%s" % (
                                      label, drill, i + 1, holder, fmt(row.get("detection_s")),
                                      fmt(row.get("all_answer_s")), fmt(row.get("all_garped_s")),
                                      fmt(row.get("last_garp_s")), row.get("garps"), row.get("cpu_s"),
                                      "  ERROR %s" % row["error"] if "error" in row else ""), flush=True)
                        if "error" in row:
                            break
                        if drill == "takeover":
                            dead = holder
                        holder = OTHER[holder]
                    else:
                        continue
                    break
            finally:
                watch.close()
                scenario.down(PREFIX)
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print("\n100 addresses on eth0; keepalive 1 s / deadtime 5 s; times from detection (takeover: the survivor "
          "logs 'node X: is dead'; hand-over: the standby command); median over %d round(s)" % args.rounds)
    print("%-16s %-9s %12s %12s %12s %9s %8s" % ("setup", "drill", "all answer", "all GARPed", "last GARP",
                                                 "GARPs", "CPU s"))
    med = {}
    for layout in args.layouts.split(","):
        for kind in args.daemons.split(","):
            for drill in ("handover", "takeover"):
                sel = [r for r in rows if r["setup"] == "%s %s" % (kind, layout) and r["drill"] == drill
                       and "error" not in r]
                if not sel:
                    continue

                def m(key):
                    vals = [r[key] for r in sel if r.get(key) is not None]
                    return round(statistics.median(vals), 3) if vals else None
                med[(kind, layout, drill)] = m("all_answer_s")
                print("%-16s %-9s %12s %12s %12s %9s %8s" % (
                    "%s %s" % (kind, layout), drill, fmt(m("all_answer_s")), fmt(m("all_garped_s")),
                    fmt(m("last_garp_s")), str(m("garps")), fmt(m("cpu_s"))))
    print("\nratios pyha / heartbeat (all answer):")
    for layout in args.layouts.split(","):
        for drill in ("handover", "takeover"):
            a, b = med.get(("pyha", layout, drill)), med.get(("heartbeat", layout, drill))
            if a and b:
                print("  %-6s %-9s x%.3f (%.3f s vs %.3f s)" % (layout, drill, a / b, a, b))


if __name__ == "__main__":
    main()
