"""`pyha lab up` refuses up front, with the reason, when pyha runs from a place the lab's
nodes replace with private copies (a virtualenv under /tmp): inside the nodes that
interpreter does not exist and every command would fail with `nsenter: failed to execute`."""

import os
import sys

import pytest

from pyha.lab import Lab, LabError
from pyha.lab.venvcheck import check_nodes_can_run_pyha, hidden_in_nodes, pyha_paths


def test_a_virtualenv_under_tmp_is_hidden_and_var_tmp_is_not():
    paths = pyha_paths("/tmp/x/bin/python3", "/tmp/x", "/tmp/x/lib/python3.6/site-packages/pyha")
    assert [(w, d) for w, _, d in hidden_in_nodes(paths)] == [
        ("the interpreter", "/tmp"), ("its prefix", "/tmp"), ("the pyha package", "/tmp")]
    ok = pyha_paths("/var/tmp/v/bin/python3", "/var/tmp/v", "/var/tmp/v/lib/python3.6/site-packages/pyha")
    assert hidden_in_nodes(ok) == []
    assert hidden_in_nodes([("x", "/tmpfoo/bin/python3"), ("y", "/etc/ha.dx/p")]) == []
    assert hidden_in_nodes([("the pyha package", "/var/log/co/pyha")])[0][2] == "/var/log"


@pytest.mark.skipif(os.path.realpath("/var/run") != "/run", reason="/var/run is not a link to /run here")
def test_var_run_counts_as_run():
    assert hidden_in_nodes([("its prefix", "/var/run/venv")]) == [("its prefix", "/var/run/venv", "/run")]


def test_the_refusal_names_what_is_hidden_and_what_to_do():
    with pytest.raises(LabError) as exc:
        check_nodes_can_run_pyha(pyha_paths("/tmp/x/bin/python3", "/tmp/x", "/opt/pyha"))
    text = str(exc.value)
    assert "the interpreter /tmp/x/bin/python3 is under /tmp; its prefix /tmp/x is under /tmp" in text
    assert "the pyha package" not in text and "virtualenv elsewhere" in text
    check_nodes_can_run_pyha(pyha_paths("/opt/v/bin/python3", "/opt/v", "/opt/v/pyha"))  # no error


def test_lab_up_refuses_before_building_anything(monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "executable", "/tmp/pyha-venv/bin/python3")
    statedir = tmp_path / "state"
    with pytest.raises(LabError) as exc:
        Lab("pyhavc", str(statedir)).up()
    assert "/tmp/pyha-venv/bin/python3 is under /tmp" in str(exc.value)
    assert not statedir.exists()


def test_the_cli_says_it(monkeypatch):
    from typer.testing import CliRunner

    from pyha.cli.main import app
    monkeypatch.setattr(sys, "executable", "/tmp/pyha-venv/bin/python3")
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    res = CliRunner(mix_stderr=False).invoke(app, ["lab", "up", "--prefix", "pyhavc"])
    assert res.exit_code == 1
    assert "the lab nodes cannot run this pyha: the interpreter /tmp/pyha-venv/bin/python3 is under /tmp" in res.stderr
