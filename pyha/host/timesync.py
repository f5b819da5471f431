"""`pyha timesync`: check (and optionally step) the clock against NTP, set the time zone,
and show the clock skew to the peer that the daemon sees in heartbeat timestamps.

Step 6 of the reference tutorial (time zone Asia/Shanghai, `ntpdate 0.centos.pool.ntp.org`)
made repeatable: the query uses ntplib (SNTP, like ntpdate), prints offset, delay and
stratum per server, and with `--set` steps the clock by the best server's offset when it
exceeds a threshold (ntpdate's 0.5 s by default).  The time zone is set the way the
release expects: `timedatectl set-timezone` when systemd runs the system; otherwise the
files (`/etc/localtime` as a copy on EL6 and a symlink elsewhere, `ZONE="..."` in
`/etc/sysconfig/clock` on EL6 or where that file exists, `/etc/timezone` on Debian).

The wall clock is shared by everything on the machine, so the clock setter is part of
the injected `TimeHost`: tests pass a fake and assert on the offset it was given.  Never
slew or step the clock except through `TimeHost.step_clock`, and only with `set_clock`.
"""

import os
import re
import socket
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from dataclasses import dataclass, fields

from pyha import diagnostics as dg
from pyha import paths
from pyha.host import files
from pyha.host.hostenv import (DONE, FAILED, UNCHANGED, WOULD, Release, Runner, SetupError, Step,
                               detect_release, is_live, read_file, require_root, systemd_running, under)

DEFAULT_THRESHOLD = 0.5  # seconds; ntpdate steps above this and slews below
DEFAULT_TIMEOUT = 5.0
DEFAULT_SERVERS = ["pool.ntp.org"]
NTP_PORT = 123
ZONEINFO = "/usr/share/zoneinfo"
CONTROL_SOCKET = paths.control_path()
_NTP_CONFIGS = ("/etc/chrony.conf", "/etc/chrony/chrony.conf", "/etc/ntp.conf", "/etc/ntpsec/ntp.conf")
_ZONE_RE = re.compile(r"^[A-Za-z0-9_+\-]+(/[A-Za-z0-9_+\-]+)*$")


@dataclass(eq=False)
class ServerResult(object):
    """One server's answer (or why there was none).  `offset` is how far this host's
    clock is behind the server's (add it to the local time to get the server's), in
    seconds; `delay` the round trip; `stratum` and `leap` as the server reported them."""

    server: str
    port: int = NTP_PORT
    ok: bool = False
    offset: Optional[float] = None
    delay: Optional[float] = None
    stratum: Optional[int] = None
    leap: Optional[int] = None
    ref_id: Optional[str] = None
    error: Optional[str] = None

    @property
    def usable(self):
        # type: () -> bool
        """A synchronised server: answered, stratum 1-15, leap indicator not 3 (alarm)."""
        return self.ok and self.stratum is not None and 1 <= self.stratum <= 15 and self.leap != 3

    def describe(self):
        # type: () -> str
        name = self.server if self.port == NTP_PORT else "%s:%d" % (self.server, self.port)
        if not self.ok:
            return "%s: no answer (%s)" % (name, self.error)
        return "%s: offset %+.6f s, delay %.6f s, stratum %s%s" % (
            name, self.offset, self.delay, self.stratum, "" if self.usable else " (not synchronised, ignored)")

    def to_dict(self):
        # type: () -> Dict[str, Any]
        return dict((f.name, getattr(self, f.name)) for f in fields(self))

    def __repr__(self):
        return "ServerResult(%s)" % self.describe()


def parse_server(spec):
    # type: (str) -> Tuple[str, int]
    """`host`, `host:port`, `[v6addr]:port` or a bare IPv6 address -> (host, port)."""
    spec = spec.strip()
    m = re.match(r"^\[([^\]]+)\](?::(\d+))?$", spec)
    if m:
        return m.group(1), int(m.group(2) or NTP_PORT)
    if spec.count(":") == 1:
        host, port = spec.split(":")
        if not port.isdigit() or not 1 <= int(port) <= 65535 or not host:
            raise ValueError("--server %r: write HOST or HOST:PORT" % (spec,))
        return host, int(port)
    if not spec:
        raise ValueError("--server: empty name")
    return spec, NTP_PORT


