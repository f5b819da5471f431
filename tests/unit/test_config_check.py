"""check_config / check_models: cross-file and host checks with injected host facts, the
tutorial's files verbatim, Debian's sample files, and the shipped example."""

import gzip
import os
import shutil

import pytest

from pyha.config import (Authkeys, FileStat, HaCf, Haresources, RealHostFacts, StaticHostFacts, check_config,
                         check_models, find_resource_script)

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "data")
EXAMPLE = os.path.normpath(os.path.join(HERE, "..", "..", "examples", "ha.d"))
KEY = "0123456789abcdef0123456789abcdef"

HACF = """keepalive 1
deadtime 10
warntime 5
initdead 20
udpport 694
ucast eth1 198.51.100.2
auto_failback on
node ha1
node ha2
"""


def facts(**kw):
    base = dict(nodename="ha1", interfaces=("lo", "eth0", "eth1"),
                executables={"/etc/init.d/nginx"}, users={"root", "hacluster"})
    base.update(kw)
    return StaticHostFacts(**base)


def run(hacf=HACF, hares="ha1 192.0.2.160/24/eth0 nginx\n", keys="auth 1\n1 sha1 %s\n" % KEY,
        stat=FileStat(0, 0o600), host=None):
    return check_models(HaCf.parse(hacf, "ha.cf") if hacf is not None else None,
                        Haresources.parse(hares, "haresources") if hares is not None else None,
                        Authkeys.parse(keys, "authkeys") if keys is not None else None,
                        host or facts(), "/etc/ha.d", stat)


def only(ds, code):
    found = [d for d in ds if d.code == code]
    assert len(found) == 1, (code, [d.format() for d in ds])
    return found[0]


def assert_diag(ds, code, file, line, severity):
    d = only(ds, code)
    assert (d.file, d.line, d.severity) == (file, line, severity), d.format()
    return d


def test_good_configuration_is_clean():
    assert run() == []


# -- this host's name -----------------------------------------------------------------------------

def test_local_node_must_be_listed():
    d = assert_diag(run(host=facts(nodename="web3")), "hacf-local-node-missing", "ha.cf", 8, "error")
    assert "Current node [web3] not in configuration!" in d.message
    assert d.hint.startswith("add `node web3`")
    assert run(host=facts(nodename="HA1")) == []  # compared case-insensitively


def test_domain_suffix_in_uname():
    ds = run(host=facts(nodename="HA1.cmdschool.org"))
    d = assert_diag(ds, "hacf-local-node-missing", "ha.cf", 8, "error")
    assert "domain suffix" in d.hint and "hostnamectl set-hostname ha1" in d.hint
    assert_diag(ds, "hacf-node-domain-suffix", "ha.cf", 8, "warning")


def test_domain_suffix_in_a_node_name():
    ds = run(hacf=HACF.replace("node ha2", "node ha2.cmdschool.org"))
    assert_diag(ds, "hacf-node-domain-suffix", "ha.cf", 9, "warning")
    ds = run(hacf=HACF.replace("node ha1", "node ha1.example.org"), hares="ha1.example.org 192.0.2.160 nginx\n",
             host=facts(nodename="ha1.example.org"))
    assert [d.code for d in ds] == []  # the name matches uname -n exactly: fine


# -- media ----------------------------------------------------------------------------------------

def test_media_devices():
    assert_diag(run(hacf=HACF + "bcast eth9\n"), "hacf-bcast-device", "ha.cf", 10, "error")
    assert_diag(run(hacf=HACF + "mcast eth9 225.0.0.1 694 1 0\n"), "hacf-device-missing", "ha.cf", 10, "error")
    assert_diag(run(hacf=HACF + "ucast eth9 198.51.100.2\n"), "hacf-ucast-device", "ha.cf", 10, "warning")
    assert_diag(run(hacf=HACF + "serial /dev/ttyS9\n"), "hacf-serial-device", "ha.cf", 10, "error")
    assert run(hacf=HACF + "serial /dev/ttyS0\n", host=facts(paths={"/dev/ttyS0"})) == []


