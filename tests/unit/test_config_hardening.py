"""Issue 11 items 4 and 5 for /etc/ha.d input: what `pyha config check` (and the daemon,
which runs the same check at start and on reload) does with hostile or broken files.

- files that are not regular (FIFO, device behind a symlink, directory) or too large are
  refused without being opened for a blocking read;
- thousands of copies of one mistake give a bounded number of diagnostics;
- no diagnostic, text or JSON, ever contains a key from authkeys;
- resource names are judged by the one rule the daemon uses.
"""

import json
import os
import threading

import pytest

from pyha.config import FileStat, Haresources, StaticHostFacts, check_config, check_models
from pyha.config.authkeys import MASK, Authkeys, mask_line, mask_text
from pyha.config.check import MAX_REPEATS
from pyha.config.common import MAX_FILE_SIZE, FileRefused, read_bytes
from pyha.config.haresources import script_name_problem
from pyha.resources import agents

KEY = "0123456789abcdef0123456789abcdef"
SECRET = "Zq7SECRETsecret42"
HACF = "keepalive 1\ndeadtime 10\nudpport 694\nucast lo 127.0.0.2\nnode ha1\nnode ha2\n"


class Facts(StaticHostFacts):
    def __init__(self, **kw):
        base = dict(nodename="ha1", interfaces=("lo", "eth0"), executables={"/etc/init.d/nginx"},
                    users={"root"})
        base.update(kw)
        super(Facts, self).__init__(**base)

    def stat(self, path):
        return FileStat(0, 0o600)


def write_dir(tmp_path, hacf=HACF, hares="ha1 nginx\n", keys="auth 1\n1 sha1 %s\n" % KEY):
    d = tmp_path / "ha.d"
    d.mkdir()
    for name, text in (("ha.cf", hacf), ("haresources", hares), ("authkeys", keys)):
        if text is not None:
            (d / name).write_text(text)
    (d / "authkeys").chmod(0o600) if keys is not None else None
    return d


def in_thread(fn, timeout=10.0):
    """Run fn; fail (instead of hanging the suite) if it blocks."""
    box = []

    def target():
        try:
            box.append((fn(), None))
        except Exception as exc:
            box.append((None, exc))

    t = threading.Thread(target=target)
    t.daemon = True
    t.start()
    t.join(timeout)
    assert not t.is_alive(), "blocked for %.0f s" % timeout
    if box[0][1] is not None:
        raise box[0][1]
    return box[0][0]


def codes(report):
    return [d.code for d in report.diagnostics]


# -- files that are not what they should be ------------------------------------------------------------

def test_fifo_as_hacf_is_refused_without_blocking(tmp_path):
    d = write_dir(tmp_path, hacf=None)
    os.mkfifo(str(d / "ha.cf"))  # nobody ever writes to it: a blocking open would hang for ever
    report = in_thread(lambda: check_config(str(d), Facts()))
    ds = [x for x in report.diagnostics if x.code == "config-file-refused"]
    assert len(ds) == 1 and ds[0].file == str(d / "ha.cf") and ds[0].severity == "error"
    assert "FIFO" in ds[0].message and "not a regular file" in ds[0].message
    assert report.exit_code == 1


def test_authkeys_symlink_to_dev_zero_is_a_clear_error(tmp_path):
    d = write_dir(tmp_path, keys=None)
    os.symlink("/dev/zero", str(d / "authkeys"))
    report = in_thread(lambda: check_config(str(d), Facts()))
    ds = [x for x in report.diagnostics if x.code == "config-file-refused"]
    assert len(ds) == 1 and ds[0].file == str(d / "authkeys")
    assert "symlink to /dev/zero" in ds[0].message and "character device" in ds[0].message


def test_directory_as_haresources_is_refused(tmp_path):
    d = write_dir(tmp_path, hares=None)
    (d / "haresources").mkdir()
    report = check_config(str(d), Facts())
    assert [x.message for x in report.diagnostics if x.code == "config-file-refused"] == [
        "%s is a directory, not a regular file; pyha reads only regular files of at most 1 MB" % (d / "haresources")]