def servers_from_config(text):
    # type: (str) -> List[str]
    """`server`/`pool` hosts of a chrony.conf or ntp.conf (reference clocks skipped)."""
    out = []
    for raw in text.splitlines():
        toks = raw.split("#", 1)[0].split()
        if len(toks) >= 2 and toks[0] in ("server", "pool", "peer") and not toks[1].startswith("127.127."):
            if toks[1] not in out:
                out.append(toks[1])
    return out


def default_servers(root="/"):
    # type: (str) -> List[str]
    for path in _NTP_CONFIGS:
        text = read_file(under(root, path))
        if text:
            found = servers_from_config(text)
            if found:
                return found
    return list(DEFAULT_SERVERS)


def choose(results):
    # type: (Sequence[ServerResult]) -> Optional[ServerResult]
    """The server to trust: synchronised, lowest stratum, then shortest round trip (the
    offset error is at most half the delay)."""
    usable = [r for r in results if r.usable]
    if not usable:
        return None
    return sorted(usable, key=lambda r: (r.stratum, r.delay))[0]


def needs_step(offset, threshold):
    # type: (float, float) -> bool
    return abs(offset) > threshold


def query(client, server, port=NTP_PORT, timeout=DEFAULT_TIMEOUT, version=3):
    # type: (Any, str, int, float, int) -> ServerResult
    """Ask one server with an ntplib-compatible client; never raises."""
    try:
        resp = client.request(server, version=version, port=port, timeout=timeout)
    except socket.gaierror as exc:
        return ServerResult(server, port, error="cannot resolve: %s" % (exc.args[-1],))
    except Exception as exc:  # ntplib.NTPException (timeout), OSError (unreachable)
        return ServerResult(server, port, error=str(exc) or exc.__class__.__name__)
    ref = None
    try:
        import ntplib
        ref = ntplib.ref_id_to_text(resp.ref_id, resp.stratum)
    except Exception:
        ref = None
    return ServerResult(server, port, True, float(resp.offset), float(resp.delay), int(resp.stratum),
                        int(resp.leap), ref)


# -- time zone (pure helpers) --------------------------------------------------------------------

def valid_zone_name(zone):
    # type: (str) -> bool
    return bool(_ZONE_RE.match(zone)) and ".." not in zone.split("/")


def set_shell_var(text, name, value):
    # type: (Optional[str], str, str) -> str
    """`text` (a /etc/sysconfig-style file, None if absent) with `NAME="value"`: the first
    assignment is rewritten in place, later ones dropped, everything else kept."""
    line = '%s="%s"' % (name, value)
    if text is None:
        return line + "\n"
    out = []
    done = False
    pat = re.compile(r"^\s*(export\s+)?%s=" % re.escape(name))
    for raw in text.splitlines():
        if pat.match(raw):
            if not done:
                out.append(line)
                done = True
            continue
        out.append(raw)
    if not done:
        out.append(line)
    return "\n".join(out) + "\n"


def get_shell_var(text, name):
    # type: (Optional[str], str) -> Optional[str]
    if not text:
        return None
    for raw in text.splitlines():
        m = re.match(r"^\s*(?:export\s+)?%s=(.*)$" % re.escape(name), raw)
        if m:
            value = m.group(1).strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                value = value[1:-1]
            return value
    return None


def zone_from_link(target):
    # type: (str) -> Optional[str]
    """`../usr/share/zoneinfo/Asia/Shanghai` -> `Asia/Shanghai`."""
    m = re.search(r"zoneinfo/(?:posix/|right/)?(.+)$", target)
    return m.group(1) if m else None


def parse_timedatectl(text):
    # type: (str) -> Optional[str]
    """The zone from `timedatectl status` ("Time zone: Asia/Shanghai (CST, +0800)"; EL7's
    systemd 219 says "Timezone:")."""
    m = re.search(r"^\s*Time ?zone:\s*(\S+)", text, re.M | re.I)
    return m.group(1) if m else None


def current_zone(root="/"):
    # type: (str) -> Optional[str]
    """The zone the files say: /etc/localtime's link, else ZONE in /etc/sysconfig/clock,
    else /etc/timezone."""
    lt = under(root, "/etc/localtime")
    if os.path.islink(lt):
        zone = zone_from_link(os.readlink(lt))
        if zone:
            return zone
    zone = get_shell_var(read_file(under(root, "/etc/sysconfig/clock")), "ZONE")
    if zone:
        return zone
    text = read_file(under(root, "/etc/timezone"))
    return text.strip() or None if text else None