def test_name_resolution():
    ds = run(hacf=HACF + "ucast eth1 nosuchhost\nping nosuchrouter\nping_group g 192.0.2.1 nohost\n")
    assert_diag(ds, "hacf-ucast-resolve", "ha.cf", 10, "error")
    assert [(d.code, d.line) for d in ds if d.code == "hacf-ping-resolve"] == [("hacf-ping-resolve", 11),
                                                                             ("hacf-ping-resolve", 12)]
    host = facts(hosts={"peer": ["198.51.100.2"], "gw": ["192.0.2.1"]})
    assert run(hacf=HACF + "ucast eth1 peer\nping gw\n", host=host) == []


# -- respawn and watchdog ---------------------------------------------------------------------------

def test_respawn():
    ds = run(hacf=HACF + "respawn hacluster /usr/lib64/heartbeat/ipfail\n")
    d = assert_diag(ds, "hacf-respawn-ipfail", "ha.cf", 10, "info")
    assert "built-in arbitration" in d.message
    assert_diag(run(hacf=HACF + "respawn root /usr/bin/missing\n"), "hacf-respawn-missing", "ha.cf", 10, "warning")
    assert_diag(run(hacf=HACF + "respawn nobody9 /usr/bin/x\n", host=facts(executables={"/etc/init.d/nginx",
                                                                                      "/usr/bin/x"})),
                "hacf-respawn-user", "ha.cf", 10, "warning")


def test_watchdog():
    assert_diag(run(hacf=HACF + "watchdog /dev/watchdog\n"), "hacf-watchdog-missing", "ha.cf", 10, "warning")
    assert run(hacf=HACF + "watchdog /dev/watchdog\n", host=facts(paths={"/dev/watchdog"})) == []


# -- haresources against ha.cf and the host -----------------------------------------------------------

def test_group_owner_must_be_a_node():
    d = assert_diag(run(hares="hx1 192.0.2.160 nginx\n"), "hares-bad-node", "haresources", 1, "error")
    assert "Bad nodename" in d.message and d.hint == "write `ha1`"
    d = only(run(hares="192.0.2.160 nginx\n"), "hares-bad-node")
    assert d.hint == "each group starts with its preferred node, e.g. `ha1 192.0.2.160 nginx`"
    assert run(hares="HA2 192.0.2.160 nginx\n") == []


def test_scripts():
    d = assert_diag(run(hares="ha1 192.0.2.160 httpd\n"), "hares-script-missing", "haresources", 1, "error")
    assert "resource.d" in d.message and "httpd.service" in d.message
    assert run(hares="ha1 IPaddr2::192.0.2.160/24/eth0 SendArp::192.0.2.160/eth0 192.0.2.161\n") == []


@pytest.mark.parametrize("where,expected", [
    ({"executables": {"/etc/ha.d/resource.d/Filesystem"}}, "/etc/ha.d/resource.d/Filesystem"),
    ({"executables": {"/etc/init.d/Filesystem"}}, "/etc/init.d/Filesystem"),
    ({"paths": {"/etc/systemd/system/Filesystem.service"}}, "/etc/systemd/system/Filesystem.service"),
    ({"paths": {"/lib/systemd/system/Filesystem.service"}}, "/lib/systemd/system/Filesystem.service"),
    ({"paths": {"/usr/lib/systemd/system/Filesystem.service"}}, "/usr/lib/systemd/system/Filesystem.service"),
    ({"paths": {"/etc/init.d/Filesystem"}}, None),  # not executable
    ({}, None),
])
def test_script_lookup_order(where, expected):
    assert find_resource_script("Filesystem", "/etc/ha.d", StaticHostFacts(**where)) == expected
    assert find_resource_script("IPaddr", "/etc/ha.d", StaticHostFacts()) == "builtin:IPaddr"


def test_ip_interface_missing_is_a_warning():
    assert_diag(run(hares="ha1 192.0.2.160/24/eth7 nginx\n"), "hares-ip-iface-missing", "haresources", 1, "warning")
    assert run(hares="ha1 192.0.2.160/24/eth0:3 nginx\n") == []


# -- authkeys mode and owner --------------------------------------------------------------------------

@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_authkeys_readable_by_others(mode):
    d = assert_diag(run(stat=FileStat(0, mode)), "authkeys-perms", "authkeys", None, "error")
    assert "Bad permissions on keyfile" in d.message and d.hint == "chmod 600 authkeys"


