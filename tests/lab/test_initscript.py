"""The EL6 SysV script (packaging/initscripts/pyha) for real, and contrib/nginx.

One lone node (HA1 of the reference scenario, with its gateway and the client) in
network namespaces, a valid /etc/ha.d made from examples/ha.d, and the script run inside
the node exactly as rc would run it, with the paths it reads from a sysconfig file
(PYHA_SYSCONFIG): `PYHA_BIN` is a two-line wrapper running this interpreter's pyha, the
lock directory is the node's private /run/lock/subsys, and no EL functions file exists
(this is Debian), so the script's fallback output is exercised.  The daemon must really
start and answer `pyha status`.

The daemon runs with --no-resources (PYHA_OPTIONS): nothing here may add the VIP or start
nginx behind the test's back.  The nginx test serves contrib/nginx/pyha.conf itself.
"""

import json
import os
import shutil
import subprocess
import sys
import time

import pytest

from labutil import pyha_env, wait_until
from pyha.lab import reference_spec

LAB_TAG = "sysv"  # unique among tests/lab modules (the prefix names the namespaces)
pytestmark = pytest.mark.lab

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SOURCE_SCRIPT = os.path.join(TOP, "packaging", "initscripts", "pyha")
# The script runs from the node's private /run: the checkout itself may be under /tmp,
# which every lab node replaces with its own.
SCRIPT = "/run/pyha-test/initscript"
NGINX_DIR = os.path.join(TOP, "contrib", "nginx")
PYHA_BIN = "/run/pyha-test/pyha"           # paths inside the node (its private /run)
SYSCONFIG = "/run/pyha-test/sysconfig"
PIDFILE = "/run/pyha/pyha.pid"
LOCKFILE = "/run/lock/subsys/pyha"


def LAB_SPEC():
    return reference_spec(nodes=("HA1",))


@pytest.fixture(scope="module")
def node(lab):
    """HA1 with a valid /etc/ha.d, the pyha wrapper and the sysconfig file."""
    n = lab.node("HA1")
    for name in ("ha.cf", "haresources", "authkeys"):
        shutil.copy(os.path.join(TOP, "examples", "ha.d", name), n.host_path("/etc/ha.d/" + name))
    os.chmod(n.host_path("/etc/ha.d/authkeys"), 0o600)
    os.makedirs(n.host_path("/run/pyha-test"), exist_ok=True)
    shutil.copy(SOURCE_SCRIPT, n.host_path(SCRIPT))
    os.chmod(n.host_path(SCRIPT), 0o755)
    env = pyha_env()
    with open(n.host_path(PYHA_BIN), "w") as f:
        f.write("#!/bin/sh\nPYTHONPATH='%s'\nexport PYTHONPATH\nexec '%s' -m pyha \"$@\"\n"
                % (env["PYTHONPATH"], sys.executable))
    os.chmod(n.host_path(PYHA_BIN), 0o755)
    write_sysconfig(n)
    check = n.exec([PYHA_BIN, "config", "check"], env=env)
    assert check.returncode == 0, check.stdout + check.stderr
    yield n
    script(n, "stop")


def write_sysconfig(n, **extra):
    settings = {"PYHA_BIN": PYHA_BIN, "PYHA_LOCK_DIR": "/run/lock/subsys", "PYHA_FUNCTIONS": "/nonexistent",
                "PYHA_OPTIONS": "--no-resources", "PYHA_START_TIMEOUT": "20", "PYHA_STOP_TIMEOUT": "20"}
    settings.update(extra)
    with open(n.host_path(SYSCONFIG), "w") as f:
        f.writelines('%s="%s"\n' % kv for kv in sorted(settings.items()))


def script(n, action, env_extra=None, timeout=60):
    env = {"PATH": pyha_env()["PATH"], "LANG": "C.UTF-8", "PYHA_SYSCONFIG": SYSCONFIG}
    env.update(env_extra or {})
    return n.exec([SCRIPT, action], env=env, timeout=timeout)


def read_pid(n):
    with open(n.host_path(PIDFILE)) as f:
        return int(f.read())


def host_pid(n, pid):
    """The host PID of the node's process `pid` (the node has its own PID namespace)."""
    for hp in n.processes():
        try:
            with open("/proc/%d/status" % hp) as f:
                for line in f:
                    if line.startswith("NSpid:") and int(line.split()[-1]) == pid:
                        return hp
        except OSError:
            continue
    return None


