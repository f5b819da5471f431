"""`pyha export pacemaker`: the mapping, checked by Pacemaker's and Corosync's own tools.

The pure part (which group, which agent, which parameter where) is asserted on the
model; the files are then given to the real tools (Debian's pacemaker-cli-utils and
corosync, installed by scripts/setup-host.sh): crm_verify, crm_simulate for start-up,
node failure, clean leave, ping loss on the holder and the preferred node's return,
`pcs -f` running the generated pcs.sh, and `corosync -t` on corosync.conf.  No cluster
runs: the tools work offline on files (spec pacemaker.md).
"""

import os
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest

from pyha.export import pacemaker, pacemaker_cib
from pyha.export.pacemaker_model import ExportError, HostFacts

HACF = """\
logfacility local0
keepalive 1
deadtime 10
ucast eth1 198.51.100.2
bcast eth2
auto_failback {af}
node ha1
node ha2
ping 192.0.2.1
respawn hacluster /usr/lib/heartbeat/ipfail
"""
HARESOURCES = "ha1 192.0.2.160/24/eth0/192.0.2.255 nginx\nha2 IPaddr2::192.0.2.161/25/eth0:web\n"

HOST = HostFacts(lsb=["nginx"], systemd=["sshd"], node="ha1",
                 addresses={"eth1": ["198.51.100.1/24"], "eth2": ["203.0.113.1/24"], "eth0": ["192.0.2.11/24"]})


def write_conf(tmp_path, af="on", hacf=HACF, hares=HARESOURCES):
    d = tmp_path / "ha.d"
    d.mkdir(parents=True)
    (d / "ha.cf").write_text(hacf.format(af=af))
    (d / "haresources").write_text(hares)
    return str(d)


def export(tmp_path, af="on", **kw):
    kw.setdefault("no_fencing", True)
    kw.setdefault("host", HOST)
    out = str(tmp_path / "out")
    return pacemaker.export(write_conf(tmp_path, af), out, **kw), out


# --- the mapping --------------------------------------------------------------------

def test_groups_agents_and_ip_parameters_in_their_places(tmp_path):
    cluster, _ = export(tmp_path)
    g1, g2 = cluster.groups
    assert (g1.node, [p.agent for p in g1.primitives]) == ("ha1", ["ocf:heartbeat:IPaddr2", "lsb:nginx"])
    assert g1.primitives[0].params == [("ip", "192.0.2.160"), ("cidr_netmask", "24"), ("nic", "eth0"),
                                       ("broadcast", "192.0.2.255")]
    # haresources2cib.py put the prefix into nic and the interface into cidr_netmask
    assert g2.node == "ha2"
    assert g2.primitives[0].params == [("ip", "192.0.2.161"), ("cidr_netmask", "25"), ("nic", "eth0"),
                                       ("iflabel", "web")]


def test_auto_failback_becomes_stickiness(tmp_path):
    assert export(tmp_path / "a", "on")[0].stickiness == "0"
    assert export(tmp_path / "b", "off")[0].stickiness == "INFINITY"


def test_links_one_per_medium_with_addresses_from_hacf_and_host(tmp_path):
    cluster, out = export(tmp_path, node_addrs={"ha2": ["", "203.0.113.2"]})
    assert [(l.number, l.addresses) for l in cluster.links] == [
        (0, {"ha1": "198.51.100.1", "ha2": "198.51.100.2"}),
        (1, {"ha1": "203.0.113.1", "ha2": "203.0.113.2"})]
    text = open(os.path.join(out, "corosync.conf")).read()
    assert "two_node: 1" in text and "transport: knet" in text and "token: 10000" in text
    assert "ring1_addr: 203.0.113.2" in text


def test_corosync2_uses_udpu_and_at_most_two_rings(tmp_path):
    cluster, out = export(tmp_path, corosync=2)
    text = open(os.path.join(out, "corosync.conf")).read()
    assert "transport: udpu" in text and "rrp_mode: passive" in text and "knet" not in text
    assert "linknumber" not in text


def test_unknown_address_is_reported_not_dropped(tmp_path):
    cluster, out = export(tmp_path)  # nobody says ha2's address on eth2
    assert any("no address known for ha2" in text for _, text in cluster.report)


