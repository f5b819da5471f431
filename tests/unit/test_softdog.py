"""pyha watchdog: modinfo parsing, boot files per release, ha.cf editing, and setup/status
against a fake kernel (fake modprobe/modinfo and fake /proc, /sys, /dev trees).

This VM's kernel has no softdog (CONFIG_SOFT_WATCHDOG is not set), so the real module
cannot be loaded here; the real kernel is only asked in
`test_real_host_without_softdog_is_explained`, which changes nothing.
"""

import json
import os
import stat

import pytest

from pyha.host import softdog as sd
from pyha.host.hostenv import Release, RunResult, SetupError, as_tuple

MODINFO_EL7 = """\
filename:       /lib/modules/3.10.0-1160.el7.x86_64/kernel/drivers/watchdog/softdog.ko.xz
license:        GPL
description:    Software Watchdog Device Driver
author:         Alan Cox
retpoline:      Y
rhelversion:    7.9
srcversion:     1F2D3C4B5A69788796A5B4C
depends:
intree:         Y
vermagic:       3.10.0-1160.el7.x86_64 SMP mod_unload modversions
signer:         CentOS Linux kernel signing key
sig_key:        E1:FD:B0:E2:A7:E8:61:A1:D1:CA:80:A2:3D:CF:0D:BA:3A:A4:AD:F5
sig_hashalgo:   sha256
parm:           soft_margin:Watchdog soft_margin in seconds. (0 < soft_margin < 65536, default=60) (uint)
parm:           nowayout:Watchdog cannot be stopped once started (default=0) (bool)
parm:           soft_noboot:Softdog action, set to 1 to ignore reboots, 0 to reboot (default=0) (int)
parm:           soft_panic:Softdog action, set to 1 to panic, 0 to reboot (default=0) (int)
"""

MODINFO_BUILTIN = """\
name:           softdog
filename:       (builtin)
license:        GPL
description:    Software Watchdog Device Driver
parm:           soft_margin:Watchdog soft_margin in seconds. (0 < soft_margin < 65536, default=60) (uint)
"""

HACF = """\
# ha.cf from the tutorial
logfacility local0
keepalive 2
deadtime 30   # seconds
udpport 694
ucast eth1 10.0.0.2
node ha1
node ha2
"""


# -- pure ---------------------------------------------------------------------------------------

def test_parse_modinfo():
    info = sd.parse_modinfo(MODINFO_EL7)
    assert info["fields"]["description"] == "Software Watchdog Device Driver"
    assert info["fields"]["filename"].endswith("softdog.ko.xz")
    assert info["parms"]["soft_margin"]["default"] == 60
    assert info["parms"]["soft_margin"]["type"] == "uint"
    assert info["parms"]["nowayout"] == {"description": "Watchdog cannot be stopped once started (default=0) (bool)",
                                         "type": "bool", "default": 0}
    assert sorted(info["parms"]) == ["nowayout", "soft_margin", "soft_noboot", "soft_panic"]
    assert info["builtin"] is False
    assert sd.parse_modinfo(MODINFO_BUILTIN)["builtin"] is True
    assert sd.parse_modinfo("") == {"fields": {}, "parms": {}, "builtin": False}


def test_options_margin_and_lists_module():
    assert sd.options_margin("options softdog soft_margin=30 nowayout=0\n") == 30
    assert sd.options_margin("# options softdog soft_margin=10\noptions other soft_margin=5\n") is None
    assert sd.options_margin("options softdog nowayout=0\noptions softdog soft_margin=45\n") == 45
    assert sd.options_margin(sd.el6_script(25)) == 25
    assert sd.options_margin(None) is None
    assert sd.lists_module("# comment\nsoftdog\n") and sd.lists_module("softdog # for pyha\n")
    assert not sd.lists_module("softdog2\n#softdog\n") and not sd.lists_module(None)


def test_boot_files_by_release():
    el6 = sd.boot_files(Release("el", 6), 60)
    assert list(el6) == [sd.EL6_MODULES_FILE]
    text, mode = el6[sd.EL6_MODULES_FILE]
    assert text.startswith("#!/bin/sh\n") and "modprobe softdog soft_margin=60 nowayout=0" in text and mode == 0o755
    el7 = sd.boot_files(Release("el", 7), 30)
    assert sorted(el7) == [sd.MODPROBE_FILE, sd.MODULES_LOAD_FILE]
    assert el7[sd.MODPROBE_FILE][0].endswith("options softdog soft_margin=30 nowayout=0\n")
    assert sd.lists_module(el7[sd.MODULES_LOAD_FILE][0])
    assert sorted(sd.boot_files(Release("debian", 12), 60)) == sorted(el7)
    assert sorted(sd.boot_files(Release("unknown"), 60)) == sorted([sd.EL6_MODULES_FILE] + list(el7))
    assert sorted(sd.boot_files(Release("el", None), 60)) == sorted([sd.EL6_MODULES_FILE] + list(el7))


