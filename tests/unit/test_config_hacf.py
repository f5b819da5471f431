"""ha.cf: parsing, typed accessors, rendering and the file-local diagnostics."""

import os

import pytest

from pyha.config.common import BadValue, c_atoi, format_ms, human_ms, parse_bool, parse_time_ms
from pyha.config.hacf import SPECS, HaCf, Medium, suggest_directive

DATA = os.path.join(os.path.dirname(__file__), "..", "data")

BASE = """keepalive 1
deadtime 10
warntime 5
initdead 20
udpport 694
ucast eth1 198.51.100.2
auto_failback on
node ha1
node ha2
"""


def cf(text):
    return HaCf.parse(text, "ha.cf")


def diags(text):
    return cf(text).check()


def only(ds, code):
    found = [d for d in ds if d.code == code]
    assert len(found) == 1, (code, [d.format() for d in ds])
    return found[0]


def assert_diag(text, code, line, severity):
    d = only(diags(text), code)
    assert (d.line, d.severity) == (line, severity), d.format()
    assert d.file == "ha.cf"
    return d


def codes(text):
    return sorted(d.code for d in diags(text))


# -- value parsers -------------------------------------------------------------------------

@pytest.mark.parametrize("text,ms,clean", [
    ("2", 2000, True), ("0.5", 500, True), ("1.5", 1500, True), (".25", 250, True),
    ("500ms", 500, True), ("2500MS", 2500, True), ("1500ms", 1500, True), ("12.0004", 12000, True),
    ("1000000us", 1000, True), ("499us", 0, True), ("501us", 1, True), ("0.0005", 1, True),
    ("2msec", 2, False), ("1.2.3", 1200, False), ("2 ms", 2, True),
])
def test_time_parsing_matches_heartbeat(text, ms, clean):
    assert parse_time_ms(text) == (ms, clean)


@pytest.mark.parametrize("text", ["abc", "", "-1", "2s", "2 sec", "1e3", "9" * 400])
def test_bad_times(text):
    with pytest.raises(BadValue):
        parse_time_ms(text)


def test_format_and_human_ms():
    assert [format_ms(x) for x in (30000, 1500, 50)] == ["30", "1500ms", "50ms"]
    assert [human_ms(x) for x in (30000, 1500, 50)] == ["30 s", "1.5 s", "50 ms"]


@pytest.mark.parametrize("text,value", [("on", True), ("Yes", True), ("y", True), ("1", True), ("TRUE", True),
                                        ("off", False), ("No", False), ("n", False), ("0", False), ("false", False)])
def test_booleans(text, value):
    assert parse_bool(text) is value


def test_c_atoi():
    assert c_atoi("12") == (12, True)
    assert c_atoi("12abc") == (12, False)
    assert c_atoi("abc") == (0, False)
    assert c_atoi("-3") == (-3, True)


# -- parsing ---------------------------------------------------------------------------------

def test_base_is_clean_and_accessors():
    c = cf(BASE)
    assert c.check() == []
    assert (c.keepalive_ms, c.deadtime_ms, c.warntime_ms, c.initdead_ms, c.deadping_ms) == (1000, 10000, 5000, 20000, 10000)
    assert c.nodes == ["ha1", "ha2"]
    assert c.media == [Medium("ucast", "eth1", 6, peer="198.51.100.2", port=694)]
    assert c.udpport == 694 and c.auto_failback == "on"


# spec 2.2's directive table, written out so the test does not just read the code's own list
SPEC_TABLE = """node keepalive deadtime warntime initdead deadping udpport bcast mcast ucast mcast6 ucast6 ping6
serial baud ping ping_group auto_failback nice_failback respawn failfast apiauth watchdog logfile debugfile
logfacility use_logd conn_logd_time debug hopfudge hbgenmethod realtime rtprio msgfmt compression
compression_threshold traditional_compression max_rexmit_delay autojoin uuidfrom cluster log_badpack
syslogmsgfmt coredumps coreroot memreserve env use_apphbd pacemaker crm crm_daemon_dir crmd_spawns_pengine
record_config_changes record_pengine_inputs enable_config_writes quorum_server stonith stonith_host udp""".split()


def test_every_table_directive_is_known():
    assert sorted(SPEC_TABLE) == sorted(list(SPECS) + ["udp", "crm"])
    for name in SPEC_TABLE:
        assert "hacf-unknown-directive" not in codes(BASE + name + " x\n"), name
    for name in ("hbaping", "normalpoll", "Keepalive", "keepalive:"):  # not in Debian's build / misspelt
        assert "hacf-unknown-directive" in codes(BASE + name + " x\n"), name


