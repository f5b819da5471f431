"""Heartbeat's standard resources without heartbeat: argument mapping, OCF environment,
exit codes, the lookup order, built-ins, and what `pyha config check` says (issue 13.1).

The expected mappings were read off Debian heartbeat 3.0.6's /etc/ha.d/resource.d
wrappers (which OCF_RESKEY_* each positional argument becomes, the defaults they set,
the instance name they export) and checked against resource-agents' meta-data.
"""

import os
import sys
import time

import pytest

from pyha.config.check import check_models, find_resource_script
from pyha.config.haresources import Haresources
from pyha.config.hostfacts import StaticHostFacts
from pyha.daemon.loop import EventLoop
from pyha.resources import agents, builtin, lookup, ocf, standard
from pyha.resources.group import GroupRunner
from pyha.resources.ipaddr import IpResourceError, IpSpec
from pyha.resources.runner import ProcessRunner

# name, args, OCF_RESKEY_* (in the wrapper's order), OCF_RESOURCE_INSTANCE
MAPPINGS = [
    ("AudibleAlarm", [], {"nodelist": ""}, "AudibleAlarm"),
    ("AudibleAlarm", ["ha1", "ha2"], {"nodelist": "ha1 ha2"}, "AudibleAlarm"),
    ("Delay", [], {"startdelay": "10", "mondelay": "0"}, "Delay_10"),
    ("Delay", ["1"], {"startdelay": "1", "mondelay": "0"}, "Delay_1"),
    ("Delay", ["1", "0"], {"startdelay": "1", "stopdelay": "0", "mondelay": "0"}, "Delay_1"),
    ("Filesystem", ["/dev/sdb1", "/srv"], {"device": "/dev/sdb1", "directory": "/srv"}, "Filesystem_/dev/sdb1"),
    ("Filesystem", ["/dev/sdb1", "/srv", "ext4", "noatime,ro"],
     {"device": "/dev/sdb1", "directory": "/srv", "fstype": "ext4", "options": "noatime,ro"}, "Filesystem_/dev/sdb1"),
    ("ICP", ["c0h1unit0", "/dev/sdb"], {"driveid": "c0h1unit0", "device": "/dev/sdb"}, "ICP_c0h1unit0"),
    ("IPsrcaddr", ["192.0.2.160"], {"ipaddress": "192.0.2.160"}, "IPsrcaddr"),
    ("IPv6addr", ["2001:db8::1"], {"ipv6addr": "2001:db8::1"}, "IPv6addr_2001:db8::1"),
    ("IPv6addr", ["2001:db8::1/64/eth0"], {"ipv6addr": "2001:db8::1", "cidr_netmask": "64", "nic": "eth0"},
     "IPv6addr_2001:db8::1/64/eth0"),
    ("LVM", ["vg0"], {"volgrpname": "vg0"}, "LVM"),
    ("LinuxSCSI", ["0:0:11"], {"scsi": "0:0:11"}, "LinuxSCSI_0:0:11"),
    ("MailTo", ["root@localhost"], {"email": "root@localhost"}, "MailTo"),
    ("MailTo", ["a@x,b@y", "ha1 says"], {"email": "a@x,b@y", "subject": "ha1 says"}, "MailTo"),
    ("Raid1", ["/etc/mdadm.conf", "/dev/md0"], {"raidconf": "/etc/mdadm.conf", "raiddev": "/dev/md0"},
     "Raid1_/etc/mdadm.conf"),
    ("SendArp", ["192.0.2.160/eth0"], {"ip": "192.0.2.160", "nic": "eth0"}, "SendArp_192.0.2.160"),
    ("ServeRAID", ["1", "2"], {"serveraid": "1", "mergegroup": "2"}, "ServeRAID_1"),
    ("WAS", [], {}, "WAS"),
    ("WAS", ["9080"], {"port": "9080"}, "WAS"),
    ("WAS", ["/opt/was/server-cfg.xml"], {"config": "/opt/was/server-cfg.xml"}, "WAS"),
    ("WinPopup", [], {"hostfile": "hosts"}, "WinPopup"),
    ("WinPopup", ["/etc/ha.d/ws"], {"hostfile": "/etc/ha.d/ws"}, "WinPopup"),
    ("Xinetd", ["telnet"], {"service": "telnet"}, "Xinetd"),
    ("apache", [], {}, "apache_"),
    ("apache", ["/etc/httpd/conf/httpd.conf"], {"configfile": "/etc/httpd/conf/httpd.conf"},
     "apache_/etc/httpd/conf/httpd.conf"),
    ("db2", ["db2inst1"], {"instance": "db2inst1"}, "db2_db2inst1"),
    ("ids", [], {}, "ids_"),
    ("ids", ["/opt/ifx", "srv1", "onconfig.srv1"],
     {"informixdir": "/opt/ifx", "informixserver": "srv1", "onconfig": "onconfig.srv1"}, "ids_srv1"),
    ("portblock", ["tcp", "80,443", "block"], {"protocol": "tcp", "portno": "80,443", "action": "block"},
     "portblock_tcp_80,443_block"),
]

