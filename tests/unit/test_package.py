"""The package as a user installs it: console script, `python -m pyha`, version."""

import subprocess
import sys

import pyha


def test_version_via_module():
    out = subprocess.run([sys.executable, "-m", "pyha", "--version"], stdout=subprocess.PIPE,
                         universal_newlines=True, check=True).stdout
    assert out.strip() == "pyha %s" % pyha.__version__


def test_help_lists_commands():
    out = subprocess.run([sys.executable, "-m", "pyha", "--help"], stdout=subprocess.PIPE,
                         universal_newlines=True, check=True).stdout
    for command in ("init", "sync", "config", "daemon", "status"):
        assert command in out


def test_usage_error_exits_2():
    proc = subprocess.run([sys.executable, "-m", "pyha", "init"], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True)
    assert proc.returncode == 2
    assert "--peer" in proc.stderr
