"""Build and tear down a lab: the reference scenario's networks and machines in namespaces.

Job: turn a `LabSpec` into live namespaces and back, and remember what was built in
``<statedir>/lab.json`` so that another process (``pyha lab down``, a test run after a crash)
can find the namespaces and init PIDs and remove everything.

Layout for prefix P (default "pyha"):
  * ``P-sw``: the switch namespace, one bridge ``br-<network>`` per network (STP and
    multicast snooping off, so ucast/bcast/mcast heartbeats all pass at once);
  * ``P-<member>`` (lower case, e.g. ``pyha-ha1``, ``pyha-gw``, ``pyha-client``): one per
    member; each interface is a veth whose member end is created directly inside the
    member namespace with its final name (``eth0``) and whose switch end
    (``ha1-eth0``) is a bridge port.  Addresses get ``brd +``; MACs are 02:00:<IPv4>.
  * state on the host under the state dir (default ``/tmp/P-lab``): ``lab.json``,
    ``<NODE>/root/{etc/ha.d,var/lib/pyha,var/lib/heartbeat,run,var/log,tmp}``,
    ``<NODE>/init.log``, ``ssh/`` (client keys, see `pyha.lab.sshd`).

Nothing is created in the root network namespace.  The only host-side changes outside the
state dir: /run/netns entries (by `ip netns`) and, when missing, the empty mount points
/var/lib/pyha and /etc/ha.d (a bind mount needs an existing target).

    lab = Lab("pyhat123", spec=reference_spec()).up()
    try:
        lab.node("HA1").exec(["ping", "-c1", "198.51.100.2"], check=True)
    finally:
        lab.down()
    # or, from another process:  Lab.load("/tmp/pyhat123-lab").down()
    # after a crash:              cleanup_leftovers("pyhat123")

Never: delete a namespace or state dir that does not carry this lab's prefix, signal a
process other than by verified PID, or leave a half-built lab behind (a failing `up()`
tears down what it made).
"""

import json
import os
import re
import shutil
import signal
import time
from typing import Any, Dict, List, Optional

from pyha.lab import netns as nsu
from pyha.lab.netns import LabError
from pyha.lab.node import Host, Member, Node, make_member
from pyha.lab.spec import SWITCH, LabSpec, reference_spec

STATE_FILE = "lab.json"
STATE_VERSION = 1
# Prefixes start with "pyha" (docs/CONVENTIONS.md: every lab namespace name does).
PREFIX_RE = re.compile(r"^pyha[a-z0-9_]{0,20}$")
REQUIRED_TOOLS = ("ip", "nsenter", "unshare", "mount", "umount")


def check_prefix(prefix):
    # type: (str) -> str
    if not PREFIX_RE.match(prefix or ""):
        raise LabError("lab prefix %r must match %s (lower case, starts with 'pyha')" % (prefix, PREFIX_RE.pattern))
    return prefix


def default_statedir(prefix):
    # type: (str) -> str
    return "/tmp/%s-lab" % check_prefix(prefix)


def owns_netns(prefix, name):
    # type: (str, str) -> bool
    """True for the namespaces a lab with this prefix creates: P-sw, P-<member>.

    "pyhat1" does not own "pyhat12-sw": the dash after the prefix is required."""
    return name == prefix or name.startswith(prefix + "-")


def lab_support():
    # type: () -> Optional[str]
    """None when labs can run here, else the reason they cannot (for skips and errors)."""
    if os.geteuid() != 0:
        return "needs root (network namespaces, mounts)"
    for tool in REQUIRED_TOOLS:
        if shutil.which(tool) is None:
            return "%s is not installed" % tool
    proc = nsu.run(["ip", "netns", "list"], check=False)
    if proc.returncode != 0:
        return "`ip netns` is unavailable: %s" % proc.stderr.strip()
    return None


