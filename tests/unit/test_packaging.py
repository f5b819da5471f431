"""The packaging sources (packaging/, contrib/nginx, docs/pyha.8) agree with each other and
with the code, without building anything: fast checks that run everywhere.

The RPM builds and what they contain are in test_packaging_rpm.py (slow); the SysV
script runs for real in tests/lab/test_initscript.py.
"""

import configparser
import glob
import hashlib
import os
import re
import shutil
import stat
import subprocess
import sys

import pytest

import pyha

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PKG = os.path.join(TOP, "packaging")
SPEC = os.path.join(PKG, "rpm", "pyha.spec")
INITSCRIPT = os.path.join(PKG, "initscripts", "pyha")
UNIT = os.path.join(PKG, "systemd", "pyha.service")
VENDOR = os.path.join(PKG, "vendor")


def read(path):
    with open(path) as f:
        return f.read()


def run(argv, **kw):
    kw.setdefault("timeout", 60)
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, **kw)


def spec_sources():
    """{number: basename} of the spec's SourceN lines."""
    return {int(n): os.path.basename(url.strip())
            for n, url in re.findall(r"^Source(\d+):\s*(\S+)", read(SPEC), re.M)}


def pins():
    """[(name, version)] from packaging/vendor/requirements.txt."""
    result = []
    for line in read(os.path.join(VENDOR, "requirements.txt")).splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, version = line.split("==")
            result.append((name.strip(), version.strip()))
    return result


def wheel_prefix(name, version):
    # Wheel file names use the distribution name with - and . as _ (PEP 427).
    return "%s-%s-" % (re.sub(r"[-_.]+", "_", name).lower(), version)


# -- spec -------------------------------------------------------------------------------------


def test_spec_version_is_the_package_version():
    version = re.search(r"^Version:\s*(\S+)", read(SPEC), re.M).group(1)
    assert version == pyha.__version__


def test_bundled_wheels_agree_everywhere():
    """requirements.txt pins = Source10.. of the spec = SHA256SUMS = bundled() Provides."""
    wheels = sorted(v for k, v in spec_sources().items() if k >= 10)
    assert all(w.endswith("-none-any.whl") for w in wheels)  # pure Python: noarch
    pinned = pins()
    assert len(wheels) == len(pinned)
    for name, version in pinned:
        assert [w for w in wheels if w.lower().startswith(wheel_prefix(name, version))], (name, version)
    sums = dict(reversed(line.split()) for line in read(os.path.join(VENDOR, "SHA256SUMS")).splitlines())
    assert sorted(sums) == wheels
    provides = dict(re.findall(r"^Provides:\s*bundled\(python3-(\S+)\) = (\S+)", read(SPEC), re.M))
    assert {n.lower().replace("_", "-"): v for n, v in pinned} == provides
    # Every wheel is unpacked in %install.
    install = read(SPEC).split("%install", 1)[1].split("%files", 1)[0]
    assert sorted(re.findall(r"%\{SOURCE(\d+)\}", install)) == sorted(str(k) for k in spec_sources() if k >= 10)


def test_downloaded_wheels_match_the_sums():
    present = glob.glob(os.path.join(VENDOR, "*.whl"))
    if not present:
        pytest.skip("no wheels downloaded (packaging/rpm/build.sh --prepare)")
    sums = dict(reversed(line.split()) for line in read(os.path.join(VENDOR, "SHA256SUMS")).splitlines())
    for path in present:
        with open(path, "rb") as f:
            assert hashlib.sha256(f.read()).hexdigest() == sums.get(os.path.basename(path)), path