@pytest.mark.parametrize("mode,who", [(0o602, "others"), (0o620, "its group"), (0o622, "group and others"),
                                      (0o422, "group and others")])
def test_authkeys_writable_by_group_or_others_is_refused(mode, who):
    # issue 11: whoever can write the key controls the cluster, so this is an error
    # although heartbeat (which checks only the read bits) would start
    d = assert_diag(run(stat=FileStat(0, mode)), "authkeys-writable", "authkeys", None, "error")
    assert ("writable by %s (mode %04o)" % (who, mode)) in d.message and "controls the cluster" in d.message
    assert d.hint == "chmod 600 authkeys"
    assert not [x for x in run(stat=FileStat(0, mode)) if x.code == "authkeys-perms"]  # not readable: no such error


def test_authkeys_readable_and_writable_gets_both_errors():
    codes = sorted(d.code for d in run(stat=FileStat(0, 0o666)))
    assert codes == ["authkeys-perms", "authkeys-writable"]


@pytest.mark.parametrize("mode", [0o600, 0o400])
def test_authkeys_good_modes(mode):
    assert run(stat=FileStat(0, mode)) == []


def test_authkeys_odd_mode_and_owner():
    assert_diag(run(stat=FileStat(0, 0o700)), "authkeys-mode", "authkeys", None, "warning")
    d = assert_diag(run(stat=FileStat(1000, 0o600)), "authkeys-owner", "authkeys", None, "error")
    assert "stricter than heartbeat" in d.message


# -- whole directories ---------------------------------------------------------------------------------

def copy_dir(src, dst):
    os.makedirs(dst)
    for name in ("ha.cf", "haresources", "authkeys"):
        shutil.copy(os.path.join(src, name), os.path.join(dst, name))
    return dst


def host_for(ha_dir, nodename="HA1", **kw):
    files = {os.path.join(ha_dir, "authkeys"): FileStat(0, 0o600)}
    return facts(nodename=nodename, files=files, **kw)


def test_missing_files(tmp_path):
    d = str(tmp_path)
    report = check_config(d, facts())
    assert sorted((x.code, x.file, x.line, x.severity) for x in report.diagnostics) == [
        ("authkeys-missing", os.path.join(d, "authkeys"), None, "error"),
        ("hacf-missing", os.path.join(d, "ha.cf"), None, "error"),
        ("hares-missing", os.path.join(d, "haresources"), None, "error")]
    assert report.exit_code == 1 and report.hacf is None
    report = check_config(os.path.join(d, "nope"), facts())
    assert [x.code for x in report.diagnostics] == ["config-dir-missing"]


def test_tutorial_files_verbatim(tmp_path):
    d = copy_dir(os.path.join(DATA, "tutorial"), str(tmp_path / "ha.d"))
    report = check_config(d, host_for(d, "HA1"))
    got = [(x.code, os.path.basename(x.file), x.line, x.severity) for x in report.diagnostics]
    assert got == [
        ("authkeys-weak-key", "authkeys", 2, "warning"),
        ("hacf-unknown-directive", "ha.cf", 4, "error"),
        ("hacf-respawn-ipfail", "ha.cf", 15, "info"),
    ]
    keeplive = report.diagnostics[1]
    assert "did you mean keepalive?" in keeplive.message and keeplive.hint == "write `keepalive 2`"
    assert report.exit_code == 1
    text = report.format_text()
    assert "ha.cf:4: error: unknown directive 'keeplive' (did you mean keepalive?)" in text
    assert text.endswith("1 error, 1 warning, 1 note")


def test_tutorial_files_with_domain_suffix_hostname(tmp_path):
    d = copy_dir(os.path.join(DATA, "tutorial"), str(tmp_path / "ha.d"))
    report = check_config(d, host_for(d, "HA1.cmdschool.org"))
    codes = [(x.code, x.line, x.severity) for x in report.diagnostics if x.file.endswith("ha.cf")]
    assert ("hacf-local-node-missing", 11, "error") in codes
    assert ("hacf-node-domain-suffix", 11, "warning") in codes