def test_serial_link_and_unknown_resource_are_reported(tmp_path):
    d = tmp_path / "ha.d"
    d.mkdir()
    (d / "ha.cf").write_text(HACF.format(af="on") + "serial /dev/ttyS0\n")
    (d / "haresources").write_text("ha1 192.0.2.160/24/eth0 nosuchservice\n")
    cluster = pacemaker.export(str(d), str(tmp_path / "out"), no_fencing=True, host=HOST)
    assert any("serial" in t for t in cluster.unmapped)
    assert any("nosuchservice" in t for t in cluster.unmapped)
    assert [p.id for p in cluster.groups[0].primitives] == ["ip-192.0.2.160"]


def test_without_fencing_the_export_is_refused(tmp_path):
    with pytest.raises(ExportError, match="--no-fencing"):
        pacemaker.export(write_conf(tmp_path), str(tmp_path / "out"), host=HOST)
    assert not (tmp_path / "out").exists()


def test_a_config_with_errors_is_refused_naming_the_line(tmp_path):
    d = write_conf(tmp_path, hacf=HACF.replace("keepalive", "keeplive"))
    with pytest.raises(ExportError, match=r"ha\.cf:2: .*keeplive"):
        pacemaker.export(d, str(tmp_path / "out"), no_fencing=True, host=HOST)


def test_bad_node_addr_option(tmp_path):
    with pytest.raises(ExportError, match="NODE=ADDR"):
        pacemaker.parse_node_addrs(["ha1"])


def test_cib_has_no_feature_set_and_a_schema_both_pacemakers_take(tmp_path):
    cluster, out = export(tmp_path)
    root = ET.parse(os.path.join(out, "cib.xml")).getroot()
    assert "crm_feature_set" not in root.attrib
    assert root.get("validate-with") == pacemaker_cib.VALIDATE_WITH


def test_cli_writes_the_files_and_exits_by_what_was_mapped(tmp_path):
    from typer.testing import CliRunner
    from pyha.cli.main import app
    d = write_conf(tmp_path)
    res = CliRunner().invoke(app, ["export", "pacemaker", "--dir", d, "-o", str(tmp_path / "out")])
    assert res.exit_code == 1 and "--no-fencing" in res.output
    res = CliRunner().invoke(app, ["export", "pacemaker", "--dir", d, "-o", str(tmp_path / "out"),
                                   "--no-fencing", "--corosync", "4"])
    assert res.exit_code == 1 and "--corosync must be 2" in res.output


# --- Pacemaker's own tools ------------------------------------------------------------

tools = pytest.mark.skipif(shutil.which("crm_simulate") is None or shutil.which("corosync") is None,
                           reason="pacemaker-cli-utils/corosync not installed (scripts/setup-host.sh installs them)")


def run(argv, env=None):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, env=e)


def where(cib):
    """{resource id: [nodes it runs on]} from crm_mon over a CIB file."""
    r = run(["crm_mon", "-1", "--output-as=xml"], env={"CIB_file": cib})
    assert r.returncode == 0, r.stdout
    out = {}
    for res in ET.fromstring(r.stdout).iter("resource"):
        if res.get("role") == "Started":
            out.setdefault(res.get("id"), []).extend(n.get("name") for n in res.iter("node"))
    return out


def simulate(src, dst, *args):
    r = run(["crm_simulate", "-x", src, "-S", "-O", dst] + list(args))
    assert r.returncode == 0, r.stdout
    return dst


def ping(cib, node, value):
    r = run(["crm_attribute", "--node", node, "--name", "pingd", "--update", str(value), "--lifetime", "reboot"],
            env={"CIB_file": cib})
    assert r.returncode == 0, r.stdout


def apply_pcs_script(tmp_path, out):
    """Run the exported pcs.sh against an empty CIB file (offline); the file's path."""
    cib = str(tmp_path / "pcs-cib.xml")
    with open(cib, "w") as f:
        subprocess.check_call(["cibadmin", "--empty"], stdout=f)
    r = run(["sh", os.path.join(out, "pcs.sh")], env={"CIB": cib})
    assert r.returncode == 0, r.stdout
    return cib


