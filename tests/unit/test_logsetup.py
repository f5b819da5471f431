"""Logs are never lost (issue 11 item 6) and log files are 0640 or stricter (item 4).

A fake /dev/log (a Unix datagram socket in a temp dir) stands in for syslog.
"""

import logging
import os
import socket
import stat

import pytest

from pyha.daemon import logsetup
from pyha.daemon.logsetup import destinations

# logsetup.setup, never a bare `setup` here: pytest takes that for a nose-style module hook

log = logging.getLogger(logsetup.LOGGER)


@pytest.fixture(autouse=True)
def restore_logger():
    yield
    logsetup.setup(stderr=False, fallback=False)


@pytest.fixture
def syslogd(tmp_path):
    """A fake /dev/log; `.lines()` returns the datagrams received so far."""
    path = str(tmp_path / "log")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.setblocking(False)

    class Syslogd(object):
        def lines(self):
            out = []
            while True:
                try:
                    out.append(sock.recv(65536).rstrip(b"\0").decode("utf-8"))
                except BlockingIOError:
                    return out

    d = Syslogd()
    d.path = path
    yield d
    sock.close()


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("facility", [None, "none"])
def test_no_destination_in_ha_cf_logs_to_syslog_daemon(syslogd, facility):
    problems = logsetup.setup(logfacility=facility, stderr=False, dev_log=syslogd.path)
    log.info("Taking over resource group 192.0.2.100")
    assert problems == []
    # <30>: facility daemon (3) * 8 + info (6)
    assert syslogd.lines() == ["<30>pyha: [%d]: info: Taking over resource group 192.0.2.100" % os.getpid()]


def test_a_named_facility_is_used_and_no_daemon_fallback_is_added(syslogd):
    logsetup.setup(logfacility="local0", stderr=False, dev_log=syslogd.path)
    log.warning("Late heartbeat")
    assert syslogd.lines() == ["<132>pyha: [%d]: WARN: Late heartbeat" % os.getpid()]  # local0 = 16


def test_files_only_means_no_syslog(syslogd, tmp_path):
    path = str(tmp_path / "ha-log")
    logsetup.setup(logfile=path, stderr=False, dev_log=syslogd.path)
    log.info("hello")
    assert syslogd.lines() == [] and "hello" in open(path).read()


def test_logfile_dev_null_alone_is_an_explicit_discard(syslogd, capsys):
    logsetup.setup(logfile="/dev/null", stderr=False, dev_log=syslogd.path)
    log.info("discarded")
    assert syslogd.lines() == [] and "discarded" not in capsys.readouterr().err


def test_without_dev_log_syslog_messages_go_to_stderr(tmp_path, capsys):
    problems = logsetup.setup(stderr=False, dev_log=str(tmp_path / "no-such-log"))
    log.info("Taking over")
    err = capsys.readouterr().err
    assert "info: Taking over" in err
    assert any("syslog facility daemon unavailable, logging to stderr" in p for p in problems)


def test_when_every_named_destination_fails_stderr_gets_the_logs(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    problems = logsetup.setup(logfile=str(blocker / "ha-log"), stderr=False, dev_log=str(tmp_path / "none"))
    log.info("Taking over")
    assert "info: Taking over" in capsys.readouterr().err
    assert any("cannot open log file" in p for p in problems)


def test_a_fifo_as_logfile_is_an_error_not_a_hang(tmp_path, capsys):
    fifo = str(tmp_path / "ha-log")
    os.mkfifo(fifo)
    problems = logsetup.setup(logfile=fifo, stderr=False, dev_log=str(tmp_path / "none"))
    assert any(p.startswith("cannot open log file %s" % fifo) for p in problems)


def test_log_files_are_created_0640_whatever_the_umask_and_after_rotation(tmp_path):
    log_path, dbg_path = str(tmp_path / "ha-log"), str(tmp_path / "ha-debug")
    old = os.umask(0)
    try:
        logsetup.setup(logfile=log_path, debugfile=dbg_path, stderr=False)
        log.info("first")
        assert mode(log_path) == 0o640 and mode(dbg_path) == 0o640
        os.rename(log_path, log_path + ".1")  # logrotate without `create`
        log.info("second")
        assert mode(log_path) == 0o640 and "second" in open(log_path).read()
    finally:
        os.umask(old)
    old = os.umask(0o077)  # a stricter umask is kept
    try:
        os.rename(dbg_path, dbg_path + ".1")
        log.info("third")
        assert mode(dbg_path) == 0o600
    finally:
        os.umask(old)


def test_an_existing_world_readable_log_is_narrowed(tmp_path):
    path = str(tmp_path / "ha-log")
    with open(path, "w") as f:
        f.write("old line\n")
    os.chmod(path, 0o644)
    logsetup.setup(logfile=path, stderr=False)
    log.info("new line")
    assert mode(path) == 0o640
    assert open(path).read().splitlines()[0] == "old line"


def test_a_log_file_that_cannot_be_reopened_never_raises(tmp_path, capsys):
    d = tmp_path / "log"
    d.mkdir()
    path = str(d / "ha-log")
    logsetup.setup(logfile=path, stderr=False)
    log.info("before")
    os.rename(str(d), str(tmp_path / "log.gone"))  # the directory vanished under us
    log.info("lost 1")  # must not raise out of the caller (a takeover in progress)
    log.info("lost 2")
    assert capsys.readouterr().err.count("Logging error") == 1  # one report, not one per line
    d.mkdir()
    log.info("after")
    assert "after" in open(path).read() and mode(path) == 0o640


def test_destinations_in_words():
    assert destinations(None, None, None, have_syslog=True) == [
        "syslog facility daemon via /dev/log (info and above; ha.cf names no logfile, debugfile or "
        "logfacility: heartbeat's ha_logd would log there too)"]
    assert "logfacility none" in destinations(None, None, "none", have_syslog=True)[0]
    no_syslog = destinations(None, None, None, have_syslog=False)
    assert len(no_syslog) == 1 and no_syslog[0].startswith("stderr: the journal")
    assert "no /dev/log for syslog facility daemon" in no_syslog[0]
    assert destinations("/var/log/ha-log", "/var/log/ha-debug", "local0", have_syslog=True) == [
        "file /var/log/ha-log (info and above)", "file /var/log/ha-debug (debug and above)",
        "syslog facility local0 via /dev/log (info and above)"]
    assert destinations("/dev/null", None, "none", have_syslog=True) == [
        "nowhere: ha.cf sends every message to /dev/null"]


def test_config_check_says_where_logs_go(tmp_path, monkeypatch):
    import shutil
    from typer.testing import CliRunner
    from pyha.cli import config_cmd
    here = os.path.dirname(os.path.abspath(__file__))
    d = tmp_path / "ha.d"
    shutil.copytree(os.path.join(here, "..", "..", "examples", "ha.d"), str(d))
    cf = d / "ha.cf"
    cf.write_text("".join(line for line in cf.read_text().splitlines(True)
                          if not line.startswith(("logfile", "debugfile", "logfacility"))))
    monkeypatch.setattr(logsetup, "DEV_LOG", str(tmp_path / "no-dev-log"))
    out = CliRunner().invoke(config_cmd.app, ["check", "--dir", str(d)]).output
    assert "logs go to:\n  stderr: the journal" in out and "no logfile, debugfile or logfacility" in out
