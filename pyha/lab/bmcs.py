"""Virtual BMCs for the lab's nodes: a fence device per node that really powers it off.

Each node gets an ipmi_sim (`pyha.lab.vbmc.VirtualBmc`) on the lab's public network,
living in the gateway's namespace (a BMC must survive its node's power-off) on an address
of its own (192.0.2.240 + i).  Its chassis hook powers the lab node off the way
`Node.power_off` does (SIGKILL of the node's init, so its daemon and services die at
once, and its links go down) and on with `Node.power_on` (the node boots; like a real
machine without an init system configured, its services are not started again).

The hook runs in another process (ipmi_sim's child), so it works on the lab recorded in
the state directory: a caller holding a `Lab` object must `Lab.load(statedir)` again after
a fence to see the node's new state.  For `pyha lab up --fencing` (not wired yet).
"""

import ipaddress
import os
import shlex
import signal
import sys
from typing import Dict, List, Optional

from pyha.lab import netns as nsu
from pyha.lab.vbmc import VirtualBmc

BMC_HOST = "gw"
FIRST_BMC = 240
BMC_USER = "admin"
BMC_PASSWORD = "pyha-lab-bmc"

_PY = "%(python)s -c %(code)s"
_CODE = ("import sys; sys.path.insert(0, %(root)r); from pyha.lab.topology import Lab; "
         "n = Lab.load(%(statedir)r).node(%(node)r); %(what)s")


def _python(statedir, node, what):
    # type: (str, str, str) -> str
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    code = _CODE % {"root": root, "statedir": statedir, "node": node, "what": what}
    return _PY % {"python": shlex.quote(sys.executable), "code": shlex.quote(code)}


def bmc_address(lab, index):
    # type: (object, int) -> str
    """The address of the index-th node's BMC on the public network."""
    host = lab.node(BMC_HOST)  # type: ignore
    net = ipaddress.IPv4Interface("%s/24" % host.spec.interfaces[0].address).network
    return str(net.network_address + FIRST_BMC + index)


def attach_bmcs(lab, workdir, password=BMC_PASSWORD):
    # type: (object, str, str) -> Dict[str, VirtualBmc]
    """Start one BMC per lab node (in the gateway's namespace); {node name: VirtualBmc}."""
    host = lab.node(BMC_HOST)  # type: ignore
    iface = host.spec.interfaces[0].name
    bmcs = {}  # type: Dict[str, VirtualBmc]
    try:
        for i, node in enumerate(lab.nodes):  # type: ignore
            addr = bmc_address(lab, i)
            nsu.run(["ip", "-n", host.netns, "addr", "replace", "%s/24" % addr, "dev", iface])
            b = _bmc(lab, workdir, i, node.name, password)
            b.start()
            bmcs[node.name] = b
    except Exception:
        detach_bmcs(lab, bmcs)
        raise
    return bmcs


def _bmc(lab, workdir, index, name, password):
    # type: (object, str, int, str, str) -> VirtualBmc
    host = lab.node(BMC_HOST)  # type: ignore
    statedir = lab.statedir  # type: ignore
    return VirtualBmc(host.netns, os.path.join(workdir, "bmc-%s" % name.lower()), addr=bmc_address(lab, index),
                      user=BMC_USER, password=password, name="bmc-%s" % name.lower(),
                      is_on=_python(statedir, name, "sys.exit(0 if n.is_running() else 1)"),
                      power_off=_python(statedir, name, "n.power_off() if n.is_running() else None"),
                      power_on=_python(statedir, name, "n.power_on() if not n.is_running() else None"))


def bmc_pids(lab, name, workdir):
    # type: (object, str, str) -> List[int]
    """PIDs of the ipmi_sim serving node `name`'s BMC (in the gateway's namespace, started
    with this lab's configuration file for it): the processes `replace_bmc` stops."""
    host = lab.node(BMC_HOST)  # type: ignore
    ident = nsu.netns_id(host.netns)
    conf = os.path.join(os.path.abspath(workdir), "bmc-%s" % name.lower(), "lan.conf")
    out = []
    for pid in nsu.pids_in_ns("net", ident) if ident else []:
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if argv and os.path.basename(argv[0].decode(errors="replace")) == "ipmi_sim" and conf.encode() in argv:
            out.append(pid)
    return out


def replace_bmc(lab, name, workdir, password=BMC_PASSWORD):
    # type: (object, str, str, str) -> VirtualBmc
    """Restart node `name`'s BMC with the account password `password` (the drills' broken
    BMC: someone changed its password, every call is refused; then the right one again).
    The old ipmi_sim is stopped by PID; the new one outlives the caller, like the one
    `attach_bmcs` started, and goes with the lab's namespaces at `pyha lab down`."""
    index = [n.name for n in lab.nodes].index(name)  # type: ignore
    for pid in bmc_pids(lab, name, workdir):
        started = nsu.start_time(pid)
        if nsu.kill_pid(pid, signal.SIGTERM, started=started) and nsu.wait_gone([pid], 5.0):
            nsu.kill_pid(pid, signal.SIGKILL, started=started)
    b = _bmc(lab, workdir, index, name, password)
    b.start()
    return b


def detach_bmcs(lab, bmcs):
    # type: (object, Dict[str, VirtualBmc]) -> None
    """Stop the BMCs (by PID) and remove their addresses; the nodes stay as they are."""
    host = lab.node(BMC_HOST)  # type: ignore
    for name, b in list(bmcs.items()):
        b.stop()
        nsu.run(["ip", "-n", host.netns, "addr", "del", "%s/24" % b.addr, "dev", host.spec.interfaces[0].name],
                check=False)
        bmcs.pop(name, None)


def fence_lines(lab, bmcs, password=BMC_PASSWORD):
    # type: (object, Dict[str, VirtualBmc], Optional[str]) -> List[str]
    """pyha.cf `fence` lines for the lab's BMCs (fence_ipmilan, lanplus, cipher 3)."""
    return ["fence %s fence_ipmilan ip=%s username=%s password=%s lanplus=1 cipher=3 power_timeout=10"
            % (name.lower(), b.addr, b.user, password) for name, b in sorted(bmcs.items())]


def stonith_host_lines(lab, bmcs, password=BMC_PASSWORD):
    # type: (object, Dict[str, VirtualBmc], str) -> List[str]
    """heartbeat's ha.cf `stonith_host FENCER external/ipmi PEER IPADDR USERID PASSWD
    INTERFACE` lines (positional, in `stonith -t external/ipmi -n` order), one per node,
    each applying on the node that fences its peer.  The last parameter takes the rest of
    the line and external/ipmi puts it unquoted after `-I`: "lanplus -C 3" sets cipher
    suite 3, without which ipmitool first asks ipmi_sim for its cipher suites, which it
    never answers (14 s a call, spec/fencing.md)."""
    names = sorted(bmcs)
    out = []
    for fencer in names:
        for peer in names:
            if peer != fencer:
                b = bmcs[peer]
                out.append("stonith_host %s external/ipmi %s %s %s %s lanplus -C 3" % (
                    fencer.lower(), peer.lower(), b.addr, b.user, password))
    return out