def test_start_status_stop_cycle(node):
    r = script(node, "status")
    assert r.returncode == 3 and "stopped" in r.stdout, r

    t0 = time.monotonic()
    r = script(node, "start")
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert time.monotonic() - t0 < 15
    pid = read_pid(node)
    assert host_pid(node, pid) is not None
    assert os.path.exists(node.host_path(LOCKFILE))

    # The daemon really runs: it answers `pyha status` (and the script shows that).
    # A lone node is running but degraded (its peer is not heard): `pyha status` exits 1
    # with the reasons, and the script's LSB status stays 0 (running).
    st = node.exec([PYHA_BIN, "status", "--json"], env=pyha_env())
    assert st.returncode == 1, st.stderr
    health = json.loads(st.stdout)["health"]
    assert health["state"] == "degraded" and health["exit_code"] == 1
    assert [p for p in health["problems"] if p.startswith("peer ha2 is ")], health
    r = script(node, "status")
    assert r.returncode == 0, r
    assert "(pid %d) is running" % pid in r.stdout
    assert "on ha1" in r.stdout  # `pyha status` output, indented

    # LSB: start on a running service succeeds and changes nothing.
    r = script(node, "start")
    assert r.returncode == 0 and "already running" in r.stdout
    assert read_pid(node) == pid

    r = script(node, "stop")
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert not os.path.exists(node.host_path(PIDFILE))
    assert not os.path.exists(node.host_path(LOCKFILE))
    assert wait_until(lambda: host_pid(node, pid) is None, 5)[0]
    r = script(node, "status")
    assert r.returncode == 3, r
    st = node.exec([PYHA_BIN, "status"], env=pyha_env())
    assert st.returncode == 3, (st.stdout, st.stderr)  # `pyha status`: not running
    # LSB: stop on a stopped service succeeds.
    r = script(node, "stop")
    assert r.returncode == 0 and "not running" in r.stdout


def test_restart_and_try_restart(node):
    r = script(node, "try-restart")
    assert r.returncode == 0 and not os.path.exists(node.host_path(PIDFILE))  # not running: nothing
    assert script(node, "start").returncode == 0
    first = read_pid(node)
    for action in ("restart", "condrestart"):
        r = script(node, action)
        assert r.returncode == 0, (action, r.stdout, r.stderr)
        pid = read_pid(node)
        assert pid != first
        first = pid
    assert script(node, "status").returncode == 0
    assert script(node, "stop").returncode == 0


def test_stale_pid_file_and_stale_lock(node):
    assert script(node, "status").returncode == 3
    # A pid file naming a dead process: status 1.  Its pid is surely unused in the node.
    with open(node.host_path(PIDFILE), "w") as f:
        f.write("4194000\n")
    r = script(node, "status")
    assert r.returncode == 1 and "dead but pid file exists" in r.stdout, r
    # A live process that is not pyha (the node's init): still dead, and stop must not
    # signal it.
    with open(node.host_path(PIDFILE), "w") as f:
        f.write("1\n")
    assert script(node, "status").returncode == 1
    r = script(node, "stop")
    assert r.returncode == 0 and node.is_running()
    # Only the subsys lock left (daemon killed, pid file cleaned): status 2.
    with open(node.host_path(LOCKFILE), "w"):
        pass
    r = script(node, "status")
    assert r.returncode == 2 and "subsys locked" in r.stdout, r
    # start clears both and works.
    with open(node.host_path(PIDFILE), "w") as f:
        f.write("4194000\n")
    assert script(node, "start").returncode == 0
    assert script(node, "status").returncode == 0
    assert script(node, "stop").returncode == 0
    assert script(node, "status").returncode == 3


def test_start_fails_fast_with_the_diagnostics(node):
    path = node.host_path("/etc/ha.d/ha.cf")
    good = open(path).read()
    try:
        with open(path, "w") as f:
            f.write(good.replace("keepalive 2", "keeplive 2"))
        t0 = time.monotonic()
        r = script(node, "start")
        assert r.returncode == 1, (r.stdout, r.stderr)
        assert time.monotonic() - t0 < 15  # the daemon's exit is noticed, no timeout wait
        assert "FAILED" in r.stdout
        assert "keeplive" in r.stderr  # pyha's own diagnostic, from daemon.out
        assert not os.path.exists(node.host_path(LOCKFILE))
        assert script(node, "status").returncode == 3
    finally:
        with open(path, "w") as f:
            f.write(good)


def test_usage_and_privileges(node):
    r = script(node, "frobnicate")
    assert r.returncode == 2 and "Usage:" in r.stdout
    if shutil.which("setpriv"):
        r = node.exec(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", SCRIPT, "stop"],
                      env={"PATH": pyha_env()["PATH"], "PYHA_SYSCONFIG": SYSCONFIG})
        assert r.returncode == 4, (r.stdout, r.stderr)


def test_el_functions_are_used_when_present(node):
    funcs = node.host_path("/run/pyha-test/functions")
    with open(funcs, "w") as f:
        f.write('success() { echo -n "[  OK  ]"; }\nfailure() { echo -n "[FAILED]"; }\n')
    try:
        write_sysconfig(node, PYHA_FUNCTIONS="/run/pyha-test/functions")
        r = script(node, "start")
        assert r.returncode == 0 and "[  OK  ]" in r.stdout, r
        r = script(node, "stop")
        assert r.returncode == 0 and "[  OK  ]" in r.stdout, r
    finally:
        write_sysconfig(node)
        script(node, "stop")


