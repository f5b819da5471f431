"""A throw-away pair of network namespaces for agent-level lab tests.

`ns_pair(prefix)` makes two namespaces joined by a veth pair, each end called eth0
(a: 192.0.2.10/24, b: 192.0.2.11/24); `run_in(ns, code)` runs Python code inside a
namespace with this interpreter.  Names carry the caller's prefix; leftovers with that
prefix are removed first, and everything is removed at the end.
"""

import contextlib
import os
import subprocess
import sys
import textwrap

import pytest


def sh(*argv, **kw):
    kw.setdefault("timeout", 60)
    return subprocess.run(list(argv), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, **kw)


def cleanup(prefix):
    for line in sh("ip", "netns", "list").stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        if name.startswith(prefix):
            sh("ip", "netns", "del", name)


@contextlib.contextmanager
def ns_pair(prefix):
    a, b = prefix + "a", prefix + "b"
    cleanup(prefix)
    try:
        for ns in (a, b):
            assert sh("ip", "netns", "add", ns).returncode == 0
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        assert sh("ip", "-n", a, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0",
                  "netns", b).returncode == 0
        sh("ip", "-n", a, "addr", "add", "192.0.2.10/24", "brd", "+", "dev", "eth0")
        sh("ip", "-n", b, "addr", "add", "192.0.2.11/24", "brd", "+", "dev", "eth0")
        for ns in (a, b):
            sh("ip", "-n", ns, "link", "set", "eth0", "up")
        yield a, b
    finally:
        for ns in (a, b):
            sh("ip", "netns", "del", ns)


def pair_fixture(prefix):
    """A module-scoped `netns` fixture giving (a, b) from `ns_pair(prefix)`; skipped
    when not root.  Use as `netns = pair_fixture(PREFIX)` in a test module."""
    @pytest.fixture(scope="module")
    def netns():
        if os.geteuid() != 0:
            pytest.skip("needs root for network namespaces")
        with ns_pair(prefix) as pair:
            yield pair
    return netns


def py_env():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    return env


def run_in(ns, code, check=True, timeout=60):
    proc = sh("ip", "netns", "exec", ns, sys.executable, "-c", textwrap.dedent(code), env=py_env(),
              timeout=timeout)
    if check:
        assert proc.returncode == 0, proc.stdout
    return proc.stdout


def addrs(ns, dev="eth0"):
    return sh("ip", "-n", ns, "-4", "-o", "addr", "show", "dev", dev).stdout