# argument lists each wrapper's usage refuses
REFUSED = [
    ("Delay", ["1", "2", "3"]), ("Filesystem", ["/dev/sdb1"]), ("Filesystem", ["a", "b", "c", "d", "e"]),
    ("ICP", ["x"]), ("IPsrcaddr", []), ("IPsrcaddr", ["a", "b"]), ("IPv6addr", []), ("LVM", []),
    ("LinuxSCSI", []), ("MailTo", []), ("MailTo", ["a", "b", "c"]), ("Raid1", ["/etc/mdadm.conf"]),
    ("SendArp", ["192.0.2.1"]), ("SendArp", []), ("ServeRAID", ["1"]), ("WAS", ["a", "b"]),
    ("WinPopup", ["a", "b"]), ("Xinetd", []), ("apache", ["a", "b"]), ("db2", []), ("ids", ["a"]),
    ("portblock", ["tcp", "80"]),
]


def test_every_standard_name_is_mapped_and_tested():
    assert sorted(set(m[0] for m in MAPPINGS)) == sorted(standard.NAMES)
    assert set(standard.BUILTIN) == set(builtin.NAMES)
    # every name is an agent of resource-agents on this host (the names are real)
    here = [n for n in standard.NAMES if os.path.isfile(ocf.agent_path(n))]
    if here:  # resource-agents installed (CI's setup-host does): all of them exist
        assert here == list(standard.NAMES)


@pytest.mark.parametrize("name,args,reskeys,instance", MAPPINGS)
def test_mapping_matches_heartbeats_wrapper(name, args, reskeys, instance):
    m = standard.map_args(name, args)
    assert m.ocf_type == name and m.instance == instance
    assert list(m.reskeys.items()) == list(reskeys.items())


@pytest.mark.parametrize("name,args", REFUSED)
def test_arguments_the_wrapper_refuses(name, args):
    with pytest.raises(standard.ArgsError, match="^%s takes " % name):
        standard.map_args(name, args)


def test_mapped_parameter_names_exist_in_the_agents_metadata():
    """Every OCF_RESKEY_ name we set is a parameter the installed agent declares."""
    import subprocess
    import xml.etree.ElementTree as ET
    if not os.path.isdir(os.path.join(ocf.OCF_ROOT, "resource.d", "heartbeat")):
        pytest.skip("resource-agents is not installed")
    used = {}
    for name, _args, reskeys, _inst in MAPPINGS:
        used.setdefault(name, set()).update(reskeys)
    for name, keys in used.items():
        env = dict(os.environ, OCF_ROOT=ocf.OCF_ROOT)
        out = subprocess.check_output([ocf.agent_path(name), "meta-data"], env=env, stderr=subprocess.DEVNULL)
        declared = set(p.get("name") for p in ET.fromstring(out).iter("parameter"))
        assert keys <= declared, (name, keys - declared)


# -- environment and exit codes -----------------------------------------------------------------

def test_environment_of_an_agent_call():
    m = standard.map_args("Filesystem", ["/dev/loop0", "/srv", "ext4"])
    base = {"PATH": "/usr/bin:/bin", "LANG": "C", "OCF_RESKEY_device": "/dev/leaked", "OCF_RESKEY_other": "x",
            "HA_RSCTMP": "/tmp/rsc"}
    env = ocf.environment(m.ocf_type, m.reskeys, m.instance, base=base)
    assert env["OCF_ROOT"] == "/usr/lib/ocf" and env["OCF_RA_VERSION_MAJOR"] == "1"
    assert env["OCF_RA_VERSION_MINOR"] == "0"
    assert env["OCF_RESOURCE_INSTANCE"] == "Filesystem_/dev/loop0"
    assert env["OCF_RESOURCE_TYPE"] == env["OCF_TYPE"] == "Filesystem"
    assert env["OCF_RESOURCE_PROVIDER"] == "heartbeat"
    assert env["OCF_RESKEY_device"] == "/dev/loop0" and env["OCF_RESKEY_fstype"] == "ext4"
    assert "OCF_RESKEY_other" not in env  # never the daemon's own OCF variables
    assert "OCF_RESKEY_options" not in env
    assert env["PATH"] == "/usr/bin:/bin" and env["LANG"] == "C" and env["HA_RSCTMP"] == "/tmp/rsc"
    assert ocf.environment("Delay", {}, "Delay_10", base={})["PATH"]  # a PATH even from an empty one


