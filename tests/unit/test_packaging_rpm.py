"""The RPMs themselves: `packaging/rpm/build.sh` builds EL6 and EL7 offline, rpmlint has no
error, and the packages hold the right files, modes, flags, scriptlets and requirements;
installed into a scratch root, the files land with the right modes and the bundled
libraries run pyha on Python 3.6 without anything from site-packages.  Migration and
rollback (issue 13 item 3): the live /etc/ha.d files are never the package's (no .rpmnew on
install, no .rpmsave on erase), %post never enables pyha at boot next to heartbeat, and
pyha-heartbeat-compat ships heartbeat's tools at heartbeat's paths and conflicts with it.

Slow (one build of both releases per module, about 10 s); needs rpmbuild, and the
bundled wheels: when packaging/vendor/ lacks them, `build.sh --prepare` downloads them
from PyPI first (skipped when that fails).  The build itself runs in a network namespace
without any interface up when possible (`unshare -n`), which proves it is offline.
"""

import os
import re
import shutil
import stat
import subprocess
import sys
import time

import pytest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(TOP, "packaging", "rpm", "build.sh")
RPMLINTRC = os.path.join(TOP, "packaging", "rpm", "pyha.rpmlintrc")
VERSION = re.search(r'^__version__ = "(.*)"$', open(os.path.join(TOP, "pyha", "__init__.py")).read(), re.M).group(1)
LIB = "/usr/share/pyha/lib"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("rpmbuild") is None or shutil.which("rpm") is None,
                       reason="rpmbuild/rpm are not installed (Debian: apt-get install rpm)"),
]

# rpmlib() features EL6's rpm 4.8 provides (`rpm --showrc` there); a package needing any
# other one does not install on EL6 (e.g. PayloadIsZstd, the rpm 4.18 default).
EL6_RPMLIB = {"BuiltinLuaScripts", "CompressedFileNames", "ConcurrentAccess", "ExplicitPackageProvide",
              "FileCaps", "FileDigests", "HeaderLoadSortsTags", "PartialHardlinkSets", "PayloadFilesHavePrefix",
              "PayloadIsBzip2", "PayloadIsLzma", "PayloadIsXz", "ScriptletInterpreterArgs",
              "VersionedDependencies"}


def run(argv, **kw):
    kw.setdefault("timeout", 120)
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, **kw)


def rpmq(path, *args):
    r = run(["rpm", "-qp"] + list(args) + [path])
    assert r.returncode == 0, r.stderr
    return r.stdout


@pytest.fixture(scope="module")
def rpms(tmp_path_factory):
    """{"el6": path, "el7": path, "el6.src": path, "el7.src": path, "el6.compat": path,
    "el7.compat": path} built once."""
    prep = run([BUILD, "--prepare"], timeout=300)
    if prep.returncode != 0:
        pytest.skip("bundled wheels unavailable and not downloadable: %s" % prep.stderr.strip()[-300:])
    out = str(tmp_path_factory.mktemp("rpms"))
    argv = [BUILD, "--offline", "--outdir", out]
    if os.geteuid() == 0 and shutil.which("unshare"):
        argv = ["unshare", "--net", "--"] + argv  # no network at all during the build
    t0 = time.monotonic()
    r = run(argv, timeout=300)
    assert r.returncode == 0, r.stderr
    assert time.monotonic() - t0 < 90
    built = r.stdout.split()
    found = {}
    for el in ("el6", "el7"):
        found[el] = os.path.join(out, "pyha-%s-1.%s.noarch.rpm" % (VERSION, el))
        found[el + ".src"] = os.path.join(out, "pyha-%s-1.%s.src.rpm" % (VERSION, el))
        found[el + ".compat"] = os.path.join(out, "pyha-heartbeat-compat-%s-1.%s.noarch.rpm" % (VERSION, el))
    assert sorted(built) == sorted(found.values())
    return found