def test_defaults():
    c = cf("node ha1\n")
    assert (c.keepalive_ms, c.deadtime_ms, c.warntime_ms, c.initdead_ms, c.deadping_ms) == (1000, 30000, 15000, 30000, 30000)
    assert c.udpport == 694
    assert c.auto_failback == "legacy"
    assert c.msgfmt == "classic" and c.hopfudge == 1 and c.max_rexmit_delay_ms == 250 and c.debug == 0
    assert c.pacemaker == "off" and not c.crm_enabled
    assert c.watchdog is None and c.logfile is None and c.logfacility is None
    assert c.use_logd is True
    assert c.get("hbgenmethod") == "file" and c.get("realtime") is True and c.get("cluster") == "linux-ha"
    assert sorted(c.apiauth) == ["anon", "ccm", "ipfail", "lha-snmpagent", "ping"]
    assert c.apiauth["ipfail"].uids == ["hacluster"]


@pytest.mark.parametrize("deadtime,initdead", [(3000, 12000), (5999, 12000), (6000, 12000), (8000, 16000),
                                               (10000, 20000), (10001, 10001), (30000, 30000)])
def test_derived_initdead(deadtime, initdead):
    c = cf("keepalive 1ms\ndeadtime %dms\n" % deadtime)
    assert c.initdead_ms == initdead
    assert c.warntime_ms == deadtime // 2


def test_option_directives_split_on_blanks_tabs_and_commas():
    c = cf("node HA1,Ha2\tha3  ,  ha4\nbcast eth0, eth1\nping 192.0.2.1,192.0.2.2\n")
    assert c.nodes == ["ha1", "ha2", "ha3", "ha4"]
    assert [(m.kind, m.dev) for m in c.media] == [("bcast", "eth0"), ("bcast", "eth1")]
    assert [p.host for p in c.ping_nodes] == ["192.0.2.1", "192.0.2.2"]


def test_whole_line_directives_keep_their_line():
    c = cf(BASE + "respawn root /usr/bin/prog --a=1,2 -b\nping_group grp 192.0.2.1 192.0.2.2\n"
           "apiauth default gid=haclient uid=alanr,root\nmcast eth0 225.0.0.1 694 1 0\n")
    r = c.respawn[0]
    assert (r.user, r.argv, r.failfast, r.lineno) == ("root", ["/usr/bin/prog", "--a=1,2", "-b"], False, 10)
    assert c.ping_groups[0].hosts == ["192.0.2.1", "192.0.2.2"]
    assert c.apiauth["default"].uids == ["alanr", "root"] and c.apiauth["default"].gids == ["haclient"]
    m = c.media[-1]
    assert (m.kind, m.dev, m.group, m.port, m.ttl, m.loop) == ("mcast", "eth0", "225.0.0.1", 694, 1, 0)


def test_comments_and_crlf():
    c = cf("keepalive 2 # two seconds\r\n  # indented\r\n\r\nnode a#b\r\n")
    assert c.keepalive_ms == 2000
    assert c.nodes == ["a"]
    d = c.directives("keepalive")[0]
    assert (d.name, d.rest, d.comment, d.lineno) == ("keepalive", "2", "# two seconds", 1)


def test_repeats_last_value_wins():
    c = cf(BASE + "keepalive 2\n")
    assert c.keepalive_ms == 2000
    assert_diag(BASE + "keepalive 2\n", "hacf-duplicate", 10, "warning")


def test_times_and_edge_fixture():
    c = HaCf.load(os.path.join(DATA, "edge", "ha.cf"))
    assert (c.keepalive_ms, c.warntime_ms, c.deadtime_ms, c.initdead_ms, c.deadping_ms) == (500, 1500, 3000, 12000, 2500)
    assert c.nodes == ["ha1", "ha2"] and c.auto_failback == "off"
    assert [m.kind for m in c.media] == ["serial", "bcast", "bcast", "mcast", "ucast", "ucast"]
    assert c.media[0].baud == 38400
    assert c.env == {"HA_FOO": "bar", "HA_BAZ": "qux"}
    assert (c.msgfmt, c.hopfudge, c.max_rexmit_delay_ms, c.debug, c.watchdog) == ("netstring", 2, 500, 1, "/dev/watchdog")
    assert c.get("realtime") is False and c.get("cluster") == "mycluster" and c.get("log_badpack") is False
    assert c.logfile == "/var/log/ha-log" and c.debugfile == "/var/log/ha-debug" and c.logfacility == "local0"
    assert not c.use_logd and not c.crm_enabled
    assert [d.code for d in c.check()] == []