def test_margin_range():
    for bad in (0, -1, 65536):
        with pytest.raises(SetupError) as exc:
            sd.check_margin(bad)
        assert exc.value.code == 2
    sd.check_margin(1)
    sd.check_margin(65535)


# -- setup under --root (files only) -------------------------------------------------------

def make_root(tmp_path, release=("redhat-release", "CentOS release 6.10 (Final)\n"), hacf=HACF):
    (tmp_path / "etc" / "ha.d").mkdir(parents=True)
    if release:
        (tmp_path / "etc" / release[0]).write_text(release[1])
    if hacf is not None:
        (tmp_path / "etc" / "ha.d" / "ha.cf").write_text(hacf)
    return tmp_path


class NoKernel(sd.WatchdogHost):
    """Fails the test if the running kernel is asked anything."""

    def __init__(self):
        super(NoKernel, self).__init__(runner=None, geteuid=lambda: 1000)

    def modinfo(self):
        raise AssertionError("--root must not ask the kernel")

    modprobe_check = modprobe = loaded = modinfo


def test_setup_el6_root_writes_script_and_hacf_line_keeping_comments(tmp_path):
    root = make_root(tmp_path)
    r = sd.watchdog_setup(45, root=str(root), host=NoKernel())
    script = root / "etc" / "sysconfig" / "modules" / "softdog.modules"
    assert stat.S_IMODE(os.stat(str(script)).st_mode) == 0o755
    assert "soft_margin=45 nowayout=0" in script.read_text()
    assert not (root / "etc" / "modules-load.d").exists()
    hacf = (root / "etc" / "ha.d" / "ha.cf").read_text()
    assert hacf == HACF + "watchdog /dev/watchdog\n"
    assert as_tuple(r.steps) == (
        ("load module", "softdog soft_margin=45", "skipped"),
        ("boot file", str(script), "done"),
        ("ha.cf", "watchdog /dev/watchdog", "done"))
    assert r.boot["configured"] and r.boot["soft_margin"] == 45
    assert r.hacf["watchdog"] == "/dev/watchdog" and r.hacf["daemon_timeout_s"] == 31
    assert r.ok and r.module["available"] is None
    json.dumps(r.to_dict())

    again = sd.watchdog_setup(45, root=str(root), host=NoKernel())
    assert [s.status for s in again.steps] == ["skipped", "unchanged", "unchanged"]


def test_setup_el7_and_debian_write_modules_load_and_modprobe_options(tmp_path):
    for n, rel in enumerate([("redhat-release", "CentOS Linux release 7.9.2009 (Core)\n"),
                             ("os-release", 'ID=debian\nVERSION_ID="12"\n'),
                             ("os-release", 'ID="rocky"\nID_LIKE="rhel centos fedora"\nVERSION_ID="9.3"\n')]):
        root = make_root(tmp_path / str(n), rel)
        r = sd.watchdog_setup(root=str(root), host=NoKernel())
        assert (root / "etc" / "modules-load.d" / "softdog.conf").read_text().endswith("\nsoftdog\n")
        assert "options softdog soft_margin=60 nowayout=0" in (root / "etc" / "modprobe.d" / "softdog.conf").read_text()
        assert not (root / "etc" / "sysconfig" / "modules").exists()
        assert r.boot["configured"] and r.boot["soft_margin"] == 60


def test_setup_unknown_release_writes_both_styles(tmp_path):
    root = make_root(tmp_path, release=None)
    r = sd.watchdog_setup(root=str(root), host=NoKernel())
    assert (root / "etc" / "sysconfig" / "modules" / "softdog.modules").exists()
    assert (root / "etc" / "modules-load.d" / "softdog.conf").exists()
    assert (root / "etc" / "modprobe.d" / "softdog.conf").exists()
    assert "wd-release-unknown" in [d.code for d in r.notes]


def test_setup_keeps_existing_watchdog_line_and_changed_file_is_backed_up(tmp_path):
    root = make_root(tmp_path, hacf=HACF + "watchdog /dev/watchdog1\n")
    (root / "etc" / "sysconfig" / "modules").mkdir(parents=True)
    old = root / "etc" / "sysconfig" / "modules" / "softdog.modules"
    old.write_text("#!/bin/sh\nmodprobe softdog\n")
    os.chmod(str(old), 0o755)
    r = sd.watchdog_setup(30, root=str(root), host=NoKernel())
    assert (root / "etc" / "ha.d" / "ha.cf").read_text() == HACF + "watchdog /dev/watchdog1\n"
    boot = [s for s in r.steps if s.action == "boot file"][0]
    assert boot.status == "done" and "backup" in boot.detail
    assert any(p.startswith("softdog.modules.bak.") for p in os.listdir(str(old.parent)))