def test_file_over_the_size_limit_is_refused(tmp_path):
    d = write_dir(tmp_path, hacf=HACF + "#" * MAX_FILE_SIZE + "\n")
    report = check_config(str(d), Facts())
    ds = [x for x in report.diagnostics if x.code == "config-file-refused"]
    assert len(ds) == 1 and ds[0].file == str(d / "ha.cf") and "too large" in ds[0].message
    assert report.hacf is None


def test_read_bytes_limit_is_exact_and_refusal_is_an_oserror(tmp_path):
    p = tmp_path / "f"
    p.write_bytes(b"x" * 10)
    assert read_bytes(str(p), limit=10) == b"x" * 10
    with pytest.raises(FileRefused) as err:
        read_bytes(str(p), limit=9)
    assert isinstance(err.value, OSError) and str(p) in err.value.strerror


def test_loading_a_model_from_a_fifo_raises_the_clear_oserror(tmp_path):
    os.mkfifo(str(tmp_path / "authkeys"))
    with pytest.raises(FileRefused, match="FIFO"):
        in_thread(lambda: Authkeys.load(str(tmp_path / "authkeys")))


# -- repeated diagnostics -------------------------------------------------------------------------------

def test_a_megabyte_of_one_mistake_gives_a_bounded_report(tmp_path):
    lines = (MAX_FILE_SIZE - len(HACF)) // len("node vm\n")
    d = write_dir(tmp_path, hacf=HACF + "node vm\n" * lines)
    report = check_config(str(d), Facts())
    dup = [x for x in report.diagnostics if x.code == "hacf-duplicate-node"]
    assert len(dup) == MAX_REPEATS + 1
    assert dup[-1].message == "... and %d more like this (%d in all)" % (lines - 1 - MAX_REPEATS, lines - 1)
    assert dup[-1].line == dup[-2].line + 1  # where the first one left out is
    assert report.count("warning") >= lines - 1  # the totals still count everything
    assert "%d warnings" % report.count("warning") in report.format_text()
    assert len(report.format_text().splitlines()) < 200
    assert len(report.render(as_json=True)) < 50000


# -- keys never shown -----------------------------------------------------------------------------------

@pytest.mark.parametrize("bad_line", [
    SECRET,                          # a key on its own line
    "1 %s" % SECRET,                 # key without its method
    "1 sha1 %s trailing%s" % (KEY, SECRET),  # text after the key (maybe a key with a blank)
    "1 sha1 part1 %s" % SECRET,
    "a%s" % SECRET,                  # taken for an auth line
    "auth x%s" % SECRET,
    "1 crc %s" % SECRET,             # crc with a key
])
def test_no_diagnostic_shows_a_key(tmp_path, bad_line):
    d = write_dir(tmp_path, keys="auth 1\n1 sha1 %s\n%s\n" % (KEY, bad_line))
    report = check_config(str(d), Facts())
    assert report.diagnostics and any(x.file == str(d / "authkeys") for x in report.diagnostics)
    for text in (report.render(), report.render(as_json=True), repr(report.diagnostics)):
        assert SECRET not in text and KEY not in text


def test_masked_diagnostics_still_say_what_and_where():
    ak = Authkeys.parse("auth 1\n1 sha1 %s\n%s\n2 %s\n3 sha256 %s\n" % (KEY, SECRET, SECRET, SECRET), "authkeys")
    ds = {x.line: x for x in ak.check()}
    assert ds[3].code == "authkeys-syntax" and "'%s'" % MASK in ds[3].message
    assert ds[4].code == "authkeys-bad-method" and "%d characters, not shown" % len(SECRET) in ds[4].message
    # a method name that is only unknown is still named
    assert ds[5].code == "authkeys-bad-method" and "'sha256'" in ds[5].message