# -- rendering -------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    BASE, "", "\n", "node a", "keepalive 2\r\nnode a\r\n", "  # x\n\n\tnode\tb  # y\n", "keeplive 2\nfoo\n",
])
def test_render_is_lossless(text):
    assert cf(text).render() == text


def test_render_fixtures_lossless():
    for name in ("edge", "tutorial"):
        path = os.path.join(DATA, name, "ha.cf")
        with open(path) as f:
            assert HaCf.load(path).render() == f.read()


def test_build_from_scratch_renders_canonically_and_round_trips():
    c = HaCf.new(comment=["generated", "by a test"])
    c.add("logfacility", "local0")
    c.add("keepalive", 2)
    c.add("deadtime", format_ms(30000))
    c.add_blank()
    c.add("ucast", "eth1 198.51.100.2", comment="dedicated link")
    c.add("auto_failback", True)
    c.add("node", ["ha1", "ha2"])
    text = c.render()
    assert text == ("# generated\n# by a test\nlogfacility local0\nkeepalive 2\ndeadtime 30\n\n"
                    "ucast eth1 198.51.100.2 # dedicated link\nauto_failback on\nnode ha1 ha2\n")
    again = HaCf.parse(text)
    assert again.render() == text
    assert [(d.name, d.rest) for d in again.directives()] == [(d.name, d.rest) for d in c.directives()]
    assert again.nodes == c.nodes == ["ha1", "ha2"] and again.keepalive_ms == 2000


def test_set_and_remove():
    c = cf("keepalive 1 # fast\nnode a\nkeepalive 3\n")
    c.set("keepalive", "2")
    assert c.render() == "keepalive 2 # fast\nnode a\n"
    assert c.keepalive_ms == 2000
    c.set("deadtime", 10)
    assert c.render().endswith("deadtime 10\n")
    assert c.remove("node") == 1
    assert "node" not in c.render()


def test_add_rejects_what_cannot_be_written():
    c = HaCf.new()
    with pytest.raises(ValueError, match="keepalive"):
        c.add("keeplive", 2)
    with pytest.raises(ValueError):
        c.add("node", "a # b")
    with pytest.raises(ValueError):
        c.add("node", "a\nb")


# -- diagnostics: directives and values ------------------------------------------------------------

def test_unknown_directive_suggests_the_closest():
    d = assert_diag(BASE + "keeplive 2\n", "hacf-unknown-directive", 10, "error")
    assert "did you mean keepalive?" in d.message
    assert d.hint == "write `keepalive 2`"
    assert suggest_directive("Keepalive") == "keepalive"
    assert suggest_directive("deadtme") == "deadtime"
    assert suggest_directive("zzzzzz") is None
    assert "did you mean" not in only(diags(BASE + "zzzzzz\n"), "hacf-unknown-directive").message


def test_udp_alias():
    c = cf(BASE + "udp eth0\n")
    assert [m.kind for m in c.media] == ["ucast", "bcast"]
    assert_diag(BASE + "udp eth0\n", "hacf-udp-alias", 10, "warning")


@pytest.mark.parametrize("line", ["keepalive abc", "keepalive 0", "deadtime x", "warntime 0", "initdead -1",
                                  "auto_failback maybe", "logfacility local9", "hopfudge 256", "debug 300",
                                  "msgfmt xml", "baud 1234", "udpport 0", "realtime perhaps", "rtprio 100",
                                  "hbgenmethod clock", "compression lzma", "uuidfrom host", "max_rexmit_delay 0",
                                  "memreserve 0", "compression_threshold 0", "autojoin some", "nice_failback maybe",
                                  "conn_logd_time 0", "crm maybe", "env =x", "use_logd 2"])
def test_values_heartbeat_refuses_are_errors(line):
    d = assert_diag(BASE + line + "\n", "hacf-bad-value", 10, "error")
    assert line.split()[0] in d.message


def test_bad_facility_suggests():
    assert only(diags(BASE + "logfacility Local0\n"), "hacf-bad-value").hint == "did you mean local0?"


@pytest.mark.parametrize("line", ["keepalive 2msec", "hopfudge 2x", "udpport 70000", "env NOEQUALS"])
def test_values_heartbeat_reads_oddly_are_warnings(line):
    assert_diag(BASE + line + "\n", "hacf-odd-value", 10, "warning")


