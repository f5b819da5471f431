"""Child processes never block the loop: real processes, a real event loop."""

import time

from pyha.daemon.loop import EventLoop
from pyha.resources.runner import Child, ProcessRunner, run_blocking


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


def _gone(pid, limit=5.0):
    """True once `pid` has ended (absent, or a zombie waiting for init to reap it)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            with open("/proc/%d/stat" % pid) as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return True
        except OSError:
            return True
        time.sleep(0.02)
    return False


def test_child_stdin_from_a_file_output_apart_and_a_timeout_kills_the_whole_group():
    """The one contract every runner uses (resources and fence calls): stdin text from an
    unlinked file, stdout and stderr apart when asked, and a timeout kills grandchildren."""
    child = Child(["sh", "-c", 'read a; echo "got $a"; echo warn >&2; sleep 30 & echo $!; wait'],
                  time.monotonic(), stdin="s3cret\n", split_stderr=True)
    assert child.wait(0.5) is None and child.timed_out
    out, err = child.collect()
    assert out.startswith("got s3cret\n") and err == "warn\n"
    assert _gone(int(out.split()[-1]))


def test_child_without_stdin_reads_dev_null_and_merges_stderr():
    child = Child(["sh", "-c", "cat; echo done >&2"], time.monotonic())
    assert child.wait(5) == 0 and not child.timed_out
    assert child.collect() == ("done\n", "")


def test_children_never_inherit_the_daemons_interpreter_settings(monkeypatch, tmp_path):
    # Lab, Python 3.6 daemon: fence_ipmilan (Debian's python3) inherited PYTHONPATH with
    # 3.6's library and died with "SRE module mismatch"; the fence never happened.
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    monkeypatch.setenv("PYTHONHOME", str(tmp_path))
    monkeypatch.setenv("PYHA_KEPT", "yes")
    show = ["sh", "-c", 'echo "[$PYTHONPATH][$PYTHONHOME][$PYHA_KEPT][$OTHER]"']
    child = Child(show, time.monotonic())
    assert child.wait(5) == 0 and child.collect()[0] == "[][][yes][]\n"
    child = Child(show, time.monotonic(), env={"PYTHONPATH": "/x", "OTHER": "o"})
    assert child.wait(5) == 0 and child.collect()[0] == "[][][][o]\n"
    result = run_blocking(show, 5)
    assert result.ok and result.output == "[][][yes][]\n"