@pytest.mark.parametrize("line,masked", [
    ("auth 1", "auth 1"),
    ("1 sha1 %s" % KEY, "1 sha1 ****"),
    ("  2 md5 %s %s" % (KEY, SECRET), "  2 md5 **** ****"),
    ("1 crc", "1 crc"),
    ("1 %s" % SECRET, "1 ****"),
    (SECRET, "****"),
    ("#1 sha1 %s" % KEY, "#1 sha1 ****"),         # the old key, commented out at rotation
    ("# old key: %s" % SECRET, "# old key: ****"),
    ("# Both nodes need the same key; rotate with `auth N`.", "# Both nodes need the same key; rotate with `auth N`."),
    ("", ""),
])
def test_mask_line(line, masked):
    assert mask_line(line) == masked


def test_mask_text_keeps_the_shape():
    text = "# written by pyha init\nauth 2\n1 sha1 %s\n2 sha1 %s\n" % (KEY, SECRET)
    assert mask_text(text) == "# written by pyha init\nauth 2\n1 sha1 ****\n2 sha1 ****\n"


# -- one rule for resource names ------------------------------------------------------------------------

BAD_NAMES = ["/bin/sh", "../../bin/sh", "/etc/init.d/nginx", ".", ".."]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_config_check_refuses_what_the_daemon_refuses(tmp_path, name):
    # The host has a file there (e.g. /etc/init.d/../../bin/sh is /bin/sh): before, check found
    # it and only warned, while the daemon refused the resource.
    host = Facts(executables={"/etc/init.d/nginx", os.path.join("/etc/init.d", name),
                              os.path.join("/etc/ha.d/resource.d", name)})
    ds = check_models(None, Haresources.parse("ha1 %s\n" % name, "haresources"), None, host, "/etc/ha.d")
    assert [(x.code, x.severity, x.line) for x in ds] == [("hares-script-name", "error", 1)]
    assert script_name_problem(name) in ds[0].message
    with pytest.raises(agents.AgentError) as err:
        agents.resolve(name, resource_d=str(tmp_path), init_dirs=("/etc/init.d",), systemd=False)
    assert script_name_problem(name) in str(err.value)


def test_arguments_do_not_hide_a_path(tmp_path):
    ds = check_models(None, Haresources.parse("ha1 ../../bin/sh::-c::id\n", "haresources"), None, Facts(),
                      "/etc/ha.d")
    assert [x.code for x in ds] == ["hares-script-name"] and "resource '../../bin/sh::-c::id'" in ds[0].message
    with pytest.raises(agents.AgentError, match="is a path"):
        agents.resolve("../../bin/sh::-c::id", resource_d=str(tmp_path), systemd=False)


@pytest.mark.parametrize("name", ["nginx", "IPaddr2", "my-service.sh", "httpd@1"])
def test_good_names_pass_both(name):
    assert script_name_problem(name) is None


# -- through the command --------------------------------------------------------------------------------

def test_command_output_has_no_key_and_no_traceback(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    import pyha.config.check as check_module
    from pyha.cli import config_cmd

    monkeypatch.setattr(check_module, "RealHostFacts", Facts)
    d = write_dir(tmp_path, keys="auth 1\n1 sha1 %s\n1 %s\n%s\n" % (KEY, SECRET, SECRET))
    os.remove(str(d / "ha.cf"))
    os.mkfifo(str(d / "ha.cf"))
    for args in (["check", "--dir", str(d)], ["check", "--dir", str(d), "--json"]):
        result = in_thread(lambda: CliRunner().invoke(config_cmd.app, args))
        assert result.exit_code == 1, result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)  # not a crash
        assert "Traceback" not in result.output and SECRET not in result.output and KEY not in result.output
        assert "FIFO" in result.output and "authkeys-syntax" in result.output
    payload = json.loads(result.output)
    assert {x["code"] for x in payload["diagnostics"]} >= {"config-file-refused", "authkeys-syntax",
                                                            "authkeys-bad-method"}


def test_config_dir_that_is_not_a_directory(tmp_path):
    os.mkfifo(str(tmp_path / "ha.d"))
    report = in_thread(lambda: check_config(str(tmp_path / "ha.d"), Facts()))
    assert [x.message for x in report.diagnostics] == [
        "configuration directory '%s' is not a directory" % (tmp_path / "ha.d")]
