"""Fencing configuration: pyha.cf's fence lines, heartbeat's stonith line rules, which
device may fence which node, and the delay that keeps two nodes from shooting at once."""

import pytest

from pyha.config.common import BadValue
from pyha.config.hacf import HaCf
from pyha.config.hostfacts import FileStat, StaticHostFacts
from pyha.config.pyhacf import CrossContext, PyhaCf
from pyha.fencing.devices import AGENT, GLUE, FenceConfig, GlueDevice
from pyha.fencing.lines import masked, parse_fence, parse_fence_delay
from pyha.fencing.load import load_fencing

IPMI_NAMES = ["hostname", "ipaddr", "userid", "passwd", "interface"]  # `stonith -t external/ipmi -n`
HACF = "keepalive 1\ndeadtime 10\nnode ha1 ha2\nucast eth1 198.51.100.2\n"


def config(hacf_extra="", pyhacf=""):
    cf = HaCf.parse(HACF + hacf_extra, "ha.cf")
    s = PyhaCf.parse(pyhacf, "pyha.cf").settings
    assert s.diagnostics == []
    return FenceConfig.from_lines(cf.stonith, [(e.value, e.lineno) for e in s.entries("fence")], s.get("fence_delay"))


# -- pyha.cf lines ---------------------------------------------------------------------------

def test_fence_line_keeps_node_agent_and_parameters_in_order():
    line, findings = parse_fence("HA2 fence_ipmilan ip=192.0.2.12 username=admin password_script=/etc/ha.d/pw "
                                 "lanplus=1 delay=5".split())
    assert findings == []
    assert (line.node, line.agent) == ("ha2", "fence_ipmilan")
    assert line.params == (("ip", "192.0.2.12"), ("username", "admin"), ("password_script", "/etc/ha.d/pw"),
                           ("lanplus", "1"), ("delay", "5"))


@pytest.mark.parametrize("words, says", [
    ("ha2", "needs a node and an agent"),
    ("ha2 ipmilan ip=1", "neither a fence_* name nor an absolute path"),
    ("ha2 fence_ipmilan ip", "not key=value"),
    ("ha2 fence_ipmilan action=off", "sets action= itself"),
    ("ha2 fence_ipmilan option=status", "sets option= itself"),
    ("ha2 fence_ipmilan ip=1 ip=2", "given twice"),
    ("ha2 fence_ipmilan delay=soon", "not a number of seconds"),
    ("ha2 fence_ipmilan delay=9999", "more than 600 s"),
])
def test_bad_fence_lines_are_refused_with_the_reason(words, says):
    with pytest.raises(BadValue) as err:
        parse_fence(words.split())
    assert says in err.value.message
    assert err.value.hint


def test_a_refused_password_is_never_echoed():
    with pytest.raises(BadValue) as err:
        parse_fence(["ha2", "fence_ipmilan", "password"])  # not key=value: echoed, but it holds no value
    assert "password" in err.value.message
    line, _ = parse_fence(["ha2", "fence_ipmilan", "password=s3cret", "passwd=other1"])
    assert masked(line.params) == [("password", "****"), ("passwd", "****")]


def test_password_and_password_script_together_warn():
    _, findings = parse_fence("ha2 fence_ipmilan password=x password_script=/bin/pw".split())
    assert [f.code for f in findings] == ["fence-password-twice"]


def test_fence_delay_reads_seconds():
    assert parse_fence_delay(["5"]) == (5.0, [])
    assert parse_fence_delay(["2500ms"]) == (2.5, [])
    for bad in (["5", "6"], ["-1"], ["five"]):
        with pytest.raises(BadValue):
            parse_fence_delay(bad)