def running(tmp_path, cib):
    up = simulate(cib, str(tmp_path / "up.xml"), "-q", "1", "-u", "ha1", "-u", "ha2")
    ping(up, "ha1", 1000)
    ping(up, "ha2", 1000)
    return simulate(up, str(tmp_path / "running.xml"))


@tools
def test_resources_start_where_heartbeat_starts_them_and_verify_is_clean(tmp_path):
    _, out = export(tmp_path)
    assert run(["crm_verify", "-x", os.path.join(out, "cib.xml")]).returncode == 0
    cib = running(tmp_path, os.path.join(out, "cib.xml"))
    r = run(["crm_verify", "-x", cib])
    assert r.returncode == 0, r.stdout
    at = where(cib)
    assert at["ip-192.0.2.160"] == ["ha1"] and at["nginx"] == ["ha1"] and at["ip-192.0.2.161"] == ["ha2"]


@tools
@pytest.mark.parametrize("how", ["-f", "-d"])  # node failure, clean leave
def test_node_failure_and_clean_leave_move_the_group(tmp_path, how):
    _, out = export(tmp_path)
    cib = running(tmp_path, os.path.join(out, "cib.xml"))
    after = simulate(cib, str(tmp_path / "after.xml"), how, "ha1")
    at = where(after)
    assert at["ip-192.0.2.160"] == ["ha2"] and at["nginx"] == ["ha2"] and at["ip-192.0.2.161"] == ["ha2"]


@tools
def test_ping_loss_on_the_holder_moves_the_group(tmp_path):
    _, out = export(tmp_path, "off")  # even with stickiness INFINITY
    cib = running(tmp_path, os.path.join(out, "cib.xml"))
    ping(cib, "ha1", 0)
    at = where(simulate(cib, str(tmp_path / "after.xml")))
    assert at["ip-192.0.2.160"] == ["ha2"] and at["nginx"] == ["ha2"]


@tools
@pytest.mark.parametrize("af, back_on", [("on", "ha1"), ("off", "ha2")])
def test_preferred_node_returns_failback_only_with_auto_failback_on(tmp_path, af, back_on):
    _, out = export(tmp_path, af)
    cib = running(tmp_path, os.path.join(out, "cib.xml"))
    gone = simulate(cib, str(tmp_path / "gone.xml"), "-d", "ha1")
    assert where(gone)["nginx"] == ["ha2"]
    back = simulate(gone, str(tmp_path / "back.xml"), "-u", "ha1")
    ping(back, "ha1", 1000)
    at = where(simulate(back, str(tmp_path / "settled.xml")))
    assert at["ip-192.0.2.160"] == [back_on] and at["nginx"] == [back_on]


@tools
@pytest.mark.skipif(shutil.which("pcs") is None, reason="pcs not installed")
def test_pcs_script_builds_the_same_configuration(tmp_path):
    _, out = export(tmp_path)
    cib = apply_pcs_script(tmp_path, out)
    at = where(running(tmp_path, cib))
    assert at["ip-192.0.2.160"] == ["ha1"] and at["nginx"] == ["ha1"] and at["ip-192.0.2.161"] == ["ha2"]


@tools
def test_corosync_accepts_the_file_with_this_hosts_address(tmp_path):
    # corosync -t insists on finding the local node among the ring addresses: give ha1
    # this host's loopback address (offline check; nothing is started)
    _, out = export(tmp_path, node_addrs={"ha1": ["127.0.0.1", "127.0.0.1"], "ha2": ["198.51.100.2", "203.0.113.2"]})
    path = os.path.join(out, "corosync.conf")
    r = run(["corosync", "-t", "-c", path])
    assert r.returncode == 0, r.stdout
    with open(path) as f:
        text = f.read()
    with open(path, "w") as f:
        f.write(text.replace("transport: knet", "transport: knot"))
    assert run(["corosync", "-t", "-c", path]).returncode != 0  # the check does reject a bad file


# --- fencing --------------------------------------------------------------------------

STONITH = ("stonith_host ha1 external/ipmi ha2 198.51.100.12 admin secret lanplus\n"
           "stonith_host ha2 external/ipmi ha1 198.51.100.11 admin secret lanplus\n")
