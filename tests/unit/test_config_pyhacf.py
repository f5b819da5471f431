"""pyha.cf, pyha's own settings file: the document (ha.cf's line model), the schema and
its registry, evaluation into frozen settings, diagnostics with file:line and typo
suggestions, `pyha config check`, the template `pyha init` writes, and reload."""

import os
import sys
import types

import pytest

from pyha import diagnostics as dg
from pyha.config import FileStat, HaCf, Haresources, StaticHostFacts, check_config
from pyha.config.pyhacf import CrossContext, PyhaCf, template
from pyha.config.pyhacf_eval import evaluate
from pyha.config.pyhacf_registry import build, specs
from pyha.config.pyhacf_schema import (BadValue, Spec, choice, duration_ms, integer, options, parse_duration_ms,
                                       single)

FN = "/etc/ha.d/pyha.cf"
KEY = "0123456789abcdef0123456789abcdef"


def _codes(ds):
    return [(d.code, d.line, d.severity) for d in ds]


def _one(ds, code):
    found = [d for d in ds if d.code == code]
    assert len(found) == 1, (code, [d.format() for d in ds])
    return found[0]


# A table of our own, so these tests do not depend on which directives are registered.
def _key_of(value):
    return value[0]


def _pair(args, rest):
    if len(args) != 2:
        raise BadValue("needs a name and a level", "write `level NAME N`")
    return (args[0], integer(0, 9)(args[1])), []


SPECS = dict((s.name, s) for s in [
    Spec("delay", single(duration_ms(0, 60000)), default=1500, syntax="delay TIME"),
    Spec("mode", single(choice("fast", "slow")), default="slow"),
    Spec("level", _pair, kind="many", key=_key_of, syntax="level NAME N"),
])



def _doc(text):
    doc = PyhaCf.parse(text, FN)
    doc.specs = SPECS
    return doc


def test_a_missing_pyha_cf_gives_every_default(tmp_path):
    cf = PyhaCf.load_optional(str(tmp_path / "pyha.cf"))
    cf.specs = SPECS
    s = cf.settings
    assert not s.present and s.diagnostics == []
    assert (s.get("delay"), s.get("mode"), s.get("level")) == (1500, "slow", [])
    assert s.lineno("delay") is None and not s.is_set("delay")
    with pytest.raises(KeyError):
        s.get("nonesuch")


def test_values_comments_and_lines_as_in_ha_cf():
    text = "# pyha's own\n  delay 500ms   # a comment\n\nmode fast\nlevel web 3\nlevel db,x 4\n"
    doc = _doc(text)
    s = doc.settings
    assert s.present and s.diagnostics == []
    assert (s.get("delay"), s.lineno("delay"), s.get("mode")) == (500, 2, "fast")
    assert [tuple(e) for e in s.entries("level")] == [(("web", 3), 5), (("db,x", 4), 6)]
    assert s.summary() == {"delay": 500, "mode": "fast", "level": [("web", 3), ("db,x", 4)]}
    assert doc.render() == text  # lossless, like ha.cf


def test_typos_get_the_closest_directive_with_file_and_line():
    ds = _doc("dely 2s\nmode fsat\n").check()
    d = _one(ds, "pyhacf-unknown-directive")
    assert (d.file, d.line, d.severity) == (FN, 1, dg.ERROR)
    assert "did you mean delay?" in d.message and d.hint == "write `delay 2s`"
    d = _one(ds, "pyhacf-bad-value")
    assert d.line == 2 and "mode: 'fsat' is not one of fast, slow" in d.message and d.hint == "did you mean fast?"


def test_an_ha_cf_directive_is_sent_back_to_ha_cf():
    d = _one(_doc("keepalive 2\n").check(), "pyhacf-hacf-directive")
    assert d.line == 1 and d.severity == dg.ERROR and "move the line to ha.cf" in d.hint


def test_bad_missing_repeated_values():
    ds = _doc("delay\ndelay 2min\ndelay 3s\ndelay 4s\nlevel web 3\nlevel web 4\nlevel db\nmode a b\n").check()
    assert _codes(ds) == [
        ("pyhacf-missing-value", 1, dg.ERROR),
        ("pyhacf-bad-value", 2, dg.ERROR),       # out of range: the earlier good value stays
        ("pyhacf-duplicate", 4, dg.WARNING),     # set again: the later wins
        ("pyhacf-repeated", 6, dg.ERROR),        # the same key twice in a `many` directive
        ("pyhacf-bad-value", 7, dg.ERROR),
        ("pyhacf-bad-value", 8, dg.ERROR),       # one value only
    ]
    assert "first on line 3" in _one(ds, "pyhacf-duplicate").message
    assert "delay: '2min' is out of range (0s..1min)" in ds[1].message
    s = _doc("delay 3s\ndelay 4s\nlevel web 3\nlevel web 4\n").settings
    assert s.get("delay") == 4000 and s.lineno("delay") == 2 and s.get("level") == [("web", 3)]