def test_once_only_directives():
    assert_diag(BASE + "baud 19200\nbaud 9600\n", "hacf-repeated", 11, "error")
    assert_diag(BASE + "watchdog /dev/watchdog\nwatchdog /dev/watchdog\n", "hacf-repeated", 11, "error")
    assert_diag(BASE + "crm off\npacemaker off\n", "hacf-repeated", 11, "error")


def test_missing_and_extra_values():
    assert_diag(BASE + "node\n", "hacf-missing-value", 10, "warning")
    assert_diag(BASE + "ucast\n", "hacf-missing-value", 10, "error")
    d = assert_diag(BASE + "deadtime 10 20\n", "hacf-extra-values", 10, "warning")
    assert "'20' wins" in d.message
    assert cf(BASE + "deadtime 10 20\n").deadtime_ms == 20000
    assert_diag(BASE + "ucast eth1 198.51.100.1 extra\n", "hacf-extra-values", 10, "warning")


def test_auto_failback_and_nice_failback():
    assert_diag(BASE.replace("auto_failback on", "auto_failback legacy"), "hacf-auto-failback-legacy", 7, "warning")
    assert_diag(BASE.replace("auto_failback on\n", ""), "hacf-auto-failback-legacy", None, "warning")
    c = cf(BASE.replace("auto_failback on", "nice_failback on"))
    assert c.auto_failback == "off"
    d = assert_diag(BASE.replace("auto_failback on", "nice_failback on"), "hacf-nice-failback", 7, "warning")
    assert d.hint == "write `auto_failback off`"
    assert cf(BASE.replace("auto_failback on", "nice_failback off")).auto_failback == "legacy"
    assert cf(BASE + "auto_failback OFF\n").auto_failback == "off"


@pytest.mark.parametrize("line", ["crm on", "crm yes", "pacemaker respawn", "crm minimal", "pacemaker valgrind"])
def test_pacemaker_mode_is_an_error(line):
    d = assert_diag(BASE + line + "\n", "hacf-pacemaker", 10, "error")
    assert "haresources mode" in d.message
    assert cf(BASE + line + "\n").pacemaker_enabled


def test_pacemaker_off_is_fine_and_pacemaker_only_directives_are_noted():
    assert codes(BASE + "crm off\n") == []
    assert_diag(BASE + "record_pengine_inputs on\n", "hacf-pacemaker-only", 10, "info")


def test_udpport_and_baud_after_media_warn():
    text = "keepalive 1\ndeadtime 10\ninitdead 20\nauto_failback on\nnode a\nnode b\nucast eth1 198.51.100.2\nudpport 695\n"
    d = assert_diag(text, "hacf-order-udpport", 8, "warning")
    assert "line 7" in d.message and "694" in d.message
    c = cf(text)
    assert c.udpport == 695 and c.media[0].port == 694  # genuine: cl_status says 695, packets go to 694
    c = cf(text.replace("udpport 695\n", "") + "udpport 695\nucast eth0 192.0.2.2\nbcast eth2\n")
    assert [m.port for m in c.media] == [694, 694, 695]  # each plugin fixes the port at its first line
    text2 = "node a\nauto_failback on\nserial /dev/ttyS0\nbaud 38400\nserial /dev/ttyS1\n"
    assert_diag(text2, "hacf-order-baud", 4, "warning")
    assert [m.baud for m in cf(text2).media] == [19200, 38400]
    assert "hacf-order-udpport" not in codes("udpport 695\nucast eth1 198.51.100.2\nnode a\n")


def test_no_media_and_ping_only():
    text = "node a\nnode b\nauto_failback on\n"
    d = assert_diag(text, "hacf-no-media", None, "error")
    assert "No heartbeat media defined" in d.message
    assert "hacf-no-media" not in codes(text + "ping 192.0.2.1\n")
    assert_diag(text + "ping 192.0.2.1\n", "hacf-ping-only", None, "warning")


def test_media_syntax():
    assert_diag(BASE + "ucast eth1\n", "hacf-media-syntax", 10, "error")
    assert_diag(BASE + "mcast eth1 225.0.0.1 694\n", "hacf-media-syntax", 10, "error")
    assert_diag(BASE + "ping_group grp\n", "hacf-media-syntax", 10, "error")
    assert_diag(BASE + "mcast eth1 10.0.0.1 694 1 0\n", "hacf-mcast-group", 10, "error")
    assert_diag(BASE + "mcast eth1 225.0.0.1 694 5 0\n", "hacf-mcast-ttl", 10, "error")
    assert_diag(BASE + "mcast eth1 225.0.0.1 694 1 2\n", "hacf-mcast-loop", 10, "error")
    assert_diag(BASE + "mcast eth1 225.0.0.1 0 1 0\n", "hacf-mcast-port", 10, "error")
    assert codes(BASE + "mcast eth1 239.1.2.3 694 0 1\n") == []


