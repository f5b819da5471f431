"""`pyha timesync` against a real NTP server: chronyd in one network namespace, pyha in
another, over 198.51.100.0/24.

    client 198.51.100.2 --veth-- 198.51.100.1 server (chronyd -d -x: serves, never steers the clock)

Names `pyhafwt<pid>{s,c}`, leftovers of dead runs removed first; chronyd is started here
and stopped by its PID.  The clock is never set: the --set path runs the library with a
fake clock setter (see each test's docstring), and the CLI is only run without --set.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import pytest

pytestmark = pytest.mark.lab

PID = os.getpid()
BASE = "pyhafwt"
SERVER, CLIENT = ["%s%d%s" % (BASE, PID, s) for s in ("s", "c")]
SERVER_IP, CLIENT_IP = "198.51.100.1", "198.51.100.2"
_LEFTOVER = re.compile(r"^%s(\d+)[a-z]$" % BASE)

CLI = textwrap.dedent("""
    import sys
    from pyha.cli import main, hostsetup_cmd
    if "timesync" not in [c.name for c in main.app.registered_commands]:
        hostsetup_cmd.register(main.app)
    sys.argv[0] = "pyha"
    main.main()
""")


def sh(*argv, **kw):
    kw.setdefault("timeout", 60)
    return subprocess.run(list(argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, **kw)


def env():
    e = dict(os.environ)
    e["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    return e


def in_ns(ns, *argv, **kw):
    return sh("ip", "netns", "exec", ns, *argv, env=env(), **kw)


def run_py(ns, code, *args):
    out = in_ns(ns, sys.executable, "-c", textwrap.dedent(code), *args)
    assert out.returncode == 0, out.stderr
    return out.stdout


def pyha(*args):
    return in_ns(CLIENT, sys.executable, "-c", CLI, *args)


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def cleanup_leftovers():
    for line in sh("ip", "netns", "list").stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        m = _LEFTOVER.match(name)
        if m and (int(m.group(1)) == PID or not _pid_alive(int(m.group(1)))):
            sh("ip", "netns", "del", name)


def must(*argv):
    out = sh(*argv)
    assert out.returncode == 0, "%s: %s" % (" ".join(argv), out.stderr)


@pytest.fixture(scope="module")
def ntp(tmp_path_factory):
    chronyd = shutil.which("chronyd") or ("/usr/sbin/chronyd" if os.path.exists("/usr/sbin/chronyd") else None)
    if chronyd is None:
        pytest.skip("chronyd is not installed")
    cleanup_leftovers()
    work = tmp_path_factory.mktemp("chrony")
    os.chmod(str(work), 0o755)  # chronyd may drop privileges to _chrony
    conf = work / "chrony.conf"
    conf.write_text("allow 198.51.100.0/24\nlocal stratum 8\nport 123\ncmdport 0\n"
                    "pidfile %s\n" % (work / "chronyd.pid"))
    proc = None
    try:
        for ns in (SERVER, CLIENT):
            must("ip", "netns", "add", ns)
            must("ip", "-n", ns, "link", "set", "lo", "up")
        must("ip", "-n", SERVER, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", CLIENT)
        for ns, addr in ((SERVER, SERVER_IP), (CLIENT, CLIENT_IP)):
            must("ip", "-n", ns, "addr", "add", addr + "/24", "dev", "eth0")
            must("ip", "-n", ns, "link", "set", "eth0", "up")
        log = open(str(work / "chronyd.log"), "w")
        proc = subprocess.Popen(["ip", "netns", "exec", SERVER, chronyd, "-d", "-x", "-f", str(conf)],
                                stdout=log, stderr=subprocess.STDOUT)
        log.close()
        # wait until it answers (monotonic deadline)
        deadline = time.monotonic() + 15
        while True:
            out = in_ns(CLIENT, sys.executable, "-c", "import ntplib; ntplib.NTPClient().request("
                        "'%s', version=3, timeout=0.5)" % SERVER_IP)
            if out.returncode == 0:
                break
            assert proc.poll() is None, "chronyd exited: %s" % (work / "chronyd.log").read_text()
            assert time.monotonic() < deadline, "chronyd does not answer: %s" % out.stderr
            time.sleep(0.2)
        yield work
    finally:
        if proc is not None:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGTERM)  # by PID: `ip netns exec` exec()s chronyd itself
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        for ns in (SERVER, CLIENT):
            sh("ip", "netns", "del", ns)
        left = [l for l in sh("ip", "netns", "list").stdout.splitlines() if l.startswith("%s%d" % (BASE, PID))]
        assert not left, "namespaces left behind: %s" % left
        if proc is not None:
            assert proc.poll() is not None, "chronyd still running"


def test_query_reports_offset_delay_stratum(ntp, tmp_path):
    res = pyha("timesync", "--server", SERVER_IP, "--run-dir", str(tmp_path))
    assert res.returncode == 0, res.stderr
    line = res.stdout.splitlines()[0]
    m = re.match(r"^\* 198\.51\.100\.1: offset ([+-]\d+\.\d+) s, delay (\d+\.\d+) s, stratum 8$", line)
    assert m, res.stdout
    assert abs(float(m.group(1))) < 0.05 and float(m.group(2)) < 0.5  # same kernel clock on both sides
    assert "daemon not running, no peer skew" in res.stdout

    data = json.loads(pyha("timesync", "--server", SERVER_IP, "--server", "198.51.100.9", "--timeout", "1",
                           "--json", "--run-dir", str(tmp_path)).stdout)
    assert data["chosen"] == SERVER_IP
    good, bad = data["servers"]
    assert good["ok"] and good["stratum"] == 8 and good["leap"] == 0
    assert not bad["ok"] and "No response" in bad["error"]


def test_no_server_answers_exits_1(ntp, tmp_path):
    res = pyha("timesync", "--server", "198.51.100.9", "--timeout", "1", "--run-dir", str(tmp_path))
    assert res.returncode == 1
    assert "no synchronised NTP server answered" in res.stderr


def test_set_steps_by_the_measured_offset_with_a_fake_setter(ntp):
    """Real NTP exchange with chronyd, but the *client* believes its clock is 100 s behind
    (ntplib's view of time.time() is shifted), and the clock setter is a fake that records
    the offset: the machine's wall clock is shared with everything and is never changed."""
    out = run_py(CLIENT, """
        import json, time
        import ntplib
        from pyha.host import timesync as ts

        class Shifted(object):
            def __getattr__(self, name):
                return getattr(time, name)
            def time(self):
                return time.time() - 100.0

        ntplib.time = Shifted()
        steps = []
        host = ts.TimeHost(step_clock=steps.append)
        host.ntp_daemons = lambda: []
        r = ts.timesync(["%s"], set_clock=True, threshold=0.5, control_socket="/nonexistent", host=host)
        small = ts.timesync(["%s"], set_clock=True, threshold=200, control_socket="/nonexistent", host=host)
        print(json.dumps({"steps": steps, "step": r.step, "small": small.step}))
    """ % (SERVER_IP, SERVER_IP))
    data = json.loads(out)
    assert len(data["steps"]) == 1 and abs(data["steps"][0] - 100.0) < 0.5
    assert data["step"]["stepped"] is True and data["step"]["server"] == SERVER_IP
    assert data["small"]["stepped"] is False and "within the 200.000 s threshold" in data["small"]["reason"]


def test_timezone_under_root_through_the_cli(ntp, tmp_path):
    if not os.path.isfile("/usr/share/zoneinfo/Asia/Shanghai"):
        pytest.skip("no tzdata")
    root = tmp_path / "root"
    (root / "etc" / "sysconfig").mkdir(parents=True)
    (root / "etc" / "redhat-release").write_text("CentOS release 6.10 (Final)\n")
    (root / "etc" / "sysconfig" / "clock").write_text('ZONE="America/New_York"\nUTC=true\n')
    args = ("timesync", "--server", SERVER_IP, "--timezone", "Asia/Shanghai", "--root", str(root),
            "--run-dir", str(tmp_path))
    res = pyha(*args)
    assert res.returncode == 0, res.stderr
    assert "done      copy zone file: %s/etc/localtime" % root in res.stdout
    assert (root / "etc" / "sysconfig" / "clock").read_text() == 'ZONE="Asia/Shanghai"\nUTC=true\n'
    with open("/usr/share/zoneinfo/Asia/Shanghai", "rb") as f:
        assert (root / "etc" / "localtime").read_bytes() == f.read()
    again = pyha(*args)
    assert "unchanged copy zone file" in again.stdout and "unchanged set ZONE" in again.stdout