def dump(path):
    """{file: {"mode", "owner", "group", "config", "flags"}} from `rpm -qp --dump` and fflags."""
    files = {}
    for line in rpmq(path, "--dump").splitlines():
        f = line.split()
        # path size mtime digest mode owner group isconfig isdoc rdev symlink
        files[f[0]] = {"mode": int(f[4], 8), "owner": f[5], "group": f[6], "config": f[7] == "1"}
    for line in rpmq(path, "--qf", r"[%{FILENAMES}\t%{FILEFLAGS:fflags}\n]").splitlines():
        name, _, flags = line.partition("\t")
        files[name]["flags"] = flags
    return files


def scriptlets(path):
    return {tag: rpmq(path, "--qf", "%%{%s}" % tag) for tag in ("POSTIN", "PREUN", "POSTUN")}


def scratch_install(path, root):
    os.makedirs(root, exist_ok=True)
    assert run(["rpm", "--root", root, "--dbpath", "/var/lib/rpm", "--initdb"]).returncode == 0
    r = run(["rpm", "--root", root, "--dbpath", "/var/lib/rpm", "-i", "--nodeps", "--noscripts", path])
    assert r.returncode == 0, r.stderr
    return r


def python36():
    """A CPython 3.6 (EL7's python3 version) to run the installed launcher with, or None."""
    for p in (os.environ.get("PYHA_PY36"), "/var/tmp/pyha-venvs/py36/bin/python", "/opt/pyha-venv36/bin/python",
              os.path.expanduser("~/.pyenv/versions/3.6.15/bin/python")):
        if p and os.path.exists(p):
            r = run([p, "-c", "import sys; print(sys.version_info[:2] == (3, 6))"], timeout=20)
            if r.stdout.strip() == "True":
                return p
    return None


# -- the build and rpmlint -------------------------------------------------------------------


def test_source_rpms_hold_the_spec_and_every_source(rpms):
    for el in ("el6", "el7"):
        assert rpmq(rpms[el + ".compat"], "--qf", "%{SOURCERPM}") == os.path.basename(rpms[el + ".src"])
        files = rpmq(rpms[el + ".src"], "-l").split()
        assert "pyha.spec" in files and "pyha-%s.tar.gz" % VERSION in files
        assert len([f for f in files if f.endswith(".whl")]) == 9
        assert rpmq(rpms[el], "--qf", "%{SOURCERPM}") == os.path.basename(rpms[el + ".src"])
        assert rpmq(rpms[el], "--qf", "%{ARCH}") == "noarch"


@pytest.mark.skipif(shutil.which("rpmlint") is None, reason="rpmlint is not installed")
def test_rpmlint_reports_no_errors(rpms):
    for path in [os.path.join(TOP, "packaging", "rpm", "pyha.spec")] + sorted(rpms.values()):
        r = run(["rpmlint", "--ignore-unused-rpmlintrc", "-r", RPMLINTRC, path])
        assert r.returncode == 0 and " 0 errors" in r.stdout, (path, r.stdout, r.stderr)


def test_headers_install_on_el6_and_el7(rpms):
    for el in ("el6", "el7"):
        assert rpmq(rpms[el], "--qf", "%{PAYLOADCOMPRESSOR}") == "gzip"
        needed = re.findall(r"^rpmlib\((\w+)\)", rpmq(rpms[el], "--requires"), re.M)
        assert needed and set(needed) <= EL6_RPMLIB, needed
        # EL6's rpm 4.8 checks the header SHA1 and the MD5 digest (not the SHA256 ones).
        k = run(["rpm", "-Kv", rpms[el]])
        assert "Header SHA1 digest: OK" in k.stdout and "MD5 digest: OK" in k.stdout, k.stdout


# -- contents -----------------------------------------------------------------------------