IPMI = {"external/ipmi": ["hostname", "ipaddr", "userid", "passwd", "interface"]}


def export_fenced(tmp_path, stonith=STONITH):
    host = HostFacts(lsb=["nginx"], node="ha1", addresses=HOST.addresses, stonith_params=IPMI)
    d = write_conf(tmp_path, hacf=HACF + stonith)
    return pacemaker.export(d, str(tmp_path / "out"), host=host), str(tmp_path / "out")


def test_stonith_host_lines_become_devices_that_never_run_on_their_target(tmp_path):
    cluster, out = export_fenced(tmp_path)
    assert cluster.fencing
    devs = {d.id: d for d in cluster.fence_devices}
    assert devs["fence-ha2"].params == [("hostname", "ha2"), ("ipaddr", "198.51.100.12"), ("userid", "admin"),
                                        ("passwd", "secret"), ("interface", "lanplus")]
    assert (devs["fence-ha2"].avoid, devs["fence-ha1"].avoid) == ("ha2", "ha1")
    # the preferred node (ha1) wins a fencing race: the device that shoots it waits
    assert ("pcmk_delay_base", "5s") in devs["fence-ha1"].params
    assert ("pcmk_delay_base", "5s") not in devs["fence-ha2"].params
    root = ET.parse(os.path.join(out, "cib.xml")).getroot()
    assert root.find(".//nvpair[@name='stonith-enabled']").get("value") == "true"
    assert root.find(".//rsc_location[@rsc='fence-ha1']").get("node") == "ha1"


def test_stonith_device_without_a_node_to_fence_is_reported(tmp_path):
    cluster, _ = export_fenced(tmp_path, "stonith_host * external/ipmi somehost 198.51.100.12 a b lan\n"
                                         "stonith external/ipmi /etc/ha.d/ipmi.cfg\n")
    assert not cluster.fencing
    assert any("cannot tell which node" in t for t in cluster.unmapped)
    assert any("in a file" in t for t in cluster.unmapped)


@tools
def test_fenced_export_verifies_and_a_failed_node_is_fenced_by_the_other(tmp_path):
    _, out = export_fenced(tmp_path)
    cib = running(tmp_path, os.path.join(out, "cib.xml"))
    r = run(["crm_verify", "-x", cib])
    assert r.returncode == 0, r.stdout
    at = where(cib)
    assert at["fence-ha2"] == ["ha1"] and at["fence-ha1"] == ["ha2"]
    r = run(["crm_simulate", "-x", cib, "-S", "-f", "ha1", "-O", str(tmp_path / "f.xml")])
    assert r.returncode == 0 and "Fencing ha1" in r.stdout, r.stdout
    assert where(str(tmp_path / "f.xml"))["nginx"] == ["ha2"]


@tools
@pytest.mark.skipif(shutil.which("pcs") is None, reason="pcs not installed")
def test_pcs_script_with_fence_devices_runs(tmp_path):
    _, out = export_fenced(tmp_path)
    cib = apply_pcs_script(tmp_path, out)
    at = where(running(tmp_path, cib))
    assert at["fence-ha2"] == ["ha1"] and at["fence-ha1"] == ["ha2"]


PYHACF_FENCE = ("fence ha2 fence_ipmilan ip=198.51.100.12 username=admin password=secret lanplus=1 cipher=3\n"
                "fence ha1 fence_ipmilan ip=198.51.100.11 username=admin password=secret lanplus=1 delay=3\n")


def export_pyhacf(tmp_path, pyhacf, stonith=""):
    host = HostFacts(lsb=["nginx"], node="ha1", addresses=HOST.addresses, stonith_params=IPMI)
    d = write_conf(tmp_path, hacf=HACF + stonith)
    with open(os.path.join(d, "pyha.cf"), "w") as f:
        f.write(pyhacf)
    return pacemaker.export(d, str(tmp_path / "out"), host=host), str(tmp_path / "out")


