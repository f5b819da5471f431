"""The CTS harness's pure parts: the log collector's re-framing, CTS's view of /etc/ha.d,
the node commands per daemon, and reading CTS's summary (issue 17)."""

import re
import subprocess

import pytest

from pyha.lab import cts
from pyha.lab.cts_log import Collector, syslog_line


def test_syslog_lines_keep_their_text_and_get_the_cts_host():
    line = "Dec 06 21:47:22 HA1 heartbeat: [156]: info: Heartbeat shutdown complete."
    assert syslog_line(line, "ha1") == "Dec 06 21:47:22 ha1 heartbeat: [156]: info: Heartbeat shutdown complete."
    out = syslog_line("Dec  6 01:02:03 HA2 pyha: [7]: WARN: node ha1: is dead", "ha2")
    assert out == "Dec  6 01:02:03 ha2 pyha: [7]: WARN: node ha1: is dead"
    # CTS's pattern for a stop, as CM_hb has it
    assert re.search("%s heartbeat.*Heartbeat shutdown complete" % "ha1", syslog_line(line, "ha1"))


def test_resource_script_lines_get_a_syslog_date_and_host():
    line = "2026/12/06_21:47:22  harc(default)[172]:    info: Running /etc/ha.d//rc.d/status status"
    assert syslog_line(line, "ha1") == "Dec 06 21:47:22 ha1 harc(default)[172]: info: Running /etc/ha.d//rc.d/status status"


def test_other_lines_get_the_time_given_and_host():
    assert syslog_line("Traceback (most recent call last):", "ha2", now=0).endswith(
        " ha2 Traceback (most recent call last):")


def test_collector_follows_files_from_their_end_and_across_truncation(tmp_path):
    a, b, out = tmp_path / "a.log", tmp_path / "b.log", tmp_path / "all.log"
    a.write_text("Dec 06 21:00:00 HA1 pyha: [1]: info: before the run\n")
    c = Collector({"ha1": str(a), "ha2": str(b)}, str(out))
    with open(str(a), "a") as f:
        f.write("Dec 06 21:00:01 HA1 pyha: [1]: info: one\nDec 06 21:00:02 HA1 pyha: [1]: info: hal")
    assert c.poll() == 1
    with open(str(a), "a") as f:
        f.write("f\n")
    b.write_text("Dec 06 21:00:03 HA2 heartbeat: [2]: info: two\n")
    assert c.poll() == 2
    a.write_text("Dec 06 21:00:04 HA1 pyha: [3]: info: rotated\n")
    assert c.poll() == 1
    assert out.read_text().splitlines() == [
        "Dec 06 21:00:01 ha1 pyha: [1]: info: one",
        "Dec 06 21:00:02 ha1 pyha: [1]: info: half",
        "Dec 06 21:00:03 ha2 heartbeat: [2]: info: two",
        "Dec 06 21:00:04 ha1 pyha: [3]: info: rotated",
    ]


def test_cts_reads_lower_case_nodes_and_an_ipaddr_resource():
    hacf = "# c\nkeepalive 2\nnode HA1\nnode HA2 # two\nauto_failback on\n"
    hares = "# groups\nHA1 192.0.2.160/24/eth0 nginx\n"
    got = cts.cts_hadir(hacf, hares)
    assert "node ha1" in got["ha.cf"].splitlines() and "node ha2" in got["ha.cf"].splitlines()
    assert "keepalive 2" in got["ha.cf"] and "auto_failback on" in got["ha.cf"]
    assert "ha1 IPaddr::192.0.2.160/24/eth0 nginx" in got["haresources"].splitlines()


def test_cts_timings_replace_the_profile_ones():
    text = cts.cts_timings("keepalive 50ms\ndeadtime 200ms\nwarntime 150ms\ninitdead 2\nnode HA1\n")
    assert text.splitlines() == ["keepalive 500ms", "deadtime 2", "warntime 1500ms", "initdead 4", "node HA1"]
    assert "initdead 4" in cts.cts_timings("node HA1\n")


def test_node_commands_per_daemon():
    hb = cts.cm_settings("heartbeat", 2000, 4000, "/w/cts-comm")
    assert hb["StopCmd"] == "/usr/libexec/heartbeat/heartbeat -k"
    assert hb["BreakCommCmd"] == "@local /w/cts-comm break {node}"
    py = cts.cm_settings("pyha", 2000, 4000, "/w/cts-comm")
    assert py["StartCmd"].startswith(cts.NODE_DIR + "/pyhactl start")
    assert py["Standby"].split()[0] == "/bin/sh"  # CTS checks it is executable locally
    assert py["DeadTime"] >= 5 and py["StableTime"] >= 5
    with pytest.raises(ValueError):
        cts.cm_settings("keepalived", 2000, 4000, "/w/cts-comm")


