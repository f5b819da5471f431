"""VIP witness on a real veth pair: probes see a holder, find a free address, and a held
VIP announced by another MAC is reported as a conflict."""

import json
import os

import pytest

from nshelp import pair_fixture, run_in, sh

pytestmark = pytest.mark.lab
PREFIX = "pyhawt%d" % os.getpid()

PROBE = """
import json, time
from pyha.daemon.loop import EventLoop
from pyha.resources.witness import VipWitness
loop = EventLoop(); w = VipWitness(loop)
out = {}
for ip in ("192.0.2.170", "192.0.2.171"):
    w.probe("eth0", ip, lambda ip, mac: out.__setitem__(ip, mac))
t0 = time.monotonic()
while len(out) < 2 and time.monotonic() - t0 < 5:
    loop.run_once(0.02)
out["elapsed"] = time.monotonic() - t0
print(json.dumps(out))
"""

WATCH = """
import json, subprocess, time
from pyha.daemon.loop import EventLoop
from pyha.resources.witness import VipWitness
loop = EventLoop(); w = VipWitness(loop)
seen = []
w.watch("eth0", "192.0.2.172", lambda ip, mac: seen.append(mac))
for _ in range(10):
    loop.run_once(0.02)
print("ready", flush=True)
t0 = time.monotonic()
while not seen and time.monotonic() - t0 < 5:
    loop.run_once(0.05)
print(json.dumps(seen[:1]))
"""


netns = pair_fixture(PREFIX)


def mac(ns):
    return sh("ip", "netns", "exec", ns, "cat", "/sys/class/net/eth0/address").stdout.strip()


def test_probe_finds_holder_and_free_address(netns):
    a, b = netns
    sh("ip", "-n", b, "addr", "add", "192.0.2.170/24", "dev", "eth0")
    try:
        out = json.loads(run_in(a, PROBE).strip().splitlines()[-1])
    finally:
        sh("ip", "-n", b, "addr", "del", "192.0.2.170/24", "dev", "eth0")
    assert out["192.0.2.170"] == mac(b)
    assert out["192.0.2.171"] is None
    assert out["elapsed"] < 1.0


def test_conflict_while_holding_is_reported(netns):
    import subprocess
    import sys
    import textwrap
    from nshelp import py_env
    a, b = netns
    proc = subprocess.Popen(["ip", "netns", "exec", a, sys.executable, "-c", textwrap.dedent(WATCH)],
                            stdout=subprocess.PIPE, universal_newlines=True, env=py_env())
    try:
        assert proc.stdout.readline().strip() == "ready"
        # b claims the VIP with gratuitous ARP (what a second holder does after takeover)
        run_in(b, """
            from pyha.resources import arp
            s = arp.ArpSocket("eth0"); s.send(arp.announcement(s.mac, "192.0.2.172"))
        """)
        seen = json.loads(proc.stdout.readline())
    finally:
        proc.wait(10)
    assert seen == [mac(b)]