COMMON = {
    "/usr/bin/pyha": 0o100755,
    "/etc/ha.d": 0o40755,
    "/etc/ha.d/resource.d": 0o40755,
    "/etc/sysconfig/pyha": 0o100644,
    "/etc/logrotate.d/pyha": 0o100644,
    "/etc/modprobe.d/softdog.conf": 0o100644,
    "/var/lib/pyha": 0o40755,
    "/var/run/pyha": 0o40755,
    "/usr/share/man/man8/pyha.8.gz": 0o100644,
    LIB + "/pyha/__init__.py": 0o100644,
    LIB + "/pyha/cli/main.py": 0o100644,
    LIB + "/pyha/daemon/guardian.py": 0o100644,
    LIB + "/typer/__init__.py": 0o100644,
    LIB + "/click/__init__.py": 0o100644,
    LIB + "/pyroute2/__init__.py": 0o100644,
    LIB + "/serial/__init__.py": 0o100644,
    LIB + "/ntplib.py": 0o100644,
    LIB + "/typing_extensions.py": 0o100644,
    LIB + "/dataclasses.py": 0o100644,
    LIB + "/importlib_metadata/__init__.py": 0o100644,
    LIB + "/zipp.py": 0o100644,
}
EL6_ONLY = {
    "/etc/rc.d/init.d/pyha": 0o100755,
    "/etc/sysconfig/modules/softdog.modules": 0o100755,
    "/usr/share/pyha/bin/pyha": 0o100644,
    "/usr/share/pyha/bin/cl_status": 0o100644,
    "/usr/share/pyha/bin/hb_standby": 0o100644,
    "/usr/share/pyha/bin/hb_takeover": 0o100644,
}
EL7_ONLY = {
    "/usr/lib/systemd/system/pyha.service": 0o100644,
    "/usr/lib/tmpfiles.d/pyha.conf": 0o100644,
    "/etc/modules-load.d/softdog.conf": 0o100644,
}
NOREPLACE = ["/etc/sysconfig/pyha", "/etc/logrotate.d/pyha", "/etc/modprobe.d/softdog.conf"]
# heartbeat's tools, at heartbeat's own paths (Debian's and EPEL's heartbeat 3 packages).
COMPAT = {
    "/usr/bin/cl_status": 0o100755,
    "/usr/share/heartbeat": 0o40755,
    "/usr/share/heartbeat/hb_standby": 0o100755,
    "/usr/share/heartbeat/hb_takeover": 0o100755,
}


@pytest.mark.parametrize("el", ["el6", "el7"])
def test_files_modes_and_config_flags(rpms, el):
    files = dump(rpms[el])
    wanted = dict(COMMON, **(EL6_ONLY if el == "el6" else EL7_ONLY))
    for path, mode in sorted(wanted.items()):
        assert path in files, path
        assert files[path]["mode"] == mode, (path, oct(files[path]["mode"]))
    other = EL7_ONLY if el == "el6" else EL6_ONLY
    assert not set(other) & set(files)
    assert all(f["owner"] == "root" and f["group"] == "root" for f in files.values())
    extra = {"/etc/sysconfig/modules/softdog.modules"} if el == "el6" else {"/etc/modules-load.d/softdog.conf"}
    for path in NOREPLACE + sorted(extra):
        assert files[path]["config"] and "n" in files[path]["flags"], path  # %config(noreplace)
    configs = {p for p, f in files.items() if f["config"]}
    assert configs == set(NOREPLACE) | extra
    # No byte-code of the build host's Python, no sources left out.
    assert not [p for p in files if p.endswith((".pyc", ".pyo")) or "__pycache__" in p]
    assert not [p for p in files if "/pyha/lab/" in p and p.endswith(".pyc")]
    docs = [p for p, f in files.items() if "d" in f["flags"]]
    assert any(p.endswith("/contrib/nginx/pyha.conf") for p in docs)
    assert any(p.endswith("/README.packaging.md") for p in docs)
    # The live /etc/ha.d files belong to the administrator: only the directories are the
    # package's, the examples are documentation.
    assert sorted(p for p in files if p.startswith("/etc/ha.d")) == ["/etc/ha.d", "/etc/ha.d/resource.d"]
    for name in ("ha.cf", "haresources", "authkeys"):
        assert any(p.endswith("/examples/ha.d/" + name) for p in docs), name
    assert not set(COMPAT) & set(files)  # those are pyha-heartbeat-compat's