def test_pyhacf_registers_fence_lines_with_file_line_and_one_device_per_node():
    text = ("# fencing\nfence ha2 fence_ipmilan ip=192.0.2.12\nfence HA2 fence_ilo ip=192.0.2.13\n"
            "fence_delay 3\nfence_delay x\nfence ha1 fence_ipmilan action=off\nfence_dealy 2\n")
    s = PyhaCf.parse(text, "/etc/ha.d/pyha.cf").settings
    assert [(e.value.node, e.value.agent, e.lineno) for e in s.entries("fence")] == [("ha2", "fence_ipmilan", 2)]
    assert s.get("fence_delay") == 3.0 and PyhaCf.parse("", "pyha.cf").settings.get("fence_delay") == 0.0
    assert [(d.code, d.line) for d in s.diagnostics] == [
        ("pyhacf-repeated", 3), ("pyhacf-bad-value", 5), ("pyhacf-bad-value", 6), ("pyhacf-unknown-directive", 7)]
    assert "did you mean fence_delay?" in s.diagnostics[-1].message


def test_fence_lines_name_a_node_of_hacf_and_a_safe_password_script():
    doc = PyhaCf.parse("fence ha3 fence_ipmilan ip=1\nfence ha1 fence_ipmilan password_script=/etc/ha.d/pw\n"
                       "fence ha2 fence_ipmilan password_script=/etc/ha.d/pw2\n", "pyha.cf")
    facts = StaticHostFacts(executables=("/etc/ha.d/pw", "/etc/ha.d/pw2"),
                            files={"/etc/ha.d/pw": FileStat(0, 0o700), "/etc/ha.d/pw2": FileStat(0, 0o777)})
    found = [(d.code, d.line) for d in doc.check(CrossContext(HaCf.parse(HACF, "ha.cf"), None), facts)]
    assert found == [("fence-unknown-node", 1), ("fence-password-script", 3)]
    missing = PyhaCf.parse("fence ha1 fence_ipmilan password_script=pw\n", "pyha.cf").check(facts=facts)
    assert [d.code for d in missing] == ["fence-password-script"]


def test_load_from_a_directory(tmp_path):
    (tmp_path / "ha.cf").write_text(HACF + "stonith_host ha1 external/ipmi ha2 192.0.2.12 admin pw lan\n")
    (tmp_path / "pyha.cf").write_text("fence ha1 fence_ipmilan ip=192.0.2.11\nfence_delay 4\nfence ha2 fence_x a\n"
                                      "notify relative\n")
    loaded = load_fencing(str(tmp_path))
    # a bad fence line is the fencing's problem; other directives' problems never block fencing
    assert [(d.code, d.line) for d in loaded.diagnostics] == [("pyhacf-bad-value", 3)]
    assert [(d.code, d.line) for d in loaded.other] == [("pyhacf-bad-value", 4)]
    assert [g.type for g in loaded.config.glue] == ["external/ipmi"]
    assert [a.node for a in loaded.config.agents] == ["ha1"]
    assert loaded.config.fence_delay == 4.0
    assert loaded.config.agents[0].where() == "%s:1" % (tmp_path / "pyha.cf")


def test_load_without_files_reports_and_never_raises(tmp_path):
    loaded = load_fencing(str(tmp_path))
    assert [d.code for d in loaded.diagnostics] == ["fence-hacf-unreadable"]  # no pyha.cf is no problem
    assert loaded.config.empty


# -- heartbeat's rules for stonith lines -------------------------------------------------------

def test_positional_parameters_follow_stonith_n_and_the_last_name_takes_the_rest():
    g = GlueDevice("external/ipmi", text="ha2 192.0.2.12 admin s3cret lanplus -C 3")
    assert g.params(IPMI_NAMES) == [("hostname", "ha2"), ("ipaddr", "192.0.2.12"), ("userid", "admin"),
                                    ("passwd", "s3cret"), ("interface", "lanplus -C 3")]
    assert g.targets(IPMI_NAMES) == ["ha2"]
    assert GlueDevice("external/ipmi", text="ha2 192.0.2.12 admin").params(IPMI_NAMES) is None  # too few words
    assert GlueDevice("null", text="HA1, ha2").targets(["hostlist"]) == ["ha1", "ha2"]
    assert GlueDevice("external/ssh", text="ha2").targets(["hostlist", "livedangerously"]) is None


