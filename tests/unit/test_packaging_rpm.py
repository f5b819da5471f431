"""The RPMs themselves: `packaging/rpm/build.sh` builds EL6 and EL7 offline, rpmlint has no
error, and the packages hold the right files, modes, flags, scriptlets and requirements;
installed into a scratch root, the files land with the right modes and the bundled
libraries run pyha on Python 3.6 without anything from site-packages.

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
    """{"el6": path, "el7": path, "el6.src": path, "el7.src": path} built once."""
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
    "/etc/ha.d/ha.cf": 0o100644,
    "/etc/ha.d/haresources": 0o100644,
    "/etc/ha.d/authkeys": 0o100600,
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
}
EL7_ONLY = {
    "/usr/lib/systemd/system/pyha.service": 0o100644,
    "/usr/lib/tmpfiles.d/pyha.conf": 0o100644,
    "/etc/modules-load.d/softdog.conf": 0o100644,
}
NOREPLACE = ["/etc/ha.d/ha.cf", "/etc/ha.d/haresources", "/etc/ha.d/authkeys", "/etc/sysconfig/pyha",
             "/etc/logrotate.d/pyha", "/etc/modprobe.d/softdog.conf"]


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


@pytest.mark.parametrize("el", ["el6", "el7"])
def test_requirements(rpms, el):
    req = rpmq(rpms[el], "--requires").splitlines()
    assert "logrotate" in req
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
    calls = simulate(s, tmp_path, {"systemctl": "", "systemd-tmpfiles": ""})
    assert calls("POSTIN", 1) == ["systemctl preset pyha.service", "systemd-tmpfiles --create /usr/lib/tmpfiles.d/pyha.conf"]
    assert calls("POSTIN", 2) == ["systemd-tmpfiles --create /usr/lib/tmpfiles.d/pyha.conf"]
    assert calls("PREUN", 0) == ["systemctl --no-reload disable pyha.service", "systemctl stop pyha.service"]
    assert calls("PREUN", 1) == []
    assert calls("POSTUN", 1) == ["systemctl daemon-reload", "systemctl try-restart pyha.service"]
    assert calls("POSTUN", 0) == ["systemctl daemon-reload"]


def test_el6_scriptlets_call_chkconfig(rpms, tmp_path):
    s = scriptlets(rpms["el6"])
    text = "\n".join(s.values())
    assert "%" + "{" not in text and "systemctl" not in text
    assert "/sbin/chkconfig --add pyha" in s["POSTIN"]
    assert "/sbin/service pyha stop" in s["PREUN"] and "/sbin/chkconfig --del pyha" in s["PREUN"]
    assert "/sbin/service pyha condrestart" in s["POSTUN"]
    calls = simulate(s, tmp_path, {"chkconfig": "/sbin/", "service": "/sbin/"})
    assert calls("POSTIN", 1) == ["chkconfig --add pyha"]
    assert calls("PREUN", 0) == ["service pyha stop", "chkconfig --del pyha"]
    assert calls("PREUN", 1) == []
    assert calls("POSTUN", 1) == ["service pyha condrestart"]
    assert calls("POSTUN", 0) == []


def simulate(scripts, tmp_path, fakes):
    """calls(tag, arg) runs scriptlet `tag` with $1=arg, commands in `fakes` replaced by
    loggers (prefix: the absolute directory the scriptlet names them with, or "" for PATH
    lookup); the interpreter and library paths point into tmp_path, so nothing on this
    machine is touched.  Returns the logged command lines."""
    bindir = tmp_path / "fakebin"
    bindir.mkdir(exist_ok=True)
    log = tmp_path / "calls"
    for name in fakes:
        (bindir / name).write_text('#!/bin/sh\necho "%s $*" >> "%s"\n' % (name, log))
        (bindir / name).chmod(0o755)
    (bindir / "python3").write_text("#!/bin/sh\nexit 0\n")
    (bindir / "python3").chmod(0o755)

    def calls(tag, arg):
        text = scripts[tag]
        for name, prefix in fakes.items():
            if prefix:
                text = text.replace(prefix + name, str(bindir / name))
        text = text.replace("/usr/bin/python3", str(bindir / "python3"))
        text = re.sub(r"/opt/rh/[^ ]*/python3", str(bindir / "python3"), text)
        text = text.replace(LIB, str(tmp_path / "nolib"))
        if log.exists():
            log.unlink()
        r = run(["sh", "-c", text, tag, str(arg)],
                env={"PATH": "%s:/usr/bin:/bin" % bindir})
        assert r.returncode == 0, (tag, arg, r.stderr)
        return log.read_text().splitlines() if log.exists() else []
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
    assert open(root + "/etc/ha.d/ha.cf").read() == open(os.path.join(TOP, "examples", "ha.d", "ha.cf")).read()
    r = run(["rpm", "--root", root, "--dbpath", "/var/lib/rpm", "-V", "--nodeps", "pyha"])
    assert r.returncode == 0, r.stdout + r.stderr


def test_existing_authkeys_is_never_overwritten(rpms, tmp_path):
    """A node that ran heartbeat has its own authkeys: it stays, the example goes to .rpmnew."""
    root = tmp_path / "root"
    (root / "etc" / "ha.d").mkdir(parents=True)
    mine = root / "etc" / "ha.d" / "authkeys"
    mine.write_text("auth 1\n1 sha1 the-real-cluster-key\n")
    mine.chmod(0o600)
    r = scratch_install(rpms["el7"], str(root))
    assert "authkeys.rpmnew" in r.stderr
    assert mine.read_text() == "auth 1\n1 sha1 the-real-cluster-key\n"
    assert os.stat(str(mine)).st_mode & 0o777 == 0o600
    assert os.stat(str(root / "etc" / "ha.d" / "authkeys.rpmnew")).st_mode & 0o777 == 0o600


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
    # The whole config path runs: the shipped example's placeholder key is found.
    r = run(cmd + ["config", "check", "--dir", root + "/etc/ha.d", "--json"], env=env, cwd="/")
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


@pytest.mark.skipif(shutil.which("systemd-tmpfiles") is None, reason="systemd-tmpfiles is not installed")
def test_installed_tmpfiles_entry(rpms, tmp_path):
    root = str(tmp_path / "root")
    scratch_install(rpms["el7"], root)
    r = run(["systemd-tmpfiles", "--root=%s" % root, "--create", "pyha.conf"])
    assert r.returncode == 0, r.stderr
    assert stat.S_ISDIR(os.stat(root + "/run/pyha").st_mode)
