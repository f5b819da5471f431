"""The configuration `pyha init` writes, as a pure function of what it discovered.

Kept apart from discovery and SSH so that the exact bytes of ha.cf / haresources /
authkeys / pyha.cf for any topology are unit-testable.  Both nodes get identical files whenever
their interface names agree: heartbeat 3.0.6 does not skip a `ucast` line naming its own
address, it sends to itself and drops the copies as duplicates (spec 2.3, the spec's own
lab ran one file on both nodes), and pyha skips such a line; so one file serves both and
`pyha sync` can copy it verbatim.  When interface names differ, each node gets its own.
"""

import re
import socket
from typing import Dict, List, Optional, Tuple

from dataclasses import dataclass

# Timings: the tutorial's own, and a sub-second profile (deadtime > 2 x keepalive, as
# heartbeat demands; warntime between; initdead well above deadtime for boot races).
PROFILES = {
    "tutorial": (("keepalive", "2"), ("deadtime", "30"), ("warntime", "10"), ("initdead", "60")),
    "fast": (("keepalive", "50ms"), ("deadtime", "200ms"), ("warntime", "150ms"), ("initdead", "2")),
}

# Keys that appear in heartbeat's sample authkeys and in tutorials: never "reuse" them.
SAMPLE_KEYS = {"hi!", "hello!", "hello"}

HACF_MODE = 0o644
PYHACF_MODE = 0o600  # it may hold fence devices' credentials (`fence ... password=`)
HARESOURCES_MODE = 0o644
AUTHKEYS_MODE = 0o600


@dataclass(eq=False)
class Link(object):
    """One heartbeat path: each node's interface and address on it."""

    local_if: str
    local_addr: str
    peer_if: str
    peer_addr: str
    role: str  # "dedicated" or "public"


class InitParams(object):
    def __init__(self, local_name, peer_name, links, ping_nodes=(), vips=(), services=(),
                 primary=None, profile="tutorial", key="", udpport=694, auto_failback="on"):
        # type: (str, str, List[Link], Tuple[str, ...], Tuple[str, ...], Tuple[str, ...], Optional[str], str, str, int, str) -> None
        self.local_name = local_name
        self.peer_name = peer_name
        self.links = list(links)
        self.ping_nodes = tuple(ping_nodes)
        self.vips = tuple(vips)
        self.services = tuple(services)
        self.primary = primary or local_name
        self.profile = profile
        self.key = key
        self.udpport = udpport
        self.auto_failback = auto_failback


class PlanError(ValueError):
    pass


_VIP_RE = re.compile(r"^(\d{1,3}(?:\.\d{1,3}){3})(?:/(\d{1,2})(?:/([^/\s]+)(?:/(\d{1,3}(?:\.\d{1,3}){3}))?)?)?$")


def check_vip(vip):
    # type: (str) -> str
    """Validate heartbeat's IP shorthand `ip[/prefix[/iface[/broadcast]]]`; return it."""
    m = _VIP_RE.match(vip)
    if not m:
        raise PlanError("--vip %r is not IP[/PREFIX[/IFACE[/BROADCAST]]] (example: 10.168.0.160/24/eth0)" % vip)
    try:
        socket.inet_aton(m.group(1))
    except OSError:
        raise PlanError("--vip %r: %s is not an IPv4 address" % (vip, m.group(1)))
    if any(int(o) > 255 for o in m.group(1).split(".")):
        raise PlanError("--vip %r: %s is not an IPv4 address" % (vip, m.group(1)))
    if m.group(2) is not None and not 1 <= int(m.group(2)) <= 32:
        raise PlanError("--vip %r: prefix length must be 1..32" % vip)
    return vip


_SERVICE_RE = re.compile(r"^[A-Za-z0-9_.@+-]+(::[^\s:]+(?:::[^\s:]+)*)?$")


def check_service(service):
    # type: (str) -> str
    if not _SERVICE_RE.match(service):
        raise PlanError("--service %r: expected a script or unit name, optionally with ::arguments" % service)
    return service


def sorted_nodes(params):
    # type: (InitParams) -> List[str]
    return sorted([params.local_name, params.peer_name], key=lambda n: n.lower())


def same_files_for_both(params):
    # type: (InitParams) -> bool
    return all(link.local_if == link.peer_if for link in params.links)


