"""`pyha config check`'s fencing findings and the `pyha fence` command's refusals.

The agents and cluster-glue are described by a static probe (what `fence_X -o metadata`
and `stonith -t TYPE -n` print); the real programs are asked in tests/lab/test_fencing_vbmc.py.
"""

import json

from typer.testing import CliRunner

from pyha.fencing.check import check_fencing
from pyha.fencing.load import load_fencing
from pyha.fencing.metadata import AgentMeta, parse_agent_metadata, parse_glue_names

HACF = "keepalive 1\ndeadtime 10\nnode ha1 ha2\nucast eth1 198.51.100.2\n"
IPMILAN_XML = """<?xml version="1.0" ?>
<resource-agent name="fence_ipmilan" shortdesc="Fence agent for IPMI" >
<parameters>
  <parameter name="action" unique="0" required="1"><content type="string" default="reboot"/></parameter>
  <parameter name="ip" unique="0" required="0" obsoletes="ipaddr"><content type="string"/></parameter>
  <parameter name="ipaddr" unique="0" required="0" deprecated="1"><content type="string"/></parameter>
  <parameter name="ipport" unique="0" required="0"><content type="integer" default="623"/></parameter>
  <parameter name="username" unique="0" required="0" obsoletes="login"><content type="string"/></parameter>
  <parameter name="password" unique="0" required="0"><content type="string"/></parameter>
  <parameter name="password_script" unique="0" required="0"><content type="string"/></parameter>
  <parameter name="lanplus" unique="0" required="0"><content type="boolean"/></parameter>
  <parameter name="cipher" unique="0" required="0"><content type="string"/></parameter>
  <parameter name="delay" unique="0" required="0"><content type="second" default="0"/></parameter>
</parameters>
</resource-agent>
"""


class StaticProbe(object):
    """Agents and cluster-glue types described by data (never runs anything)."""

    def __init__(self, agents=None, glue=None, stonith="/usr/sbin/stonith"):
        self.agents = agents or {}
        self.glue = glue or {}
        self.stonith = stonith

    def agent_path(self, agent):
        return "/usr/sbin/" + agent if agent in self.agents else None

    def stonith_path(self):
        return self.stonith

    def agent_meta(self, agent):
        meta = self.agents.get(agent)
        return (meta, "") if meta else (None, "printed no metadata (exit 1)")

    def glue_names(self, type_):
        names = self.glue.get(type_)
        return (names, "") if names is not None else (None, "`stonith -t %s -n` exit 8: unknown device type" % type_)


PROBE = StaticProbe({"fence_ipmilan": parse_agent_metadata("warning first\n" + IPMILAN_XML)},
                    {"external/ipmi": parse_glue_names("hostname  ipaddr  userid  passwd  interface  \n"),
                     "null": ["hostlist"]})


def findings(tmp_path, hacf_extra="", pyhacf=None, probe=PROBE):
    (tmp_path / "ha.cf").write_text(HACF + hacf_extra)
    if pyhacf is not None:
        (tmp_path / "pyha.cf").write_text(pyhacf)
    return [(d.code, d.line, d.severity) for d in check_fencing(load_fencing(str(tmp_path)), probe)
            if d.code.startswith("fence-")]


def test_metadata_parsing_reads_names_and_old_names():
    meta = parse_agent_metadata(IPMILAN_XML)
    assert {"ip", "ipaddr", "username", "password_script", "delay"} <= set(meta.names)
    assert meta.replaced == {"ipaddr": "ip", "login": "username"}
    assert meta.required == ("action",)
    assert parse_agent_metadata("Traceback ...") is None
    assert parse_agent_metadata("<resource-agent><parameters>") is None  # cut short


def test_a_good_pair_of_agent_lines_has_no_findings(tmp_path):
    assert findings(tmp_path, "", "fence ha1 fence_ipmilan ip=192.0.2.11 username=admin password_script=/x/pw "
                    "lanplus=1\nfence ha2 fence_ipmilan ip=192.0.2.12 username=admin password=x delay=5\n") == []


def test_unknown_parameters_and_missing_agents_name_the_line(tmp_path):
    got = findings(tmp_path, "", "fence ha1 fence_ipmilan ip=192.0.2.11 pasword=x\n"
                   "fence ha2 fence_nosuch ip=1\nfence ha3 fence_ipmilan ipaddr=192.0.2.13\n")
    assert ("fence-param-unknown", 1, "error") in got
    assert ("fence-agent-missing", 2, "error") in got
    assert ("fence-param-old", 3, "info") in got


