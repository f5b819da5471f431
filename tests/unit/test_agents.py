"""Resolving haresources tokens to agents and reading their status answers."""

import os

import pytest

from pyha.resources import agents


def _script(path, body="#!/bin/sh\nexit 0\n"):
    path.write_text(body)
    os.chmod(str(path), 0o755)
    return str(path)


@pytest.fixture
def dirs(tmp_path):
    rd, initd, unitd = tmp_path / "resource.d", tmp_path / "init.d", tmp_path / "units"
    for d in (rd, initd, unitd):
        d.mkdir()
    return rd, initd, unitd


def resolve(token, dirs, systemd=False):
    rd, initd, unitd = dirs
    return agents.resolve(token, str(rd), [str(initd)], systemd=systemd, systemd_dirs=[str(unitd)])


def test_ip_shorthand_and_ipaddr_script_are_builtin(dirs):
    a = resolve("10.168.0.160/24/eth0", dirs)
    assert a.kind == agents.KIND_IP and a.ip_spec() == "10.168.0.160/24/eth0"
    b = resolve("IPaddr::192.0.2.160/24/eth0", dirs)
    assert b.kind == agents.KIND_IP and b.ip_spec() == "192.0.2.160/24/eth0"
    with pytest.raises(agents.AgentError, match="needs the address"):
        resolve("IPaddr2", dirs)


def test_lookup_order_resource_d_then_init_d_then_systemd(dirs):
    rd, initd, unitd = dirs
    (unitd / "nginx.service").write_text("[Unit]\n")
    assert resolve("nginx", dirs, systemd=True).kind == agents.KIND_SYSTEMD
    assert resolve("nginx", dirs, systemd=True).argv("status") == ["systemctl", "is-active", "nginx.service"]
    _script(initd / "nginx")
    assert resolve("nginx", dirs, systemd=True).kind == agents.KIND_LSB
    p = _script(rd / "nginx")
    a = resolve("nginx::one::two", dirs, systemd=True)
    assert a.kind == agents.KIND_HEARTBEAT and a.argv("start") == [p, "one", "two", "start"]


def test_missing_script_says_where_it_looked(dirs):
    with pytest.raises(agents.AgentError, match="Cannot locate resource script nosuch"):
        resolve("nosuch", dirs)
    (dirs[1] / "plain").write_text("not executable")
    with pytest.raises(agents.AgentError):
        resolve("plain", dirs)


@pytest.mark.parametrize("out,expected", [
    ("nginx is running.\n", agents.RUNNING), ("OK\n", agents.RUNNING),
    ("nginx is not running\n", agents.STOPPED), ("stopped\n", agents.STOPPED), ("", agents.STOPPED),
])
def test_heartbeat_script_status_reads_stdout(dirs, out, expected):
    _script(dirs[0] / "svc")
    assert resolve("svc", dirs).interpret_status(0, out) == expected


@pytest.mark.parametrize("rc,expected", [(0, agents.RUNNING), (3, agents.STOPPED), (1, agents.STOPPED),
                                         (4, agents.UNKNOWN), (None, agents.UNKNOWN)])
def test_lsb_status_reads_exit_code(dirs, rc, expected):
    _script(dirs[1] / "svc")
    assert resolve("svc", dirs).interpret_status(rc, "whatever") == expected