def test_spec_defines_what_debian_rpm_lacks_and_el6_needs():
    spec = read(SPEC)
    # Parametric systemd fallbacks with %define (with %global the unit name expands to nothing);
    # %post calls `systemctl preset` itself (only away from heartbeat), not %systemd_post.
    assert "%systemd_post " not in spec and "%define systemd_post()" not in spec
    for name in ("systemd_preun", "systemd_postun_with_restart"):
        assert re.search(r"^%%define %s\(\) \\$" % name, spec, re.M), name
        assert not re.search(r"^%%global %s" % name, spec, re.M)
    for line in ("%define _binary_payload w9.gzdio", "%global __brp_python_bytecompile %{nil}",
                 "Group:          System Environment/Daemons", "BuildArch:      noarch"):
        assert line in spec
    assert "%{!?_unitdir:" in spec and "%{!?_tmpfilesdir:" in spec
    assert "BuildRequires" not in spec  # Debian's rpm database is empty: no --nodeps needed
    # No network and no setup.py in the build.
    build = spec.split("%prep", 1)[1].split("%files", 1)[0]
    build = "\n".join(l for l in build.splitlines() if not l.lstrip().startswith("#"))
    for word in ("pip ", "setup.py", "curl", "wget", "http"):
        assert word not in build, word


