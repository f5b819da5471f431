"""pyha.lab: the reference scenario (two heartbeat nodes, a ping-node gateway, a client)
built from Linux namespaces on one machine, for interop tests, `pyha lab` and the drills.

API (root only; see each module's docstring for details):

    from pyha.lab import Lab, reference_spec, cleanup_leftovers, start_sshd

    lab = Lab(prefix="pyha", statedir=None, spec=reference_spec()).up()
    ha1 = lab.node("HA1")                      # Node: own netns/UTS/IPC/mount/PID namespaces
    ha1.exec(["uname", "-n"]).stdout           # "HA1\\n"; CompletedProcess, timeout=60 s
    proc = ha1.spawn(["sleep", "100"])         # NodeProcess (Popen; signals reach inside)
    ha1.link_down("eth1"); ha1.link_up("eth1")
    ha1.power_off(); ha1.power_on(); ha1.halt()
    ha1.host_path("/etc/ha.d/ha.cf")           # the node's private copy, on the host
    lab.node("client").exec(["ping", "-c1", "192.0.2.161"])   # Host: bare netns
    access = start_sshd(lab, "HA2")            # real sshd in HA2, keys for HA1
    ha1.exec(access.ssh_argv("198.51.100.2", ["uname", "-n"]))
    lab.down()                                 # idempotent
    Lab.load("/tmp/pyha-lab").down()           # from another process
    cleanup_leftovers("pyha")                  # after a crash; touches only pyha-* names

Modules: `spec` (declarative description, pure), `topology` (Lab: build/tear down/persist),
`node` (one member at run time), `nodeinit` (PID 1 inside a node, a standalone script),
`netns` (host plumbing), `sshd` (OpenSSH server inside a node).

Never: create anything in the root network namespace, or touch namespaces, processes or
directories that do not belong to the lab's prefix.
"""

from pyha.lab.netns import LabError
from pyha.lab.node import Host, Member, Node, NodeProcess
from pyha.lab.spec import (
    HOST,
    NODE,
    PROFILES,
    InterfaceSpec,
    LabSpec,
    MemberSpec,
    NetworkSpec,
    SpecError,
    profile,
    reference_spec,
)
from pyha.lab.sshd import SshAccess, start_sshd
from pyha.lab.topology import Lab, cleanup_leftovers, default_statedir, lab_support, owns_netns

__all__ = [
    "HOST",
    "NODE",
    "PROFILES",
    "Host",
    "InterfaceSpec",
    "Lab",
    "LabError",
    "LabSpec",
    "Member",
    "MemberSpec",
    "NetworkSpec",
    "Node",
    "NodeProcess",
    "SpecError",
    "SshAccess",
    "cleanup_leftovers",
    "default_statedir",
    "lab_support",
    "owns_netns",
    "profile",
    "reference_spec",
    "start_sshd",
]