def test_ipv6_media_are_flagged():
    c = cf(BASE + "ucast6 eth1 fe80::1\n")
    assert c.media == cf(BASE).media and [m.kind for m in c.all_media] == ["ucast", "ucast6"]
    assert_diag(BASE + "ucast6 eth1 fe80::1\n", "hacf-medium-unsupported", 10, "warning")


def test_too_many_media():
    assert_diag(BASE + "bcast " + " ".join("e%d" % i for i in range(64)) + "\n", "hacf-too-many-media", 10, "error")


# -- diagnostics: nodes -------------------------------------------------------------------------

def test_nodes():
    assert_diag("ucast eth1 198.51.100.2\nauto_failback on\n", "hacf-no-nodes", None, "error")
    assert_diag(BASE + "node HA1\n", "hacf-duplicate-node", 10, "warning")
    assert_diag(BASE + "node ha3\n", "hacf-node-count", 10, "warning")
    assert_diag(BASE.replace("node ha2\n", ""), "hacf-node-count", 8, "warning")
    assert_diag(BASE + "node " + " ".join("n%d" % i for i in range(99)) + "\n", "hacf-too-many-nodes", 10, "error")
    assert_diag(BASE + "ping ha2\n", "hacf-ping-is-node", 10, "warning")


# -- diagnostics: timing ---------------------------------------------------------------------------

def test_deadtime_must_exceed_twice_keepalive():
    d = assert_diag(BASE.replace("deadtime 10", "deadtime 2"), "hacf-deadtime-too-small", 2, "error")
    assert "keeplive" in d.message  # heartbeat's own (misspelt) log line is quoted
    assert "hacf-deadtime-too-small" not in codes(BASE.replace("deadtime 10", "deadtime 2001ms"))


def test_warntime():
    assert_diag(BASE.replace("warntime 5", "warntime 10"), "hacf-warntime", 3, "warning")
    assert_diag(BASE.replace("warntime 5", "warntime 1"), "hacf-warntime", 3, "warning")


def test_initdead():
    assert_diag(BASE.replace("initdead 20", "initdead 9"), "hacf-initdead-too-small", 4, "error")
    assert_diag(BASE.replace("initdead 20", "initdead 15"), "hacf-initdead-short", 4, "warning")
    assert_diag(BASE.replace("initdead 20", "initdead 10"), "hacf-initdead-short", 4, "warning")
    fast = "keepalive 50ms\ndeadtime 200ms\nwarntime 150ms\ninitdead 2\n"
    assert_diag(BASE + fast, "hacf-initdead-short", 13, "warning")  # genuine warns below 10 s
    assert_diag(BASE.replace("initdead 20\n", "").replace("deadtime 10", "deadtime 30"),
                "hacf-initdead-default", None, "info")


def test_deadping():
    assert_diag(BASE + "deadping 2\n", "hacf-deadping-too-small", 10, "error")
    assert codes(BASE + "deadping 3\n") == []
    assert cf(BASE + "deadping 3\n").deadping_ms == 3000


# -- diagnostics: the rest ----------------------------------------------------------------------

def test_autojoin_conflicts_with_haresources_mode():
    assert_diag(BASE + "autojoin any\n", "hacf-autojoin", 10, "error")
    assert codes(BASE + "autojoin none\n") == []


def test_logging():
    assert_diag(BASE + "use_logd off\n", "hacf-no-logging", 10, "error")
    assert codes(BASE + "use_logd off\nlogfile /var/log/ha-log\n") == []


def test_stonith():
    assert_diag(BASE + "stonith baytech /etc/ha.d/conf/stonith.baytech\n", "hacf-stonith-fences", 10, "info")
    assert_diag(BASE + "stonith_host *\n", "hacf-stonith-syntax", 10, "error")


