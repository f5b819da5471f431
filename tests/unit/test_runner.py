"""Child processes never block the loop: real processes, a real event loop."""

import time

from pyha.daemon.loop import EventLoop
from pyha.resources.runner import ProcessRunner, run_blocking


def _run_until(loop, cond, limit=10.0):
    deadline = time.monotonic() + limit
    while not cond() and time.monotonic() < deadline:
        loop.run_once(max_wait=0.05)


def test_result_timeout_and_missing_program_while_timers_keep_ticking():
    loop = EventLoop()
    runner = ProcessRunner(loop)
    results = {}
    ticks = []

    def tick():
        ticks.append(time.monotonic())
        loop.call_later(0.05, tick)

    tick()
    runner.start(["sh", "-c", "echo running; exit 3"], lambda r: results.setdefault("quick", r), timeout=5)
    runner.start(["sleep", "30"], lambda r: results.setdefault("slow", r), timeout=0.5)
    runner.start(["/nonexistent/script"], lambda r: results.setdefault("missing", r), timeout=5)
    # an init script that leaves a daemon holding its stdout must still complete at once
    runner.start(["sh", "-c", "sleep 2 & echo started"], lambda r: results.setdefault("bg", r), timeout=5)
    t0 = time.monotonic()
    _run_until(loop, lambda: len(results) == 4)
    assert results["quick"].returncode == 3 and results["quick"].output == "running\n"
    assert results["slow"].timed_out and results["slow"].returncode is None
    assert 0.4 < results["slow"].duration < 3
    assert "cannot run" in results["missing"].error
    assert results["bg"].ok and results["bg"].output == "started\n" and results["bg"].duration < 2
    # keepalive-like timer kept firing (no gap near the 0.5 s the slow child took)
    gaps = [b - a for a, b in zip(ticks, ticks[1:])]
    assert max(gaps) < 0.5 and time.monotonic() - t0 < 5
    loop.close()


def test_run_blocking():
    r = run_blocking(["sh", "-c", "echo hi >&2; exit 0"], timeout=5)
    assert r.ok and r.output == "hi\n"
    r = run_blocking(["sleep", "10"], timeout=0.3)
    assert r.timed_out and not r.ok
    r = run_blocking(["sh", "-c", "sleep 2 & echo bg"], timeout=5)
    assert r.ok and r.duration < 2
