"""pyha.config: the /etc/ha.d model (ha.cf, haresources, authkeys) with heartbeat 3.0.x
semantics, and the checks behind `pyha config check`.

Reading::

    cf = HaCf.load("/etc/ha.d/ha.cf")
    cf.deadtime_ms, cf.nodes, cf.media, cf.auto_failback
    report = check_config("/etc/ha.d")          # all files + this host
    report.ok, report.diagnostics, report.render(as_json=True)

Building (canonical text; `check_models` validates before anything is written)::

    cf = HaCf.new(comment="written by pyha init")
    cf.add("keepalive", 2); cf.add("ucast", "eth1 198.51.100.2"); cf.add("node", ["ha1", "ha2"])
    hr = Haresources.new(); hr.add_group("ha1", [Resource.ipaddr("192.0.2.160", 24, "eth0"), "nginx"])
    ak = Authkeys.new(); ak.add_key(1, "sha1", key); ak.set_active(1)
    check_models(cf, hr, ak, StaticHostFacts(...) or RealHostFacts(), "/etc/ha.d", FileStat(0, 0o600))

Pure except for reading the three files (`load`, `check_config`) and `RealHostFacts`
(uname, /sys/class/net, stat, resolver, passwd), the one place that looks at the host.
Imports no third-party library.
"""

from pyha.config.authkeys import AuthKey, Authkeys
from pyha.config.check import CheckReport, check_config, check_models, find_resource_script
from pyha.config.common import format_ms, parse_time_ms
from pyha.config.hacf import HaCf, Medium, Respawn
from pyha.config.haresources import Group, Haresources, Resource
from pyha.config.hostfacts import FileStat, HostFacts, RealHostFacts, StaticHostFacts

__all__ = [
    "AuthKey", "Authkeys", "CheckReport", "check_config", "check_models", "find_resource_script",
    "format_ms", "parse_time_ms", "HaCf", "Medium", "Respawn", "Group", "Haresources", "Resource",
    "FileStat", "HostFacts", "RealHostFacts", "StaticHostFacts",
]
