"""pyha-heartbeat-compat's cl_status, hb_standby and hb_takeover (pure parts): genuine
heartbeat 3.0.6's output, error texts and exit codes for each question, from a daemon
status shaped as `pyha status --json` gives it.  The expected texts were read from
genuine cl_status in the mixed lab (tests/lab/test_compat_mixed.py compares the two live).
"""

import copy

import pytest

from pyha import __version__
from pyha.compat import cl_status, hb_tools

STATUS = {
    "config": {"nodes": ["ha1", "ha2"], "ping_nodes": ["192.0.2.1"], "ping_groups": {}, "media": ["eth1", "eth0"],
               "local": "ha2"},
    "local": {"node": "ha2", "status": "active"},
    "daemon": {"node": "ha2"},
    "nodes": {"ha1": {"state": "up", "status": "active",
                      "links": {"eth0": {"state": "up"}, "eth1": {"state": "up"}}}},
    "ping_nodes": {"192.0.2.1": {"state": "up"}},
    "ping_groups": {},
    "resources": {"holding": "local", "stable": True},
}


def ask(*argv, **kw):
    st = kw.get("status", STATUS)
    return cl_status.answer(list(argv), st, kw.get("running", st is not None))


def test_usage_without_arguments_or_with_h():
    for argv in ([], ["-h"]):
        r = ask(*argv)
        assert r.code == 0 and r.out.startswith("Usage: cl_status <sub-command> [<options>] [<parameters>]\n")
        assert "hbparameter -p <parameter-name>\n" in r.out and r.out.endswith("refer to the man page.\n")


def test_hbstatus_running_stopped_and_verbose():
    assert ask("hbstatus") == (u"Heartbeat is running on this machine.\n", [], 0)
    assert ask("hbstatus", "-m").out == "Heartbeat is running on this machine.\n"
    assert ask("hbstatus", status=None, running=False) == ("Heartbeat is stopped on this machine.\n", [], 1)
    r = ask("hbstatus", "-v", status=None, running=False)
    assert r.out.endswith("(hb_api_signon: Can't initiate connection to heartbeat)\n") and r.code == 1
    # a daemon holding its pid lock but not answering yet (starting) is running
    assert ask("hbstatus", status=None, running=True).code == 0
    r = ask("hbstatus", "-v")
    assert r.out.splitlines()[0] == "version:\tpyha %s" % __version__
    assert r.out.splitlines()[1:] == ['managed by:\t"haresources"', "", "192.0.2.1\tping\t(nodetype: ping)",
                                      "\t192.0.2.1\tup", "", "ha2\tactive\t(nodetype: normal)", "\teth0\tup",
                                      "\teth1\tup", "", "ha1\tactive\t(nodetype: normal)", "\teth0\tup", "\teth1\tup"]
    # getopt complains, hbstatus still answers (genuine: rc 0)
    r = ask("hbstatus", "-x")
    assert r.code == 0 and r.err == ["hbstatus: invalid option -- 'x'"]


def test_listnodes_in_heartbeats_order_and_filters():
    assert ask("listnodes").out == "192.0.2.1\nha2\nha1\n"  # reverse of ha.cf: ping, then nodes
    assert ask("listnodes", "-n").out == "ha2\nha1\n"
    assert ask("listnodes", "-p").out == "192.0.2.1\n"
    assert ask("listnodes", "-m").out == "The nodes are as follow:\n192.0.2.1\nha2\nha1\n"
    assert ask("listnodes", "-v", "-n").out == ("\nha2\tactive\t(nodetype: normal)\n\teth0\tup\n\teth1\tup\n"
                                                "\nha1\tactive\t(nodetype: normal)\n\teth0\tup\n\teth1\tup\n")
    r = ask("listnodes", "-x")
    assert r.code == 11 and r.err == ["listnodes: invalid option -- 'x'",
                                      ("ERROR", "Error: getopt returnedcharacter code ?.")]


def test_nodestatus_nodetype_and_their_errors():
    assert ask("nodestatus", "ha1") == ("active\n", [], 0)
    assert ask("nodestatus", "HA1").out == "active\n"  # node names without case, as heartbeat
    assert ask("nodestatus", "ha1", "-m").out == "The cluster node ha1 is active\n"
    assert ask("nodestatus", "192.0.2.1").out == "ping\n"
    assert ask("nodestatus", "nosuch") == ("", ["Error. May be due to incorrect node name"], 11)
    assert ask("nodestatus") == ("", ["Not enough parameters."], 11)
    assert ask("nodetype", "ha1").out == "normal\n" and ask("nodetype", "192.0.2.1").out == "ping\n"
    assert ask("nodetype", "-m", "ha2").out == "The node ha2's type: normal\n"
    assert ask("nodetype") == ("", ["No enough parameter."], 11)
    assert ask("nodeweight", "ha1") == ("100\n", [], 0) and ask("nodesite", "ha1") == ("\n", [], 0)
    assert ask("nodeweight", "nosuch") == ("", ["Error. Maybe due to incorrect node name."], 11)
    assert ask("nodesite", "nosuch") == ("", ["Error. May be due to incorrect node name"], 11)
    r = ask("nodetype", "-x", "ha2")
    assert r.code == 11 and r.err[1] == ("ERROR", "Error: getopt returnedcharacter ?.")