def render_hacf(params, for_peer=None):
    # type: (InitParams, Optional[bool]) -> str
    """ha.cf text.  `for_peer` None = the shared file; True/False = that node's own file."""
    if params.profile not in PROFILES:
        raise PlanError("unknown profile %r (choose from %s)" % (params.profile, ", ".join(sorted(PROFILES))))
    nodes = sorted_nodes(params)
    out = [
        "# /etc/ha.d/ha.cf for the pair %s: written by `pyha init`, read by pyha and heartbeat 3." % " + ".join(nodes),
        "# Keep it identical on both nodes (`pyha sync` copies it); check it with `pyha config check`.",
        "logfile /var/log/ha-log",
        "debugfile /var/log/ha-debug",
        "logfacility local0",
        "",
        "# Timings (profile %s)." % params.profile,
    ]
    out.extend("%s %s" % kv for kv in PROFILES[params.profile])
    out.append("")
    out.append("# udpport must precede the media lines: heartbeat reads it while parsing them.")
    out.append("udpport %d" % params.udpport)
    for link in params.links:
        out.append("# %s link%s" % (link.role, "" if for_peer is not None else
                                     "; each node skips the line with its own address"))
        local_is_first = nodes[0] == params.local_name
        if for_peer is None:
            pairs = [(link.local_if, link.local_addr), (link.peer_if, link.peer_addr)]
            if not local_is_first:
                pairs.reverse()
            for ifname, addr in pairs:
                out.append("ucast %s %s" % (ifname, addr))
        elif for_peer:
            out.append("ucast %s %s" % (link.peer_if, link.local_addr))
        else:
            out.append("ucast %s %s" % (link.local_if, link.peer_addr))
    out.append("")
    out.append("auto_failback %s" % params.auto_failback)
    out.extend("node %s" % n for n in nodes)
    if params.ping_nodes:
        out.append("# ping node(s): pyha hands the group over when only this node loses them (ipfail's job)")
        out.extend("ping %s" % p for p in params.ping_nodes)
    return "\n".join(out) + "\n"


def render_haresources(params):
    # type: (InitParams) -> str
    out = ["# /etc/ha.d/haresources: written by `pyha init`.",
           "# <preferred node> <resources started left to right, stopped right to left>"]
    resources = [check_vip(v) for v in params.vips] + [check_service(s) for s in params.services]
    if params.primary.lower() not in [n.lower() for n in sorted_nodes(params)]:
        raise PlanError("--primary %r is not one of the nodes (%s)"
                        % (params.primary, ", ".join(sorted_nodes(params))))
    if resources:
        out.append("%s %s" % (params.primary, " ".join(resources)))
    else:
        out.append("# (no resources yet: add e.g. `%s 192.0.2.160/24/eth0 nginx`)" % params.primary)
    return "\n".join(out) + "\n"


def render_authkeys(key):
    # type: (str) -> str
    if not re.match(r"^[0-9a-f]{32,}$", key):
        raise PlanError("authkeys key must be at least 32 lowercase hex digits")
    return ("# /etc/ha.d/authkeys: written by `pyha init`; mode 0600, owner root.\n"
            "# Both nodes need the same key; rotate with a second entry and `auth N`.\n"
            "auth 1\n1 sha1 %s\n" % key)


# Services whose health is best seen as the page they serve (the check nginx users want).
WEB_SERVICES = ("nginx", "httpd", "apache2", "lighttpd")


def monitor_lines(params):
    # type: (InitParams) -> List[str]
    """A `monitor` line per --service: its status, and for a web server an HTTP GET of the
    first VIP (127.0.0.1 without one), which only the node holding the group answers."""
    out = []
    host = params.vips[0].split("/")[0] if params.vips else "127.0.0.1"
    for service in params.services:
        line = "monitor %s interval=2s timeout=5s restarts=1 window=5min" % service
        if service.split("::")[0] in WEB_SERVICES:
            line += " url=http://%s/" % host
        out.append(line)
    return out


def render_pyhacf(params):
    # type: (InitParams) -> str
    """pyha.cf: the commented template of every pyha.cf directive (see pyha(8)), with a
    monitor line for each service."""
    from pyha.config.pyhacf import template
    lines = monitor_lines(params)
    return template(active=(["# written by `pyha init` for the services of haresources"] + lines) if lines else ())


def reusable_key(authkeys_text):
    # type: (Optional[str]) -> Optional[str]
    """An existing authkeys' active sha1 key, if it is a real one, so re-runs change nothing."""
    if not authkeys_text:
        return None
    from pyha.config.authkeys import Authkeys
    active = Authkeys.parse(authkeys_text).active
    if active is None or active.method != "sha1" or not active.key:
        return None
    key = active.key
    if key.lower() in SAMPLE_KEYS or len(key) < 32 or not re.match(r"^[0-9a-f]+$", key):
        return None
    return key


def plan_files(params):
    # type: (InitParams) -> Tuple[Dict[str, Tuple[str, int]], Dict[str, Tuple[str, int]]]
    """(files for this node, files for the peer) as {name: (text, mode)}."""
    haresources = (render_haresources(params), HARESOURCES_MODE)
    authkeys = (render_authkeys(params.key), AUTHKEYS_MODE)
    pyhacf = (render_pyhacf(params), PYHACF_MODE)
    if same_files_for_both(params):
        hacf = (render_hacf(params), HACF_MODE)
        local = {"ha.cf": hacf, "haresources": haresources, "authkeys": authkeys, "pyha.cf": pyhacf}
        return local, dict(local)
    local = {"ha.cf": (render_hacf(params, False), HACF_MODE), "haresources": haresources, "authkeys": authkeys,
             "pyha.cf": pyhacf}
    peer = {"ha.cf": (render_hacf(params, True), HACF_MODE), "haresources": haresources, "authkeys": authkeys,
            "pyha.cf": pyhacf}
    return local, peer
