"""`pyha config check` through Typer's CliRunner: exit codes, text and JSON output."""

import json
import os
import shutil

import pytest
from typer.testing import CliRunner

import pyha.config.check as check_module
from pyha.cli import config_cmd
from pyha.config import FileStat, StaticHostFacts

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "data")
EXAMPLE = os.path.normpath(os.path.join(HERE, "..", "..", "examples", "ha.d"))

runner = CliRunner()


@pytest.fixture
def host_ha1(monkeypatch):
    """Make the command see host HA1 (the CLI itself builds RealHostFacts)."""
    def fake():
        files = {os.path.join(d, "authkeys"): FileStat(0, 0o600) for d in (EXAMPLE,)}
        return StaticHostFacts(nodename="HA1", interfaces=("lo", "eth0", "eth1"), files=files,
                               executables={"/etc/init.d/nginx"})
    monkeypatch.setattr(check_module, "RealHostFacts", fake)


def apps():
    from pyha.cli import main  # an import error here is a failure, never a skipped half
    return [config_cmd.app, main.app]


def invoke(app, args):
    if app is not config_cmd.app:
        args = ["config"] + args
    return runner.invoke(app, args)


@pytest.mark.parametrize("app", apps(), ids=lambda a: "config_cmd" if a is config_cmd.app else "main")
def test_example_passes(app, host_ha1):
    result = invoke(app, ["check", "--dir", EXAMPLE])
    assert result.exit_code == 0, result.output
    assert "authkeys-placeholder" in result.output
    assert result.output.rstrip().endswith("0 errors, 1 warning, 0 notes")


@pytest.mark.parametrize("app", apps(), ids=lambda a: "config_cmd" if a is config_cmd.app else "main")
def test_tutorial_fails_with_the_keeplive_error(app, host_ha1, tmp_path):
    d = str(tmp_path / "ha.d")
    shutil.copytree(os.path.join(DATA, "tutorial"), d)
    result = invoke(app, ["check", "--dir", d])
    assert result.exit_code == 1
    assert "ha.cf:4: error: unknown directive 'keeplive' (did you mean keepalive?)" in result.output
    assert "    hint: write `keepalive 2`" in result.output


def test_json_output(host_ha1, tmp_path):
    d = str(tmp_path / "ha.d")
    shutil.copytree(os.path.join(DATA, "tutorial"), d)
    result = invoke(config_cmd.app, ["check", "--dir", d, "--json"])
    assert result.exit_code == 1
    doc = json.loads(result.output)
    assert doc["ok"] is False and doc["dir"] == d and doc["errors"] >= 1
    keeplive = [x for x in doc["diagnostics"] if x["code"] == "hacf-unknown-directive"]
    assert keeplive == [{"severity": "error", "code": "hacf-unknown-directive", "file": os.path.join(d, "ha.cf"),
                         "line": 4, "hint": "write `keepalive 2`", "message": keeplive[0]["message"]}]
    result = invoke(config_cmd.app, ["check", "--dir", EXAMPLE, "--json"])
    assert result.exit_code == 0 and json.loads(result.output)["ok"] is True


def test_usage_errors_exit_2():
    assert invoke(config_cmd.app, ["check", "--bogus"]).exit_code == 2
    assert invoke(config_cmd.app, ["check", "--dir"]).exit_code == 2


def test_missing_directory_is_a_finding(host_ha1, tmp_path):
    result = invoke(config_cmd.app, ["check", "--dir", str(tmp_path / "nope")])
    assert result.exit_code == 1 and "config-dir-missing" in result.output


def test_help():
    result = invoke(config_cmd.app, ["check", "--help"])
    assert result.exit_code == 0 and "--dir" in result.output and "--json" in result.output
