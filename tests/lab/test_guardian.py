"""Self-fencing: SIGKILL the daemon and the guardian releases the VIP and the service.

A stand-in daemon (a Python process that adds the VIP, tells its guardian what it holds
and then waits) runs inside a network namespace; the test kills it with SIGKILL, like
the tutorial's drill 5 (`killall -9 heartbeat`), and checks that the VIP is gone and the
service's stop script ran.  A clean stop must release nothing.
"""

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from nshelp import addrs, pair_fixture, py_env

pytestmark = pytest.mark.lab

PREFIX = "pyhagd%d" % os.getpid()

DAEMON = """
import sys, time
from pyha.daemon.guardian import GuardianLink, wait_for_release
from pyha.resources import ipaddr
rd = sys.argv[1]
g = GuardianLink(resource_d=rd, lock_fd=wait_for_release(sys.argv[3]) if len(sys.argv) > 3 else None)
ipaddr.add(ipaddr.IpSpec.parse("192.0.2.160/24/eth0"))
g.holding(["192.0.2.160/24/eth0", "svc::arg"])
print("holding", flush=True)
if sys.argv[2] == "clean":
    g.clean_exit()
    print("clean", flush=True)
    sys.exit(0)
time.sleep(60)
"""


netns = pair_fixture(PREFIX)


@pytest.fixture
def resource_d(tmp_path):
    d = tmp_path / "resource.d"
    d.mkdir()
    script = d / "svc"
    script.write_text("#!/bin/sh\necho \"$@\" >> %s/calls\nexit 0\n" % tmp_path)
    os.chmod(str(script), 0o755)
    return d


def start_daemon(ns, resource_d, mode, run_dir=None):
    proc = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, "-c", textwrap.dedent(DAEMON),
                             str(resource_d), mode] + ([str(run_dir)] if run_dir else []),
                            stdout=subprocess.PIPE, universal_newlines=True, env=py_env())
    assert proc.stdout.readline().strip() == "holding"
    return proc


def wait_for(cond, limit=10.0):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


def test_sigkill_releases_vip_and_stops_service(netns, resource_d, tmp_path):
    a, _ = netns
    proc = start_daemon(a, resource_d, "kill")
    assert "192.0.2.160" in addrs(a)
    killed_at = time.monotonic()
    proc.send_signal(signal.SIGKILL)  # the `ip netns exec` wrapper execs python: same pid
    proc.wait()
    assert wait_for(lambda: "192.0.2.160" not in addrs(a))
    released_after = time.monotonic() - killed_at
    assert wait_for(lambda: (tmp_path / "calls").exists())
    assert (tmp_path / "calls").read_text() == "arg stop\n"
    assert "192.0.2.10/24" in addrs(a)  # the base address is untouched
    assert released_after < 5  # far below any deadtime: the peer never sees a duplicate


def test_clean_stop_releases_nothing(netns, resource_d, tmp_path):
    a, _ = netns
    proc = start_daemon(a, resource_d, "clean")
    assert proc.stdout.readline().strip() == "clean"
    proc.wait()
    time.sleep(0.5)
    assert "192.0.2.160" in addrs(a)  # a clean daemon released (or kept) it itself
    assert not (tmp_path / "calls").exists()
    subprocess.run(["ip", "-n", a, "addr", "del", "192.0.2.160/24", "dev", "eth0"])


def test_a_restarted_daemon_waits_until_the_old_guardian_stopped_the_service(netns, resource_d, tmp_path):
    """The race seen in the lab: SIGKILL, immediate restart, the new daemon found the
    service "already running" and the old guardian stopped it under the new one.  With
    the release lock the new start waits until the old guardian's stop has finished."""
    a, _ = netns
    slow = resource_d / "svc"
    slow.write_text("#!/bin/sh\nsleep 1.5\necho \"$@\" >> %s/calls\nexit 0\n" % tmp_path)
    run_dir = tmp_path / "run"
    proc = start_daemon(a, resource_d, "kill", run_dir=run_dir)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    from pyha.daemon.guardian import wait_for_release
    said = []
    t0 = time.monotonic()
    fd = wait_for_release(str(run_dir), limit=30, say=said.append)  # what the new daemon does first
    waited = time.monotonic() - t0
    os.close(fd)
    assert (tmp_path / "calls").read_text() == "arg stop\n"  # the old stop is over, not racing us
    assert waited >= 1.0, said
    assert any("waiting for the guardian of the previous daemon" in s for s in said), said