def test_rewrites_name_pyhas_process_and_the_nodes_logfile():
    rw = [(re.compile(p), r) for p, r in cts.rewrites("pyha", "/var/log/ha-log")]

    def apply(cmd):
        for p, r in rw:
            cmd = p.sub(r, cmd)
        return cmd

    assert apply("killall -9 heartbeat") == "kill -9 $(cat /run/pyha/pyha.pid)"
    logged = apply("logger -p local0.info Test message from ha1")
    assert logged.endswith('logger: Test message from ha1" >> /var/log/ha-log')
    hb = [(re.compile(p), r) for p, r in cts.rewrites("heartbeat", "/var/log/ha-log")]
    cmd = "killall -9 /usr/lib/heartbeat/ccm /usr/lib/heartbeat/ipfail >/dev/null 2>&1; true"
    for p, r in hb:
        cmd = p.sub(r, cmd)
    assert cmd == "killall -9 /usr/libexec/heartbeat/ccm /usr/libexec/heartbeat/ipfail >/dev/null 2>&1; true"


OUTPUT = """Dec 06 21:55:28\tRandom seed is: 7
Dec 06 21:58:45\tOverall Results:{'failure': 1, 'success': 2, 'BadNews': 9, 'auditfail': 1}
Dec 06 21:58:45\tDetailed Results
Dec 06 21:58:45\tTest Flip: \t{'skipped': 0, 'calls': 1, 'success': 1, 'auditfail': 0, 'failure': 0}
Dec 06 21:58:45\tTest Split_brain: \t{'skipped': 0, 'calls': 2, 'success': 1, 'auditfail': 1, 'failure': 1}
"""


def test_parse_output_and_the_side_by_side_report():
    got = cts.parse_output(OUTPUT)
    assert got["seed"] == "7" and got["overall"]["BadNews"] == 9
    assert got["tests"]["Split_brain"]["failure"] == 1
    bad = dict(got, kind="pyha", iterations=3, returncode=1, duration_s=10)
    good = {"kind": "heartbeat", "iterations": 3, "seed": "7", "returncode": 0, "duration_s": 12,
            "overall": {"failure": 0, "success": 3, "BadNews": 2}, "tests": {"Flip": {"calls": 3, "success": 3, "failure": 0}}}
    assert cts.verdict(good) and not cts.verdict(bad)
    table = cts.side_by_side([good, bad])
    rows = {line.split()[0]: line for line in table.splitlines()}
    assert "3 run: 3 ok / 0 failed" in rows["Flip"] and "1 run: 1 ok / 0 failed" in rows["Flip"]
    assert rows["Split_brain"].split()[1] == "-" and "2 run: 1 ok / 1 failed / 1 audit" in rows["Split_brain"]
    assert rows["verdict"].split()[1:] == ["PASS", "FAIL"]
    assert "no summary" in cts.side_by_side([{"kind": "pyha", "error": "lab did not come up"}])


def test_driver_is_valid_python_2_and_3_syntax():
    with open(cts.DRIVER) as f:
        compile(f.read(), cts.DRIVER, "exec")
    py2 = cts.find_python2()
    if py2 is None:
        pytest.skip("no Python 2.7 here")
    r = subprocess.run([py2, "-B", "-c", "import ast,sys; ast.parse(open(sys.argv[1]).read())", cts.DRIVER],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    assert r.returncode == 0, r.stdout


def test_split_brain_end_for_pyha_is_its_heal_line():
    # cts_driver.py patch 12: CTS formats the pattern with the node name and searches the
    # collected log; pyha's line (heartbeat's ident, as the CTS lab sets log_ident) matches,
    # the other node's does not.
    line = "Dec 07 01:04:47 ha1 heartbeat: [2115]: info: Partition with ha2 resolved: holding [none], ha2 reports rsc_hold=all"
    assert re.search(cts.HEAL_END % "ha1", line)
    assert not re.search(cts.HEAL_END % "ha2", line)


def test_the_init_script_is_found_beside_an_installed_package(monkeypatch, tmp_path):
    # CI runs the installed package, which has no packaging/ beside it: the lab test names
    # the checkout's script through PYHA_INIT_SCRIPT.
    script = tmp_path / "pyha"
    script.write_text("#!/bin/sh\n")
    monkeypatch.setattr(cts, "INIT_SCRIPT", str(tmp_path / "absent"))
    monkeypatch.delenv("PYHA_INIT_SCRIPT", raising=False)
    assert any("PYHA_INIT_SCRIPT" in m for m in cts.missing_requirements())
    monkeypatch.setenv("PYHA_INIT_SCRIPT", str(script))
    assert cts.init_script() == str(script)
    assert not any("init script" in m for m in cts.missing_requirements())
