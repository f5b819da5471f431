"""pyha.cf directives for service health (issue 14): `monitor` and `notify`.

    monitor RESOURCE [interval=2s] [timeout=10s] [restarts=1] [window=5min] [url=http://...]
    notify PROGRAM [ARG...]

Each directive is a `pyha.config.pyhacf_schema.Spec` in `DIRECTIVES`, registered in
`pyha.config.pyhacf_registry`; `monitors(settings)` and `notify_of(settings)` are the typed
readers.  Parsing and checking only: running checks and programs is the daemon's job
(`pyha.resources.health*`).  Never looks at the host except through the HostFacts handed
to host_check.
"""

import difflib
from collections import namedtuple
from typing import Any, List, Optional

from pyha import diagnostics as dg
from pyha.config.common import show
from pyha.config.pyhacf_schema import BadValue, Findings, Parsed, Spec, duration_ms, integer, options

# One monitored resource.  resource: the haresources token or script name as written;
# times in ms; url None when no HTTP check is asked for.
Monitor = namedtuple("Monitor", "resource interval_ms timeout_ms restarts window_ms url")

# argv: the program (absolute path) and its fixed arguments; pyha appends the event's own.
Notify = namedtuple("Notify", "argv")

MONITOR_DEFAULTS = {"interval": 2000, "timeout": 10000, "restarts": 1, "window": 300000, "url": None}


def check_url(text):
    # type: (str) -> str
    """An http:// or https:// URL with a host, no blanks (it is one pyha.cf word)."""
    try:
        from urllib.parse import urlsplit
        parts = urlsplit(text)
        port = parts.port  # ValueError for a port that is not a number or out of range
    except ValueError as exc:
        raise BadValue("%s is not a URL (%s)" % (show(text), exc), "write e.g. `url=http://127.0.0.1/`")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadValue("%s is not an http:// or https:// URL with a host" % show(text),
                       "write e.g. `url=http://127.0.0.1/` (the check runs on the node holding the group)")
    if port == 0:
        raise BadValue("%s: port 0" % show(text), "leave the port out for 80/443, or write the real one")
    return text


_MONITOR_OPTIONS = {
    "interval": duration_ms(100, 3600000),
    "timeout": duration_ms(100, 3600000),
    "restarts": integer(0, 100),
    "window": duration_ms(1000),
    "url": check_url,
}


def _monitor(args, rest):
    # type: (List[str], str) -> Parsed
    resource = args[0]
    if "=" in resource:
        raise BadValue("the first word must be the resource, not %s" % show(resource),
                       "write `monitor nginx %s`" % " ".join(args))
    o = options(args[1:], _MONITOR_OPTIONS, MONITOR_DEFAULTS)
    found = []  # type: Findings
    if o["timeout"] > o["window"]:
        found.append(dg.warning("pyhacf-monitor-timing", "timeout (%d ms) is longer than window (%d ms): a hung "
                                "check alone outlasts the restart count" % (o["timeout"], o["window"]),
                                hint="make window several intervals + timeouts long"))
    return Monitor(resource, o["interval"], o["timeout"], o["restarts"], o["window"], o["url"]), found


def resource_names(haresources):
    # type: (Any) -> List[str]
    return [r.token for r in haresources.resources] + [r.script for r in haresources.resources]


def find_resource(haresources, name):
    # type: (Any, str) -> List[Any]
    """The haresources resources `name` means: the one whose token is `name`, else those
    whose script (name before `::`) is `name`."""
    by_token = [r for r in haresources.resources if r.token == name]
    return by_token or [r for r in haresources.resources if r.script == name]


