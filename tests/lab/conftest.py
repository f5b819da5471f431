"""Fixtures for the lab tests (real namespaces; root only).

* Tests marked ``@pytest.mark.lab`` are skipped with the reason when this machine cannot
  run a lab (not root, no `ip netns`, no nsenter/unshare).
* ``lab``: one reference topology per test module (prefix ``pyhat<pid><LAB_TAG>``, where
  the module may set ``LAB_TAG``; ``LAB_SPEC`` may be a zero-argument callable returning a
  LabSpec).  It is always torn down, and teardown checks that no namespace with the prefix
  and no process of the lab survives.
* At session start, leftovers of earlier test runs whose pytest process is dead
  (``pyhat<dead pid>*``) are removed; a live run's labs are never touched.
* ``lab_prefix(tag)``: a fresh prefix for tests that build their own throwaway lab;
  ``lab_tools``: `snapshot_processes(lab)` and `assert_gone(prefix, snapshot)` for them
  (fixtures rather than imports: `import conftest` may find another directory's conftest).
* A failing lab test carries the tail of every daemon log of this run's live labs (section
  "lab logs"): a flake seen once in CI must be diagnosable from CI's output alone.
"""

import glob
import os
import re

import pytest

from pyha.lab import Lab, cleanup_leftovers, lab_support, owns_netns
from pyha.lab import netns as nsu

TEST_BASE = "pyhat"
_STALE_RE = re.compile(r"^(%s(\d+)[a-z]*)(?:-|$)" % TEST_BASE)
_support = []  # cached lab_support() result


def lab_skip_reason():
    if not _support:
        try:
            _support.append(lab_support())
        except Exception as exc:  # e.g. `ip` missing entirely
            _support.append("lab support check failed: %s" % (exc,))
    return _support[0]


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    if item.get_closest_marker("lab") is not None:
        reason = lab_skip_reason()
        if reason:
            pytest.skip("lab test: " + reason)


LOG_FILES = ("pyha-daemon.out", "ha-log", "ha-debug", "keepalived.log")
LOG_TAIL_LINES = 60


def lab_log_tails(pid=None):
    """The last lines of each daemon log in the labs of test run `pid` (default: this one)."""
    out = []
    pattern = "/tmp/%s%d*-lab/*/root/var/log/*" % (TEST_BASE, os.getpid() if pid is None else pid)
    for path in sorted(glob.glob(pattern)):
        if os.path.basename(path) not in LOG_FILES:
            continue
        try:
            with open(path, errors="replace") as f:
                lines = f.readlines()[-LOG_TAIL_LINES:]
        except OSError as exc:
            lines = ["(unreadable: %s)\n" % exc]
        out.append("--- %s (last %d lines)\n%s" % (path, len(lines), "".join(lines)))
    return "\n".join(out)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed and item.get_closest_marker("lab") is not None:
        tails = lab_log_tails()
        if tails:
            report.sections.append(("lab logs", tails))


def make_prefix(tag):
    return "%s%d%s" % (TEST_BASE, os.getpid(), tag)


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_dead_test_labs():
    """Clean labs left by test runs whose pytest process no longer exists."""
    prefixes = set()
    for name in nsu.list_netns() + [d[:-4] for d in os.listdir("/tmp") if d.endswith("-lab")]:
        m = _STALE_RE.match(name)
        if m and int(m.group(2)) != os.getpid() and not _pid_alive(int(m.group(2))):
            prefixes.add(m.group(1))
    for prefix in sorted(prefixes):
        cleanup_leftovers(prefix)


@pytest.fixture(scope="session")
def lab_session():
    if lab_skip_reason():
        pytest.skip("lab test: " + lab_skip_reason())
    sweep_dead_test_labs()
    yield


@pytest.fixture(scope="session")
def lab_prefix(lab_session):
    return make_prefix


def snapshot_processes(lab):
    """(pid, start time) of every process in the lab's nodes and namespaces."""
    result = set()
    for node in lab.nodes:
        result.update(node.processes())
    for name in lab.all_netns():
        ident = nsu.netns_id(name)
        if ident:
            result.update(nsu.pids_in_ns("net", ident))
    return {(p, nsu.start_time(p)) for p in result if nsu.start_time(p) is not None}


def assert_gone(prefix, processes):
    left_ns = [n for n in nsu.list_netns() if owns_netns(prefix, n)]
    assert not left_ns, "namespaces left behind: %s" % left_ns
    alive = [p for p, started in processes if nsu.is_same_process(p, started)]
    assert not alive, "processes left behind: %s" % alive


class _Tools(object):
    snapshot_processes = staticmethod(snapshot_processes)
    assert_gone = staticmethod(assert_gone)


@pytest.fixture(scope="session")
def lab_tools(lab_session):
    return _Tools()


@pytest.fixture(scope="module")
def lab(request, lab_session):
    prefix = make_prefix(getattr(request.module, "LAB_TAG", "m"))
    cleanup_leftovers(prefix)
    factory = getattr(request.module, "LAB_SPEC", None)
    the_lab = Lab(prefix, spec=factory() if factory else None)
    the_lab.up()
    try:
        yield the_lab
    finally:
        procs = snapshot_processes(the_lab)
        the_lab.down()
        assert_gone(prefix, procs)
        assert not os.path.exists(the_lab.statedir)