class Lab(object):
    """A lab: `Lab(prefix, statedir, spec).up()`, then `node(name)`, then `down()`."""

    def __init__(self, prefix="pyha", statedir=None, spec=None):
        # type: (str, Optional[str], Optional[LabSpec]) -> None
        self.prefix = check_prefix(prefix)
        self.statedir = os.path.abspath(statedir or default_statedir(prefix))
        self.spec = (spec if spec is not None else reference_spec()).validate()
        self.created_statedir = False
        self.members = [make_member(self, m) for m in self.spec.members]  # type: List[Member]

    # -- names and lookup -----------------------------------------------------------------
    def netns_name(self, member_name):
        # type: (str) -> str
        return "%s-%s" % (self.prefix, member_name.lower())

    @property
    def switch_netns(self):
        # type: () -> str
        return "%s-%s" % (self.prefix, SWITCH)

    def all_netns(self):
        # type: () -> List[str]
        return [m.netns for m in self.members] + [self.switch_netns]

    def node(self, name):
        # type: (str) -> Any
        """The member called `name` (a `Node`, or a `Host` for gateway/client)."""
        for member in self.members:
            if member.name == name or member.name.lower() == name.lower():
                return member
        raise KeyError("no lab member %r (members: %s)" % (name, ", ".join(m.name for m in self.members)))

    member = node

    @property
    def nodes(self):
        # type: () -> List[Node]
        return [m for m in self.members if isinstance(m, Node)]

    @property
    def hosts(self):
        # type: () -> List[Host]
        return [m for m in self.members if isinstance(m, Host)]

    def exec(self, name, argv, **kwargs):
        # type: (str, Any, Any) -> Any
        return self.node(name).exec(argv, **kwargs)

    def spawn(self, name, argv, **kwargs):
        # type: (str, Any, Any) -> Any
        return self.node(name).spawn(argv, **kwargs)

    def power_off(self, name):
        # type: (str) -> None
        self.node(name).power_off()

    def power_on(self, name):
        # type: (str) -> None
        self.node(name).power_on()

    def link_down(self, name, ifname):
        # type: (str, str) -> None
        self.node(name).link_down(ifname)

    def link_up(self, name, ifname):
        # type: (str, str) -> None
        self.node(name).link_up(ifname)

    def __enter__(self):
        return self.up()

    def __exit__(self, *exc):
        self.down()

    # -- persistence ------------------------------------------------------------------------
    def to_dict(self):
        # type: () -> Dict[str, Any]
        return {
            "version": STATE_VERSION,
            "prefix": self.prefix,
            "statedir": self.statedir,
            "created_statedir": self.created_statedir,
            "switch_netns": self.switch_netns,
            "spec": self.spec.to_dict(),
            "members": {m.name: m.state() for m in self.members},
        }

    def save(self):
        # type: () -> None
        if os.path.isdir(self.statedir):
            nsu.write_json_atomic(os.path.join(self.statedir, STATE_FILE), self.to_dict())

    @classmethod
    def load(cls, statedir):
        # type: (str) -> Lab
        """The lab recorded in `statedir` (built by this or another process)."""
        path = os.path.join(statedir, STATE_FILE)
        try:
            with open(path) as f:
                data = json.load(f)
        except (OSError, ValueError) as exc:
            raise LabError("cannot read lab state %s: %s" % (path, exc))
        if data.get("version") != STATE_VERSION:
            raise LabError("%s: unsupported lab state version %r" % (path, data.get("version")))
        lab = cls(data["prefix"], data.get("statedir", statedir), LabSpec.from_dict(data["spec"]))
        lab.created_statedir = bool(data.get("created_statedir"))
        for member in lab.members:
            member.restore(data.get("members", {}).get(member.name, {}))
        return lab

    # -- building -----------------------------------------------------------------------------
    def up(self, boot_timeout=15.0):
        # type: (float) -> Lab
        """Create namespaces, links and addresses, boot the nodes; returns self.

        Refuses (LabError) when a namespace of this lab already exists or the state dir
        holds a lab: run `cleanup_leftovers(prefix)` or `Lab.load(dir).down()` first.
        Refuses first when the nodes could not run this pyha (venvcheck: a virtualenv in /tmp)."""
        if self.nodes:
            from pyha.lab.venvcheck import check_nodes_can_run_pyha
            check_nodes_can_run_pyha()
        reason = lab_support()
        if reason:
            raise LabError("cannot build a lab: " + reason)
        clash = [n for n in self.all_netns() if nsu.netns_exists(n)]
        if clash:
            raise LabError("namespace(s) %s already exist: a lab with prefix %r is up or left over "
                           "(pyha lab down / cleanup_leftovers)" % (", ".join(clash), self.prefix))
        if os.path.exists(os.path.join(self.statedir, STATE_FILE)):
            raise LabError("%s already holds a lab (%s)" % (self.statedir, STATE_FILE))
        self._make_statedir()
        self.save()  # before anything else exists, so a crash mid-way can still be undone
        try:
            self._build_network()
            for node in self.nodes:
                node.start_boot()
            for node in self.nodes:
                node.finish_boot(boot_timeout)
            self.save()
        except BaseException:
            try:
                self.down()
            except Exception:
                pass
            raise
        return self

    def _make_statedir(self):
        # type: () -> None
        if os.path.islink(self.statedir):
            raise LabError("state dir %s is a symlink; refusing to use it" % (self.statedir,))
        if os.path.isdir(self.statedir):
            self.created_statedir = False
        else:
            os.makedirs(self.statedir, 0o755)
            self.created_statedir = True
        os.chmod(self.statedir, 0o755)

    def _build_network(self):
        # type: () -> None
        spec = self.spec
        for name in [self.switch_netns] + [m.netns for m in self.members]:
            nsu.netns_add(name)
            if not spec.ipv6:
                # Before any interface exists, so every new one inherits "default".
                nsu.run(["ip", "netns", "exec", name, "sysctl", "-q", "-w",
                         "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"])
        sw = ["link set dev lo up"]
        for net in spec.networks:
            sw.append("link add %s type bridge stp_state 0 mcast_snooping 0" % net.bridge)
            sw.append("link set dev %s up" % net.bridge)
        for member in self.members:
            for iface in member.spec.interfaces:
                port = spec.port_name(member.spec, iface)
                sw.append("link add %s type veth peer name %s netns %s" % (port, iface.name, member.netns))
                sw.append("link set dev %s master %s up" % (port, spec.network(iface.network).bridge))
        nsu.ip_batch(self.switch_netns, sw)
        for member in self.members:
            cmds = ["link set dev lo up"]
            for iface in member.spec.interfaces:
                cmds.append("link set dev %s address %s" % (iface.name, iface.mac))
                cmds.append("addr add %s/%d brd + dev %s" % (iface.address, spec.prefixlen(iface), iface.name))
                cmds.append("link set dev %s up" % iface.name)
            gw_iface = spec.gateway_interface(member.spec)
            if gw_iface is not None:
                cmds.append("route add default via %s dev %s" % (member.spec.gateway, gw_iface.name))
            nsu.ip_batch(member.netns, cmds)

    # -- tearing down ---------------------------------------------------------------------------
    def down(self, keep_state=False):
        # type: (bool) -> None
        """Remove everything this lab made; idempotent and safe after a crash.

        Nodes' inits are SIGKILLed (verified PID), then every process still living in one
        of the lab's namespaces, then the namespaces and (unless `keep_state`) the state."""
        problems = []  # type: List[str]
        for node in self.nodes:
            try:
                node.kill_init(signal.SIGKILL)
            except LabError as exc:
                problems.append(str(exc))
        for name in self.all_netns():
            left = nsu.kill_netns_processes(name)
            if left:
                problems.append("processes %s survive in %s" % (left, name))
        for name in self.all_netns():
            try:
                nsu.netns_delete(name)
            except LabError as exc:
                problems.append(str(exc))
        for node in self.nodes:
            node.init_pid = node.init_start = None
        if not keep_state:
            try:
                self._remove_state()
            except (OSError, LabError) as exc:
                problems.append("state dir %s: %s" % (self.statedir, exc))
        else:
            self.save()
        if problems:
            raise LabError("lab %s not fully removed: %s" % (self.prefix, "; ".join(problems)))

    def _remove_state(self):
        # type: () -> None
        if not os.path.isdir(self.statedir) or os.path.islink(self.statedir):
            return
        if self.created_statedir:
            nsu.remove_tree(self.statedir)
            return
        # A caller's directory: remove only what we put there.
        for name in [m.name for m in self.nodes] + ["ssh", STATE_FILE, STATE_FILE + ".tmp"]:
            nsu.remove_tree(os.path.join(self.statedir, name))