def test_stonith_lines_keep_host_type_and_parameter_text():
    c = cf(BASE + "stonith baytech /etc/ha.d/conf/stonith.baytech  # comment\n"
           "stonith_host HA1  external/ipmi ha2 192.0.2.12 admin  s3cret lanplus -C 3\n")
    first, second = c.stonith
    assert (first.directive, first.hostfrom, first.type, first.text, first.lineno) == (
        "stonith", None, "baytech", "/etc/ha.d/conf/stonith.baytech", 10)
    # the host field is lowercased as heartbeat does; the parameter text is kept as written
    assert (second.directive, second.hostfrom, second.type, second.text, second.lineno) == (
        "stonith_host", "ha1", "external/ipmi", "ha2 192.0.2.12 admin  s3cret lanplus -C 3", 11)
    # read like a Directive too (the Pacemaker export reads name/rest)
    assert (second.name, second.canonical, second.rest) == (
        "stonith_host", "stonith_host", "HA1  external/ipmi ha2 192.0.2.12 admin  s3cret lanplus -C 3")


def test_respawn_syntax():
    assert_diag(BASE + "respawn hacluster ipfail\n", "hacf-respawn-syntax", 10, "error")
    assert_diag(BASE + "respawn hacluster\n", "hacf-respawn-syntax", 10, "error")
    c = cf(BASE + "failfast root /usr/bin/x\n")
    assert c.respawn[0].failfast and c.respawn[0].program == "/usr/bin/x"


def test_apiauth():
    assert_diag(BASE + "apiauth ipfail\n", "hacf-apiauth-syntax", 10, "error")
    assert_diag(BASE + "apiauth ipfail user=x\n", "hacf-apiauth-syntax", 10, "error")
    assert_diag(BASE + "apiauth x uid=a\napiauth x gid=b\n", "hacf-apiauth-duplicate", 11, "error")
    c = cf(BASE + "apiauth ipfail uid=root\n")
    assert c.apiauth["ipfail"].uids == ["root"] and c.apiauth["ipfail"].lineno == 10


# -- the frozen settings object ---------------------------------------------------------------

def test_settings_are_read_only_and_hand_out_copies():
    c = cf(BASE + "ping 198.51.100.254\nenv FOO=bar\n")
    s = c.settings
    for name in ("keepalive_ms", "media", "nodes", "_timing", "_media", "anything"):
        with pytest.raises(AttributeError):
            setattr(s, name, 5)
    with pytest.raises(AttributeError):
        del s._media
    s.media.append(Medium("bcast", "eth9"))
    s.nodes.append("intruder")
    s.apiauth.clear()
    s.env["HA_FOO"] = "changed"
    assert not hasattr(s.diagnostics, "append")  # a tuple
    c.check().append("noise")
    assert [m.dev for m in c.media] == ["eth1"] and c.nodes == ["ha1", "ha2"]
    assert "ipfail" in c.apiauth and c.env == {"HA_FOO": "bar"}
    assert "noise" not in c.check()


def test_hacf_reads_go_through_one_settings_object_until_the_document_changes():
    c = cf(BASE)
    s = c.settings
    assert c.settings is s  # evaluated once per version of the document
    assert (c.keepalive_ms, c.deadtime_ms, c.nodes, c.media, c.auto_failback, c.apiauth, c.check()) == \
        (s.keepalive_ms, s.deadtime_ms, s.nodes, s.media, s.auto_failback, s.apiauth, list(s.diagnostics))
    c.set("keepalive", "500ms")
    assert c.settings is not s
    assert c.keepalive_ms == 500 and s.keepalive_ms == 1000  # the old object still says what it said
    c.add("node", "ha3")
    assert c.nodes == ["ha1", "ha2", "ha3"] and s.nodes == ["ha1", "ha2"]
    assert only(c.check(), "hacf-node-count").severity == "warning"
    assert "hacf-node-count" not in [d.code for d in s.diagnostics]
    assert "deadtime / 2" in HaCf.warntime_ms.__doc__  # the facade keeps the settings' documentation


def test_directives_added_twice_through_the_api_are_diagnosed_not_a_traceback():
    """Lines added with HaCf.add have no line number yet; a repeat of one must still be a
    diagnostic (it used to be a TypeError from a `%d` of None)."""
    from pyha.config.hacf import HaCf
    cf = HaCf.parse("node ha1\nnode ha2\nucast eth0 192.0.2.2\n")
    cf.add("keepalive", 2)
    cf.add("keepalive", 3)
    cf.add("baud", 19200)
    cf.add("baud", 38400)
    codes = [(d.code, d.message) for d in cf.check()]
    assert any(code == "hacf-duplicate" and "added earlier" in msg for code, msg in codes), codes
    assert cf.keepalive_ms == 3000
