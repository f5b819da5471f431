"""What the configuration checks need to know about the host, behind one small interface.

`HostFacts` is the interface; `RealHostFacts` reads this machine (uname, /sys/class/net,
stat, the resolver, the user database); `StaticHostFacts` answers from data given to it,
so checks are deterministic in unit tests and can be run for a host that is not this one
(for example the peer, when `pyha init` validates the files it is about to push).

The only module of `pyha.config` that touches the host.  It never changes anything.
"""

import os
import pwd
import socket
from collections import namedtuple
from typing import Dict, Iterable, List, Optional

from pyha.config.common import is_ipv4

FileStat = namedtuple("FileStat", "uid mode")  # mode: permission bits only (st_mode & 0o7777)


class HostFacts(object):
    """Interface.  Every method must answer without raising."""

    def nodename(self):
        # type: () -> str
        """`uname -n` as the kernel reports it (not lowercased)."""
        raise NotImplementedError

    def interface_exists(self, name):
        # type: (str) -> bool
        raise NotImplementedError

    def stat(self, path):
        # type: (str) -> Optional[FileStat]
        """Owner and permission bits, None if the file does not exist."""
        raise NotImplementedError

    def is_executable_file(self, path):
        # type: (str) -> bool
        """A regular file with the execute bit for us (heartbeat's `-f && -x`)."""
        raise NotImplementedError

    def exists(self, path):
        # type: (str) -> bool
        raise NotImplementedError

    def resolve(self, host):
        # type: (str) -> List[str]
        """IPv4 addresses of `host` ([] when it does not resolve); an address gives itself."""
        raise NotImplementedError

    def user_exists(self, name):
        # type: (str) -> bool
        raise NotImplementedError


class RealHostFacts(HostFacts):
    """This machine."""

    def __init__(self, sys_class_net="/sys/class/net"):
        # type: (str) -> None
        self._net = sys_class_net

    def nodename(self):
        # type: () -> str
        return os.uname()[1]

    def interface_exists(self, name):
        # type: (str) -> bool
        if not name or "/" in name or name in (".", ".."):
            return False
        return os.path.exists(os.path.join(self._net, name))

    def stat(self, path):
        # type: (str) -> Optional[FileStat]
        try:
            st = os.stat(path)
        except (OSError, ValueError):
            return None
        return FileStat(st.st_uid, st.st_mode & 0o7777)

    def is_executable_file(self, path):
        # type: (str) -> bool
        try:
            return os.path.isfile(path) and os.access(path, os.X_OK)
        except (OSError, ValueError):
            return False

    def exists(self, path):
        # type: (str) -> bool
        try:
            return os.path.exists(path)
        except (OSError, ValueError):
            return False

    def resolve(self, host):
        # type: (str) -> List[str]
        if is_ipv4(host):
            return [host]
        try:
            infos = socket.getaddrinfo(host, None, socket.AF_INET, socket.SOCK_DGRAM)
        except (socket.error, UnicodeError, ValueError):
            return []
        out = []  # type: List[str]
        for info in infos:
            addr = info[4][0]
            if addr not in out:
                out.append(addr)
        return out

    def user_exists(self, name):
        # type: (str) -> bool
        try:
            pwd.getpwnam(name)
        except (KeyError, ValueError, TypeError):
            return False
        return True


class StaticHostFacts(HostFacts):
    """A host described by data.

    files: {path: FileStat} (these paths exist); executables: paths of executable regular
    files; paths: other existing paths (devices, unit files, ...); hosts: {name: [IPv4]}
    for name resolution (addresses always resolve to themselves); users: user names."""

    def __init__(self, nodename="ha1", interfaces=("lo", "eth0", "eth1"), files=None, executables=(),
                 paths=(), hosts=None, users=("root", "hacluster")):
        # type: (str, Iterable[str], Optional[Dict[str, FileStat]], Iterable[str], Iterable[str], Optional[Dict[str, List[str]]], Iterable[str]) -> None
        self._nodename = nodename
        self.interfaces = set(interfaces)
        self.files = dict(files or {})
        self.executables = set(executables)
        self.paths = set(paths)
        self.hosts = dict((k.lower(), list(v)) for k, v in (hosts or {}).items())
        self.users = set(users)

    def nodename(self):
        # type: () -> str
        return self._nodename

    def interface_exists(self, name):
        # type: (str) -> bool
        return name in self.interfaces

    def stat(self, path):
        # type: (str) -> Optional[FileStat]
        return self.files.get(path)

    def is_executable_file(self, path):
        # type: (str) -> bool
        return path in self.executables

    def exists(self, path):
        # type: (str) -> bool
        return path in self.files or path in self.executables or path in self.paths

    def resolve(self, host):
        # type: (str) -> List[str]
        if is_ipv4(host):
            return [host]
        return list(self.hosts.get(host.lower(), []))

    def user_exists(self, name):
        # type: (str) -> bool
        return name in self.users