def test_settings_are_frozen_and_hand_out_copies():
    s = _doc("level web 3\n").settings
    with pytest.raises(AttributeError):
        s.present = False
    s.entries("level").clear()
    s.get("level").clear()
    assert s.get("level") == [("web", 3)]


def test_edits_through_the_api_refuse_unknown_names_with_a_suggestion():
    doc = _doc("")
    doc.add("delay", "2s")
    assert doc.settings.get("delay") == 2000  # an edit re-evaluates
    with pytest.raises(ValueError, match="did you mean 'mode'"):
        doc.add("mdoe", "fast")
    assert doc.render() == "delay 2s\n"


@pytest.mark.parametrize("tok,ms", [("2", 2000), ("2s", 2000), ("500ms", 500), ("5min", 300000), ("5m", 300000),
                                    ("1h", 3600000), ("0.5", 500), ("1.5s", 1500)])
def test_durations(tok, ms):
    assert parse_duration_ms(tok) == ms


@pytest.mark.parametrize("tok", ["", "2x", "-1", "s", "2 s", "1e3", "8000h"])
def test_bad_durations(tok):
    with pytest.raises(BadValue):
        parse_duration_ms(tok)


def test_options_check_each_value_and_suggest_names():
    known = {"interval": duration_ms(1), "restarts": integer(0, 10)}
    assert options(["interval=2s"], known, {"restarts": 1}) == {"interval": 2000, "restarts": 1}
    for words, msg in ((["intervall=2s"], "unknown option 'intervall' (did you mean interval?)"),
                       (["interval"], "'interval' is not name=value"),
                       (["interval=2s", "interval=3s"], "option interval is given twice"),
                       (["restarts=x"], "restarts=: 'x' is not a number")):
        with pytest.raises(BadValue) as err:
            options(words, known)
        assert msg in err.value.message


def test_the_registry_refuses_clashes(monkeypatch):
    mod = types.ModuleType("pyhacf_test_mod")
    mod.DIRECTIVES = [Spec("delay", single(integer(0)))]
    monkeypatch.setitem(sys.modules, "pyhacf_test_mod", mod)
    assert list(build(("pyhacf_test_mod",))) == ["delay"]
    with pytest.raises(ValueError, match="defined twice"):
        build(("pyhacf_test_mod", "pyhacf_test_mod"))
    hacf_name = types.ModuleType("pyhacf_test_mod2")
    hacf_name.DIRECTIVES = [Spec("deadtime", single(integer(0)))]
    monkeypatch.setitem(sys.modules, "pyhacf_test_mod2", hacf_name)
    with pytest.raises(ValueError, match="belongs in ha.cf"):
        build(("pyhacf_test_mod2",))
    with pytest.raises(ValueError):
        Spec("Bad-Name", single(integer(0)))


def test_cross_and_host_checks_are_stamped_with_file_and_line():
    def cross(value, ctx):
        names = [r.script for r in ctx.haresources.resources]
        return [] if value in names else [dg.error("t-cross", "%s is not in haresources" % value)]

    def host(value, facts):
        return [] if facts.is_executable_file("/x/" + value) else [dg.warning("t-host", "no /x/%s" % value)]

    table = {"svc": Spec("svc", single(lambda t: t), kind="many", key=lambda v: v, cross_check=cross,
                         host_check=host)}
    doc = PyhaCf.parse("\nsvc nginx\nsvc nginz\n", FN)
    doc.specs = table
    ctx = CrossContext(None, Haresources.parse("ha1 192.0.2.160/24/eth0 nginx\n"))
    ds = doc.check(ctx, StaticHostFacts(executables={"/x/nginx"}))
    assert _codes(ds) == [("t-cross", 3, dg.ERROR), ("t-host", 3, dg.WARNING)]
    assert ds[0].message == "svc: nginz is not in haresources" and ds[0].file == FN
    assert doc.check() == []  # without the other files and the host: the file alone is fine


# -- the registered directives, the template, config check ----------------------------------