@pytest.mark.parametrize("el", ["el6", "el7"])
def test_heartbeat_compat_subpackage(rpms, el):
    path = rpms[el + ".compat"]
    files = dump(path)
    assert {p: f["mode"] for p, f in files.items()} == COMPAT
    assert not [p for p, f in files.items() if f["config"]]
    assert rpmq(path, "--conflicts").split() == ["heartbeat"]
    req = rpmq(path, "--requires").splitlines()
    assert "pyha = %s-1.%s" % (VERSION, el) in req
    assert "/usr/bin/python3" in req if el == "el7" else "/bin/sh" in req
    assert rpmq(path, "--qf", "%{ARCH}") == "noarch"


@pytest.mark.parametrize("el", ["el6", "el7"])
def test_requirements(rpms, el):
    req = rpmq(rpms[el], "--requires").splitlines()
    assert "logrotate" in req and "resource-agents" in req
    assert "heartbeat" not in rpmq(rpms[el], "--conflicts").split()  # migration installs pyha before removing heartbeat
    if el == "el7":
        assert "python3" in req and "systemd" in req and "/usr/bin/python3" in req
        assert not [r for r in req if "chkconfig" in r or "rh-python" in r]
    else:
        assert "rh-python36-python" in req and "chkconfig" in req and "initscripts" in req
        assert not [r for r in req if "systemd" in r]
    # The bundled libraries neither require nor provide python modules to the system.
    assert not [r for r in req if r.startswith(("python3dist", "python(abi)", "python3."))]
    prov = rpmq(rpms[el], "--provides").splitlines()
    assert "bundled(python3-click) = 8.0.4" in prov
    assert not [p for p in prov if p.startswith(("python3dist", "python3."))]


# How heartbeat stands on the node where %post runs: probes the scriptlets make.
PROBES = ("pgrep -x heartbeat", "systemctl -q is-enabled heartbeat.service")
HEARTBEAT_STATES = {
    "absent": {},
    "running (pid file)": {"pidfile": True},
    "running (process)": {"pgrep": 0},
    "enabled (systemd)": {"is_enabled": 0},
    "enabled (SysV link)": {"rc_link": True},
}


def test_el7_scriptlets_call_systemctl(rpms, tmp_path):
    s = scriptlets(rpms["el7"])
    text = "\n".join(s.values())
    assert "%systemd" not in text and "%{" not in text  # every macro expanded
    assert "systemctl preset pyha.service" in s["POSTIN"]
    assert "systemd-tmpfiles --create /usr/lib/tmpfiles.d/pyha.conf" in s["POSTIN"]
    assert "systemctl --no-reload disable pyha.service" in s["PREUN"]
    assert "systemctl stop pyha.service" in s["PREUN"]
    assert "systemctl daemon-reload" in s["POSTUN"] and "systemctl try-restart pyha.service" in s["POSTUN"]
    assert "chkconfig" not in text
    # Run them with a fake systemctl to check the install/upgrade/erase logic ($1).
    calls = simulate(s, tmp_path, {"systemctl": "", "systemd-tmpfiles": "", "pgrep": ""})
    assert calls("POSTIN", 1) == ["systemctl preset pyha.service", "systemd-tmpfiles --create /usr/lib/tmpfiles.d/pyha.conf"]
    assert calls("POSTIN", 2) == ["systemd-tmpfiles --create /usr/lib/tmpfiles.d/pyha.conf"]
    assert calls("PREUN", 0) == ["systemctl --no-reload disable pyha.service", "systemctl stop pyha.service"]
    assert calls("PREUN", 1) == []
    assert calls("POSTUN", 1) == ["systemctl daemon-reload", "systemctl try-restart pyha.service"]
    assert calls("POSTUN", 0) == ["systemctl daemon-reload"]


