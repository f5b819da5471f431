"""pyha.cf's `log_ident` (issue 17 gap 2): heartbeat's ident and daemon words on request."""

import logging

import pytest

from pyha.config.pyhacf import PyhaCf
from pyha.daemon import logsetup


@pytest.fixture(autouse=True)
def default_ident():
    yield
    logsetup.set_ident("pyha")


def _settings(text):
    return PyhaCf.parse(text, "/etc/ha.d/pyha.cf").settings


def _line(msg="Heartbeat shutdown complete."):
    rec = logging.LogRecord("pyha", logging.INFO, __file__, 1, msg, (), None)
    rec.process = 4242
    return logsetup.HeartbeatFormatter(with_date=False).format(rec)


def test_default_is_pyha():
    s = _settings("")
    assert s.get("log_ident") == "pyha" and s.diagnostics == []
    assert _line("x") == "pyha: [4242]: info: x"
    assert logsetup.product() == "pyha"


def test_heartbeat_ident_and_words():
    s = _settings("log_ident heartbeat\n")
    assert s.get("log_ident") == "heartbeat" and s.lineno("log_ident") == 1
    logsetup.set_ident(s.get("log_ident"))
    assert _line("ha1 %s shutdown complete." % logsetup.product()) == \
        "heartbeat: [4242]: info: ha1 Heartbeat shutdown complete."


def test_a_bad_value_names_file_line_and_the_choices():
    s = _settings("\nlog_ident heartbaet\n")
    assert s.get("log_ident") == "pyha"  # the default stays in force
    (d,) = s.diagnostics
    text = d.format()
    assert "/etc/ha.d/pyha.cf" in text and ":2" in text and "heartbeat" in text


def test_set_ident_refuses_unknown_names():
    with pytest.raises(ValueError):
        logsetup.set_ident("syslog")
    assert logsetup.ident() == "pyha"


def test_the_daemon_applies_log_ident_at_start_and_on_reload(tmp_path):
    from test_config_pyhacf import _ha_dir
    from test_daemon_shell import _run_until
    from pyha.daemon.node import Daemon, Settings
    d = _ha_dir(tmp_path, "log_ident heartbeat\n")
    daemon = Daemon(Settings(ha_dir=str(d), state_dir=str(tmp_path / "state"), run_dir=str(tmp_path / "run"),
                             manage_resources=False))
    try:
        assert logsetup.ident() == "heartbeat" and logsetup.product() == "Heartbeat"
        first = daemon.pyhacf
        (d / "pyha.cf").write_text("# back to pyha's own name\n")
        daemon.reload()
        assert _run_until(daemon.loop, lambda: daemon.pyhacf is not first)
        assert logsetup.ident() == "pyha"
    finally:
        daemon.loop.close()