@pytest.fixture
def hostdirs(tmp_path):
    d = {k: tmp_path / k for k in ("resource.d", "init.d", "units", "ocf")}
    for p in d.values():
        p.mkdir()
    (tmp_path / "ocf" / "resource.d" / "heartbeat").mkdir(parents=True)
    return d


def _exe(path, body="#!/bin/sh\nexit 0\n"):
    path.write_text(body)
    os.chmod(str(path), 0o755)
    return str(path)


def resolve(token, d, systemd=False):
    return agents.resolve(token, str(d["resource.d"]), [str(d["init.d"])], systemd=systemd,
                          systemd_dirs=[str(d["units"])], ocf_root=str(d["ocf"]))


def test_ocf_agent_command_line_env_and_status(hostdirs):
    path = _exe(hostdirs["ocf"] / "resource.d" / "heartbeat" / "MailTo")
    a = resolve("MailTo::root::ha1 says", hostdirs)
    assert a.kind == agents.KIND_OCF and a.path == path
    assert a.argv("start") == [path, "start"] and a.argv("stop") == [path, "stop"]
    assert a.argv("status") == [path, "monitor"]  # heartbeat's status is OCF monitor
    env = a.env(base={"PATH": "/bin"})
    assert env["OCF_RESKEY_email"] == "root" and env["OCF_RESKEY_subject"] == "ha1 says"
    assert env["OCF_ROOT"] == str(hostdirs["ocf"])
    assert a.env() is not None and a.env()["OCF_RESOURCE_INSTANCE"] == "MailTo"
    with pytest.raises(agents.AgentError):
        a.argv("reload")


@pytest.mark.parametrize("rc,status", [(0, agents.RUNNING), (7, agents.STOPPED), (1, agents.UNKNOWN),
                                       (5, agents.UNKNOWN), (6, agents.UNKNOWN), (3, agents.UNKNOWN),
                                       (None, agents.UNKNOWN), (-9, agents.UNKNOWN)])
def test_ocf_status_is_read_from_the_exit_code_only(hostdirs, rc, status):
    _exe(hostdirs["ocf"] / "resource.d" / "heartbeat" / "Delay")
    a = resolve("Delay::1::0", hostdirs)
    # output is ignored: "running" printed by a failing monitor is still a failure
    assert a.interpret_status(rc, "Delay is running OK") == status


@pytest.mark.parametrize("op,rc,ok", [("start", 0, True), ("start", 7, False), ("start", 1, False),
                                      ("stop", 0, True), ("stop", 7, True), ("stop", 1, False),
                                      ("stop", 5, False), ("stop", None, False)])
def test_ocf_success_rules(hostdirs, op, rc, ok):
    _exe(hostdirs["ocf"] / "resource.d" / "heartbeat" / "Delay")
    assert resolve("Delay", hostdirs).succeeded(op, rc) is ok
    _exe(hostdirs["init.d"] / "svc")
    assert resolve("svc", hostdirs).succeeded(op, rc) is (rc == 0)  # LSB: only 0
    assert resolve("svc", hostdirs).env() is None  # scripts get the daemon's environment


def test_exit_code_meanings():
    assert ocf.explain(5) == "not installed" and ocf.explain(7) == "not running"
    assert ocf.explain(-9) == "killed by signal 9" and ocf.explain(42) == "unknown OCF code"


# -- the lookup order ----------------------------------------------------------------------------