def test_notify_is_registered_and_checked():
    assert "notify" in specs()
    doc = PyhaCf.parse("notify /usr/local/sbin/pyha-notify --mail ops\nnotify x\n", FN)
    d = _one(doc.check(), "pyhacf-bad-value")
    assert d.line == 2 and "not an absolute path" in d.message
    assert doc.settings.get("notify").argv == ("/usr/local/sbin/pyha-notify", "--mail", "ops")
    d = _one(doc.check(facts=StaticHostFacts()), "pyhacf-notify-missing")
    assert d.severity == dg.WARNING and d.line == 1
    assert not [x for x in doc.check(facts=StaticHostFacts(executables={"/usr/local/sbin/pyha-notify"}))
                if x.code == "pyhacf-notify-missing"]


def test_the_template_names_every_directive_and_is_clean():
    text = template()
    for spec in specs().values():
        assert "# %s\n" % spec.syntax in text
        for line in spec.example:
            assert "#" + line + "\n" in text
    doc = PyhaCf.parse(text, FN)
    assert doc.check() == [] and doc.settings.summary() == {}  # everything commented out
    active = template(active=["notify /bin/true"])
    assert PyhaCf.parse(active, FN).settings.get("notify").argv == ("/bin/true",)


HACF = "keepalive 1\ndeadtime 10\nudpport 694\nucast lo 127.0.0.1\nauto_failback on\nnode %s\nnode ha2\n"


def _ha_dir(tmp_path, pyhacf=None):
    d = tmp_path / "ha.d"
    d.mkdir()
    (d / "ha.cf").write_text(HACF % os.uname()[1].lower())
    (d / "haresources").write_text("")
    (d / "authkeys").write_text("auth 1\n1 sha1 %s\n" % KEY)
    os.chmod(str(d / "authkeys"), 0o600)
    if pyhacf is not None:
        (d / "pyha.cf").write_text(pyhacf)
    return d


def _facts():
    return StaticHostFacts(nodename=os.uname()[1].lower(), interfaces=("lo",), executables={"/bin/true"},
                           files={}, users={"root"})


def test_config_check_reads_pyha_cf_when_there_is_one(tmp_path):
    d = _ha_dir(tmp_path)
    report = check_config(str(d), _facts())
    assert report.pyhacf is not None and not report.pyhacf.present
    assert not [x for x in report.diagnostics if x.code.startswith("pyhacf")]
    (d / "pyha.cf").write_text("# ours\nnotfy /bin/true\n")
    report = check_config(str(d), _facts())
    assert not report.ok and report.pyhacf.present
    x = _one(report.diagnostics, "pyhacf-unknown-directive")
    assert (x.file, x.line) == (str(d / "pyha.cf"), 2) and "did you mean notify?" in x.message
    assert "pyha.cf:2: error: unknown pyha.cf directive 'notfy'" in report.render()


def test_config_check_refuses_a_fifo_pyha_cf(tmp_path):
    d = _ha_dir(tmp_path)
    os.mkfifo(str(d / "pyha.cf"))
    report = check_config(str(d), _facts())
    x = _one(report.diagnostics, "config-file-refused")
    assert x.file == str(d / "pyha.cf") and "FIFO" in x.message and report.pyhacf is None


def test_config_check_cli_says_when_there_is_no_pyha_cf(tmp_path):
    from typer.testing import CliRunner

    from pyha.cli import config_cmd
    d = _ha_dir(tmp_path)
    out = CliRunner().invoke(config_cmd.app, ["check", "--dir", str(d)]).output
    assert "pyha.cf: none (every pyha setting is its default)" in out
    (d / "pyha.cf").write_text("notify relative\n")
    result = CliRunner().invoke(config_cmd.app, ["check", "--dir", str(d)])
    assert result.exit_code == 1 and "pyha.cf:1: error: notify: program 'relative' is not an absolute path" \
        in result.output


def test_reload_switches_to_a_changed_pyha_cf_and_keeps_it_on_errors(tmp_path):
    from pyha.daemon.node import Daemon, Settings
    from test_daemon_shell import _run_until
    d = _ha_dir(tmp_path, "notify /bin/true\n")
    daemon = Daemon(Settings(ha_dir=str(d), state_dir=str(tmp_path / "state"), run_dir=str(tmp_path / "run"),
                             manage_resources=False))
    try:
        assert daemon.pyhacf.settings.get("notify").argv == ("/bin/true",)
        first = daemon.pyhacf
        (d / "pyha.cf").write_text("notify /bin/true one\n")
        daemon.reload()
        assert _run_until(daemon.loop, lambda: daemon.pyhacf is not first)
        assert daemon.pyhacf.settings.get("notify").argv == ("/bin/true", "one")
        second = daemon.pyhacf
        (d / "pyha.cf").write_text("notify /bin/true two\nnotfy x\n")
        daemon.reload()
        assert _run_until(daemon.loop, lambda: daemon.reloader.job is None)
        assert daemon.pyhacf is second  # a file with errors changes nothing
        os.unlink(str(d / "pyha.cf"))
        daemon.reload()
        assert _run_until(daemon.loop, lambda: daemon.pyhacf is not second)
        assert not daemon.pyhacf.present and daemon.pyhacf.settings.get("notify") is None
    finally:
        daemon.loop.close()