def test_unknown_parameter_hint_suggests_the_right_name(tmp_path):
    (tmp_path / "ha.cf").write_text(HACF)
    (tmp_path / "pyha.cf").write_text("fence ha1 fence_ipmilan ip=1 usrname=admin\nfence ha2 fence_ipmilan ip=2\n")
    d = [d for d in check_fencing(load_fencing(str(tmp_path)), PROBE) if d.code == "fence-param-unknown"][0]
    assert d.hint == "did you mean username=?"


def test_stonith_host_lines_are_checked_like_heartbeat_would(tmp_path):
    got = findings(tmp_path, "stonith_host ha1 external/ipmi ha2 192.0.2.12 admin\n"       # too few words
                             "stonith_host ha2 external/nosuch ha1\n"                      # unknown type
                             "stonith_host ha3 external/ipmi ha1 192.0.2.11 admin pw lan\n"  # no such node
                             "stonith_host * external/ipmi ha2 192.0.2.12 admin pw lan\n"    # ha2 shoots itself
                             "stonith null /nonexistent/null.cfg\n")
    assert ("fence-stonith-params", 5, "error") in got
    assert ("fence-stonith-type", 6, "error") in got
    assert ("fence-stonith-hostfrom", 7, "warning") in got
    assert ("fence-stonith-self", 8, "warning") in got
    assert ("fence-stonith-file", 9, "error") in got


def test_each_node_must_be_fenceable_by_its_peer(tmp_path):
    got = findings(tmp_path, "stonith_host ha1 external/ipmi ha2 192.0.2.12 admin pw lan\n")
    assert ("fence-node-uncovered", None, "warning") in got  # nobody may fence ha1
    assert findings(tmp_path, "stonith_host ha1 external/ipmi ha2 192.0.2.12 admin pw lan\n"
                              "stonith_host ha2 external/ipmi ha1 192.0.2.11 admin pw lan\n") == []


def test_without_cluster_glue_a_stonith_line_is_an_error(tmp_path):
    got = findings(tmp_path, "stonith_host ha1 external/ipmi ha2 192.0.2.12 admin pw lan\n",
                   probe=StaticProbe(stonith=None))
    assert ("fence-stonith-missing", 5, "error") in got


def test_no_fencing_configured_gives_no_fencing_findings(tmp_path):
    assert findings(tmp_path) == []


# -- pyha fence: refusals that need no device --------------------------------------------------

def fence_cli(args):
    from pyha.cli import main
    return CliRunner().invoke(main.app, ["fence"] + args)


def test_off_on_reboot_need_yes(tmp_path):
    (tmp_path / "ha.cf").write_text(HACF)
    for action in ("off", "on", "reboot"):
        r = fence_cli([action, "ha2", "--dir", str(tmp_path)])
        assert r.exit_code == 2 and "add --yes" in r.output


def test_a_node_without_a_device_is_refused(tmp_path):
    (tmp_path / "ha.cf").write_text(HACF)
    r = fence_cli(["off", "ha2", "--yes", "--dir", str(tmp_path), "--json"])
    assert r.exit_code == 1
    out = json.loads(r.output)
    assert out["ok"] is False and out["device"] is None and "no fence device for ha2" in out["message"]
    r = fence_cli(["status", "ha9", "--dir", str(tmp_path)])
    assert r.exit_code == 1 and "ha9 is not a node in ha.cf" in r.output
    r = fence_cli(["explode", "ha2", "--dir", str(tmp_path)])
    assert r.exit_code == 2


def test_a_device_for_another_node_is_refused_before_anything_runs(tmp_path):
    (tmp_path / "ha.cf").write_text(HACF + "stonith_host * null ha2\n")
    (tmp_path / "pyha.cf").write_text("fence ha2 fence_ipmilan ip=192.0.2.12 action=off\n")
    r = fence_cli(["status", "ha2", "--dir", str(tmp_path)])
    assert r.exit_code == 1 and "fencing configuration has errors; nothing was run" in r.output
    assert "pyha.cf:1: error: fence: fence ha2: pyha sets action= itself" in r.output


def test_agent_meta_defaults():
    meta = AgentMeta(["ip"])
    assert meta.required == () and meta.replaced == {}
