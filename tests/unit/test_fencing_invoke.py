"""How fence devices are called and what their exit codes mean (FenceAgentAPI, cluster-glue)."""

import pytest

from pyha.fencing.invoke import (GLUE_LOG_ENV, agent_invocation, glue_hosts, glue_invocation, interpret_agent,
                                 interpret_glue, scrub)

PARAMS = (("ip", "192.0.2.12"), ("username", "admin"), ("password_script", "/etc/ha.d/pw"), ("delay", "5"))
IPMI_NAMES = ["hostname", "ipaddr", "userid", "passwd", "interface"]


def test_agent_arguments_go_on_stdin_with_action_last_and_without_delay():
    inv = agent_invocation("/usr/sbin/fence_ipmilan", PARAMS, "off")
    assert inv.argv == ["/usr/sbin/fence_ipmilan"]  # nothing secret on the command line
    assert inv.stdin == "ip=192.0.2.12\nusername=admin\npassword_script=/etc/ha.d/pw\naction=off\n"
    assert inv.timeout == 60.0
    # pyha waits the delay itself; a smuggled action/option never reaches the agent
    inv = agent_invocation("/x/fence_x", (("action", "reboot"), ("option", "reboot"), ("ip", "1")), "status", 7.0)
    assert inv.stdin == "ip=1\naction=status\n" and inv.timeout == 7.0
    with pytest.raises(ValueError):
        agent_invocation("/x/fence_x", PARAMS, "destroy")


def test_glue_parameters_go_in_the_environment_and_stale_names_are_removed():
    params = list(zip(IPMI_NAMES, ["ha2", "192.0.2.12", "admin", "s3cret", "lan"]))
    inv = glue_invocation("/usr/sbin/stonith", "external/ipmi", IPMI_NAMES, params, None, "reboot", "ha2",
                          secrets=["s3cret"])
    assert inv.argv == ["/usr/sbin/stonith", "-t", "external/ipmi", "-E", "-T", "reset", "ha2"]
    env = inv.environment({"PATH": "/usr/bin", "passwd": "stale", "interface": "lanplus", "HA_LOGD": "yes"})
    assert env["passwd"] == "s3cret" and env["interface"] == "lan" and env["PATH"] == "/usr/bin"
    assert all(env[k] == v for k, v in GLUE_LOG_ENV)
    short = glue_invocation("/s", "external/ipmi", IPMI_NAMES, params[:2], None, "status")
    assert "passwd" not in short.environment({"passwd": "stale"})
    assert short.argv[-2:] == ["-E", "-S"]
    listing = glue_invocation("/s", "baytech", ["ipaddr"], None, "/etc/ha.d/baytech.cfg", "list")
    assert listing.argv == ["/s", "-t", "baytech", "-F", "/etc/ha.d/baytech.cfg", "-l"]
    with pytest.raises(ValueError):
        glue_invocation("/s", "null", ["hostlist"], [("hostlist", "ha2")], None, "off")  # no target


@pytest.mark.parametrize("action, rc, ok, power", [
    ("status", 0, True, "on"), ("status", 2, True, "off"), ("status", 1, False, None), ("status", 3, False, None),
    ("off", 0, True, "off"), ("off", 1, False, None), ("on", 0, True, "on"), ("reboot", 0, True, "on"),
    ("reboot", 1, False, None), ("monitor", 0, True, None),
])
def test_agent_exit_codes_follow_the_agent_api(action, rc, ok, power):
    out = interpret_agent(action, rc, "warning line\nFailed: Unable to obtain correct plug status", False, 0.1)
    assert (out.ok, out.power) == (ok, power)
    if not ok:
        assert "exit %d" % rc in out.message and "Unable to obtain correct plug status" in out.message


def test_timeouts_and_unrunnable_agents_are_failures():
    out = interpret_agent("off", None, "", True, 60.2, "fence_ipmilan (pyha.cf:3)")
    assert not out.ok and out.timed_out and "fence_ipmilan (pyha.cf:3) off timed out after 60 s" in out.message
    out = interpret_agent("status", None, "cannot run /usr/sbin/fence_x: No such file", False, 0.0)
    assert not out.ok and "No such file" in out.message


def test_agent_warnings_are_not_taken_for_the_reason():
    out = interpret_agent("status", 1, "/usr/sbin/fence_ipmilan:5: DeprecationWarning: 'pipes' is deprecated\n"
                          "  from pipes import quote\n", False, 0.1)
    assert out.message == "fence agent status failed (exit 1)"


def test_glue_exit_codes_and_status_is_the_device_not_the_node():
    assert interpret_glue("status", 0, "", False, 1.0).power is None
    assert interpret_glue("off", 0, "", False, 1.0).power == "off"
    bad = interpret_glue("reboot", 5, "logd is not running\nexternal/ipmi: ERROR: error executing ipmitool", False, 1)
    assert not bad.ok and bad.message.endswith("failed (exit 5): external/ipmi: ERROR: error executing ipmitool")


def test_glue_host_list_is_read_from_stdout():
    assert glue_hosts("ha2\nHA1\n\nha2\n") == ["ha2", "ha1"]


def test_scrub_masks_secrets_but_not_short_ones():
    assert scrub("login as admin with s3cret!", ["s3cret", "p"]) == "login as admin with ****!"