def test_a_dead_peer_a_dead_link_and_a_dead_ping_node_exit_1():
    st = copy.deepcopy(STATUS)
    st["nodes"]["ha1"] = {"state": "dead", "status": "dead", "links": {"eth0": {"state": "dead"},
                                                                      "eth1": {"state": "dead"}}}
    st["ping_nodes"]["192.0.2.1"]["state"] = "dead"
    assert ask("nodestatus", "ha1", status=st) == ("dead\n", [], 1)
    assert ask("nodestatus", "192.0.2.1", status=st) == ("dead\n", [], 1)
    assert ask("hblinkstatus", "ha1", "eth0", status=st) == ("dead\n", [], 1)
    assert ask("listhblinks", "-v", "ha1", status=st).out == "\teth0\tdead\n\teth1\tdead\n"
    # never heard since start (initdead running): heartbeat's `init`
    st["nodes"]["ha1"] = {"state": "never", "links": {}}
    assert ask("nodestatus", "ha1", status=st) == ("init\n", [], 0)


def test_links():
    assert ask("listhblinks", "ha1").out == "\teth0\n\teth1\n"
    assert ask("listhblinks", "-v", "ha2").out == "\teth0\tup\n\teth1\tup\n"  # our own: up
    assert ask("listhblinks", "-m", "ha1").out == "\tthis node has the following heartbeat links:\n\teth0\n\teth1\n"
    assert ask("listhblinks", "192.0.2.1").out == "\t192.0.2.1\n"
    assert ask("listhblinks", "nosuch") == ("", [("ERROR", "Cannot start heartbeat link interface walk."),
                                                 ("ERROR", "REASON: EINVAL")], 13)
    assert ask("hblinkstatus", "ha1", "eth1") == ("up\n", [], 0)
    assert ask("hblinkstatus", "-m", "ha1", "eth0").out == "The node ha1's heartbeat link eth0 is up\n"
    for argv in (("ha1", "eth9"), ("nosuch", "eth0")):
        assert ask("hblinkstatus", *argv) == ("", [("ERROR", "Cannot get heartbeat link status"),
                                                   ("ERROR", "REASON: ")], 13)
    assert ask("hblinkstatus", "ha1") == ("", ["No enough parameter."], 11)


@pytest.mark.parametrize("holding", ["all", "local", "foreign", "none"])
def test_rscstatus(holding):
    st = copy.deepcopy(STATUS)
    st["resources"]["holding"] = holding
    assert ask("rscstatus", status=st) == (holding + "\n", [], 0)
    assert ask("rscstatus", "-m", status=st).out == "This node is holding %s resources.\n" % holding
    st["resources"]["stable"] = False
    assert ask("rscstatus", status=st).out == "transition\n"


def test_rscstatus_without_resource_management_is_an_error_not_a_guess():
    st = dict(STATUS, resources={"mode": "membership only (resources not managed)", "holding": []})
    assert ask("rscstatus", status=st).code == 13


def test_daemon_not_running_and_bad_sub_command():
    for argv in (["listnodes"], ["nodestatus", "ha1"], ["rscstatus"], ["listnodes", "-x"]):
        r = ask(*argv, status=None, running=False)
        assert r == ("", [("ERROR", "Cannot signon with heartbeat"),
                          ("ERROR", "REASON: hb_api_signon: Can't initiate connection to heartbeat")], 1)
    assert ask("bogus", status=None) == ("", [("ERROR", "bogus: invalid sub-command.")], 11)
    # what pyha cannot answer it says, with heartbeat's "other error" code
    assert ask("hbparameter", "-p", "keepalive").code == 13 and ask("clientstatus", "ha1", "ipfail").code == 13


def test_log_line_is_heartbeats_format():
    line = cl_status.log_line("Cannot signon with heartbeat", now=0)
    words = line.split()
    assert words[4] == "cl_status:" and words[5].startswith("[") and words[5].endswith("]:")
    assert line.endswith(" ERROR: Cannot signon with heartbeat")


def test_hb_standby_and_hb_takeover_arguments_as_genuine():
    usage = "/usr/share/heartbeat/hb_standby [all|foreign|local|failback]\n"
    prog = "/usr/share/heartbeat/hb_standby"
    assert hb_tools.check("standby", prog, []) == ("all", "", "", 0)
    assert hb_tools.check("standby", prog, ["local"]).which == "local"
    assert hb_tools.check("standby", prog, ["failback"]).which == "foreign"  # hb_standby's own mapping
    assert hb_tools.check("takeover", prog, ["failback"]).which == "failback"
    assert hb_tools.check("standby", prog, ["bogus"]) == (
        None, "%s: wrong resources(bogus).\nusage:\n" % prog, usage, 1)
    assert hb_tools.check("standby", prog, ["a", "b"]) == (None, "%s: too many arguments\nusage:\n" % prog, usage, 1)
    assert hb_tools.check("takeover", prog, ["--help"]) == (None, "usage:\n", usage, 1)