def test_unused_helpers_stay_importable():
    # evaluate is the API other tools use without a document
    s = evaluate([], FN, SPECS, present=False)
    assert s.get("mode") == "slow" and FileStat and HaCf


# -- monitor ------------------------------------------------------------------------------

HARES = "ha1 192.0.2.160/24/eth0 nginx httpd::conf\nha2 192.0.2.161/24/eth0 mysql mysql::b\n"


def _monitor_check(text, hares=HARES):
    doc = PyhaCf.parse(text, FN)
    return doc, doc.check(CrossContext(None, Haresources.parse(hares, "/etc/ha.d/haresources")))


def test_monitor_defaults_and_options():
    from pyha.config.pyhacf_monitor import Monitor, monitors
    doc, ds = _monitor_check("monitor nginx\nmonitor httpd::conf interval=1s timeout=500ms restarts=3 window=10min "
                             "url=https://192.0.2.160:8443/health?x=1\n")
    assert ds == []
    assert monitors(doc.settings) == [
        Monitor("nginx", 2000, 10000, 1, 300000, None),
        Monitor("httpd::conf", 1000, 500, 3, 600000, "https://192.0.2.160:8443/health?x=1")]
    assert [e.lineno for e in doc.settings.entries("monitor")] == [1, 2]


@pytest.mark.parametrize("line,code,text", [
    ("monitor ngix", "pyhacf-monitor-resource", "'ngix' is not a resource in /etc/ha.d/haresources"),
    ("monitor nginx intervall=2s", "pyhacf-bad-value", "unknown option 'intervall' (did you mean interval?)"),
    ("monitor nginx interval=2", None, None),
    ("monitor nginx interval=10ms", "pyhacf-bad-value", "interval=: '10ms' is out of range"),
    ("monitor nginx restarts=-1", "pyhacf-bad-value", "restarts=: '-1' is out of range"),
    ("monitor nginx url=ftp://x/", "pyhacf-bad-value", "is not an http:// or https:// URL"),
    ("monitor nginx url=http://", "pyhacf-bad-value", "is not an http:// or https:// URL"),
    ("monitor nginx url=http://h:99999/", "pyhacf-bad-value", "is not a URL"),
    ("monitor interval=2s", "pyhacf-bad-value", "the first word must be the resource"),
    ("monitor 192.0.2.160/24/eth0", "pyhacf-monitor-ip", "is an address"),
    ("monitor mysql", None, None),  # two of one group: the group is what is handed over
    ("monitor nginx timeout=10min", "pyhacf-monitor-timing", "longer than window"),
])
def test_monitor_errors_name_line_and_fix(line, code, text):
    _, ds = _monitor_check("# x\n" + line + "\n")
    if code is None:
        assert ds == []
        return
    d = _one(ds, code)
    assert d.line == 2 and d.file == FN and text in d.message, d.format()


def test_a_monitor_of_a_script_in_two_groups_needs_the_whole_token():
    _, ds = _monitor_check("monitor nginx\n", "ha1 nginx::a\nha2 nginx::b\n")
    d = _one(ds, "pyhacf-monitor-ambiguous")
    assert "names 2 resources (nginx::a, nginx::b)" in d.message and "monitor nginx::a" in d.hint
    assert _monitor_check("monitor nginx::b\n", "ha1 nginx::a\nha2 nginx::b\n")[1] == []


def test_monitor_twice_for_one_resource_is_an_error_and_the_hint_suggests_close_names():
    _, ds = _monitor_check("monitor nginx\nmonitor nginx url=http://127.0.0.1/\nmonitor httdp\n")
    assert _one(ds, "pyhacf-repeated").line == 2
    assert _one(ds, "pyhacf-monitor-resource").hint == "did you mean httpd?"


def test_monitor_resource_checked_by_config_check_with_file_and_line(tmp_path):
    d = _ha_dir(tmp_path, "\nmonitor nginz\n")
    (d / "haresources").write_text("")
    report = check_config(str(d), _facts())
    x = _one(report.diagnostics, "pyhacf-monitor-resource")
    assert (x.file, x.line, x.severity) == (str(d / "pyha.cf"), 2, dg.ERROR) and not report.ok
