"""Heartbeat's standard resources on a node without heartbeat's resource.d (issue 13.1).

One lone node (HA1 of the reference scenario, with its gateway) whose private /etc/ha.d
has no resource.d (as after `yum remove heartbeat`), and the haresources line

    ha1 192.0.2.160/24/eth0:7 IPsrcaddr::192.0.2.160 Delay::1::0 MailTo::root::pyha-lab \
        Filesystem::/dev/loopN::/tmp/pyha-fs::ext4

started and stopped by pyha's group runner inside the node, exactly as the daemon runs a
group: the standard names resolve to resource-agents' OCF agents, called as child
processes with heartbeat's argument mapping.  Each step is checked by its real effect:
the default route's source address (IPsrcaddr), Delay's state file, a mail delivered to
root's mailbox (bsd-mailx + dma, a local MTA without a listening daemon; the node's
/var/mail is a bind mount of its private /tmp, so nothing reaches the host's mailboxes),
an ext4 file system on a loop device mounted in the node's own mount namespace.

Also: MailTo through pyha's built-in when no OCF agent is found (a node with pyha but
without resource-agents).
"""

import json
import os
import shutil
import subprocess
import sys

import pytest

from labutil import pyha_env, wait_until
from pyha.lab import reference_spec

LAB_TAG = "std"  # unique among tests/lab modules (the prefix names the namespaces)
pytestmark = pytest.mark.lab

VIP = "192.0.2.160"
MOUNT = "/tmp/pyha-fs"  # inside the node: its private /tmp
MAILDIR = "/tmp/mail"   # bind-mounted over the node's /var/mail

DRIVER = r"""
import json, logging, sys, time
from pyha.config.haresources import Haresources
from pyha.daemon.loop import EventLoop
from pyha.resources import agents
from pyha.resources.group import ArpAnnouncer, GroupRunner
from pyha.resources.runner import ProcessRunner

ocf_root, ops = sys.argv[1], sys.argv[2:]
seen = []
class Keep(logging.Handler):
    def emit(self, record):
        seen.append(record.getMessage())
log = logging.getLogger("pyha")
log.addHandler(Keep())
log.setLevel(logging.INFO)
group = Haresources.load("/etc/ha.d/haresources").groups[0]
ag = [agents.resolve(r.token, ocf_root=ocf_root) for r in group.resources]
loop = EventLoop()
g = GroupRunner(loop, ProcessRunner(loop), group.key, ag, ArpAnnouncer(loop, count=1), stop_retries=1)
results = []
for op in ops:
    out = []
    getattr(g, op)(out.append)
    deadline = time.monotonic() + 60
    while not out and time.monotonic() < deadline:
        loop.run_once(0.05)
    r = out[0] if out else None
    results.append({"op": op, "ok": bool(r and r.ok), "failed": r and r.failed, "detail": r and r.detail})
print(json.dumps({"kinds": [a.kind for a in ag], "results": results, "log": seen}))
"""


def LAB_SPEC():
    return reference_spec(nodes=("HA1",), client_host=None)


@pytest.fixture(scope="module")
def node(lab):
    assert shutil.which("mail") and shutil.which("mkfs.ext4"), \
        "needs bsd-mailx, dma and e2fsprogs (scripts/setup-host.sh installs them)"
    n = lab.node("HA1")
    shutil.rmtree(n.host_path("/etc/ha.d/resource.d"), ignore_errors=True)  # heartbeat removed
    os.makedirs(n.host_path(MAILDIR))
    os.chmod(n.host_path(MAILDIR), 0o1777)
    n.exec(["mount", "--bind", MAILDIR, "/var/mail"], check=True)  # the node's own mount namespace
    yield n


@pytest.fixture
def loopdev(node, tmp_path):
    image = node.host_path("/tmp/fs.img")
    with open(image, "wb") as f:
        f.truncate(8 * 1024 * 1024)
    subprocess.check_call(["mkfs.ext4", "-q", "-F", image])
    dev = subprocess.check_output(["losetup", "-f", "--show", image], universal_newlines=True).strip()
    try:
        yield dev
    finally:
        node.exec(["umount", MOUNT])  # only if a failed test left it mounted
        subprocess.call(["losetup", "-d", dev])