def test_lookup_order_resource_d_init_systemd_ocf_builtin(hostdirs):
    d = hostdirs
    assert resolve("Delay::1::0", d).kind == agents.KIND_BUILTIN  # nothing installed: built-in
    ocf_path = _exe(d["ocf"] / "resource.d" / "heartbeat" / "Delay")
    assert resolve("Delay::1::0", d).path == ocf_path
    (d["units"] / "Delay.service").write_text("[Unit]\n")
    assert resolve("Delay", d, systemd=True).kind == agents.KIND_SYSTEMD
    assert resolve("Delay", d, systemd=False).kind == agents.KIND_OCF
    _exe(d["init.d"] / "Delay")
    assert resolve("Delay::1::0", d, systemd=True).kind == agents.KIND_LSB
    rd = _exe(d["resource.d"] / "Delay")
    a = resolve("Delay::1::0", d, systemd=True)
    assert a.kind == agents.KIND_HEARTBEAT and a.argv("start") == [rd, "1", "0", "start"]


def test_resource_d_script_gets_its_arguments_unchecked(hostdirs):
    """drbddisk, or a site's own Filesystem wrapper: run as written, whatever the arguments."""
    p = _exe(hostdirs["resource.d"] / "Filesystem")
    assert resolve("Filesystem::one", hostdirs).argv("status") == [p, "one", "status"]
    _exe(hostdirs["resource.d"] / "drbddisk")
    assert resolve("drbddisk::r0", hostdirs).kind == agents.KIND_HEARTBEAT


def test_builtin_only_for_its_names_and_bad_arguments_refused(hostdirs):
    a = resolve("MailTo::root", hostdirs)
    assert a.kind == agents.KIND_BUILTIN and a.path is None
    assert a.argv("status") == [sys.executable, "-m", "pyha.resources.builtin", "MailTo", "monitor"]
    assert a.env(base={})["OCF_RESKEY_email"] == "root"
    with pytest.raises(agents.AgentError, match="Cannot locate resource script Filesystem.*resource-agents"):
        resolve("Filesystem::/dev/sdb1::/srv", hostdirs)
    _exe(hostdirs["ocf"] / "resource.d" / "heartbeat" / "Filesystem")
    with pytest.raises(agents.AgentError, match=r"Filesystem takes <device> <directory>"):
        resolve("Filesystem::/dev/sdb1", hostdirs)
    with pytest.raises(agents.AgentError, match="Delay takes"):
        resolve("Delay::1::2::3", hostdirs)


def test_hints_name_real_packages():
    assert "yum install resource-agents" in lookup.hint("MailTo")
    assert "apt-get install resource-agents" in lookup.hint("Filesystem")
    assert "yum install MailTo" not in lookup.hint("MailTo")
    assert "leave Raid1 out" in lookup.hint("Raid1") and "leave" not in lookup.hint("Delay")
    assert lookup.hint("Filesytem") == "did you mean Filesystem (heartbeat's standard resource)?"
    h = lookup.hint("httpd")
    assert "yum provides '*/httpd'" in h and "yum install httpd" not in h


def test_ipaddr2_arguments_beyond_the_address():
    s = IpSpec.parse("192.0.2.161/255.255.255.0/eth0:1/192.0.2.255")
    assert (s.ip, s.prefix, s.ifname, s.label, s.broadcast) == ("192.0.2.161", 24, "eth0", "eth0:1", "192.0.2.255")
    assert str(s) == "192.0.2.161/24/eth0:1/192.0.2.255"
    assert IpSpec.parse("192.0.2.161/24/eth0").label is None
    for bad in ("192.0.2.1/0.0.0.255", "192.0.2.1/33", "192.0.2.1/24/:1", "192.0.2.1/24/eth0:waytoolonglabel"):
        with pytest.raises(IpResourceError):
            IpSpec.parse(bad)


# -- pyha config check uses the same lookup ------------------------------------------------------------

HACF = "keepalive 1\ndeadtime 10\nudpport 694\nbcast eth1\nnode ha1\nnode ha2\n"
OCF_DIR = "/usr/lib/ocf/resource.d/heartbeat/"


def _check(hares, executables=()):
    from pyha.config import Authkeys, FileStat, HaCf
    facts = StaticHostFacts(nodename="ha1", executables=executables)
    diags = check_models(HaCf.parse(HACF, "ha.cf"), Haresources.parse(hares, "haresources"),
                         Authkeys.parse("auth 1\n1 sha1 0123456789abcdef0123456789abcdef\n", "authkeys"),
                         facts, "/etc/ha.d", FileStat(0, 0o600))
    return [d for d in diags if d.file == "haresources"]


