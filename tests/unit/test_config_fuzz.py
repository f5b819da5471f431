"""Random text never crashes the parsers or the checks: it only yields diagnostics, and
rendering an unchanged model always gives the input back."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyha.config import Authkeys, FileStat, HaCf, Haresources, StaticHostFacts, check_models
from pyha.config.hacf import KNOWN_DIRECTIVES
from pyha.diagnostics import Diagnostic

HOST = StaticHostFacts(nodename="ha1", hosts={"peer": ["198.51.100.2"]})

# Words that steer random text into the interesting paths of all three grammars.
WORDS = list(KNOWN_DIRECTIVES) + [
    "auth", "1", "3", "16", "-1", "md5", "sha1", "crc", "sha256", "hello!", "ha1", "HA2", "eth0", "eth1",
    "192.0.2.160/24/eth0", "10.0.0.2", "225.0.0.1", "694", "0", "5", "500ms", "1.5", "2us", "on", "off",
    "legacy", "IPaddr::1.2.3.4/33", "Filesystem::/dev/sda1::/data", "::", "nginx", "/usr/lib/heartbeat/ipfail",
    "uid=hacluster", "gid=haclient", "FOO=bar", "#", "\\", ",", "keeplive",
]
SEPARATORS = [" ", "\t", ",", "\n", "\r\n", " \\\n", "#", ""]

FAST = settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


def wordy_text():
    token = st.one_of(st.sampled_from(WORDS), st.text(max_size=6))
    return st.lists(st.tuples(token, st.sampled_from(SEPARATORS)), max_size=40).map(
        lambda parts: "".join(a + b for a, b in parts))


def exercise(text):
    cf = HaCf.parse(text)
    hr = Haresources.parse(text)
    ak = Authkeys.parse(text)
    for model in (cf, hr, ak):
        assert model.render() == text
    # every accessor answers
    (cf.nodes, cf.keepalive_ms, cf.deadtime_ms, cf.warntime_ms, cf.initdead_ms, cf.deadping_ms, cf.udpport,
     cf.media, cf.all_media, cf.ping_nodes, cf.ping_groups, cf.auto_failback, cf.respawn, cf.watchdog,
     cf.logfile, cf.debugfile, cf.logfacility, cf.use_logd, cf.msgfmt, cf.hopfudge, cf.max_rexmit_delay_ms,
     cf.pacemaker, cf.apiauth, cf.env, cf.stonith)
    (hr.groups, hr.resources, ak.keys, ak.active, ak.active_index)
    diags = check_models(cf, hr, ak, HOST, "/etc/ha.d", FileStat(0, 0o644))
    assert all(isinstance(d, Diagnostic) for d in diags)
    for d in diags:
        d.format()


@FAST
@given(st.text())
def test_random_text(text):
    exercise(text)


@FAST
@given(wordy_text())
def test_random_config_like_text(text):
    exercise(text)


@FAST
@given(st.binary(max_size=200))
def test_random_bytes_decoded_like_files(data):
    exercise(data.decode("utf-8", "surrogateescape"))
