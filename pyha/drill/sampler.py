"""Who holds the VIP right now, on every node, sampled from the host every 50 ms.

One rtnetlink socket per node namespace, opened by entering the namespace just long
enough to create it (a netlink socket stays bound to the namespace it was created in),
so each sample is two netlink dumps and no process spawn.  A node holds the VIP when the
address is on an interface that is up with carrier: that is what a client can reach,
and what "duplicate VIP" means in a drill report.
"""

import ctypes
import os
import socket
from typing import Dict, List

CLONE_NEWNET = 0x40000000
IFF_UP = 0x1
IFF_LOWER_UP = 0x10000

_libc = None


def _setns(fd):
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def iproute_in(netns_path):
    """A pyroute2 IPRoute whose socket lives in the namespace at `netns_path`."""
    from pyroute2 import IPRoute
    own = os.open("/proc/self/ns/net", os.O_RDONLY)
    target = os.open(netns_path, os.O_RDONLY)
    try:
        _setns(target)
        try:
            return IPRoute()
        finally:
            _setns(own)
    finally:
        os.close(target)
        os.close(own)


class HolderSampler(object):
    def __init__(self, netns_paths, vip):
        # type: (Dict[str, str], str) -> None
        self.vip = vip
        self.iprs = {name: iproute_in(path) for name, path in netns_paths.items()}

    def holders(self):
        # type: () -> List[str]
        """The nodes holding the VIP at one instant.

        The nodes are read one after another, so a hand-over between two reads (the
        first node releases, then the second takes: heartbeat's shutdown does exactly
        that, a few ms apart) would look like both holding.  A duplicate counts only when
        it is proven: every holder read before the last one is read again after it, and
        only those still holding stay (held before and after, so held at that instant)."""
        names = sorted(self.iprs)
        out = [name for name in names if self._holds(name)]
        if len(out) > 1:
            out = [name for name in out[:-1] if self._holds(name)] + out[-1:]
        return out

    def _holds(self, name):
        # type: (str) -> bool
        ipr = self.iprs[name]
        try:
            up = {l["index"] for l in ipr.get_links()
                  if l["flags"] & IFF_UP and l["flags"] & IFF_LOWER_UP}
            for a in ipr.get_addr(family=socket.AF_INET):
                if a.get_attr("IFA_ADDRESS") == self.vip and a["index"] in up:
                    return True
        except Exception:  # namespace gone (node powered off and deleted): holds nothing
            return False
        return False

    def close(self):
        for ipr in self.iprs.values():
            try:
                ipr.close()
            except Exception:
                pass