def python2():
    """[a working Python 2 interpreter] or []."""
    for p in (os.path.expanduser("~/.pyenv/versions/2.7.18/bin/python"), "/usr/bin/python2", "/usr/bin/python2.7"):
        if os.path.exists(p):
            try:
                r = run([p, "-c", "import sys; print(sys.version_info[0])"], timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                continue
            if r.returncode == 0 and r.stdout.strip() == "2":
                return [p]
    return []


def test_wheel_unpacking_works_with_old_build_pythons(tmp_path):
    """%install unpacks the wheels with whatever Python the build host has (EL6: 2.6)."""
    code = re.search(r"-c '(import sys, zipfile;[^']*)'", read(SPEC)).group(1)
    wheels = glob.glob(os.path.join(VENDOR, "ntplib-*.whl"))
    if not wheels:
        pytest.skip("no wheels downloaded")
    pythons = [sys.executable] + python2()
    for i, py in enumerate(pythons):
        dest = str(tmp_path / str(i))
        r = run([py, "-c", code, wheels[0], dest])
        assert r.returncode == 0, (py, r.stderr)
        assert os.path.isfile(os.path.join(dest, "ntplib.py"))


# -- launchers ----------------------------------------------------------------------------------


def test_launcher_templates():
    launcher = read(os.path.join(PKG, "bin", "pyha.py.in"))
    assert launcher.startswith("#!@PYTHON@ -s\n")
    assert 'LIBDIR = "@LIBDIR@"' in launcher and "sys.path.insert(0, LIBDIR)" in launcher
    assert "PYTHONPATH" in launcher  # the guardian (sys.executable -m pyha...) finds the code
    compile(launcher, "pyha.py.in", "exec")
    wrapper = os.path.join(PKG, "bin", "pyha-scl.sh.in")
    assert run(["sh", "-n", wrapper]).returncode == 0
    text = read(wrapper)
    assert ". /opt/rh/@SCL@/enable" in text and 'exec @PYTHON@ -s @LAUNCHER@ "$@"' in text


# -- EL6 SysV script ----------------------------------------------------------------------------


def test_initscript_headers_and_syntax():
    text = read(INITSCRIPT)
    assert os.stat(INITSCRIPT).st_mode & 0o777 == 0o755
    assert run(["bash", "-n", INITSCRIPT]).returncode == 0
    assert "\n# chkconfig: 2345 75 05\n" in text
    assert re.search(r"^# description: \S", text, re.M)
    lsb = text.split("### BEGIN INIT INFO\n", 1)[1].split("### END INIT INFO", 1)[0]
    fields = dict(re.findall(r"^# ([A-Za-z-]+): *(.*)$", lsb, re.M))
    assert fields["Provides"] == "pyha"
    assert fields["Default-Start"] == "2 3 4 5" and fields["Default-Stop"] == "0 1 6"
    assert "$network" in fields["Required-Start"]
    for action in ("start", "stop", "restart", "reload", "force-reload", "status", "condrestart", "try-restart"):
        assert re.search(r"^\s+(\S+\|)*%s(\|\S+)*\)$" % re.escape(action), text, re.M), action
    for default in ("PYHA_FUNCTIONS:-/etc/rc.d/init.d/functions", "PYHA_LOCK_DIR:-/var/lock/subsys",
                    "PYHA_RUN_DIR:-/var/run/pyha", "PYHA_BIN:-/usr/bin/pyha", "PYHA_SYSCONFIG:-/etc/sysconfig/pyha"):
        assert default in text
    assert "daemon --quiet" in text
    assert "kill -KILL" not in text and "kill -9" not in text  # never SIGKILL the daemon


def test_initscript_outside_a_node(tmp_path):
    """Actions that need no daemon, against scratch paths (no namespace needed)."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYHA_SYSCONFIG": str(tmp_path / "none"),
           "PYHA_RUN_DIR": str(tmp_path / "run"), "PYHA_LOCK_DIR": str(tmp_path / "lock"),
           "PYHA_FUNCTIONS": str(tmp_path / "nofunctions"), "PYHA_BIN": str(tmp_path / "nopyha")}
    r = run([INITSCRIPT, "status"], env=env)
    assert r.returncode == 3 and "stopped" in r.stdout
    (tmp_path / "lock").mkdir()
    (tmp_path / "lock" / "pyha").write_text("")
    assert run([INITSCRIPT, "status"], env=env).returncode == 2
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "pyha.pid").write_text("%d\n" % os.getpid())  # alive, but not pyha daemon
    assert run([INITSCRIPT, "status"], env=env).returncode == 1
    r = run([INITSCRIPT, "bogus"], env=env)
    assert r.returncode == 2 and "Usage:" in r.stdout
    if os.geteuid() == 0:
        # pyha binary missing: LSB 5 (program not installed)
        assert run([INITSCRIPT, "start"], env=env).returncode == 5


def test_sysconfig_is_shell():
    path = os.path.join(PKG, "sysconfig", "pyha")
    r = run(["bash", "-c", 'set -eu; . "$1"; printf "%s" "$PYHA_OPTIONS"', "x", path])
    assert r.returncode == 0 and r.stdout == ""


# -- EL7 systemd unit ---------------------------------------------------------------------------

# Directives systemd 219 (EL7) knows, among those a unit like this could use.
SYSTEMD_219 = {
    "Unit": {"Description", "Documentation", "Wants", "Requires", "After", "Before", "Conflicts",
             "ConditionPathExists"},
    "Service": {"Type", "NotifyAccess", "EnvironmentFile", "Environment", "ExecStart", "ExecStartPre",
                "ExecReload", "ExecStop", "KillMode", "KillSignal", "TimeoutStartSec", "TimeoutStopSec",
                "Restart", "RestartSec", "PIDFile", "User", "Group", "LimitNOFILE"},
    "Install": {"WantedBy", "Alias"},
}


def unit():
    parser = configparser.ConfigParser(strict=True, interpolation=None)
    parser.optionxform = str
    parser.read(UNIT)
    return parser


def test_unit_settings():
    u = unit()
    svc = u["Service"]
    assert svc["Type"] == "notify"
    assert svc["NotifyAccess"] == "main"
    assert svc["ExecStart"].startswith("/usr/bin/pyha daemon --quiet")
    assert svc["ExecReload"] == "/bin/kill -HUP $MAINPID"
    assert svc["KillMode"] == "process"
    assert svc["Restart"] == "no"
    assert "network-online.target" in u["Unit"]["After"] and "network-online.target" in u["Unit"]["Wants"]
    assert u["Install"]["WantedBy"] == "multi-user.target"
    # Why KillMode=process: said in the unit itself.
    assert "guardian" in read(UNIT)
    for section in u.sections():
        unknown = set(u[section]) - SYSTEMD_219[section]
        assert not unknown, "%s: not in EL7's systemd 219: %s" % (section, unknown)


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_analyze_verify(tmp_path):
    """`systemd-analyze verify` on the unit in a scratch root that has the targets it
    names, /usr/bin/pyha and /bin/kill (it checks that the commands exist)."""
    root = tmp_path / "root"
    units = root / "usr" / "lib" / "systemd" / "system"
    shutil.copytree("/usr/lib/systemd/system", str(units), symlinks=True)
    shutil.copy(UNIT, str(units / "pyha.service"))
    for path in ("usr/bin/pyha", "bin/kill"):
        p = root / path
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("#!/bin/sh\n")
        p.chmod(0o755)
    r = run(["systemd-analyze", "verify", "--man=no", "--root=%s" % root, "pyha.service"])
    assert r.returncode == 0 and not r.stdout.strip() and not r.stderr.strip(), r.stdout + r.stderr


@pytest.mark.skipif(shutil.which("systemd-tmpfiles") is None, reason="systemd-tmpfiles is not installed")
def test_tmpfiles_entry_creates_the_run_dir(tmp_path):
    conf = os.path.join(PKG, "systemd", "pyha-tmpfiles.conf")
    r = run(["systemd-tmpfiles", "--root=%s" % tmp_path, "--create", conf])
    assert r.returncode == 0, r.stderr
    st = os.stat(str(tmp_path / "run" / "pyha"))
    assert stat.S_ISDIR(st.st_mode) and st.st_mode & 0o777 == 0o755


# -- logrotate, softdog, rpmlintrc, man page ------------------------------------------------


@pytest.mark.skipif(shutil.which("logrotate") is None, reason="logrotate is not installed")
def test_logrotate_config(tmp_path):
    text = read(os.path.join(PKG, "logrotate", "pyha"))
    assert "/var/log/ha-log" in text and "/var/log/ha-debug" in text
    assert "copytruncate" not in text.split("{", 1)[1]  # WatchedFileHandler reopens moved files
    conf = tmp_path / "pyha"
    shutil.copy(os.path.join(PKG, "logrotate", "pyha"), str(conf))
    conf.chmod(0o644)
    r = run(["logrotate", "-d", "-s", str(tmp_path / "state"), str(conf)])
    assert r.returncode == 0, r.stderr
    assert "error" not in (r.stdout + r.stderr).lower()


def test_softdog_boot_files():
    modules = os.path.join(PKG, "softdog", "softdog.modules")
    assert run(["sh", "-n", modules]).returncode == 0
    assert "/sbin/modprobe softdog" in read(modules)
    assert read(os.path.join(PKG, "softdog", "modprobe.conf")).splitlines()[-1] == \
        "options softdog nowayout=0 soft_margin=60"
    lines = [l for l in read(os.path.join(PKG, "softdog", "modules-load.conf")).splitlines()
             if l.strip() and not l.startswith("#")]
    assert lines == ["softdog"]


def test_every_rpmlint_filter_has_a_reason():
    lines = read(os.path.join(PKG, "rpm", "pyha.rpmlintrc")).splitlines()
    for i, line in enumerate(lines):
        if line.startswith("addFilter("):
            above = [l for l in lines[:i] if l.strip()]
            assert above and (above[-1].startswith("#") or above[-1].startswith("addFilter(")), line
            # the nearest comment block above belongs to this group of filters
            j = i - 1
            while j >= 0 and lines[j].startswith("addFilter("):
                j -= 1
            assert j >= 0 and lines[j].startswith("#"), line


def test_manpage_is_generated_from_the_current_cli():
    r = run([sys.executable, os.path.join(PKG, "gen-manpage.py"), "--check", os.path.join(TOP, "docs", "pyha.8")])
    assert r.returncode == 0, r.stdout + r.stderr
    text = read(os.path.join(TOP, "docs", "pyha.8"))
    assert text.startswith('.\\" pyha(8): generated')
    for command in ("pyha daemon", "pyha status", "pyha init", "pyha config check"):
        assert '.SS "%s"' % command in text


def test_nginx_example():
    conf = read(os.path.join(TOP, "contrib", "nginx", "pyha.conf"))
    assert "root /var/www/pyha;" in conf and "ssi on;" in conf
    assert '<!--# echo var="hostname" -->' in read(os.path.join(TOP, "contrib", "nginx", "index.html"))
    assert os.path.isfile(os.path.join(TOP, "contrib", "nginx", "README.md"))