# -- the host ----------------------------------------------------------------------------------

def _real_step(offset):
    # type: (float) -> None
    time.clock_settime(time.CLOCK_REALTIME, time.time() + offset)


class TimeHost(object):
    """What timesync needs from the machine: an NTP client, the clock setter, the daemon's
    control socket, programs.  Tests pass fakes (never the real clock setter)."""

    def __init__(self, runner=None, geteuid=None, step_clock=None, ntp_client=None, control=None):
        # type: (Optional[Runner], Optional[Callable[[], int]], Optional[Callable[[float], None]], Any, Optional[Callable[[str, Dict[str, Any]], Dict[str, Any]]]) -> None
        self.runner = runner or Runner()
        self.geteuid = geteuid or os.geteuid
        self.step_clock = step_clock or _real_step
        self._client = ntp_client
        self._control = control

    def ntp_client(self):
        if self._client is None:
            import ntplib  # third-party: imported where used
            self._client = ntplib.NTPClient()
        return self._client

    def control(self, path, payload):
        # type: (str, Dict[str, Any]) -> Dict[str, Any]
        if self._control is not None:
            return self._control(path, payload)
        from pyha.daemon.control import request
        return request(path, payload, timeout=3.0)

    def ntp_daemons(self):
        # type: () -> List[str]
        """Names of running NTP daemons (they discipline the clock; a step fights them)."""
        try:
            import psutil
            names = set()
            for p in psutil.process_iter(["name"]):
                name = p.info.get("name") or ""
                if name in ("chronyd", "ntpd", "openntpd", "systemd-timesyncd"):
                    names.add(name)
            return sorted(names)
        except Exception:
            return []

    def systemd_running(self, root):
        # type: (str) -> bool
        return systemd_running(root)


class TimesyncResult(object):
    def __init__(self, dry_run=False):
        # type: (bool) -> None
        self.dry_run = dry_run
        self.servers = []  # type: List[ServerResult]
        self.chosen = None  # type: Optional[ServerResult]
        self.threshold = DEFAULT_THRESHOLD
        self.step = None  # type: Optional[Dict[str, Any]]
        self.timezone = None  # type: Optional[Dict[str, Any]]
        self.peer = {}  # type: Dict[str, Any]
        self.steps = []  # type: List[Step]
        self.notes = []  # type: List[dg.Diagnostic]

    @property
    def ok(self):
        # type: () -> bool
        return not any(s.status == FAILED for s in self.steps) and not dg.has_errors(self.notes)

    def to_dict(self):
        # type: () -> Dict[str, Any]
        return {"dry_run": self.dry_run, "ok": self.ok, "servers": [s.to_dict() for s in self.servers],
                "chosen": self.chosen.server if self.chosen else None, "threshold_s": self.threshold,
                "step": self.step, "timezone": self.timezone, "peer": self.peer,
                "steps": [s.to_dict() for s in self.steps], "notes": [d.to_dict() for d in self.notes]}


# -- the command ---------------------------------------------------------------------------------

def timesync(servers=(), timezone=None, set_clock=False, threshold=DEFAULT_THRESHOLD, root="/", dry_run=False,
             timeout=DEFAULT_TIMEOUT, control_socket=CONTROL_SOCKET, host=None):
    # type: (Sequence[str], Optional[str], bool, float, str, bool, float, str, Optional[TimeHost]) -> TimesyncResult
    """Query `servers` (default: those of chrony.conf/ntp.conf, else pool.ntp.org), step
    the clock with `set_clock` when the best offset exceeds `threshold`, set `timezone`,
    and read the peer clock skew from the daemon.  Root is needed only to change things."""
    host = host or TimeHost()
    if threshold < 0:
        raise SetupError("--threshold must be 0 or more seconds", code=2)
    if timezone is not None and not valid_zone_name(timezone):
        raise SetupError("%r is not a time zone name" % (timezone,), "e.g. Asia/Shanghai, Europe/Berlin, UTC", code=2)
    if not dry_run and (set_clock or (timezone and is_live(root))):
        require_root("pyha timesync%s" % (" --set" if set_clock else " --timezone"), host.geteuid)
    parsed = [parse_server(s) for s in (list(servers) or default_servers(root))]
    result = TimesyncResult(dry_run)
    result.threshold = threshold
    client = host.ntp_client()
    for name, port in parsed:
        result.servers.append(query(client, name, port, timeout))
    result.chosen = choose(result.servers)
    if result.chosen is None:
        result.notes.append(dg.error("ts-no-server", "no synchronised NTP server answered (%s)"
                                     % ", ".join(s.server for s in result.servers),
                                     hint="check the names, the route and udp/123 on the way; --server HOST"))
    if set_clock and result.chosen is not None:
        _step(host, result, result.chosen, threshold, dry_run)
    if timezone:
        set_timezone(timezone, root=root, dry_run=dry_run, host=host, result=result)
    result.peer = peer_skew(host, control_socket)
    return result