def drive(node, *ops, **kw):
    proc = node.exec([sys.executable, "-c", DRIVER, kw.get("ocf_root", "/usr/lib/ocf")] + list(ops),
                     env=pyha_env(), timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def write_haresources(node, line):
    with open(node.host_path("/etc/ha.d/haresources"), "w") as f:
        f.write(line + "\n")


def default_route(node):
    return node.exec(["ip", "-4", "route", "show", "default"], check=True).stdout


def mounted(node):
    return any(line.split()[1] == MOUNT for line in node.exec(["cat", "/proc/mounts"], check=True).stdout.splitlines())


def mailbox(node):
    path = node.host_path(MAILDIR + "/root")
    if not os.path.exists(path):
        return ""
    with open(path, errors="replace") as f:
        return f.read()


def test_group_of_standard_resources_starts_and_stops_in_order(node, loopdev):
    write_haresources(node, "HA1 %s/24/eth0:7 IPsrcaddr::%s Delay::1::0 MailTo::root::pyha-lab "
                            "Filesystem::%s::%s::ext4" % (VIP, VIP, loopdev, MOUNT))
    check = node.exec([sys.executable, "-m", "pyha", "config", "check"], env=pyha_env())
    assert "hares-script-missing" not in check.stdout and "hares-agent-args" not in check.stdout, check.stdout
    assert "src" not in default_route(node) and not mounted(node)

    out = drive(node, "start")
    assert out["kinds"] == ["ip", "ocf", "ocf", "ocf", "ocf"]
    assert out["results"] == [{"op": "start", "ok": True, "failed": None, "detail": ""}], out["log"]
    started = [m.split()[1].rsplit("/", 1)[-1] for m in out["log"] if m.startswith("Running ")]
    assert started == ["IPsrcaddr", "Delay", "MailTo", "Filesystem"], out["log"]
    assert "src %s" % VIP in default_route(node)
    assert "%s/24 " % VIP in node.exec(["ip", "-4", "-o", "addr", "show", "label", "eth0:7"], check=True).stdout
    assert os.path.exists(node.host_path("/run/resource-agents/Delay_Delay_1"))
    assert mounted(node)
    assert node.exec(["sh", "-c", "echo data > %s/file && cat %s/file" % (MOUNT, MOUNT)]).stdout == "data\n"
    assert wait_until(lambda: "Subject: pyha-lab Takeover in progress" in mailbox(node), 10)[0], mailbox(node)

    out = drive(node, "stop")
    assert out["results"] == [{"op": "stop", "ok": True, "failed": None, "detail": ""}], out["log"]
    stopped = [m.split()[1].rsplit("/", 1)[-1] for m in out["log"] if m.startswith("Running ")]
    # IPsrcaddr first (it restores the default route before its source address goes),
    # then the address, then the rest right to left
    assert stopped == ["IPsrcaddr", "Filesystem", "MailTo", "Delay"], out["log"]
    assert out["log"].index("removed %s/24/eth0:7" % VIP) < out["log"].index(
        [m for m in out["log"] if m.startswith("Running ") and "Filesystem" in m][0])
    assert not mounted(node)
    assert "src %s" % VIP not in default_route(node) and "default via" in default_route(node)
    assert not os.path.exists(node.host_path("/run/resource-agents/Delay_Delay_1"))
    assert VIP not in node.exec(["ip", "-4", "addr", "show", "eth0"], check=True).stdout
    assert wait_until(lambda: "Subject: pyha-lab Migrating resource away" in mailbox(node), 10)[0], mailbox(node)
    assert not os.path.exists("/var/mail/root") or "pyha-lab" not in open("/var/mail/root", errors="replace").read()


def test_mailto_builtin_without_resource_agents(node):
    write_haresources(node, "HA1 MailTo::root::pyha-builtin")
    out = drive(node, "start", "stop", ocf_root="/nonexistent")
    assert out["kinds"] == ["builtin"]
    assert [r["ok"] for r in out["results"]] == [True, True], out
    assert wait_until(lambda: "Subject: pyha-builtin Migrating resource away" in mailbox(node), 10)[0], mailbox(node)
    assert "Subject: pyha-builtin Takeover in progress" in mailbox(node)