@pytest.mark.parametrize("state", sorted(set(HEARTBEAT_STATES) - {"absent"}))
def test_el7_install_never_enables_pyha_next_to_heartbeat(rpms, tmp_path, state):
    """Whatever the preset policy says: no `systemctl preset` (which may enable) while
    heartbeat runs or is enabled at boot; nothing is started either."""
    calls = simulate(scriptlets(rpms["el7"]), tmp_path, {"systemctl": "", "systemd-tmpfiles": "", "pgrep": ""},
                     **HEARTBEAT_STATES[state])
    assert calls("POSTIN", 1) == ["systemd-tmpfiles --create /usr/lib/tmpfiles.d/pyha.conf"]
    assert "heartbeat is enabled or running on this node: pyha is not enabled at boot" in calls.stderr


def test_el6_scriptlets_call_chkconfig(rpms, tmp_path):
    s = scriptlets(rpms["el6"])
    text = "\n".join(s.values())
    assert "%" + "{" not in text and "systemctl preset" not in text and "systemctl stop" not in text
    assert "/sbin/chkconfig --add pyha" in s["POSTIN"]
    assert "/sbin/service pyha stop" in s["PREUN"] and "/sbin/chkconfig --del pyha" in s["PREUN"]
    assert "/sbin/service pyha condrestart" in s["POSTUN"]
    calls = simulate(s, tmp_path, {"chkconfig": "/sbin/", "service": "/sbin/", "systemctl": "", "pgrep": ""})
    assert calls("POSTIN", 1) == ["chkconfig --add pyha"]
    assert calls("PREUN", 0) == ["service pyha stop", "chkconfig --del pyha"]
    assert calls("PREUN", 1) == []
    assert calls("POSTUN", 1) == ["service pyha condrestart"]
    assert calls("POSTUN", 0) == []


@pytest.mark.parametrize("state", sorted(set(HEARTBEAT_STATES) - {"absent"}))
def test_el6_install_never_enables_pyha_next_to_heartbeat(rpms, tmp_path, state):
    """The SysV header enables runlevels 2345; next to heartbeat %post turns pyha off at
    boot again (install and upgrade alike) and never runs `service pyha start`."""
    calls = simulate(scriptlets(rpms["el6"]), tmp_path,
                     {"chkconfig": "/sbin/", "service": "/sbin/", "systemctl": "", "pgrep": ""},
                     **HEARTBEAT_STATES[state])
    for arg in (1, 2):
        assert calls("POSTIN", arg) == ["chkconfig --add pyha", "chkconfig pyha off"]
        assert "heartbeat is enabled or running on this node: pyha is not enabled at boot" in calls.stderr


