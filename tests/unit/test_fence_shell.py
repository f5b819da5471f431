"""The daemon's fence shell (pyha/daemon/fence_shell.py) with its real event loop and a
real child process: a small script standing in for a fence agent (an absolute agent path
is what `fence NODE /path/agent ...` allows).  It reads the agent API's stdin, records
it and exits as told; no network, no BMC (the lab tests use ipmi_sim and fence_ipmilan).
Waits are for a condition (the answer fed back), bounded by a deadline."""

import os
import stat
import time

from pyha.cluster import manager_events as me
from pyha.config.pyhacf import PyhaCf
from pyha.config.hacf import HaCf
from pyha.config.haresources import Haresources
from pyha.daemon.composition import core_config, fence_config
from pyha.daemon.fence_shell import FenceShell, start_fence_shell
from pyha.daemon.loop import EventLoop
from pyha.fencing.devices import AgentDevice, FenceConfig
from pyha.fencing.lines import FenceLine

AGENT = """#!/bin/sh
cat > "%(dir)s/stdin.$$"
mv "%(dir)s/stdin.$$" "%(dir)s/stdin"
grep -q '^action=status' "%(dir)s/stdin" && exit %(status_rc)d
echo "Failed: Unable to obtain correct plug status" >&2
exit %(rc)d
"""


def _agent(tmp_path, rc=0, status_rc=0):
    path = tmp_path / "fence_fake"
    path.write_text(AGENT % {"dir": str(tmp_path), "rc": rc, "status_rc": status_rc})
    os.chmod(str(path), stat.S_IRWXU)
    return str(path)


def _shell(tmp_path, rc=0, status_rc=0, check_s=0.0, action="reboot"):
    loop = EventLoop()
    fed = []
    line = FenceLine("ha2", _agent(tmp_path, rc, status_rc), (("ip", "192.0.2.12"), ("password", "sekret")))
    config = FenceConfig(agents=[AgentDevice(line, "pyha.cf", 3)])
    return loop, fed, FenceShell(loop, config, "ha1", "ha2", fed.append, action=action, check_s=check_s)


def _run_until(loop, cond, timeout=10.0):
    end = time.monotonic() + timeout
    while not cond() and time.monotonic() < end:
        loop.run_once(0.05)
    return cond()


def test_fence_peer_runs_the_configured_agent_and_feeds_the_result(tmp_path):
    loop, fed, shell = _shell(tmp_path, rc=0)
    assert shell.do(me.FencePeer("ha2", "ha2 is dead")) is True
    assert _run_until(loop, lambda: fed)
    assert len(fed) == 1 and isinstance(fed[0], me.Fenced) and fed[0].node == "ha2" and fed[0].ok
    assert "rebooted" in fed[0].detail and "pyha.cf:3" in fed[0].detail
    stdin = (tmp_path / "stdin").read_text()
    assert "action=reboot\n" in stdin and "ip=192.0.2.12\n" in stdin  # the agent API, on stdin
    assert shell.snapshot(time.monotonic())["last_fence"]["ok"] is True
    shell.close()


def test_a_failing_agent_is_reported_with_its_reason_and_secrets_never_leak(tmp_path):
    loop, fed, shell = _shell(tmp_path, rc=1, action="off")
    shell.do(me.FencePeer("ha2", "ha2 is dead"))
    assert _run_until(loop, lambda: fed)
    assert fed[0].ok is False
    assert "off failed (exit 1): Failed: Unable to obtain correct plug status" in fed[0].detail
    assert "sekret" not in repr(shell.snapshot(time.monotonic()))
    assert "action=off\n" in (tmp_path / "stdin").read_text()
    shell.close()


def test_only_the_peer_is_ever_fenced_and_other_actions_are_not_ours(tmp_path):
    loop, fed, shell = _shell(tmp_path)
    assert shell.do(me.Acquire(("g",), "x")) is False
    assert shell.do(me.FencePeer("ha3", "?")) is True
    assert fed == [me.Fenced("ha3", False, "not this node's peer")]
    assert not (tmp_path / "stdin").exists()
    shell.close()


def test_the_device_is_checked_periodically_and_a_broken_one_shows(tmp_path):
    loop, fed, shell = _shell(tmp_path, status_rc=2, check_s=0.2)
    assert _run_until(loop, lambda: shell.last_check is not None)
    snap = shell.snapshot(time.monotonic())
    assert snap["last_check"]["ok"] and snap["last_check"]["power"] == "off"
    assert snap["summary"].startswith("ok ") and "power is off" in snap["summary"]
    # The BMC breaks: the next check says so.
    _agent(tmp_path, 0, 1)
    assert _run_until(loop, lambda: not shell.last_check["ok"])
    assert "FAILED" in shell.snapshot(time.monotonic())["summary"]
    assert fed == []  # checks never tell the core anything
    shell.close()