def test_setup_dry_run_writes_nothing(tmp_path):
    root = make_root(tmp_path)
    before = (root / "etc" / "ha.d" / "ha.cf").read_text()
    r = sd.watchdog_setup(root=str(root), dry_run=True, host=NoKernel())
    assert [s.status for s in r.steps] == ["skipped", "would", "would"]
    assert not (root / "etc" / "sysconfig").exists()
    assert (root / "etc" / "ha.d" / "ha.cf").read_text() == before


def test_setup_without_hacf_warns_and_still_configures_boot(tmp_path):
    root = make_root(tmp_path, hacf=None)
    r = sd.watchdog_setup(root=str(root), host=NoKernel())
    assert "wd-no-hacf" in [d.code for d in r.notes] and r.ok
    assert r.boot["configured"]


# -- setup and status against a fake kernel --------------------------------------------------

class FakeKernel(sd.WatchdogHost):
    """modinfo/modprobe answered from data; loading creates the fake sysfs and /dev node."""

    def __init__(self, tmp, available=True, loaded=False, euid=0, timeout=None, device=False):
        self.base = tmp / "kernel"
        for d in ("sys", "proc", "dev"):
            (self.base / d).mkdir(parents=True, exist_ok=True)
        super(FakeKernel, self).__init__(runner=None, geteuid=lambda: euid, sys_root=str(self.base / "sys"),
                                         proc_root=str(self.base / "proc"), dev_root=str(self.base / "dev"))
        self.available = available
        self.calls = []
        (self.base / "proc" / "modules").write_text("ext4 1 0 - Live 0x0\n")
        if loaded:
            self._load(timeout or 60)
        if device:
            (self.base / "dev" / "watchdog").write_text("")

    def _load(self, margin):
        (self.base / "proc" / "modules").write_text("softdog 16384 0 - Live 0x0\next4 1 0 - Live 0x0\n")
        wd = self.base / "sys" / "class" / "watchdog" / "watchdog0"
        wd.mkdir(parents=True)
        (wd / "identity").write_text("Software Watchdog\n")
        (wd / "timeout").write_text("%d\n" % margin)
        (wd / "nowayout").write_text("0\n")
        (wd / "state").write_text("inactive\n")
        (self.base / "dev" / "watchdog").write_text("")

    def modinfo(self):
        self.calls.append("modinfo")
        if self.available:
            return RunResult(["modinfo", "softdog"], 0, MODINFO_EL7)
        return RunResult(["modinfo", "softdog"], 1, "", "modinfo: ERROR: Module softdog not found.")

    def modprobe_check(self):
        self.calls.append("modprobe -n")
        return RunResult([], 0 if self.available else 1, "",
                         "" if self.available else "modprobe: FATAL: Module softdog not found in directory /lib/modules/x")

    def modprobe(self, margin):
        self.calls.append("modprobe %d" % margin)
        self._load(margin)
        return RunResult([], 0)

    def kernel_config(self, option):
        return "m" if self.available else "n"

    def in_container(self):
        return False


def test_setup_live_loads_softdog_once(tmp_path):
    root = make_root(tmp_path, release=("os-release", "ID=debian\n"))
    k = FakeKernel(tmp_path)
    r = sd.watchdog_setup(50, root=str(root), host=k, live=True)
    assert k.calls == ["modinfo", "modprobe 50"]
    assert r.steps[0].status == "done" and r.steps[0].target == "softdog soft_margin=50 nowayout=0"
    assert r.device["exists"] and r.device["identity"] == "Software Watchdog" and r.device["timeout_s"] == 50
    assert r.ready and r.ok
    again = sd.watchdog_setup(50, root=str(root), host=k, live=True)
    assert [s.status for s in again.steps] == ["unchanged"] * 4
    assert k.calls.count("modprobe 50") == 1


def test_setup_live_with_other_margin_loaded_warns(tmp_path):
    root = make_root(tmp_path, release=("os-release", "ID=debian\n"))
    r = sd.watchdog_setup(30, root=str(root), host=FakeKernel(tmp_path, loaded=True, timeout=60), live=True)
    assert r.steps[0].status == "unchanged"
    assert "wd-margin-differs" in [d.code for d in r.notes]


