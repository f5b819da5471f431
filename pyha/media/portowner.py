"""Who already holds a UDP port in this network namespace, before the daemon binds it.

Genuine heartbeat binds udpport with SO_REUSEADDR and SO_REUSEPORT, and pyha binds with
SO_REUSEADDR: both binds succeed, and the kernel then hands each peer datagram to one
of the two sockets.  Two daemons on one node (heartbeat left running during a migration,
a second pyha on another run directory) would each hear half the peer and one of them
would declare it dead.  So the daemon refuses a port that anything else holds, and says
what holds it.

Read from /proc (the same tables `ss -uanp` reads): /proc/net/udp{,6} give the socket
inodes bound to the port, /proc/PID/fd links name the processes owning them.  A process
we may not inspect is reported by inode.  Never sends or binds anything.
"""

import os
from typing import List, NamedTuple, Optional

Holder = NamedTuple("Holder", [("pid", Optional[int]), ("name", str), ("address", str)])


def _bound_inodes(port, tables=("/proc/net/udp", "/proc/net/udp6")):
    # type: (int, tuple) -> dict
    """{socket inode: local address (hex as in /proc)} for sockets bound to `port`."""
    found = {}
    for table in tables:
        try:
            with open(table) as f:
                lines = f.read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            words = line.split()
            if len(words) < 10 or ":" not in words[1]:
                continue
            address, _, hexport = words[1].rpartition(":")
            try:
                if int(hexport, 16) != port:
                    continue
            except ValueError:
                continue
            inode = words[9]
            if inode != "0":
                found[inode] = "%s (%s)" % (address, "udp6" if table.endswith("6") else "udp")
    return found


def _owners(inodes, proc="/proc"):
    # type: (set, str) -> dict
    """{inode: (pid, name)} for the inodes whose owner we can see."""
    wanted = {"socket:[%s]" % i: i for i in inodes}
    owners = {}
    try:
        pids = [p for p in os.listdir(proc) if p.isdigit()]
    except OSError:
        return owners
    for pid in pids:
        fd_dir = os.path.join(proc, pid, "fd")
        try:
            fds = os.listdir(fd_dir)
        except OSError:
            continue  # gone, or not ours to read
        for fd in fds:
            try:
                target = os.readlink(os.path.join(fd_dir, fd))
            except OSError:
                continue
            inode = wanted.get(target)
            if inode is not None and inode not in owners:
                try:
                    with open(os.path.join(proc, pid, "comm")) as f:
                        name = f.read().strip()
                except OSError:
                    name = "?"
                owners[inode] = (int(pid), name)
        if len(owners) == len(wanted):
            break
    return owners


def udp_port_holders(port):
    # type: (int) -> List[Holder]
    """Every socket of this namespace bound to UDP `port`, with its process if visible;
    this process's own sockets are not counted."""
    inodes = _bound_inodes(port)
    if not inodes:
        return []  # the usual case: no scan of every process's descriptors
    owners = _owners(set(inodes))
    out = []
    for inode, address in sorted(inodes.items()):
        pid, name = owners.get(inode, (None, "socket inode %s" % inode))
        if pid != os.getpid():
            out.append(Holder(pid, name, address))
    return out


def describe(holders):
    # type: (List[Holder]) -> str
    parts = []
    for h in holders:
        who = "%s (pid %d)" % (h.name, h.pid) if h.pid is not None else h.name
        if who not in parts:
            parts.append(who)
    return ", ".join(parts)


# The name (comm) of every genuine heartbeat 3 process, the master and its read/write children.
HEARTBEAT_COMM = "heartbeat"


def port_conflict(ports):
    # type: (List[int]) -> Optional[str]
    """Why the daemon must not bind `ports` (another process holds one), or None."""
    for port in sorted(set(ports)):
        holders = udp_port_holders(port)
        heartbeat = [h for h in holders if h.name == HEARTBEAT_COMM]
        if heartbeat:
            # The usual case during a migration: the admin forgot to stop heartbeat here.
            return ("heartbeat is running on this node: UDP port %d is held by %s.  Stop it before "
                    "starting pyha (`service heartbeat stop`), and keep it from starting at boot "
                    "(`chkconfig heartbeat off` on EL6, `systemctl disable heartbeat` on EL7); during a "
                    "migration the other node keeps running heartbeat, this one runs pyha"
                    % (port, describe(heartbeat + [h for h in holders if h not in heartbeat])))
        if holders:
            return ("UDP port %d is already in use by %s; two heartbeat daemons on one node would each "
                    "hear only part of the peer's packets: stop it first (during a migration the other "
                    "node keeps running heartbeat, this one runs pyha)" % (port, describe(holders)))
    return None