def test_pyhacf_fence_lines_become_fence_agent_devices_and_win_over_stonith_lines(tmp_path):
    cluster, out = export_pyhacf(tmp_path, PYHACF_FENCE, STONITH)
    devs = {d.id: d for d in cluster.fence_devices}
    assert sorted(devs) == ["fence-ha1", "fence-ha2"]
    assert devs["fence-ha2"].type == "fence_ipmilan" and devs["fence-ha2"].avoid == "ha2"
    assert ("ip", "198.51.100.12") in devs["fence-ha2"].params
    # the files carry the device passwords: owner-only
    assert {n: os.stat(os.path.join(out, n)).st_mode & 0o777 for n in os.listdir(out)} == {
        "cib.xml": 0o600, "corosync.conf": 0o600, "pcs.sh": 0o700}
    # delay= is Pacemaker's pcmk_delay_base; no second delay is added to it
    assert [kv for kv in devs["fence-ha1"].params if kv[0] == "pcmk_delay_base"] == [("pcmk_delay_base", "3s")]
    assert not any(k == "pcmk_delay_base" for k, _ in devs["fence-ha2"].params)


def test_fence_delay_sets_the_preferred_nodes_device_delay(tmp_path):
    cluster, _ = export_pyhacf(tmp_path, "fence_delay 7\n" + PYHACF_FENCE.splitlines()[0] + "\n"
                               "fence ha1 fence_ipmilan ip=198.51.100.11 username=admin password=secret\n")
    devs = {d.id: d for d in cluster.fence_devices}
    assert ("pcmk_delay_base", "7s") in devs["fence-ha1"].params


def test_a_pyhacf_error_refuses_the_export(tmp_path):
    with pytest.raises(ExportError, match=r"pyha\.cf:1: .*fence"):
        export_pyhacf(tmp_path, "fence ha2 fence_ipmilan action=off\n")


@tools
@pytest.mark.skipif(shutil.which("pcs") is None or shutil.which("fence_ipmilan") is None,
                    reason="pcs or fence-agents not installed")
def test_fence_agent_devices_pass_pcs_and_pacemaker(tmp_path):
    _, out = export_pyhacf(tmp_path, PYHACF_FENCE)
    cib = running(tmp_path, os.path.join(out, "cib.xml"))
    r = run(["crm_verify", "-x", cib])
    assert r.returncode == 0, r.stdout
    at = where(cib)
    assert at["fence-ha2"] == ["ha1"] and at["fence-ha1"] == ["ha2"]
    pcs_cib = apply_pcs_script(tmp_path, out)  # pcs checks the agent's parameters


def test_monitor_lines_become_monitor_operations_and_a_failure_policy(tmp_path):
    cluster, out = export_pyhacf(tmp_path, PYHACF_FENCE + "monitor nginx interval=3s timeout=7s restarts=2 "
                                 "window=10min url=http://192.0.2.160/\n")
    nginx = [p for g in cluster.groups for p in g.primitives if p.id == "nginx"][0]
    assert nginx.monitor == ("3s", "7s")
    assert nginx.meta == [("migration-threshold", "3"), ("failure-timeout", "600s")]
    assert any("url=" in t and "no HTTP check" in t for k, t in cluster.report)
    root = ET.parse(os.path.join(out, "cib.xml")).getroot()
    op = root.find(".//primitive[@id='nginx']/operations/op")
    assert (op.get("interval"), op.get("timeout")) == ("3s", "7s")
    assert root.find(".//primitive[@id='nginx']/meta_attributes/nvpair[@name='migration-threshold']").get(
        "value") == "3"


@tools
@pytest.mark.skipif(shutil.which("pcs") is None, reason="pcs not installed")
def test_monitored_export_verifies_and_pcs_takes_it(tmp_path):
    _, out = export_pyhacf(tmp_path, PYHACF_FENCE + "monitor nginx interval=3s restarts=2 window=10min\n")
    cib = running(tmp_path, os.path.join(out, "cib.xml"))
    r = run(["crm_verify", "-x", cib])
    assert r.returncode == 0, r.stdout
    pcs_cib = apply_pcs_script(tmp_path, out)
    root = ET.parse(pcs_cib).getroot()
    assert root.find(".//primitive[@id='nginx']/meta_attributes/nvpair[@name='migration-threshold']").get(
        "value") == "3"
