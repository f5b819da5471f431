"""What `pyha init` can learn about this host by itself, over netlink (pyroute2).

Asking the kernel which interface and source address route to the peer is more reliable
than guessing from interface names: it is exactly the path heartbeat's packets will take.
Nothing is sent on the network here; `route get` is a table lookup.
"""

import os
import socket
from typing import List, Optional


class Route(object):
    """The kernel's answer to "how do I reach DST": outgoing interface and source address."""

    __slots__ = ("dst", "ifname", "src", "gateway")

    def __init__(self, dst, ifname, src, gateway=None):
        # type: (str, str, Optional[str], Optional[str]) -> None
        self.dst = dst
        self.ifname = ifname
        self.src = src
        self.gateway = gateway

    def __repr__(self):
        return "Route(%r, %r, %r, %r)" % (self.dst, self.ifname, self.src, self.gateway)


class DiscoveryError(Exception):
    pass


def node_name():
    # type: () -> str
    """This node's name as heartbeat sees it: `uname -n` (heartbeat lowercases it)."""
    return os.uname()[1]


def _ipr():
    from pyroute2 import IPRoute  # third-party: imported where used, to keep imports cheap
    return IPRoute()


def _ifname(ipr, index):
    links = ipr.get_links(index)
    if not links:
        raise DiscoveryError("interface index %d vanished" % index)
    return links[0].get_attr("IFLA_IFNAME")


def route_to(dst):
    # type: (str) -> Route
    try:
        socket.inet_aton(dst)
    except OSError:
        raise DiscoveryError("%r is not an IPv4 address" % (dst,))
    ipr = _ipr()
    try:
        try:
            answer = ipr.route("get", dst=dst)
        except Exception as exc:  # NetlinkError: "Network is unreachable" etc.
            raise DiscoveryError("no route to %s: %s" % (dst, exc))
        msg = answer[0]
        oif = msg.get_attr("RTA_OIF")
        if oif is None:
            raise DiscoveryError("no outgoing interface for %s" % dst)
        return Route(dst, _ifname(ipr, oif), msg.get_attr("RTA_PREFSRC"), msg.get_attr("RTA_GATEWAY"))
    finally:
        ipr.close()


def default_route():
    # type: () -> Optional[Route]
    """The IPv4 default route (gateway, interface), or None when there is none."""
    ipr = _ipr()
    try:
        routes = ipr.get_default_routes(family=socket.AF_INET)
        best = None
        for r in routes:
            gw = r.get_attr("RTA_GATEWAY")
            oif = r.get_attr("RTA_OIF")
            if gw is None or oif is None:
                continue
            prio = r.get_attr("RTA_PRIORITY") or 0
            if best is None or prio < best[0]:
                best = (prio, gw, oif)
        if best is None:
            return None
        ifname = _ifname(ipr, best[2])
        src = None
        for addr in ipr.get_addr(family=socket.AF_INET, index=best[2]):
            src = addr.get_attr("IFA_ADDRESS")
            break
        return Route("0.0.0.0/0", ifname, src, best[1])
    finally:
        ipr.close()


def interface_addresses(ifname):
    # type: (str) -> List[str]
    """IPv4 addresses on `ifname` as `addr/prefix`, primary first."""
    ipr = _ipr()
    try:
        idx = ipr.link_lookup(ifname=ifname)
        if not idx:
            return []
        return ["%s/%d" % (a.get_attr("IFA_ADDRESS"), a["prefixlen"])
                for a in ipr.get_addr(family=socket.AF_INET, index=idx[0])]
    finally:
        ipr.close()
