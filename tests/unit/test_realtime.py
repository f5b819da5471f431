"""ha.cf `realtime`: the daemon process gets SCHED_RR, its children normal scheduling.

Each case runs in a child interpreter, so the test runner itself never turns realtime."""

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

PROBE = r"""
import os, subprocess, sys
from pyha.daemon.realtime import make_realtime
rt, text = make_realtime(%s, %s)
child = subprocess.check_output([sys.executable, "-c", "import os; print(os.sched_getscheduler(0))"])
print(rt, os.sched_getscheduler(0) & ~os.SCHED_RESET_ON_FORK, os.sched_getparam(0).sched_priority,
      int(child), "|", text)
"""


def probe(enabled, prio):
    out = subprocess.check_output([sys.executable, "-c", PROBE % (enabled, prio)], cwd=ROOT,
                                  env=dict(os.environ, PYTHONPATH=ROOT), universal_newlines=True)
    head, text = out.strip().split(" | ")
    rt, policy, priority, child = head.split()
    return rt == "True", int(policy), int(priority), int(child), text


@pytest.mark.skipif(os.geteuid() != 0, reason="realtime scheduling needs root")
def test_realtime_on_rr_for_the_daemon_normal_for_children():
    rt, policy, priority, child, text = probe(True, 3)
    assert rt and policy == os.SCHED_RR and priority == 3
    assert child == os.SCHED_OTHER  # resource scripts must not compete with keepalives
    assert "SCHED_RR priority 3" in text and "memory" in text
    rt, policy, priority, child, text = probe(True, None)  # heartbeat's default: lowest RR priority
    assert rt and priority == os.sched_get_priority_min(os.SCHED_RR)


def test_realtime_off_changes_nothing():
    rt, policy, priority, child, text = probe(False, 3)
    assert not rt and policy == os.SCHED_OTHER and child == os.SCHED_OTHER
    assert text == "realtime off in ha.cf: normal scheduling"