def simulate(scripts, tmp_path, fakes, pidfile=False, pgrep=1, is_enabled=1, rc_link=False):
    """calls(tag, arg) runs scriptlet `tag` with $1=arg, commands in `fakes` replaced by
    loggers (prefix: the absolute directory the scriptlet names them with, or "" for PATH
    lookup); the interpreter and library paths point into tmp_path, so nothing on this
    machine is touched.  Returns the logged command lines, without the probes for
    heartbeat (PROBES); calls.stderr is the last run's stderr.

    heartbeat's state is faked too: `pidfile` (heartbeat's pid file names a live process,
    this test's own), `pgrep`/`is_enabled` (exit codes of `pgrep -x heartbeat` and
    `systemctl -q is-enabled heartbeat.service`), `rc_link` (a SysV start link)."""
    bindir = tmp_path / "fakebin"
    bindir.mkdir(exist_ok=True)
    log = tmp_path / "calls"
    for name in fakes:
        (bindir / name).write_text('#!/bin/sh\necho "%s $*" >> "%s"\n'
                                   'case "$*" in "-x heartbeat") exit %d ;; "-q is-enabled heartbeat.service") exit %d ;; esac\n'
                                   'exit 0\n' % (name, log, pgrep, is_enabled))
        (bindir / name).chmod(0o755)
    (bindir / "python3").write_text("#!/bin/sh\nexit 0\n")
    (bindir / "python3").chmod(0o755)
    hbpid = tmp_path / "heartbeat.pid"
    if pidfile:
        hbpid.write_text("%d\n" % os.getpid())
    rcdir = tmp_path / "rc.d"
    for level in "0123456":
        (rcdir / ("rc%s.d" % level)).mkdir(parents=True, exist_ok=True)
    if rc_link:
        (rcdir / "rc3.d" / "S75heartbeat").symlink_to("../init.d/heartbeat")

    def calls(tag, arg):
        text = scripts[tag]
        for name, prefix in fakes.items():
            if prefix:
                text = text.replace(prefix + name, str(bindir / name))
        text = text.replace("/usr/bin/python3", str(bindir / "python3"))
        text = re.sub(r"/opt/rh/[^ ]*/python3", str(bindir / "python3"), text)
        text = text.replace(LIB, str(tmp_path / "nolib"))
        text = text.replace("/var/run/heartbeat.pid", str(hbpid)).replace("/etc/rc.d/", str(rcdir) + "/")
        if log.exists():
            log.unlink()
        r = run(["sh", "-c", text, tag, str(arg)],
                env={"PATH": "%s:/usr/bin:/bin" % bindir})
        assert r.returncode == 0, (tag, arg, r.stderr)
        calls.stderr = r.stderr
        lines = log.read_text().splitlines() if log.exists() else []
        return [c for c in lines if c not in PROBES]
    calls.stderr = ""
    return calls


# -- installed into a scratch root ---------------------------------------------------------------


@pytest.mark.parametrize("el", ["el6", "el7"])
def test_scratch_install_modes(rpms, el, tmp_path):
    root = str(tmp_path / "root")
    scratch_install(rpms[el], root)
    wanted = dict(COMMON, **(EL6_ONLY if el == "el6" else EL7_ONLY))
    for path, mode in wanted.items():
        st = os.lstat(root + path)
        assert st.st_mode == mode, (path, oct(st.st_mode))
        assert st.st_uid == 0 and st.st_gid == 0
    with open(root + "/usr/bin/pyha") as f:
        first = f.readline()
    if el == "el7":
        assert first == "#!/usr/bin/python3 -s\n"
        unit = open(root + "/usr/lib/systemd/system/pyha.service").read()
        assert unit == open(os.path.join(TOP, "packaging", "systemd", "pyha.service")).read()
    else:
        assert first == "#!/bin/sh\n"
        assert not open(root + "/usr/share/pyha/bin/pyha").read().startswith("#!")
        init = open(root + "/etc/rc.d/init.d/pyha").read()
        assert init == open(os.path.join(TOP, "packaging", "initscripts", "pyha")).read()
    doc = root + "/usr/share/doc/pyha-%s/examples/ha.d/ha.cf" % VERSION
    assert open(doc).read() == open(os.path.join(TOP, "examples", "ha.d", "ha.cf")).read()
    assert not os.path.exists(root + "/etc/ha.d/ha.cf")
    r = run(["rpm", "--root", root, "--dbpath", "/var/lib/rpm", "-V", "--nodeps", "pyha"])
    assert r.returncode == 0, r.stdout + r.stderr


HEARTBEAT_FILES = {"ha.cf": "node hb1\nnode hb2\n", "haresources": "hb1 192.0.2.160\n",
                   "authkeys": "auth 1\n1 sha1 the-real-cluster-key\n"}