def _step(host, result, best, threshold, dry_run):
    # type: (TimeHost, TimesyncResult, ServerResult, float, bool) -> None
    offset = best.offset or 0.0
    target = "by %+.6f s from %s" % (offset, best.server)
    if not needs_step(offset, threshold):
        result.step = {"stepped": False, "offset_s": offset, "server": best.server,
                       "reason": "offset within the %.3f s threshold" % threshold}
        result.steps.append(Step("step clock", target, UNCHANGED, "within the %.3f s threshold" % threshold))
        return
    daemons = host.ntp_daemons()
    if daemons:
        result.notes.append(dg.warning(
            "ts-ntp-daemon", "%s is running and disciplines this clock; a step fights it" % ", ".join(daemons),
            hint="for chronyd prefer `chronyc makestep`; or stop the daemon, step, start it"))
    if dry_run:
        result.step = {"stepped": False, "offset_s": offset, "server": best.server, "reason": "dry run"}
        result.steps.append(Step("step clock", target, WOULD))
        return
    try:
        host.step_clock(offset)
    except OSError as exc:
        result.step = {"stepped": False, "offset_s": offset, "server": best.server, "reason": exc.strerror}
        result.steps.append(Step("step clock", target, FAILED, str(exc)))
        return
    result.step = {"stepped": True, "offset_s": offset, "server": best.server, "reason": ""}
    result.steps.append(Step("step clock", target, DONE))
    result.notes.append(dg.info("ts-hwclock", "the system clock was stepped; the hardware clock was not",
                                hint="hwclock --systohc keeps it across a reboot"))


def set_timezone(zone, root="/", dry_run=False, host=None, result=None):
    # type: (str, str, bool, Optional[TimeHost], Optional[TimesyncResult]) -> TimesyncResult
    """Make `zone` the system time zone the way the release under `root` expects."""
    host = host or TimeHost()
    result = result if result is not None else TimesyncResult(dry_run)
    release = detect_release(root)
    zone_file = under(root, os.path.join(ZONEINFO, zone))
    source = zone_file if os.path.isfile(zone_file) else os.path.join(ZONEINFO, zone)
    if not os.path.isfile(source):
        raise SetupError("unknown time zone %r (no %s)" % (zone, zone_file),
                         "install tzdata, or pick a name from %s (e.g. Asia/Shanghai)" % ZONEINFO, code=1)
    info = {"zone": zone, "before": current_zone(root), "method": None, "release": release.to_dict()}
    result.timezone = info
    if is_live(root) and host.systemd_running(root) and host.runner.which("timedatectl"):
        info["method"] = "timedatectl"
        status = host.runner.run(["timedatectl", "status"], timeout=15)
        before = parse_timedatectl(status.out) if status.ok else None
        info["before"] = before or info["before"]
        if before == zone:
            result.steps.append(Step("set time zone", zone, UNCHANGED, "timedatectl"))
        elif dry_run:
            result.steps.append(Step("set time zone", zone, WOULD, "timedatectl set-timezone %s" % zone))
        else:
            res = host.runner.run(["timedatectl", "set-timezone", zone], timeout=30)
            result.steps.append(Step("set time zone", zone, DONE if res.ok else FAILED,
                                     "timedatectl set-timezone %s%s" % (zone, "" if res.ok else ": " + res.text())))
        return result
    info["method"] = "files"
    _localtime(result, root, zone, source, release, dry_run)
    clock = under(root, "/etc/sysconfig/clock")
    if release.el6 or os.path.exists(clock):
        old = read_file(clock)
        _write_text(result, clock, set_shell_var(old, "ZONE", zone), dry_run, "set ZONE")
    tzfile = under(root, "/etc/timezone")
    if release.family == "debian" or os.path.exists(tzfile):
        _write_text(result, tzfile, zone + "\n", dry_run, "write zone name")
    if is_live(root) and not dry_run:
        time.tzset()
    return result


