"""pyha timesync: server choice, the step decision, time zone files under a temporary
root, timedatectl and peer skew, all with fakes.

The clock is never set here: every test that reaches the step passes a fake setter
(`FakeClock`) and checks the offset it received.  The NTP exchange against a real chrony
server is in tests/lab/test_timesync_lab.py.
"""

import json
import os
import socket

import pytest

from pyha.host import timesync as ts
from pyha.host.hostenv import RunResult, SetupError


class Resp(object):
    def __init__(self, offset, delay=0.01, stratum=2, leap=0, ref_id=0x7F7F0101):
        self.offset = offset
        self.delay = delay
        self.stratum = stratum
        self.leap = leap
        self.ref_id = ref_id


class FakeNtp(object):
    """server name -> Resp or exception; records (server, port, version, timeout)."""

    def __init__(self, answers):
        self.answers = answers
        self.calls = []

    def request(self, host, version=2, port="ntp", timeout=5):
        self.calls.append((host, port, version, timeout))
        a = self.answers[host]
        if isinstance(a, Exception):
            raise a
        return a


class FakeClock(object):
    def __init__(self, fail=None):
        self.steps = []
        self.fail = fail

    def __call__(self, offset):
        if self.fail:
            raise self.fail
        self.steps.append(offset)


class FakeRunner(object):
    def __init__(self, zone="UTC", have_timedatectl=True):
        self.zone = zone
        self.calls = []
        self.have = have_timedatectl

    def which(self, name):
        return "/usr/bin/timedatectl" if (name == "timedatectl" and self.have) else None

    def run(self, argv, timeout=30.0, input=None):
        self.calls.append(list(argv))
        if argv[1] == "status":
            return RunResult(argv, 0, "               Local time: Thu 2026-01-01 08:00:00 CST\n"
                                      "                Time zone: %s (CST, +0800)\n" % self.zone)
        if argv[1] == "set-timezone":
            self.zone = argv[2]
            return RunResult(argv, 0)
        return RunResult(argv, 1, "", "unexpected")


def host(answers=None, euid=0, clock=None, daemons=(), systemd=False, runner=None, control=None):
    h = ts.TimeHost(runner=runner or FakeRunner(have_timedatectl=False), geteuid=lambda: euid,
                    step_clock=clock or FakeClock(), ntp_client=FakeNtp(answers or {}), control=control)
    h.ntp_daemons = lambda: list(daemons)
    h.systemd_running = lambda root: systemd
    return h


NOSOCK = "/nonexistent/pyha.sock"


# -- pure helpers ---------------------------------------------------------------------------

def test_parse_server():
    assert ts.parse_server("pool.ntp.org") == ("pool.ntp.org", 123)
    assert ts.parse_server("198.51.100.1:1123") == ("198.51.100.1", 1123)
    assert ts.parse_server("[2001:db8::1]:123") == ("2001:db8::1", 123)
    assert ts.parse_server("2001:db8::1") == ("2001:db8::1", 123)
    for bad in ("host:", "host:x", "host:0", ""):
        with pytest.raises(ValueError):
            ts.parse_server(bad)


def test_servers_from_config():
    text = ("# comment\nserver 0.centos.pool.ntp.org iburst\npool 2.debian.pool.ntp.org iburst\n"
            "server 127.127.1.0\nfudge 127.127.1.0 stratum 10\nserver 0.centos.pool.ntp.org\n")
    assert ts.servers_from_config(text) == ["0.centos.pool.ntp.org", "2.debian.pool.ntp.org"]


def test_default_servers_reads_config_under_root(tmp_path):
    assert ts.default_servers(str(tmp_path)) == ["pool.ntp.org"]
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "ntp.conf").write_text("server 0.centos.pool.ntp.org\n")
    assert ts.default_servers(str(tmp_path)) == ["0.centos.pool.ntp.org"]


def test_choose_prefers_synchronised_low_stratum_then_low_delay():
    a = ts.ServerResult("a", ok=True, offset=1.0, delay=0.2, stratum=2, leap=0)
    b = ts.ServerResult("b", ok=True, offset=1.1, delay=0.05, stratum=2, leap=0)
    c = ts.ServerResult("c", ok=True, offset=9.0, delay=0.01, stratum=16, leap=3)  # unsynchronised
    d = ts.ServerResult("d", error="timeout")
    e = ts.ServerResult("e", ok=True, offset=5.0, delay=0.01, stratum=1, leap=3)  # alarm
    assert ts.choose([a, b, c, d, e]) is b
    assert ts.choose([c, d, e]) is None
    assert not c.usable and "ignored" in c.describe()