@pytest.mark.parametrize("el", ["el6", "el7"])
def test_a_heartbeat_nodes_files_survive_install_and_erase(rpms, el, tmp_path):
    """Migration and rollback: installing pyha on a heartbeat node leaves its ha.cf,
    haresources and authkeys as they are (no .rpmnew beside them), and `rpm -e pyha`
    leaves them in place (no .rpmsave), so heartbeat starts again after a rollback."""
    root = tmp_path / "root"
    hadir = root / "etc" / "ha.d"
    hadir.mkdir(parents=True)
    for name, text in HEARTBEAT_FILES.items():
        (hadir / name).write_text(text)
    (hadir / "authkeys").chmod(0o600)
    r = scratch_install(rpms[el], str(root))
    assert ".rpmnew" not in r.stdout + r.stderr
    r = run(["rpm", "--root", str(root), "--dbpath", "/var/lib/rpm", "-i", "--nodeps", "--noscripts", rpms[el + ".compat"]])
    assert r.returncode == 0, r.stderr
    assert sorted(os.listdir(str(hadir))) == sorted(list(HEARTBEAT_FILES) + ["resource.d"])
    r = run(["rpm", "--root", str(root), "--dbpath", "/var/lib/rpm", "-e", "--nodeps", "--noscripts",
             "pyha-heartbeat-compat", "pyha"])
    assert r.returncode == 0, r.stderr
    assert ".rpmsave" not in r.stdout + r.stderr
    assert sorted(os.listdir(str(hadir))) == sorted(HEARTBEAT_FILES)  # resource.d was empty: gone
    for name, text in HEARTBEAT_FILES.items():
        assert (hadir / name).read_text() == text
    assert os.stat(str(hadir / "authkeys")).st_mode & 0o777 == 0o600
    assert not os.path.exists(str(root / "usr" / "bin" / "pyha"))


@pytest.fixture(scope="module")
def py36():
    p = python36()
    if p is None:
        pytest.skip("no Python 3.6 here (set PYHA_PY36)")
    return p


@pytest.mark.parametrize("el", ["el6", "el7"])
def test_installed_command_runs_on_python36_with_only_the_bundled_libraries(rpms, el, tmp_path, py36):
    """The installed /usr/bin/pyha, pointed at the scratch root, on CPython 3.6 started with
    -S (no site-packages at all): everything pyha imports comes from the package."""
    root = str(tmp_path / "root")
    scratch_install(rpms[el], root)
    lib = root + LIB
    launcher = root + ("/usr/bin/pyha" if el == "el7" else "/usr/share/pyha/bin/pyha")
    text = open(launcher).read().replace('"%s"' % LIB, '"%s"' % lib)
    with open(launcher, "w") as f:
        f.write(text)
    if el == "el7":
        cmd = [py36, "-S", "-s", launcher]
    else:
        wrapper = root + "/usr/bin/pyha"
        text = open(wrapper).read()
        text = re.sub(r"exec \S+ -s /usr/share/pyha/bin/pyha", "exec %s -S -s %s" % (py36, launcher), text)
        with open(wrapper, "w") as f:
            f.write(text)
        cmd = ["sh", wrapper]
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
    r = run(cmd + ["--version"], env=env, cwd="/")
    assert r.returncode == 0 and r.stdout.strip() == "pyha %s" % VERSION, r.stderr
    for sub in (["daemon", "--help"], ["status", "--help"], ["config", "check", "--help"]):
        r = run(cmd + sub, env=env, cwd="/")
        assert r.returncode == 0, (sub, r.stderr)
    # The whole config path runs: the documented example's placeholder key is found.
    examples = root + "/usr/share/doc/pyha-%s/examples/ha.d" % VERSION
    r = run(cmd + ["config", "check", "--dir", examples, "--json"], env=env, cwd="/")
    assert "authkeys-placeholder" in r.stdout, r.stdout + r.stderr
    # Every bundled library imports on 3.6 from the package, and the guardian starts the
    # way the daemon starts it (sys.executable -m, finding pyha through PYTHONPATH).
    probe = ("import sys; sys.path.insert(0, %r)\n"
             "import typer, click, pyroute2, serial, ntplib, typing_extensions, dataclasses, zipp\n"
             "import importlib_metadata, pyha.daemon.node, pyha.resources.ipaddr\n"
             "from pyroute2 import IPRoute\n"
             "mods = [typer, click, pyroute2, serial, ntplib, typing_extensions, dataclasses, zipp,\n"
             "        importlib_metadata, pyha.daemon.node]\n"
             "bad = [m.__name__ for m in mods if not m.__file__.startswith(%r)]\n"
             "assert not bad, bad\n"
             "print(click.__version__, typer.__version__)\n" % (lib, lib))
    r = run([py36, "-S", "-s", "-c", probe], env=env, cwd="/")
    assert r.returncode == 0 and r.stdout.split() == ["8.0.4", "0.10.0"], r.stderr
    r = run([py36, "-S", "-s", "-m", "pyha.daemon.guardian", "--help"], env=dict(env, PYTHONPATH=lib), cwd="/")
    assert r.returncode == 0 and "pyha-guardian" in r.stdout, r.stderr