def cleanup_leftovers(prefix, statedir=None):
    # type: (str, Optional[str]) -> List[str]
    """Remove what a crashed lab with this prefix left: the recorded lab (inits by verified
    PID), every namespace named `prefix` or `prefix-*` with all processes inside, and the
    state dir (`statedir`, default /tmp/<prefix>-lab) if it holds a lab.json.  Touches
    nothing without that prefix.  Returns the names of the namespaces deleted."""
    check_prefix(prefix)
    statedir = os.path.abspath(statedir or default_statedir(prefix))
    state_file = os.path.join(statedir, STATE_FILE)
    if os.path.isfile(state_file) and not os.path.islink(statedir):
        try:
            lab = Lab.load(statedir)
            if lab.prefix == prefix:
                lab.down(keep_state=True)
        except LabError:
            pass  # fall back to the name-based sweep below
    removed = []
    for name in nsu.list_netns():
        if owns_netns(prefix, name):
            nsu.kill_netns_processes(name)
            nsu.netns_delete(name)
            removed.append(name)
    if os.path.isfile(state_file) and not os.path.islink(statedir):
        try:
            with open(state_file) as f:
                recorded = json.load(f)
        except (OSError, ValueError):
            recorded = {}
        if recorded.get("prefix") == prefix:
            if recorded.get("created_statedir", True):
                nsu.remove_tree(statedir)
            else:
                Lab.load(statedir)._remove_state()
    # Give the kernel a moment: namespace clean-up is asynchronous.
    if removed:
        time.sleep(0.05)
    return removed