def _write_text(result, path, text, dry_run, action):
    # type: (TimesyncResult, str, str, bool, str) -> None
    directory, name = os.path.split(path)
    old = read_file(path)
    mode = (os.stat(path).st_mode & 0o7777) if old is not None else 0o644
    change = files.write_files({name: (text, mode)}, directory, dry_run=dry_run)[0]
    status = UNCHANGED if change.status == files.UNCHANGED else (WOULD if dry_run else DONE)
    result.steps.append(Step(action, path, status, change.diff))


def _localtime(result, root, zone, source, release, dry_run):
    # type: (TimesyncResult, str, str, str, Release, bool) -> None
    """EL6 keeps a copy in /etc/localtime (tzdata updates refresh it via
    /etc/sysconfig/clock); systemd-era systems expect a symlink into zoneinfo."""
    path = under(root, "/etc/localtime")
    link_target = "..%s/%s" % (ZONEINFO, zone)
    with open(source, "rb") as f:
        data = f.read()
    if release.el6:
        current = None
        if os.path.exists(path):
            with open(path, "rb") as f:
                current = f.read()
        if current == data and not os.path.islink(path):
            result.steps.append(Step("copy zone file", path, UNCHANGED, "from %s" % source))
            return
        if dry_run:
            result.steps.append(Step("copy zone file", path, WOULD, "from %s" % source))
            return
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = path + ".pyha-tmp"
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.rename(tmp, path)
        result.steps.append(Step("copy zone file", path, DONE, "from %s" % source))
        return
    if os.path.islink(path) and zone_from_link(os.readlink(path)) == zone:
        result.steps.append(Step("link", "%s -> %s" % (path, os.readlink(path)), UNCHANGED))
        return
    if dry_run:
        result.steps.append(Step("link", "%s -> %s" % (path, link_target), WOULD))
        return
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".pyha-tmp"
    if os.path.lexists(tmp):
        os.unlink(tmp)
    os.symlink(link_target, tmp)
    os.rename(tmp, path)  # atomic: readers see the old zone or the new one
    result.steps.append(Step("link", "%s -> %s" % (path, link_target), DONE))


# -- peer skew ---------------------------------------------------------------------------------

def peer_skew(host, control_socket=CONTROL_SOCKET):
    # type: (TimeHost, str) -> Dict[str, Any]
    """{"running": bool, "message": str, "nodes": {name: skew seconds or None}} from the
    daemon's status (`peer_clock_skew_s` per node, from heartbeat timestamps)."""
    if not os.path.exists(control_socket):
        return {"running": False, "message": "daemon not running, no peer skew", "nodes": {}}
    try:
        answer = host.control(control_socket, {"cmd": "status"})
    except Exception as exc:  # ControlError, OSError: treat as not running
        msg = getattr(exc, "message", None) or str(exc)
        return {"running": False, "message": "daemon not running, no peer skew (%s)" % msg, "nodes": {}}
    status = answer.get("status") if isinstance(answer, dict) else None
    if not answer.get("ok") or not isinstance(status, dict):
        return {"running": True, "message": "the daemon did not give its status: %s" % answer.get("error"),
                "nodes": {}}
    local = (status.get("daemon") or {}).get("node")
    nodes = {}
    for name, n in sorted((status.get("nodes") or {}).items()):
        if name == local or not isinstance(n, dict):
            continue
        skew = n.get("peer_clock_skew_s")
        nodes[name] = float(skew) if isinstance(skew, (int, float)) else None
    if not nodes:
        msg = "the daemon knows no peer yet"
    elif all(v is None for v in nodes.values()):
        msg = "the daemon reports no clock skew yet (no timestamped heartbeat seen)"
    else:
        msg = "clock skew to peers as seen in heartbeat timestamps"
    return {"running": True, "message": msg, "nodes": nodes}


__all__ = ["ServerResult", "TimeHost", "TimesyncResult", "timesync", "set_timezone", "peer_skew", "choose",
           "needs_step", "parse_server", "servers_from_config", "set_shell_var", "get_shell_var",
           "parse_timedatectl", "current_zone", "query"]