def test_stonith_host_applies_on_its_node_or_star_and_the_last_applicable_line_wins():
    cfg = config("stonith_host ha1 external/ipmi ha2 192.0.2.12 admin pw lan\n"
                 "stonith_host ha2 external/ipmi ha1 192.0.2.11 admin pw lan\n"
                 "stonith_host * external/ssh ha1 ha2\n")
    assert cfg.glue_for("HA1").text == "ha1 ha2"  # heartbeat keeps one device: the last that applies
    cfg = config("stonith_host ha1 external/ipmi ha2 192.0.2.12 admin pw lan\n"
                 "stonith_host HA2 external/ipmi ha1 192.0.2.11 admin pw lan\n")
    assert cfg.glue_for("ha1").text.startswith("ha2 ")
    assert cfg.glue_for("Ha2").text.startswith("ha1 ")  # both sides lowercased, as heartbeat does
    assert cfg.glue_for("ha3") is None
    assert config("stonith baytech /etc/ha.d/baytech.cfg\n").glue_for("anyone").configfile == "/etc/ha.d/baytech.cfg"


def test_each_node_gets_the_device_for_its_peer_and_never_a_device_for_another_node():
    cfg = config("stonith_host ha1 external/ipmi ha2 192.0.2.12 admin pw lan\n"
                 "stonith_host ha2 external/ipmi ha1 192.0.2.11 admin pw lan\n")
    choice = cfg.device_for("ha2", "ha1", IPMI_NAMES)
    assert choice.device.kind == GLUE and choice.device.params(IPMI_NAMES)[1] == ("ipaddr", "192.0.2.12")
    # ha1's line points at ha2's BMC: external/ipmi would reset it whatever node it is told
    refused = cfg.device_for("ha1", "ha1", IPMI_NAMES)
    assert refused.device is None and "controls ha2, not ha1" in refused.reason


def test_a_node_without_a_device_is_refused():
    assert "pyha.cf has no `fence ha2 ...` line and ha.cf no stonith line" in config().device_for("ha2", "ha1").reason
    cfg = config("stonith_host ha2 external/ipmi ha1 192.0.2.11 admin pw lan\n")
    assert "no stonith line in ha.cf applies on ha1" in cfg.device_for("ha2", "ha1", IPMI_NAMES).reason


def test_a_fence_line_for_the_target_wins_over_stonith_lines():
    cfg = config("stonith_host * external/ipmi ha2 192.0.2.12 admin pw lan\n",
                 "fence ha2 fence_ipmilan ip=192.0.2.22\n")
    device = cfg.device_for("HA2", "ha1", IPMI_NAMES).device
    assert device.kind == AGENT and device.params == (("ip", "192.0.2.22"),)
    assert cfg.device_for("ha1", "ha2", IPMI_NAMES).device is None  # the * line's BMC is ha2's


def test_delay_goes_to_fencing_the_preferred_node_and_a_device_delay_wins():
    cfg = config("", "fence ha1 fence_ipmilan ip=192.0.2.11\nfence ha2 fence_ipmilan ip=192.0.2.12 delay=1.5\n"
                 "fence_delay 5\n")
    ha1, ha2 = cfg.agent_for("ha1"), cfg.agent_for("ha2")
    # ha1 is preferred: ha2 waits 5 s before shooting it, ha1 shoots ha2 at once, so ha1 wins a race
    assert cfg.delay_for(ha1, "ha1", preferred="ha1") == 5.0
    assert cfg.delay_for(ha2, "ha2", preferred="ha1") == 1.5  # the line's own delay=
    assert cfg.delay_for(ha1, "ha1", preferred=None) == 0.0
    assert config().delay_for(ha1, "ha1", preferred="ha1") == 0.0  # no fence_delay set


def test_describe_masks_passwords():
    cfg = config("stonith_host ha1 external/ipmi ha2 192.0.2.12 admin s3cret lan\n",
                 "fence ha1 fence_ipmilan ip=192.0.2.11 password=hunter22\n")
    glue = cfg.glue_for("ha1").describe(IPMI_NAMES)
    agent = cfg.agent_for("ha1").describe()
    assert "s3cret" not in repr(glue) and ["passwd", "****"] in glue["params"]
    assert "hunter22" not in repr(agent) and ["password", "****"] in agent["params"]