def test_config_check_accepts_standard_names_without_resource_d():
    line = "ha1 192.0.2.160/24/eth0 Delay::1::0 MailTo::root IPsrcaddr::192.0.2.160 " \
           "Filesystem::/dev/loop0::/srv::ext4\n"
    agents_here = [OCF_DIR + n for n in ("Delay", "MailTo", "IPsrcaddr", "Filesystem")]
    assert _check(line, agents_here) == []
    # without resource-agents: Delay and MailTo are built in, Filesystem and IPsrcaddr are not
    diags = _check(line)
    assert [(d.code, d.severity) for d in diags] == [("hares-script-missing", "error")] * 2
    assert "IPsrcaddr" in diags[0].message and OCF_DIR + "IPsrcaddr" in diags[0].message
    assert "yum install resource-agents" in diags[0].hint and "Filesystem" in diags[1].message


def test_config_check_reports_arguments_the_agent_cannot_take():
    diags = _check("ha1 Filesystem::/dev/sdb1\n", [OCF_DIR + "Filesystem"])
    assert [(d.code, d.line) for d in diags] == [("hares-agent-args", 1)]
    assert "Filesystem takes <device> <directory>" in diags[0].message
    # a site's own resource.d script takes whatever it takes
    assert _check("ha1 Filesystem::/dev/sdb1\n", ["/etc/ha.d/resource.d/Filesystem"]) == []


def test_find_resource_script_follows_the_daemons_order():
    facts = StaticHostFacts(executables={OCF_DIR + "Delay"})
    assert find_resource_script("Delay", "/etc/ha.d", facts) == OCF_DIR + "Delay"
    assert find_resource_script("MailTo", "/etc/ha.d", StaticHostFacts()) == "builtin:MailTo"
    assert find_resource_script("SendArp", "/etc/ha.d", StaticHostFacts()) == "builtin:SendArp"
    facts = StaticHostFacts(executables={OCF_DIR + "Delay", "/etc/ha.d/resource.d/Delay"})
    assert find_resource_script("Delay", "/etc/ha.d", facts) == "/etc/ha.d/resource.d/Delay"
    assert find_resource_script("Raid1", "/etc/ha.d", StaticHostFacts()) is None


# -- the built-ins (run in-process here; the lab test runs them as children) ---------------------------

def test_builtin_delay(tmp_path):
    env = {"HA_RSCTMP": str(tmp_path), "OCF_RESOURCE_INSTANCE": "Delay_2", "OCF_RESKEY_startdelay": "2",
           "OCF_RESKEY_stopdelay": "0.5"}
    slept = []
    assert builtin.delay("monitor", env, slept.append) == 7
    assert builtin.delay("start", env, slept.append) == 0 and slept == [2.0]
    assert (tmp_path / "Delay_Delay_2").exists()  # the OCF agent's own state file
    assert builtin.delay("monitor", env, slept.append) == 0
    assert builtin.delay("start", env, slept.append) == 0 and slept == [2.0]  # already running
    assert builtin.delay("stop", env, slept.append) == 0 and slept == [2.0, 0.5]
    assert builtin.delay("stop", env, slept.append) == 0 and builtin.delay("monitor", env, slept.append) == 7
    assert builtin.delay("start", dict(env, OCF_RESKEY_startdelay="soon"), slept.append) == 2


def test_builtin_mailto(tmp_path):
    env = {"HA_RSCTMP": str(tmp_path), "OCF_RESOURCE_INSTANCE": "MailTo", "OCF_RESKEY_email": "root",
           "OCF_RESKEY_subject": "[ha1]", "PATH": "/bin"}
    sent = []

    def run(argv, input_text):
        sent.append((argv, input_text))
        return 0
    which = lambda cmd, path=None: "/usr/bin/" + cmd  # noqa: E731
    assert builtin.mailto("start", env, which, run) == 0 and builtin.mailto("monitor", env, which, run) == 0
    argv, body = sent[0]
    assert argv[0] == "/usr/bin/mail" and argv[1] == "-s" and argv[3] == "root"
    assert argv[2].startswith("[ha1] Takeover in progress at ") and "Takeover" in body
    assert builtin.mailto("stop", dict(env, MAILCMD="mailx"), which, run) == 0
    assert sent[1][0][0] == "/usr/bin/mailx" and "Migrating resource away" in sent[1][0][2]
    assert builtin.mailto("monitor", env, which, run) == 7
    assert builtin.mailto("start", env, lambda cmd, path=None: None, run) == 5  # no mail command
    assert builtin.mailto("start", dict(env, OCF_RESKEY_email=""), which, run) == 6