def test_needs_step_threshold():
    assert ts.needs_step(0.6, 0.5) and ts.needs_step(-0.6, 0.5)
    assert not ts.needs_step(0.5, 0.5) and not ts.needs_step(-0.1, 0.5)
    assert ts.needs_step(0.001, 0.0)


def test_query_turns_errors_into_results():
    client = FakeNtp({"ok": Resp(0.25, 0.01, 3), "slow": Exception("No response received from slow."),
                      "bad": socket.gaierror(-2, "Name or service not known")})
    r = ts.query(client, "ok", 1123, 2.0)
    assert (r.ok, r.offset, r.delay, r.stratum, r.port) == (True, 0.25, 0.01, 3, 1123)
    assert client.calls[0] == ("ok", 1123, 3, 2.0)  # NTP version 3, like ntpdate
    assert "No response" in ts.query(client, "slow").error
    assert "cannot resolve" in ts.query(client, "bad").error


def test_shell_var_editing_keeps_other_lines():
    el6 = 'ZONE="America/New_York"\nUTC=true\nARC=false\n'
    out = ts.set_shell_var(el6, "ZONE", "Asia/Shanghai")
    assert out == 'ZONE="Asia/Shanghai"\nUTC=true\nARC=false\n'
    assert ts.set_shell_var(out, "ZONE", "Asia/Shanghai") == out
    assert ts.set_shell_var("UTC=true\n", "ZONE", "UTC") == 'UTC=true\nZONE="UTC"\n'
    assert ts.set_shell_var(None, "ZONE", "UTC") == 'ZONE="UTC"\n'
    assert ts.set_shell_var('ZONE=a\n# c\nZONE=b\n', "ZONE", "x") == 'ZONE="x"\n# c\n'
    assert ts.get_shell_var(el6, "ZONE") == "America/New_York"
    assert ts.get_shell_var("UTC=true\n", "ZONE") is None


def test_parse_timedatectl_new_and_el7():
    assert ts.parse_timedatectl("                Time zone: Asia/Shanghai (CST, +0800)\n") == "Asia/Shanghai"
    assert ts.parse_timedatectl("      Timezone: Europe/Berlin (CET, +0100)\n") == "Europe/Berlin"
    assert ts.parse_timedatectl("nothing") is None


# -- the command ----------------------------------------------------------------------------

def test_query_only_needs_no_root_and_changes_nothing():
    clock = FakeClock()
    r = ts.timesync(["a", "b"], host=host({"a": Resp(3.0), "b": Resp(3.1, stratum=3)}, euid=1000, clock=clock),
                    control_socket=NOSOCK)
    assert r.ok and r.chosen.server == "a"
    assert clock.steps == [] and r.steps == [] and r.step is None
    assert r.peer == {"running": False, "message": "daemon not running, no peer skew", "nodes": {}}


def test_set_steps_by_best_offset_above_threshold():
    """Uses a fake clock setter: the real one would move this machine's wall clock."""
    clock = FakeClock()
    r = ts.timesync(["a", "b"], set_clock=True, host=host({"a": Resp(12.5, 0.02), "b": Resp(12.4, 0.2)},
                                                          clock=clock), control_socket=NOSOCK)
    assert clock.steps == [12.5]
    assert r.step == {"stepped": True, "offset_s": 12.5, "server": "a", "reason": ""}
    assert [(s.action, s.status) for s in r.steps] == [("step clock", "done")]
    assert "ts-hwclock" in [d.code for d in r.notes]


def test_set_within_threshold_does_not_step():
    """Fake clock setter (must not be called)."""
    clock = FakeClock()
    r = ts.timesync(["a"], set_clock=True, threshold=1.0, host=host({"a": Resp(-0.7)}, clock=clock),
                    control_socket=NOSOCK)
    assert clock.steps == [] and r.step["stepped"] is False and r.steps[0].status == "unchanged"


def test_set_dry_run_and_ntp_daemon_warning():
    """Fake clock setter (must not be called in a dry run)."""
    clock = FakeClock()
    r = ts.timesync(["a"], set_clock=True, dry_run=True, host=host({"a": Resp(-30.0)}, clock=clock, euid=1000,
                                                                   daemons=["chronyd"]), control_socket=NOSOCK)
    assert clock.steps == [] and r.steps[0].status == "would"
    assert "ts-ntp-daemon" in [d.code for d in r.notes]


