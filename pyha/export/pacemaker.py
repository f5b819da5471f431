"""`pyha export pacemaker`: read /etc/ha.d and this host, write cib.xml, corosync.conf
and pcs.sh, and say what was mapped and what could not be.

The host part lives here (which init scripts, units and OCF agents exist, this node's
name and addresses); the mapping is `pacemaker_model`, pure and tested on its own.
"""

import os
import socket
import subprocess
from typing import Dict, List, Optional

from pyha import paths
from pyha.export import pacemaker_cib, pacemaker_corosync, pacemaker_model, pacemaker_pcs
from pyha.export.pacemaker_model import ExportError, HostFacts

OCF_ROOT = "/usr/lib/ocf/resource.d"
INIT_DIRS = ("/etc/init.d", "/etc/rc.d/init.d")
UNIT_DIRS = ("/etc/systemd/system", "/run/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system")
RESOURCE_D = "/etc/ha.d/resource.d"


def _names(dirs, suffix=""):
    # type: (List[str], str) -> List[str]
    out = []
    for d in dirs:
        try:
            for n in os.listdir(d):
                if n.endswith(suffix):
                    out.append(n[:len(n) - len(suffix)] if suffix else n)
        except OSError:
            continue
    return out


def _ocf_agents():
    # type: () -> List[str]
    out = []
    try:
        providers = os.listdir(OCF_ROOT)
    except OSError:
        return out
    for prov in providers:
        out.extend("%s:%s" % (prov, a) for a in _names([os.path.join(OCF_ROOT, prov)]))
    return out


def _addresses():
    # type: () -> Dict[str, List[str]]
    """{interface: ["ip/prefix", ...]} for this host's IPv4 addresses."""
    out = {}  # type: Dict[str, List[str]]
    try:
        from pyroute2 import IPRoute
    except ImportError:
        return out
    with IPRoute() as ipr:
        names = {l["index"]: l.get_attr("IFLA_IFNAME") for l in ipr.get_links()}
        for a in ipr.get_addr(family=socket.AF_INET):
            dev = names.get(a["index"])
            if dev:
                out.setdefault(dev, []).append("%s/%d" % (a.get_attr("IFA_ADDRESS"), a["prefixlen"]))
    return out


def _stonith_params(types):
    # type: (List[str]) -> Dict[str, List[str]]
    """{plugin: parameter names} from cluster-glue's `stonith -t TYPE -n` (absent: {})."""
    out = {}  # type: Dict[str, List[str]]
    for t in types:
        try:
            r = subprocess.run(["stonith", "-t", t, "-n"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               universal_newlines=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if r.returncode == 0 and r.stdout.split():
            out[t] = r.stdout.split()
    return out


def host_facts(settings, node=None):
    # type: (object, Optional[str]) -> HostFacts
    types = [d.rest.split()[1] for d in settings.stonith if d.name == "stonith_host" and len(d.rest.split()) > 1]
    return HostFacts(lsb=_names(list(INIT_DIRS)), systemd=_names(list(UNIT_DIRS), ".service"), ocf=_ocf_agents(),
                     node=node or os.uname()[1], addresses=_addresses(), heartbeat_scripts=_names([RESOURCE_D]),
                     stonith_params=_stonith_params(types))


def parse_node_addrs(specs):
    # type: (List[str]) -> Dict[str, List[str]]
    """--node-addr ha1=192.0.2.1,198.51.100.1 -> {"ha1": [...]} (ExportError when malformed)."""
    out = {}  # type: Dict[str, List[str]]
    for spec in specs:
        node, sep, addrs = spec.partition("=")
        if not sep or not node or not addrs:
            raise ExportError("--node-addr %r: write NODE=ADDR[,ADDR...] (one address per link, in ha.cf order)"
                              % spec)
        out[node.strip().lower()] = [a.strip() for a in addrs.split(",")]
    return out


def export(directory=paths.HA_DIR, output=None, no_fencing=False, corosync=3, node_addrs=None, host=None):
    # type: (str, Optional[str], bool, int, Optional[Dict[str, List[str]]], Optional[HostFacts]) -> pacemaker_model.Cluster
    """Map the configuration in `directory`, write the three files into `output`
    (created if missing), return the Cluster with its report."""
    from pyha.config.hacf import HaCf
    from pyha.config.haresources import Haresources
    from pyha.diagnostics import ERROR
    if corosync not in (2, 3):
        raise ExportError("--corosync must be 2 (EL7) or 3, not %s" % corosync)
    hacf_path = os.path.join(directory, "ha.cf")
    hares_path = os.path.join(directory, "haresources")
    try:
        cf = HaCf.load(hacf_path)
        hares = Haresources.load(hares_path)
    except OSError as exc:
        raise ExportError("cannot read %s: %s" % (getattr(exc, "filename", None) or directory, exc.strerror or exc))
    from pyha.config.pyhacf import PyhaCf
    pyhacf_path = os.path.join(directory, "pyha.cf")
    try:
        pcf = PyhaCf.load_optional(pyhacf_path)
    except OSError as exc:
        raise ExportError("cannot read %s: %s" % (pyhacf_path, exc))
    settings = cf.settings
    extra = pcf.settings
    errors = [d for d in list(settings.diagnostics) + list(hares.check()) + list(extra.diagnostics)
              if d.severity == ERROR]
    if errors:
        raise ExportError("the configuration has errors; fix them first (`pyha config check --dir %s`):\n  %s"
                          % (directory, "\n  ".join(d.format() for d in errors)))
    fence_lines = extra.get("fence")
    fence_delay = extra.get("fence_delay") if extra.is_set("fence_delay") else None
    fencing = bool(settings.stonith) or bool(fence_lines)
    if not fencing and not no_fencing:
        raise ExportError("no fencing is configured (no stonith/stonith_host line in %s, no fence line in "
                          "pyha.cf): Pacemaker refuses to "
                          "start resources without a fence device.  Configure one, or give --no-fencing to export "
                          "with stonith-enabled=false (dangerous: a node that only lost the cluster links keeps "
                          "its resources, and shared data can be corrupted)" % hacf_path)
    cluster = pacemaker_model.build(settings, hares, host or host_facts(settings), node_addrs=node_addrs,
                                    fence_lines=fence_lines, fence_delay=fence_delay, monitors=extra.get("monitor"))
    if not cluster.fencing:
        cluster.say(pacemaker_model.WARN, "no fence device exported: stonith-enabled=false; a partitioned pair "
                    "can run its resources on both nodes%s" % ("" if no_fencing else " (add the devices by hand, "
                                                              "then set stonith-enabled=true)"))
    texts = {"cib.xml": pacemaker_cib.render(cluster),
             "corosync.conf": pacemaker_corosync.render(cluster, corosync),
             "pcs.sh": pacemaker_pcs.render(cluster)}
    if output:
        os.makedirs(output, exist_ok=True)
        for name, text in texts.items():
            # fence device passwords end up in cib.xml and pcs.sh: owner-only, from the start
            path = os.path.join(output, name)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o700 if name == "pcs.sh" else 0o600)
            os.fchmod(fd, 0o700 if name == "pcs.sh" else 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(text)
    return cluster