def test_the_daemon_builds_both_halves_from_its_configuration(tmp_path):
    d = tmp_path / "ha.d"
    d.mkdir()
    (d / "ha.cf").write_text("keepalive 1\ndeadtime 5\nnode ha1\nnode ha2\nbcast eth0\n")
    (d / "pyha.cf").write_text("fence ha1 fence_ipmilan ip=192.0.2.11 username=u password=p\n"
                               "fence ha2 fence_ipmilan ip=192.0.2.12 username=u password=p\n"
                               "fence_delay 4\nfence_action off\nfence_check 1min\n")
    cf, pyhacf = HaCf.load(str(d / "ha.cf")), PyhaCf.load_optional(str(d / "pyha.cf"))
    hares = Haresources.parse("ha1 192.0.2.100\nha2 192.0.2.101\n", str(d / "haresources"))
    fencing = fence_config(cf, pyhacf)
    ha2 = core_config(cf, hares, "ha2", True, fencing).manager
    ha1 = core_config(cf, hares, "ha1", True, fencing).manager
    assert ha2.fence_device == "fence_ipmilan (%s:1)" % (d / "pyha.cf") and ha2.fence_delay_ms == 4000
    assert ha1.fence_device == "fence_ipmilan (%s:2)" % (d / "pyha.cf") and ha1.fence_delay_ms == 0
    loop = EventLoop()
    shell = start_fence_shell(loop, cf, pyhacf, ha2, lambda e: None)
    assert shell.action == "off" and shell.check_s == 60.0 and shell.peer == "ha1"
    shell.close()
    plain = core_config(cf, hares, "ha2", True, fence_config(cf, PyhaCf.load_optional(str(d / "none.cf")))).manager
    assert plain.fence_device is None  # no fence line: the core behaves as without a device
    assert start_fence_shell(loop, cf, None, plain, lambda e: None) is None


GLUE = """#!/bin/sh
echo "$@" >> "%(dir)s/calls"
case "$*" in
  *-l*) echo "%(hosts)s" ;;
esac
exit 0
"""


class _GlueProbe(object):
    """cluster-glue's `stonith` is a script here; external/ipmi's parameter names as
    `stonith -t external/ipmi -n` prints them (spec/fencing.md)."""

    def __init__(self, path):
        self.path = path

    def stonith_path(self):
        return self.path

    def glue_names(self, type_):
        return ["hostname", "ipaddr", "userid", "passwd", "interface"], ""

    def agent_path(self, agent):
        return None


def _glue_shell(tmp_path, hosts):
    script = tmp_path / "stonith"
    script.write_text(GLUE % {"dir": str(tmp_path), "hosts": hosts})
    os.chmod(str(script), stat.S_IRWXU)
    hacf = tmp_path / "ha.cf"
    hacf.write_text("node ha1\nnode ha2\nbcast eth0\nstonith_host * external/ipmi ha2 192.0.2.12 admin sekret lan\n")
    cf = HaCf.load(str(hacf))
    loop, fed = EventLoop(), []
    shell = FenceShell(loop, fence_config(cf, None), "ha1", "ha2", fed.append, probe=_GlueProbe(str(script)),
                       check_s=0.0)
    return loop, fed, shell


def test_a_stonith_line_device_resets_the_peer_only_after_it_says_it_controls_it(tmp_path):
    loop, fed, shell = _glue_shell(tmp_path, "ha2")
    shell.do(me.FencePeer("ha2", "ha2 is dead"))
    assert _run_until(loop, lambda: fed)
    assert fed[0].ok, fed
    calls = (tmp_path / "calls").read_text().splitlines()
    assert calls == ["-t external/ipmi -E -l", "-t external/ipmi -E -T reset ha2"]  # heartbeat's reset
    shell.close()


def test_a_stonith_line_device_that_controls_another_host_is_never_fired(tmp_path):
    loop, fed, shell = _glue_shell(tmp_path, "ha3")
    shell.do(me.FencePeer("ha2", "ha2 is dead"))
    assert _run_until(loop, lambda: fed)
    assert not fed[0].ok and "controls ha3, not ha2: refused" in fed[0].detail
    assert (tmp_path / "calls").read_text().splitlines() == ["-t external/ipmi -E -l"]
    shell.close()


def test_a_running_call_is_advanced_by_sigchld_and_its_deadline_not_by_polling(tmp_path):
    # The agent takes 0.6 s.  A periodic poll (it was every 100 ms) would look at the call
    # six times or more; event-driven it is looked at when it starts, when SIGCHLD says
    # the child ended, and at most at a deadline: a few times, and the answer still comes
    # at once.  A second listener (the resource runner's SIGCHLD handler) keeps working.
    import signal
    path = tmp_path / "fence_slow"
    path.write_text("#!/bin/sh\ncat >/dev/null\nsleep 0.6\nexit 0\n")
    os.chmod(str(path), stat.S_IRWXU)
    loop = EventLoop()
    other = []
    loop.add_signal_handler(signal.SIGCHLD, lambda s: other.append(s))
    fed = []
    config = FenceConfig(agents=[AgentDevice(FenceLine("ha2", str(path), (("ip", "192.0.2.12"),)), "pyha.cf", 3)])
    shell = FenceShell(loop, config, "ha1", "ha2", fed.append, check_s=0.0)
    polls = []
    real_plan = shell._plan

    def counting_plan(*args):
        plan, why = real_plan(*args)
        poll = plan.call.poll

        def counted():
            polls.append(time.monotonic())
            return poll()
        plan.call.poll = counted
        return plan, why
    shell._plan = counting_plan
    try:
        shell.do(me.FencePeer("ha2", "ha2 is dead"))
        assert _run_until(loop, lambda: fed)
        assert fed[0].ok
        assert 1 <= len(polls) <= 4, polls
        assert other  # the resource runner's handler still hears SIGCHLD
        assert shell._timer is None  # nothing left armed once the call is over
    finally:
        shell.close()
        loop.close()