def test_set_failure_is_reported():
    """Fake clock setter that fails like clock_settime without CAP_SYS_TIME."""
    r = ts.timesync(["a"], set_clock=True, host=host({"a": Resp(5.0)}, clock=FakeClock(PermissionError(1, "x"))),
                    control_socket=NOSOCK)
    assert not r.ok and r.steps[0].status == "failed"


def test_set_needs_root():
    """Fake clock setter: the check must refuse before any query or step."""
    clock = FakeClock()
    with pytest.raises(SetupError) as exc:
        ts.timesync(["a"], set_clock=True, host=host({"a": Resp(5.0)}, euid=500, clock=clock))
    assert "needs root" in exc.value.message and clock.steps == []


def test_no_server_answers_is_an_error():
    """Fake clock setter (nothing to step to)."""
    clock = FakeClock()
    r = ts.timesync(["a"], set_clock=True, host=host({"a": Exception("timeout")}, clock=clock),
                    control_socket=NOSOCK)
    assert not r.ok and clock.steps == [] and r.notes[0].code == "ts-no-server"


def test_bad_arguments_are_usage_errors():
    for kw in ({"threshold": -1}, {"timezone": "../../etc/passwd"}, {"timezone": "Asia/Shang hai"}):
        with pytest.raises(SetupError) as exc:
            ts.timesync(["a"], host=host({"a": Resp(0)}), **kw)
        assert exc.value.code == 2


# -- time zone ------------------------------------------------------------------------------

ZONE = "Asia/Shanghai"
needs_zoneinfo = pytest.mark.skipif(not os.path.isfile("/usr/share/zoneinfo/" + ZONE), reason="no tzdata here")


def make_root(tmp_path, release_file, text):
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / release_file).write_text(text)
    return tmp_path


@needs_zoneinfo
def test_timezone_el6_copies_file_and_sets_clock(tmp_path):
    root = make_root(tmp_path, "redhat-release", "CentOS release 6.10 (Final)\n")
    (root / "etc" / "sysconfig").mkdir()
    (root / "etc" / "sysconfig" / "clock").write_text('ZONE="America/New_York"\nUTC=true\n')
    os.symlink("/usr/share/zoneinfo/UTC", str(root / "etc" / "localtime"))
    r = ts.set_timezone(ZONE, root=str(root), host=host())
    lt = root / "etc" / "localtime"
    assert not os.path.islink(str(lt))
    with open("/usr/share/zoneinfo/" + ZONE, "rb") as f:
        assert lt.read_bytes() == f.read()
    assert (root / "etc" / "sysconfig" / "clock").read_text() == 'ZONE="Asia/Shanghai"\nUTC=true\n'
    assert [(s.action, s.status) for s in r.steps] == [("copy zone file", "done"), ("set ZONE", "done")]
    assert r.timezone["before"] == "UTC" and r.timezone["method"] == "files"
    again = ts.set_timezone(ZONE, root=str(root), host=host())
    assert {s.status for s in again.steps} == {"unchanged"}
    assert ts.current_zone(str(root)) == ZONE


@needs_zoneinfo
def test_timezone_el7_links_and_writes_no_sysconfig_clock(tmp_path):
    root = make_root(tmp_path, "redhat-release", "CentOS Linux release 7.9.2009 (Core)\n")
    r = ts.set_timezone(ZONE, root=str(root), host=host())
    lt = str(root / "etc" / "localtime")
    assert os.readlink(lt) == "../usr/share/zoneinfo/Asia/Shanghai"
    assert not (root / "etc" / "sysconfig" / "clock").exists()
    assert [(s.action, s.status) for s in r.steps] == [("link", "done")]
    assert {s.status for s in ts.set_timezone(ZONE, root=str(root), host=host()).steps} == {"unchanged"}


