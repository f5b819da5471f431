"""Fence calls as child processes: poll never blocks, timeouts kill, the delay is part of the
call, arguments reach the child on stdin.  Real `sh` children stand in for an agent (the
agents themselves are driven against ipmi_sim in tests/lab/test_fencing_vbmc.py)."""

import time

from pyha.fencing.invoke import Invocation, interpret_agent
from pyha.fencing.runner import FenceCall, Step, capture, single_step


class FakeClock(object):
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def sh(script, action="status", timeout=5.0, stdin=None, secrets=()):
    return Invocation(["sh", "-c", script], action, timeout, stdin=stdin, secrets=secrets)


def test_agent_reads_its_arguments_on_stdin_and_exit_2_means_off():
    inv = sh('read a; read b; echo "got $a $b"; [ "$b" = action=status ] && exit 2', stdin="ip=1\naction=status\n")
    out = FenceCall(single_step(inv, interpret_agent, "fake agent")).wait()
    assert (out.ok, out.power, out.rc) == (True, "off", 2)
    assert "got ip=1 action=status" in out.output


def test_poll_never_waits_for_the_child():
    call = FenceCall(single_step(sh("sleep 1; exit 0", "on"), interpret_agent, "fake agent"))
    started = time.monotonic()
    call.start()
    assert call.poll() is None and call.running
    assert time.monotonic() - started < 0.5
    out = call.wait()
    assert out.ok and out.power == "on" and not call.running


def test_a_hung_device_is_killed_at_its_timeout_with_its_children():
    call = FenceCall(single_step(sh("sleep 30 & sleep 30; wait", "off", timeout=0.3), interpret_agent, "fake agent"))
    started = time.monotonic()
    out = call.wait()
    assert time.monotonic() - started < 5
    assert not out.ok and out.timed_out and out.rc is None and "timed out" in out.message


def test_the_delay_holds_the_first_child_back_without_sleeping():
    clock = FakeClock()
    call = FenceCall(single_step(sh("sleep 5", "off"), interpret_agent, "fake agent"), delay=5.0, clock=clock)
    call.start()
    assert call.poll() is None and call.steps_run == [] and call.next_deadline() == 105.0
    clock.now = 104.9
    assert call.poll() is None and call.steps_run == []
    clock.now = 105.0
    call.poll()
    assert call.steps_run == [["sh", "-c", "sleep 5"]]
    assert call.next_deadline() == 105.0 + 5.0  # now the step's timeout
    call.cancel()


def test_a_missing_program_is_an_outcome_not_an_exception():
    out = FenceCall(single_step(Invocation(["/nonexistent/fence_x"], "off", 5), interpret_agent, "fence_x")).wait()
    assert not out.ok and "cannot run /nonexistent/fence_x" in out.message


def test_steps_chain_and_secrets_are_scrubbed_from_output():
    def first_done(result):
        assert result.rc == 0 and result.stdout == "ha2\n"
        return single_step(sh("echo 'login s3cret refused' >&2; exit 1", "off", secrets=["s3cret"]),
                           interpret_agent, "fake agent")
    call = FenceCall(Step(sh("echo ha2"), first_done))
    out = call.wait()
    assert len(call.steps_run) == 2
    assert not out.ok and "s3cret" not in out.output and "login **** refused" in out.output


def test_cancel_kills_a_running_step():
    call = FenceCall(single_step(sh("sleep 30", "off"), interpret_agent, "fake agent"))
    call.start()
    call.cancel()
    assert call.outcome.message == "cancelled" and not call.running


def test_capture_keeps_stdout_apart_from_stderr():
    r = capture(["sh", "-c", "echo '<xml/>'; echo warning >&2"], 5)
    assert (r.rc, r.stdout, r.stderr) == (0, "<xml/>\n", "warning\n")


def test_driven_from_the_daemon_loop_timers_keep_ticking_while_the_device_works():
    """How the daemon's policy will drive a call: poll at next_deadline() and on SIGCHLD;
    the loop's 50 ms timer keeps its cadence while a slow device (0.6 s) works."""
    import signal

    from pyha.daemon.loop import EventLoop

    loop = EventLoop()
    ticks = []
    done = []

    def tick():
        ticks.append(time.monotonic())
        loop.call_later(0.05, tick)

    call = FenceCall(single_step(sh("sleep 0.6; exit 0", "off"), interpret_agent, "slow agent"), delay=0.1)

    def poll():
        if call.poll() is not None:
            done.append(call.outcome)
        elif call.next_deadline() is not None:
            loop.call_at(call.next_deadline(), poll)

    loop.add_signal_handler(signal.SIGCHLD, lambda s: poll())
    tick()
    call.start()
    poll()
    deadline = time.monotonic() + 10
    while not done and time.monotonic() < deadline:
        loop.run_once(max_wait=0.05)
    assert done and done[0].ok and done[0].power == "off"
    gaps = [b - a for a, b in zip(ticks, ticks[1:])]
    assert len(ticks) >= 10 and max(gaps) < 0.5  # never blocked for the device's 0.6 s