def _monitor_cross(value, context):
    # type: (Monitor, Any) -> Findings
    hr = context.haresources
    if hr is None:
        return []
    found = find_resource(hr, value.resource)
    if not found:
        close = difflib.get_close_matches(value.resource, sorted(set(resource_names(hr))), n=1)
        return [dg.error("pyhacf-monitor-resource", "%s is not a resource in %s" % (show(value.resource), hr.filename),
                         hint="did you mean %s?" % close[0] if close else
                         "name a resource of haresources (its script, e.g. `nginx`, or its whole token)")]
    if all(r.kind == "ip" for r in found):
        return [dg.error("pyhacf-monitor-ip", "%s is an address: pyha watches addresses itself (interface "
                         "carrier, VIP witness); monitor checks services" % show(value.resource),
                         hint="monitor the service of that group instead, e.g. `monitor nginx url=http://%s/`"
                         % found[0].ip if getattr(found[0], "ip", None) else None)]
    groups = set(id(g) for g in hr.groups for r in g.resources if r in found)
    if len(found) > 1 and len(groups) > 1:
        return [dg.error("pyhacf-monitor-ambiguous", "%s names %d resources (%s)"
                         % (show(value.resource), len(found), ", ".join(r.token for r in found)),
                         hint="write the whole token, e.g. `monitor %s`" % found[0].token)]
    return []


def _notify(args, rest):
    # type: (List[str], str) -> Parsed
    if not args[0].startswith("/"):
        raise BadValue("program %s is not an absolute path" % show(args[0]),
                       "write the full path, e.g. `notify /usr/local/sbin/%s`" % args[0].lstrip("./"))
    return Notify(tuple(args)), []


def _notify_host(value, facts):
    # type: (Notify, Any) -> Findings
    if facts.is_executable_file(value.argv[0]):
        return []
    return [dg.warning("pyhacf-notify-missing", "program %s is not an executable file; every notification "
                       "will fail" % show(value.argv[0]), hint="install it, `chmod +x` it, or fix the path")]


DIRECTIVES = [
    Spec("monitor", _monitor, kind="many", key=lambda m: m.resource,
         syntax="monitor RESOURCE [interval=2s] [timeout=10s] [restarts=1] [window=5min] [url=http://...]",
         doc="Check RESOURCE (a resource of haresources: its script name or whole token) every interval while "
             "this node holds its group: the LSB status exit code of an init or resource.d script, systemctl "
             "is-active for a systemd unit, and with url= an HTTP GET that must answer 2xx or 3xx; a check "
             "slower than timeout fails.  Each failure is logged and `pyha status` shows the last check.  A failed "
             "check restarts RESOURCE in place (stop, then start) up to restarts times within window; one more "
             "failure (a failed restart counts) hands the whole group to the peer by the standby exchange, as "
             "hb_standby would (released here before the peer takes it); a node that gave the group up that way "
             "is not handed it back within window (pyha takeover there overrides); with no healthy peer it is "
             "restarted again at each failed check.  The reason goes "
             "to the log and `pyha status`.",
         example=("monitor nginx interval=2s timeout=5s restarts=1 window=5min url=http://127.0.0.1/",),
         cross_check=_monitor_cross),
    Spec("notify", _notify, syntax="notify PROGRAM [ARG...]",
         doc="PROGRAM (an absolute path, with optional fixed arguments) to run on every group or node state "
             "change as `PROGRAM [ARG...] KIND NAME OLD NEW REASON` (KIND group or node), with PYHA_KIND, "
             "PYHA_NAME, PYHA_OLD, PYHA_NEW, PYHA_REASON, PYHA_NODE and PYHA_TIME in its environment; it runs "
             "beside the daemon and is killed after 30 s.  Group changes are this node's (idle, acquiring, held, "
             "releasing, ...), node changes the peer's as the resource manager sees it (up, dead, left); a "
             "node that manages no resource group runs nothing.",
         example=("notify /usr/local/sbin/pyha-notify",),
         host_check=_notify_host),
]


def monitors(settings):
    # type: (Any) -> List[Monitor]
    """The monitor lines of a PyhaSettings, in file order."""
    return settings.get("monitor")


def notify_of(settings):
    # type: (Any) -> Optional[Notify]
    return settings.get("notify")