@needs_zoneinfo
def test_timezone_debian_writes_etc_timezone_and_dry_run_writes_nothing(tmp_path):
    root = make_root(tmp_path, "os-release", 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\n')
    dry = ts.set_timezone(ZONE, root=str(root), dry_run=True, host=host())
    assert [s.status for s in dry.steps] == ["would", "would"]
    assert not os.path.lexists(str(root / "etc" / "localtime")) and not (root / "etc" / "timezone").exists()
    ts.set_timezone(ZONE, root=str(root), host=host())
    assert (root / "etc" / "timezone").read_text() == ZONE + "\n"
    assert ts.current_zone(str(root)) == ZONE


@needs_zoneinfo
def test_timezone_under_root_needs_no_root_but_live_does(tmp_path):
    root = make_root(tmp_path, "os-release", "ID=debian\n")
    r = ts.timesync(["a"], timezone=ZONE, root=str(root), host=host({"a": Resp(0.0)}, euid=1000),
                    control_socket=NOSOCK)
    assert r.ok
    with pytest.raises(SetupError):
        ts.timesync(["a"], timezone=ZONE, root="/", host=host({"a": Resp(0.0)}, euid=1000))


def test_unknown_zone_is_refused(tmp_path):
    root = make_root(tmp_path, "os-release", "ID=debian\n")
    with pytest.raises(SetupError) as exc:
        ts.set_timezone("Mars/Olympus_Mons", root=str(root), host=host())
    assert "unknown time zone" in exc.value.message


@needs_zoneinfo
def test_timezone_uses_timedatectl_when_systemd_runs():
    """root "/" with a fake runner: only the fake timedatectl is called, no file is written."""
    runner = FakeRunner(zone="UTC")
    r = ts.set_timezone(ZONE, root="/", host=host(runner=runner, systemd=True))
    assert runner.calls == [["timedatectl", "status"], ["timedatectl", "set-timezone", ZONE]]
    assert r.timezone["method"] == "timedatectl" and r.timezone["before"] == "UTC"
    runner.calls = []
    again = ts.set_timezone(ZONE, root="/", host=host(runner=runner, systemd=True))
    assert runner.calls == [["timedatectl", "status"]] and again.steps[0].status == "unchanged"


# -- peer skew ----------------------------------------------------------------------------

def test_peer_skew_reads_daemon_status(tmp_path):
    sock = tmp_path / "pyha.sock"
    sock.write_text("")
    asked = []

    def control(path, payload):
        asked.append((path, payload))
        return {"ok": True, "status": {"daemon": {"node": "ha1"}, "nodes": {
            "ha1": {"state": "active"}, "ha2": {"state": "active", "peer_clock_skew_s": -2.25}}}}

    r = ts.peer_skew(host(control=control), str(sock))
    assert asked == [(str(sock), {"cmd": "status"})]
    assert r == {"running": True, "message": "clock skew to peers as seen in heartbeat timestamps",
                 "nodes": {"ha2": -2.25}}


def test_peer_skew_without_field_or_daemon(tmp_path):
    sock = tmp_path / "pyha.sock"
    sock.write_text("")
    no_field = ts.peer_skew(host(control=lambda p, q: {"ok": True, "status": {
        "daemon": {"node": "ha1"}, "nodes": {"ha2": {"state": "dead"}}}}), str(sock))
    assert no_field["nodes"] == {"ha2": None} and "no clock skew yet" in no_field["message"]

    def refuse(p, q):
        raise ConnectionRefusedError(111, "Connection refused")

    stale = ts.peer_skew(host(control=refuse), str(sock))
    assert stale["running"] is False and stale["message"].startswith("daemon not running, no peer skew")
    assert ts.peer_skew(host(), str(tmp_path / "absent.sock"))["message"] == "daemon not running, no peer skew"


# -- the CLI (pyha timesync) -----------------------------------------------------------------

def cli(args):
    import typer
    from typer.testing import CliRunner

    from pyha.cli import hostsetup_cmd
    app = typer.Typer()
    app.callback()(lambda: None)
    hostsetup_cmd.register(app)
    return CliRunner(mix_stderr=False).invoke(app, args)


def test_cli_timesync(monkeypatch, tmp_path):
    """The CLI builds TimeHost(); it is replaced by one with a fake NTP client and a fake
    clock setter (the real setter would move this machine's clock)."""
    clock = FakeClock()
    fake = host({"a": Resp(2.0, 0.01, 4), "b": Exception("timed out")}, clock=clock)
    monkeypatch.setattr(ts, "TimeHost", lambda: fake)
    assert cli(["timesync", "--server", "a:x"]).exit_code == 2
    res = cli(["timesync", "--server", "a", "--server", "b", "--run-dir", str(tmp_path)])
    assert res.exit_code == 0, res.stderr
    assert "* a: offset +2.000000 s, delay 0.010000 s, stratum 4" in res.stdout
    assert "  b: no answer (timed out)" in res.stdout
    assert "daemon not running, no peer skew" in res.stdout and clock.steps == []
    res = cli(["timesync", "--server", "a", "--set", "--json", "--run-dir", str(tmp_path)])
    assert json.loads(res.stdout)["step"]["stepped"] is True and clock.steps == [2.0]
    res = cli(["timesync", "--server", "b", "--run-dir", str(tmp_path)])
    assert res.exit_code == 1 and "no synchronised NTP server answered" in res.stderr