def installed_command(root, el, py36, dest):
    """argv running the installed command `dest` (/usr/bin/cl_status...) of the scratch
    root on CPython 3.6 with -S: its launcher pointed at the root's library directory."""
    lib = root + LIB
    name = os.path.basename(dest)
    launcher = root + (dest if el == "el7" else "/usr/share/pyha/bin/" + name)
    text = open(launcher).read().replace('"%s"' % LIB, '"%s"' % lib)
    with open(launcher, "w") as f:
        f.write(text)
    if el == "el7":
        return [py36, "-S", "-s", launcher]
    text = open(root + dest).read()
    text = re.sub(r"exec \S+ -s /usr/share/pyha/bin/%s" % name, "exec %s -S -s %s" % (py36, launcher), text)
    with open(root + dest, "w") as f:
        f.write(text)
    return ["sh", root + dest]


@pytest.mark.parametrize("el", ["el6", "el7"])
def test_installed_heartbeat_tools_run_on_python36(rpms, el, tmp_path, py36):
    """pyha-heartbeat-compat's cl_status, hb_standby and hb_takeover, installed with pyha,
    run from the bundled libraries alone and answer as genuine heartbeat's do when no
    daemon runs (the mixed lab compares them with a running cluster)."""
    root = str(tmp_path / "root")
    scratch_install(rpms[el], root)
    scratch_install(rpms[el + ".compat"], root)
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "PYHA_RUN_DIR": str(tmp_path / "run")}
    cl_status = installed_command(root, el, py36, "/usr/bin/cl_status")
    r = run(cl_status + ["hbstatus"], env=env, cwd="/")
    assert (r.returncode, r.stdout) == (1, "Heartbeat is stopped on this machine.\n"), r.stderr
    r = run(cl_status + ["rscstatus"], env=env, cwd="/")
    assert r.returncode == 1 and "ERROR: Cannot signon with heartbeat" in r.stderr, r.stderr
    r = run(cl_status, env=env, cwd="/")
    assert r.returncode == 0 and r.stdout.startswith("Usage: cl_status <sub-command>"), r.stderr
    for tool in ("hb_standby", "hb_takeover"):
        argv = installed_command(root, el, py36, "/usr/share/heartbeat/" + tool)
        r = run(argv + ["bogus"], env=env, cwd="/")
        assert r.returncode == 1 and "wrong resources(bogus)." in r.stdout, (r.stdout, r.stderr)
        assert r.stderr.endswith(" [all|foreign|local|failback]\n")
        r = run(argv + ["local"], env=env, cwd="/")
        assert r.returncode == 1 and "pyha is not running on this node" in r.stderr, r.stderr


@pytest.mark.skipif(shutil.which("systemd-tmpfiles") is None, reason="systemd-tmpfiles is not installed")
def test_installed_tmpfiles_entry(rpms, tmp_path):
    root = str(tmp_path / "root")
    scratch_install(rpms["el7"], root)
    r = run(["systemd-tmpfiles", "--root=%s" % root, "--create", "pyha.conf"])
    assert r.returncode == 0, r.stderr
    assert stat.S_ISDIR(os.stat(root + "/run/pyha").st_mode)