def test_setup_live_without_softdog_is_refused_before_writing(tmp_path):
    root = make_root(tmp_path, release=("os-release", "ID=debian\n"))
    with pytest.raises(SetupError) as exc:
        sd.watchdog_setup(root=str(root), host=FakeKernel(tmp_path, available=False), live=True)
    assert "CONFIG_SOFT_WATCHDOG is not set" in exc.value.message
    assert "container" in exc.value.hint and "watchdog" in exc.value.hint
    assert (root / "etc" / "ha.d" / "ha.cf").read_text() == HACF
    assert not (root / "etc" / "modprobe.d").exists()


def test_setup_live_without_softdog_but_another_watchdog_uses_it(tmp_path):
    root = make_root(tmp_path, release=("os-release", "ID=debian\n"))
    r = sd.watchdog_setup(root=str(root), host=FakeKernel(tmp_path, available=False, device=True), live=True)
    assert "wd-other-device" in [d.code for d in r.notes]
    assert as_tuple(r.steps) == (("ha.cf", "watchdog /dev/watchdog", "done"),)


def test_setup_live_needs_root_but_dry_run_does_not(tmp_path):
    root = make_root(tmp_path, release=("os-release", "ID=debian\n"))
    k = FakeKernel(tmp_path, euid=1000)
    with pytest.raises(SetupError) as exc:
        sd.watchdog_setup(root=str(root), host=k, live=True)
    assert "needs root" in exc.value.message and k.calls == []
    r = sd.watchdog_setup(root=str(root), host=k, live=True, dry_run=True)
    assert [s.status for s in r.steps] == ["would", "would", "would", "would"]
    assert "modprobe 60" not in k.calls


def test_status_reports_like_modinfo(tmp_path):
    root = make_root(tmp_path, release=("os-release", "ID=debian\n"))
    k = FakeKernel(tmp_path, loaded=True, timeout=60)
    r = sd.watchdog_status(root=str(root), host=k, live=True)
    assert r.module["loaded"] == "module" and r.module["modinfo"]["parms"]["soft_margin"]["default"] == 60
    assert r.device["timeout_s"] == 60 and r.device["timeout_source"].endswith("watchdog0/timeout")
    assert r.boot["configured"] is False and r.hacf["watchdog"] is None and not r.ready
    sd.watchdog_setup(root=str(root), host=k, live=True)
    assert sd.watchdog_status(root=str(root), host=k, live=True).ready


def test_status_prefers_module_parameter_when_the_kernel_shows_it(tmp_path):
    k = FakeKernel(tmp_path, loaded=True, timeout=60)
    params = k.base / "sys" / "module" / "softdog" / "parameters"
    params.mkdir(parents=True)
    (params / "soft_margin").write_text("42\n")
    (k.base / "sys" / "module" / "softdog" / "initstate").write_text("live\n")
    r = sd.watchdog_status(root=str(make_root(tmp_path)), host=k, live=True)
    assert r.device["timeout_s"] == 42 and r.device["timeout_source"].endswith("parameters/soft_margin")


def test_real_host_without_softdog_is_explained():
    """Asks this machine's kernel (read only).  Where softdog exists the check is skipped."""
    host = sd.WatchdogHost()
    if host.modprobe_check().ok or host.loaded():
        pytest.skip("this kernel has softdog")
    r = sd.watchdog_status(root="/nonexistent-root", host=host, live=True)
    assert r.module["available"] is False
    assert "wd-no-softdog" in [d.code for d in r.notes]


# -- the CLI (pyha watchdog) ------------------------------------------------------------------

def cli(args):
    import typer
    from typer.testing import CliRunner

    from pyha.cli import hostsetup_cmd
    app = typer.Typer()
    app.callback()(lambda: None)
    hostsetup_cmd.register(app)
    return CliRunner(mix_stderr=False).invoke(app, args)


def test_cli_watchdog(tmp_path):
    root = make_root(tmp_path, release=("redhat-release", "CentOS Linux release 7.9.2009 (Core)\n"))
    assert cli(["watchdog", "arm"]).exit_code == 2
    assert cli(["watchdog", "setup", "--margin", "0", "--root", str(root)]).exit_code == 2
    res = cli(["watchdog", "setup", "--root", str(root), "--margin", "40"])
    assert res.exit_code == 0, res.stderr
    assert "done      ha.cf: watchdog /dev/watchdog" in res.stdout
    assert "soft_margin=40" in res.stdout
    res = cli(["watchdog", "status", "--root", str(root), "--json"])
    data = json.loads(res.stdout)
    assert res.exit_code == 0 and data["boot"]["soft_margin"] == 40 and data["hacf"]["watchdog"] == "/dev/watchdog"
