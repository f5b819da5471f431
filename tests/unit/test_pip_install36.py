"""`pip install .` with the pips an EL7 admin meets, on CPython 3.6:

* pip 18.1, the one CPython 3.6.15's venv ships: it builds in an isolated environment from
  pyproject.toml's build requirements and, without a Python cap there, took the newest
  setuptools it found (one that needs 3.10) whenever an index or --find-links directory
  lacked Requires-Python data, as this machine's mirror does.  It also needs setup.py
  (PEP 517 without one came with pip 19).
* pip 9.0.3 with setuptools 39.2.0, EL7's python3-pip and python3-setuptools: no PEP 518
  at all, it runs setup.py with the installed setuptools.

Slow and needs the package index (the one pip is configured with); runs once, from the
Python 3.6 test run.  The checkout is copied first (git's files only), so no build
directory is left in it.
"""

import os
import shutil
import subprocess
import sys

import pytest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PY36 = os.environ.get("PYHA_PY36") or os.path.expanduser("~/.pyenv/versions/3.6.15/bin/python")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sys.version_info[:2] != (3, 6), reason="runs once, from the Python 3.6 test run"),
    pytest.mark.skipif(not os.path.exists(PY36), reason="no CPython 3.6 at %s (set PYHA_PY36)" % PY36),
]


def run(argv, env=None, cwd=None, timeout=600):
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                          env=env, cwd=cwd, timeout=timeout)


@pytest.fixture
def source(tmp_path_factory):
    # a fresh copy per test: a build by one pip leaves build/ and *.egg-info behind, and
    # pip 9's `setup.py install` over pip 18.1's leftovers installed no `pyha` script
    dst = str(tmp_path_factory.mktemp("src"))
    files = run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=TOP).stdout
    for rel in filter(None, files.split("\0")):
        if os.path.isfile(os.path.join(TOP, rel)):
            os.makedirs(os.path.join(dst, os.path.dirname(rel)), exist_ok=True)
            shutil.copy2(os.path.join(TOP, rel), os.path.join(dst, rel))
    return dst


def venv(path):
    r = run([PY36, "-m", "venv", path])
    assert r.returncode == 0, r.stdout
    return os.path.join(path, "bin")


def default_index():
    """The package index pip uses when none is configured (pip 9's own default is a host
    name that no longer answers everywhere), from the test venv's newer pip."""
    from pip._internal.models.index import PyPI
    return PyPI.simple_url


def test_stock_pip_18_1_installs_pyha(source, tmp_path):
    bin_ = venv(str(tmp_path / "v"))
    assert run([bin_ + "/pip", "--version"]).stdout.startswith("pip 18.1 ")
    # the build requirements against this machine's pip configuration (mirror included)
    r = run([bin_ + "/pip", "install", "--no-deps", "."], cwd=source)
    assert r.returncode == 0, r.stdout[-3000:]
    assert "setuptools requires Python" not in r.stdout
    # with the dependencies, as on a node that has only the public index
    env = dict(os.environ, PIP_CONFIG_FILE=os.devnull)
    env.pop("PIP_FIND_LINKS", None)
    r = run([bin_ + "/pip", "install", "."], cwd=source, env=env)
    assert r.returncode == 0, r.stdout[-3000:]
    r = run([bin_ + "/pyha", "--version"])
    assert r.returncode == 0 and r.stdout.startswith("pyha "), r.stdout


def test_el7_pip_9_with_el7_setuptools_installs_pyha(source, tmp_path):
    bin_ = venv(str(tmp_path / "v"))
    env = dict(os.environ, PIP_CONFIG_FILE=os.devnull)
    env.pop("PIP_FIND_LINKS", None)
    # a PYTHONPATH naming a checkout (a developer's run) makes pip 9 find pyha "already
    # satisfied" and install no `pyha` script
    env.pop("PYTHONPATH", None)
    index = ["-i", default_index()]
    r = run([bin_ + "/pip", "install"] + index + ["pip==9.0.3", "setuptools==39.2.0"], env=env)
    assert r.returncode == 0, r.stdout[-3000:]
    assert run([bin_ + "/pip", "--version"]).stdout.startswith("pip 9.0.3 ")
    r = run([bin_ + "/pip", "install"] + index + ["."], cwd=source, env=env)
    assert r.returncode == 0, r.stdout[-3000:]
    r = run([bin_ + "/pyha", "--version"])
    assert r.returncode == 0 and r.stdout.startswith("pyha "), r.stdout