def test_example_configuration_checks_clean_for_HA1():
    report = check_config(EXAMPLE, host_for(EXAMPLE, "HA1"))
    assert report.ok, report.format_text()
    assert [x.code for x in report.diagnostics] == ["authkeys-placeholder"]
    cf = report.hacf
    assert cf.nodes == ["ha1", "ha2"] and (cf.keepalive_ms, cf.deadtime_ms, cf.initdead_ms) == (2000, 30000, 60000)
    assert [(m.dev, m.peer) for m in cf.media] == [("eth1", "198.51.100.1"), ("eth1", "198.51.100.2"),
                                                  ("eth0", "192.0.2.161"), ("eth0", "192.0.2.162")]
    assert [p.host for p in cf.ping_nodes] == ["192.0.2.1"]
    (g,) = report.haresources.groups
    assert (g.node, g.resources[0].ip, g.resources[0].prefix, g.resources[0].iface) == ("ha1", "192.0.2.160", 24, "eth0")
    assert report.authkeys.active.method == "sha1"
    # the same files serve HA2
    assert check_config(EXAMPLE, host_for(EXAMPLE, "ha2")).ok


def test_real_host_facts_smoke():
    real = RealHostFacts()
    assert real.nodename()
    assert real.interface_exists("lo") and not real.interface_exists("../lo") and not real.interface_exists("")
    assert real.resolve("192.0.2.1") == ["192.0.2.1"]
    assert real.user_exists("root") and not real.user_exists("no such user")
    assert real.stat("/nonexistent") is None and real.stat("/").uid == 0
    assert real.is_executable_file("/bin/sh") and not real.is_executable_file("/")


# -- Debian's sample files ------------------------------------------------------------------------------

DOC = "/usr/share/doc/heartbeat"


def need(path):
    if not os.path.exists(path):
        pytest.skip("Debian's heartbeat package is not installed (%s)" % path)


def test_debian_sample_files(tmp_path):
    for name in ("ha.cf.gz", "haresources.gz", "authkeys"):
        need(os.path.join(DOC, name))
    d = str(tmp_path)
    for name in ("ha.cf", "haresources"):
        with gzip.open(os.path.join(DOC, name + ".gz"), "rb") as src, open(os.path.join(d, name), "wb") as dst:
            dst.write(src.read())
    shutil.copy(os.path.join(DOC, "authkeys"), os.path.join(d, "authkeys"))
    report = check_config(d, host_for(d, "ken3"))
    got = sorted((x.code, os.path.basename(x.file), x.severity) for x in report.diagnostics)
    assert got == [
        ("authkeys-no-auth", "authkeys", "error"),       # "Missing auth directive"
        ("hacf-initdead-default", "ha.cf", "info"),
        ("hacf-no-media", "ha.cf", "error"),             # "No heartbeat media defined"
        ("hacf-no-nodes", "ha.cf", "error"),             # "no nodes defined"
        ("hares-empty", "haresources", "warning"),       # every example is commented out
    ]
    for name in ("ha.cf", "haresources", "authkeys"):
        with open(os.path.join(d, name), "rb") as f:
            raw = f.read().decode("utf-8", "surrogateescape")
        model = {"ha.cf": report.hacf, "haresources": report.haresources, "authkeys": report.authkeys}[name]
        assert model.render() == raw


def test_a_fence_password_in_a_readable_pyha_cf_is_flagged(tmp_path):
    d = copy_dir(os.path.join(DATA, "tutorial"), str(tmp_path / "ha.d"))
    line = "fence ha2 fence_ipmilan ip=192.0.2.12 username=admin password=secret\n"
    with open(os.path.join(d, "pyha.cf"), "w") as f:
        f.write(line)
    pyhacf = os.path.join(d, "pyha.cf")

    def codes(mode):
        host = host_for(d, "HA1")
        host.files[pyhacf] = FileStat(0, mode)
        return [(x.code, x.line) for x in check_config(d, host).diagnostics if x.code.startswith("pyhacf-secret")]
    assert codes(0o644) == [("pyhacf-secret-readable", 1)]
    assert codes(0o640) == [("pyhacf-secret-readable", 1)]
    assert codes(0o600) == []
    with open(pyhacf, "w") as f:  # a password_script keeps the secret out of the file
        f.write(line.replace("password=secret", "password_script=/etc/ha.d/bmc-pw"))
    assert codes(0o644) == []