def test_managing_daemon_stops_with_its_guardian(node):
    """With resources managed the daemon starts its guardian; a SysV stop (SIGTERM to the
    daemon only, like systemd's KillMode=process) must leave no pyha process behind.
    Nothing is taken over: initdead (60 s in the example) is far longer than this test."""
    write_sysconfig(node, PYHA_OPTIONS="")
    try:
        before = set(node.processes())
        assert script(node, "start").returncode == 0
        pid = read_pid(node)
        cmdlines = [open("/proc/%d/cmdline" % p).read() for p in set(node.processes()) - before
                    if os.path.exists("/proc/%d" % p)]
        assert any("pyha.daemon.guardian" in c for c in cmdlines), cmdlines
        assert script(node, "stop").returncode == 0
        left, _ = wait_until(lambda: not (set(node.processes()) - before), 10)
        assert left, [open("/proc/%d/cmdline" % p).read() for p in set(node.processes()) - before]
        assert host_pid(node, pid) is None
        assert node.addresses("eth0") == ["192.0.2.161/24"]  # no VIP appeared
    finally:
        write_sysconfig(node)
        script(node, "stop")


def test_reload_keeps_the_daemon_running(node):
    assert script(node, "start").returncode == 0
    try:
        pid = read_pid(node)
        r = script(node, "reload")
        assert r.returncode == 0
        time.sleep(1.0)
        assert script(node, "status").returncode == 0
        assert read_pid(node) == pid
    finally:
        script(node, "stop")
        if os.path.exists(node.host_path(PIDFILE)) and script(node, "status").returncode == 1:
            os.unlink(node.host_path(PIDFILE))


def test_reload_when_stopped_is_lsb_7(node):
    assert script(node, "status").returncode == 3
    assert script(node, "reload").returncode == 7


# -- contrib/nginx ------------------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is not installed")
def test_contrib_nginx_serves_the_node_name(lab, node):
    """contrib/nginx/pyha.conf as shipped (only its document root moved into the node's
    private /run), inside a minimal nginx.conf; the client reads HA1's name from it."""
    conf = open(os.path.join(NGINX_DIR, "pyha.conf")).read()
    assert "root /var/www/pyha;" in conf
    base = "/run/pyha-test/nginx"
    hbase = node.host_path(base)
    os.makedirs(hbase + "/www", exist_ok=True)
    shutil.copy(os.path.join(NGINX_DIR, "index.html"), hbase + "/www/index.html")
    with open(hbase + "/pyha.conf", "w") as f:
        f.write(conf.replace("root /var/www/pyha;", "root %s/www;" % base))
    temp = "".join("    %s_temp_path %s/%s;\n" % (t, base, t) for t in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    with open(hbase + "/nginx.conf", "w") as f:
        f.write("pid %(b)s/nginx.pid;\nerror_log %(b)s/error.log;\nevents {}\nhttp {\n"
                "    include /etc/nginx/mime.types;\n    access_log off;\n%(t)s"
                "    include %(b)s/pyha.conf;\n}\n" % {"b": base, "t": temp})
    test = node.exec(["nginx", "-t", "-e", base + "/error.log", "-c", base + "/nginx.conf"])
    assert test.returncode == 0, test.stderr
    proc = node.spawn(["nginx", "-e", base + "/error.log", "-c", base + "/nginx.conf", "-g", "daemon off;"],
                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def fetch():
            r = lab.node("client").exec(["curl", "-s", "-m", "2", "http://192.0.2.161/"], timeout=10)
            return r.stdout if r.returncode == 0 else None
        page, _ = wait_until(fetch, 10, step=0.2)
        assert page, open(hbase + "/error.log").read()
        # nginx's $hostname is `uname -n` in lower case
        assert "<h1>ha1</h1>" in page
        assert "served by node ha1" in page
        assert "<!--#" not in page  # SSI processed
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def test_two_starts_at_once_make_one_daemon(node):
    """A double `service pyha start` (two admins, a config tool and a human): the pid file
    lock lets one daemon run; the other start finds it and reports success, as LSB wants."""
    env = {"PATH": pyha_env()["PATH"], "LANG": "C.UTF-8", "PYHA_SYSCONFIG": SYSCONFIG}
    starts = [node.spawn([SCRIPT, "start"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         universal_newlines=True) for _ in range(2)]
    outputs = [p.communicate(timeout=60)[0] for p in starts]
    assert [p.returncode for p in starts] == [0, 0], outputs
    pid = read_pid(node)
    daemons = [hp for hp in node.processes() if b"daemon" in open("/proc/%d/cmdline" % hp, "rb").read()
               and b"pyha" in open("/proc/%d/cmdline" % hp, "rb").read()]
    assert daemons == [host_pid(node, pid)], outputs
    # The loser said why in its output file only if it was launched; either way one runs.
    # it answers: degraded (1), the lone node's peer is never heard
    assert node.exec([PYHA_BIN, "status"], env=pyha_env()).returncode == 1
    assert script(node, "stop").returncode == 0
    assert script(node, "status").returncode == 3