def test_builtin_as_a_child_process(tmp_path):
    """The exact command line and environment the daemon uses, run for real."""
    d = {"resource.d": tmp_path / "rd", "init.d": tmp_path / "initd", "units": tmp_path / "u",
         "ocf": tmp_path / "no-ocf"}
    for p in d.values():
        p.mkdir()
    a = resolve("Delay::0::0", d)
    env = a.env(base=dict(os.environ, HA_RSCTMP=str(tmp_path / "rsc")))
    from pyha.resources.runner import run_blocking
    codes = [run_blocking(a.argv(op), 30, env=env).returncode for op in ("status", "start", "status", "stop",
                                                                         "status")]
    assert codes == [7, 0, 0, 0, 7]


# -- the group runner applies the OCF rules -----------------------------------------------------------

def test_group_runner_treats_stop_not_running_as_stopped_and_passes_the_env(tmp_path):
    log = tmp_path / "calls"
    ocf_root = tmp_path / "ocf"
    (ocf_root / "resource.d" / "heartbeat").mkdir(parents=True)
    # an agent that says "not running" (7) on stop and records what it was given
    _exe(ocf_root / "resource.d" / "heartbeat" / "Xinetd",
         "#!/bin/sh\necho \"$1 $OCF_RESOURCE_INSTANCE $OCF_RESKEY_service\" >> %s\n"
         "case $1 in monitor) exit 7;; stop) exit 7;; start) exit 0;; esac\nexit 3\n" % log)
    d = {"resource.d": tmp_path / "rd", "init.d": tmp_path / "initd", "units": tmp_path / "u", "ocf": ocf_root}
    for k in ("resource.d", "init.d", "units"):
        d[k].mkdir()
    loop = EventLoop()
    g = GroupRunner(loop, ProcessRunner(loop), "x", [resolve("Xinetd::telnet", d)], stop_retries=1)
    out = []
    g.start(out.append)
    deadline = time.monotonic() + 10
    while not out and time.monotonic() < deadline:
        loop.run_once(0.05)
    g.stop(out.append)
    while len(out) < 2 and time.monotonic() < deadline:
        loop.run_once(0.05)
    assert [r.ok for r in out] == [True, True]
    assert log.read_text().split("\n")[:-1] == ["monitor Xinetd telnet", "start Xinetd telnet",
                                                 "stop Xinetd telnet"]


def test_stop_order_puts_ipsrcaddr_before_the_addresses(hostdirs):
    """The kernel deletes the routes whose source address is removed: IPsrcaddr must put
    the default route back before the VIP goes (the lab test saw the route vanish)."""
    _exe(hostdirs["ocf"] / "resource.d" / "heartbeat" / "IPsrcaddr")
    _exe(hostdirs["init.d"] / "nginx")
    group = [resolve(t, hostdirs) for t in ("192.0.2.160/24/eth0", "IPsrcaddr::192.0.2.160", "Delay::1::0",
                                            "nginx", "192.0.2.161/24/eth0")]
    assert [a.token for a in agents.stop_order(group)] == [
        "IPsrcaddr::192.0.2.160", "192.0.2.161/24/eth0", "192.0.2.160/24/eth0", "nginx", "Delay::1::0"]
    plain = [resolve(t, hostdirs) for t in ("192.0.2.160/24/eth0", "nginx")]
    assert [a.token for a in agents.stop_order(plain)] == ["192.0.2.160/24/eth0", "nginx"]


def test_pacemaker_export_gets_the_same_mapping():
    """`pyha export pacemaker` asks pyha.resources.ocf_map for heartbeat's names."""
    from pyha.resources import ocf_map
    assert ocf_map.heartbeat_to_ocf("Filesystem", ["/dev/sdb1", "/srv", "ext4"]) == (
        "Filesystem", {"device": "/dev/sdb1", "directory": "/srv", "fstype": "ext4"})
    assert ocf_map.heartbeat_to_ocf("nginx", []) is None
    with pytest.raises(ValueError):
        ocf_map.heartbeat_to_ocf("Filesystem", ["/dev/sdb1"])
    from pyha.config.haresources import Resource
    from pyha.export.pacemaker_model import _standard_primitive
    prim = _standard_primitive(Resource.parse("Delay::1::0"), "Delay", StaticHostFacts())
    assert prim.agent == "ocf:heartbeat:Delay"
    assert dict(prim.params) == {"startdelay": "1", "stopdelay": "0", "mondelay": "0"}
