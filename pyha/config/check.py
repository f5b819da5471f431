"""`pyha config check`: read /etc/ha.d, and report every problem with file, line and fix.

Combines each file's own checks (`HaCf.check()`, `Haresources.check()`,
`Authkeys.check()`, and pyha's own optional pyha.cf: `PyhaCf.check()`) with the checks that
need another file or the host: this host's
`uname -n` among the nodes, interfaces, resource scripts, name resolution, the authkeys
mode and owner.  The host is reached only through an injected `HostFacts`, so the whole
check is deterministic under test.  Reading the files is the only I/O done here.

Severity policy (the drop-in rule): whatever makes genuine heartbeat 3.0.x refuse to start
is an error; what it accepts is at most a warning, except these deliberate errors: unknown
directives (heartbeat refuses them too), authkeys not owned by root or writable by group or
others (whoever can write the key controls the cluster; issue 11), resource scripts that
cannot be found or whose name is a path, arguments a standard resource's agent cannot take
(the daemon refuses that group alike), and Pacemaker (crm) mode.
"""

import difflib
import json
import os
from typing import Any, Dict, List, Optional

from pyha import diagnostics as dg
from pyha import paths
from pyha.config.authkeys import Authkeys
from pyha.config.common import MAX_FILE_SIZE, FileRefused, read_text, show
from pyha.config.hacf import HaCf
from pyha.config.haresources import IP_AGENTS, Haresources, looks_like_ip, script_name_problem
from pyha.config.hostfacts import FileStat, HostFacts, RealHostFacts
from pyha.config.pyhacf import CrossContext, PyhaCf
from pyha.resources import lookup, standard

HA_FILES = ("ha.cf", "haresources", "authkeys")
INIT_DIRS = ("/etc/init.d",)
SYSTEMD_UNIT_DIRS = ("/etc/systemd/system", "/lib/systemd/system", "/usr/lib/systemd/system")


def find_resource_script(name, ha_dir, facts):
    # type: (str, str, HostFacts) -> Optional[str]
    """Where the agent for resource `name` is, in the daemon's order
    (`pyha.resources.lookup`): `builtin:<name>` for pyha's own agents, else the path of
    the resource.d script, init script, systemd unit or OCF agent; None if nowhere."""
    if name in IP_AGENTS:
        return "builtin:" + name
    if script_name_problem(name):  # the daemon refuses it wherever it is (reported on its own)
        return None
    try:
        found = lookup.locate(name, None, facts, os.path.join(ha_dir, "resource.d"), INIT_DIRS, True,
                              SYSTEMD_UNIT_DIRS)
    except lookup.NotFound:
        return None
    return found.path or "builtin:" + name


def _agent_problem(r, fn, ha_dir, facts):
    # type: (Any, str, str, HostFacts) -> Optional[dg.Diagnostic]
    """The finding for a resource whose agent the daemon would not find or not call."""
    try:
        lookup.locate(r.script, r.args, facts, os.path.join(ha_dir, "resource.d"), INIT_DIRS, True,
                      SYSTEMD_UNIT_DIRS)
    except standard.ArgsError as exc:
        return dg.error("hares-agent-args", "resource %s: %s; heartbeat's resource.d/%s would print its usage and "
                        "fail at start" % (show(r.token), exc, r.script), fn, r.lineno,
                        "write the arguments its usage names, separated by `::`")
    except lookup.NotFound as exc:
        standard_name = standard.is_standard(r.script)
        return dg.error("hares-script-missing",
                        "resource %s: no script %s in %s/resource.d or /etc/init.d, no systemd unit %s.service%s "
                        "(heartbeat: \"Cannot locate resource script\")"
                        % (show(r.token), show(r.script), ha_dir.rstrip("/"), r.script,
                           ", no OCF agent %s/resource.d/heartbeat/%s" % (lookup.OCF_ROOT, r.script)
                           if standard_name else ""), fn, r.lineno, exc.hint)
    return None


# A file with thousands of copies of one mistake must not print thousands of lines (or
# fill ha-log on every reload): the first few say what and where, then one line counts.
MAX_REPEATS = 20


def cap_repeats(diags, limit=MAX_REPEATS):
    # type: (List[dg.Diagnostic], int) -> List[dg.Diagnostic]
    """`diags` (sorted) with at most `limit` diagnostics per file, code and severity; the
    rest are replaced by one "... and N more like this" diagnostic of the same kind, at
    the line of the first one left out."""
    seen = {}  # type: Dict[Any, int]
    out = []  # type: List[dg.Diagnostic]
    summaries = {}  # type: Dict[Any, dg.Diagnostic]
    for d in diags:
        kind = (d.file, d.code, d.severity)
        seen[kind] = seen.get(kind, 0) + 1
        if seen[kind] <= limit:
            out.append(d)
        elif kind not in summaries:
            summaries[kind] = d
    for kind, first in summaries.items():
        more = seen[kind] - limit
        out.append(dg.Diagnostic(first.severity, first.code, "... and %d more like this (%d in all)"
                                 % (more, seen[kind]), first.file, first.line))
    return dg.sorted_diagnostics(out)


class CheckReport(object):
    """The outcome of a check: the parsed models (None for a file that could not be read)
    and the sorted diagnostics (at most MAX_REPEATS of one kind: `count` has the totals)."""

    def __init__(self, ha_dir, hacf, haresources, authkeys, diagnostics, pyhacf=None):
        # type: (str, Optional[HaCf], Optional[Haresources], Optional[Authkeys], List[dg.Diagnostic], Optional[PyhaCf]) -> None
        self.ha_dir = ha_dir
        self.pyhacf = pyhacf  # pyha's own settings (empty, `present` False, when there is no pyha.cf)
        self.hacf = hacf
        self.haresources = haresources
        self.authkeys = authkeys
        everything = dg.sorted_diagnostics(diagnostics)
        self.diagnostics = cap_repeats(everything)
        self._counts = {}  # type: Dict[str, int]
        for d in everything:
            self._counts[d.severity] = self._counts.get(d.severity, 0) + 1

    @property
    def ok(self):
        # type: () -> bool
        return not dg.has_errors(self.diagnostics)

    @property
    def exit_code(self):
        # type: () -> int
        return 0 if self.ok else 1

    def count(self, severity):
        # type: (str) -> int
        """How many diagnostics of `severity` were found, including those not listed."""
        return self._counts.get(severity, 0)

    def to_dict(self):
        # type: () -> Dict[str, Any]
        return {
            "dir": self.ha_dir,
            "ok": self.ok,
            "errors": self.count(dg.ERROR),
            "warnings": self.count(dg.WARNING),
            "infos": self.count(dg.INFO),
            "diagnostics": [d.to_dict() for d in self.diagnostics],
        }

    def format_text(self):
        # type: () -> str
        # undecodable bytes from the files survive as surrogates: print them escaped
        lines = [d.format().encode("utf-8", "backslashreplace").decode("utf-8") for d in self.diagnostics]
        e, w, i = self.count(dg.ERROR), self.count(dg.WARNING), self.count(dg.INFO)
        if not self.diagnostics:
            lines.append("%s: no problems found" % self.ha_dir)
        else:
            lines.append("%s: %d error%s, %d warning%s, %d note%s" % (
                self.ha_dir, e, "" if e == 1 else "s", w, "" if w == 1 else "s", i, "" if i == 1 else "s"))
        return "\n".join(lines)

    def render(self, as_json=False):
        # type: (bool) -> str
        if as_json:
            return json.dumps(self.to_dict(), indent=2, sort_keys=True)
        return self.format_text()


def check_config(ha_dir=paths.HA_DIR, facts=None):
    # type: (str, Optional[HostFacts]) -> CheckReport
    """Read ha.cf, haresources and authkeys from `ha_dir` and check them against the host
    (`facts`, default: this machine).  Never raises for bad or missing files."""
    facts = facts or RealHostFacts()
    diags = []  # type: List[dg.Diagnostic]
    if not os.path.isdir(ha_dir):
        diags.append(dg.error("config-dir-missing", "configuration directory %s %s" % (
            show(ha_dir), "is not a directory" if os.path.lexists(ha_dir) else "does not exist"),
            ha_dir, None, "create it and run `pyha init`, or pass --dir"))
        return CheckReport(ha_dir, None, None, None, diags)

    texts = {}  # type: Dict[str, Optional[str]]
    for name in HA_FILES:
        path = os.path.join(ha_dir, name)
        try:
            texts[name] = read_text(path)
        except (OSError, IOError) as exc:
            texts[name] = None
            diags.append(_missing(name, path, exc))

    hacf = HaCf.parse(texts["ha.cf"], os.path.join(ha_dir, "ha.cf")) if texts["ha.cf"] is not None else None
    hares = (Haresources.parse(texts["haresources"], os.path.join(ha_dir, "haresources"))
             if texts["haresources"] is not None else None)
    keys = (Authkeys.parse(texts["authkeys"], os.path.join(ha_dir, "authkeys"))
            if texts["authkeys"] is not None else None)
    authkeys_stat = facts.stat(os.path.join(ha_dir, "authkeys")) if keys is not None else None
    pyhacf = _read_pyhacf(ha_dir, diags)
    if pyhacf is not None and pyhacf.present:
        diags.extend(_check_pyhacf_secrets(pyhacf, facts.stat(os.path.join(ha_dir, paths.PYHA_CF))))
    diags.extend(check_models(hacf, hares, keys, facts, ha_dir, authkeys_stat, pyhacf))
    return CheckReport(ha_dir, hacf, hares, keys, diags, pyhacf)


def _read_pyhacf(ha_dir, diags):
    # type: (str, List[dg.Diagnostic]) -> Optional[PyhaCf]
    """pyha.cf, or an empty model when there is none (all defaults); None, with a
    diagnostic, when it exists but cannot be read."""
    path = os.path.join(ha_dir, paths.PYHA_CF)
    try:
        return PyhaCf.load_optional(path)
    except (OSError, IOError) as exc:
        if isinstance(exc, FileRefused):
            diags.append(_missing(paths.PYHA_CF, path, exc))
        else:
            diags.append(dg.error("pyhacf-unreadable", "cannot read pyha.cf (%s)" % (exc.strerror or exc), path,
                                  None, "fix its permissions, or remove it to use every default"))
        return None


def _check_pyhacf_secrets(pyhacf, st):
    # type: (PyhaCf, Optional[FileStat]) -> List[dg.Diagnostic]
    """A fence line with an inline password in a pyha.cf others can read gives the BMC
    (and with it the power of the node) to every local user."""
    if st is None or not st.mode & 0o077:
        return []
    try:
        lines = pyhacf.settings.entries("fence")
    except KeyError:
        return []
    for entry in lines:
        if any(k in ("password", "passwd") for k, _ in entry.value.params):
            return [dg.warning("pyhacf-secret-readable", "pyha.cf holds a fence password (line %s) and is readable "
                               "by %s (mode %04o)" % (entry.lineno, "others" if st.mode & 0o004 else "its group",
                                                      st.mode), pyhacf.filename, entry.lineno,
                               "chmod 600 %s, or keep the password in a password_script=" % pyhacf.filename)]
    return []


_MISSING = {
    "ha.cf": ("hacf-missing", "heartbeat refuses to start (\"Cannot open config file\")"),
    "haresources": ("hares-missing", "heartbeat refuses to start (\"Cannot open resources file\")"),
    "authkeys": ("authkeys-missing", "heartbeat refuses to start (\"Cannot open keyfile\")"),
}


def _missing(name, path, exc):
    # type: (str, str, Any) -> dg.Diagnostic
    if isinstance(exc, FileRefused):
        return dg.error("config-file-refused", "%s; pyha reads only regular files of at most %g MB"
                        % (exc.strerror, MAX_FILE_SIZE / 1048576.0), path, None,
                        "put the real %s there (`pyha init` writes one, `pyha sync` copies the peer's)" % name)
    code, why = _MISSING[name]
    reason = getattr(exc, "strerror", None) or str(exc)
    return dg.error(code, "cannot read %s (%s); %s" % (name, reason, why), path, None,
                    "run `pyha init` to write it, or copy it from the other node (`pyha sync`)")


def check_models(hacf, haresources, authkeys, facts, ha_dir=paths.HA_DIR, authkeys_stat=None, pyhacf=None):
    # type: (Optional[HaCf], Optional[Haresources], Optional[Authkeys], HostFacts, str, Optional[FileStat], Optional[PyhaCf]) -> List[dg.Diagnostic]
    """All checks on already parsed models (a None model is skipped): each file's own
    checks plus the cross-file and host checks.  `authkeys_stat` is the key file's owner
    and mode (skipped when None), so `pyha init` can check files before writing them."""
    diags = []  # type: List[dg.Diagnostic]
    if hacf is not None:
        diags.extend(hacf.check())
        diags.extend(_check_hacf_host(hacf, facts))
    if haresources is not None:
        diags.extend(haresources.check())
        diags.extend(_check_haresources(haresources, hacf, facts, ha_dir))
    if authkeys is not None:
        diags.extend(authkeys.check())
        if authkeys_stat is not None:
            diags.extend(_check_authkeys_stat(authkeys.filename, authkeys_stat))
    if pyhacf is not None:
        diags.extend(pyhacf.check(CrossContext(hacf, haresources), facts))
    return dg.sorted_diagnostics(diags)


def _check_hacf_host(cf, facts):
    # type: (HaCf, HostFacts) -> List[dg.Diagnostic]
    fn = cf.filename
    out = []  # type: List[dg.Diagnostic]
    uname = facts.nodename()
    me = uname.lower()
    entries = cf.node_entries
    names = [n.name for n in entries]
    short = me.split(".", 1)[0]
    if entries and me not in names:
        if "." in me and short in names:
            hint = ("this host's name has a domain suffix (the tutorial warns that HA1.cmdschool.org makes heartbeat "
                    "fail): set the short name with `hostnamectl set-hostname %s` (or `hostname %s` and "
                    "/etc/sysconfig/network on EL6), or write `node %s`" % (short, short, me))
        else:
            hint = "add `node %s`, or set this host's name to one of: %s" % (me, ", ".join(names))
        out.append(dg.error("hacf-local-node-missing",
                            "this host's name (uname -n) %s is not a node (nodes: %s); heartbeat refuses to start "
                            "(\"Current node [%s] not in configuration!\")" % (show(uname), ", ".join(names), me),
                            fn, entries[0].lineno, hint))
    for n in entries:
        if n.name == me:
            continue
        if "." in n.name:
            out.append(dg.warning("hacf-node-domain-suffix",
                                  "node %s has a domain suffix; heartbeat compares node names with each host's "
                                  "`uname -n` exactly, and the tutorial reports that such names made heartbeat fail"
                                  % show(n.name), fn, n.lineno,
                                  "use short host names (`hostnamectl set-hostname ha2`) and `node ha2`"))
        elif "." in me and n.name == short:
            out.append(dg.warning("hacf-node-domain-suffix",
                                  "node %s matches this host only without its domain suffix (uname -n is %s)"
                                  % (show(n.name), show(uname)), fn, n.lineno,
                                  "set the short hostname: `hostnamectl set-hostname %s`" % short))

    for m in cf.all_media:
        if m.kind == "serial":
            if not facts.exists(m.dev):
                out.append(dg.error("hacf-serial-device", "serial port %s does not exist; heartbeat refuses to start"
                                    % show(m.dev), fn, m.lineno, "check the device name (e.g. /dev/ttyS0)"))
            continue
        if not facts.interface_exists(m.dev):
            if m.kind == "bcast":
                out.append(dg.error("hacf-bcast-device", "bcast interface %s does not exist on this host; heartbeat "
                                    "refuses to start (\"IP interface [%s] does not exist\")" % (show(m.dev), m.dev),
                                    fn, m.lineno, "use an existing interface (see `ip link`)"))
            elif m.kind in ("mcast", "mcast6", "ucast6"):
                out.append(dg.error("hacf-device-missing", "%s interface %s does not exist on this host; heartbeat "
                                    "refuses to start (\"%s device [%s] is invalid or not set up properly\")"
                                    % (m.kind, show(m.dev), m.kind, m.dev), fn, m.lineno,
                                    "use an existing interface with an address (see `ip addr`)"))
            else:
                out.append(dg.warning("hacf-ucast-device", "ucast interface %s does not exist on this host (yet); "
                                      "heartbeat starts, but its link process fails and it shuts down"
                                      % show(m.dev), fn, m.lineno,
                                      "use an existing interface (see `ip link`), or create it before starting"))
        if m.kind == "ucast" and not facts.resolve(m.peer):
            out.append(dg.error("hacf-ucast-resolve", "ucast peer %s does not resolve; heartbeat refuses to start "
                                "(\"cannot resolve hostname\")" % show(m.peer), fn, m.lineno,
                                "write the peer's IP address on that link (e.g. `ucast %s 10.0.0.2`)" % m.dev))
    for p in cf.ping_nodes:
        if p.kind == "ping" and not facts.resolve(p.host):
            out.append(dg.error("hacf-ping-resolve", "ping node %s does not resolve; heartbeat refuses to start "
                                "(\"unknown host\")" % show(p.host), fn, p.lineno,
                                "write an IP address, e.g. the default gateway"))
    for g in cf.ping_groups:
        for h in g.hosts:
            if not facts.resolve(h):
                out.append(dg.error("hacf-ping-resolve", "ping_group %s member %s does not resolve; heartbeat refuses "
                                    "to start" % (g.name, show(h)), fn, g.lineno, "write IP addresses"))

    for r in cf.respawn:
        if r.is_ipfail:
            out.append(dg.info("hacf-respawn-ipfail",
                               "pyha does not start ipfail: its built-in arbitration does the same job (hand the "
                               "resources over when only this node loses the ping nodes), and it answers a genuine "
                               "peer's ipfail as this node's ipfail would", fn, r.lineno,
                               "keep the line for heartbeat compatibility, or remove it"))
            continue
        if not facts.is_executable_file(r.program):
            out.append(dg.warning("hacf-respawn-missing", "%s program %s is not an executable file (heartbeat would "
                                  "refuse to start)" % ("failfast" if r.failfast else "respawn", show(r.program)),
                                  fn, r.lineno, "install it or fix the path"))
        if not facts.user_exists(r.user):
            out.append(dg.warning("hacf-respawn-user", "user %s does not exist (heartbeat would refuse to start)"
                                  % show(r.user), fn, r.lineno, "create the user or run the program as an existing one"))
    wd = cf.watchdog
    if wd and not facts.exists(wd):
        out.append(dg.warning("hacf-watchdog-missing", "watchdog device %s does not exist" % show(wd), fn,
                              cf.lineno("watchdog"),
                              "load the software watchdog: `modprobe softdog nowayout=0` (and at boot)"))
    return out


def _check_haresources(hr, cf, facts, ha_dir):
    # type: (Haresources, Optional[HaCf], HostFacts, str) -> List[dg.Diagnostic]
    fn = hr.filename
    out = []  # type: List[dg.Diagnostic]
    nodes = cf.nodes if cf is not None else None
    for g in hr.groups:
        if nodes is not None and nodes and g.node not in nodes:
            close = difflib.get_close_matches(g.node, nodes, n=1)
            if looks_like_ip(g.node_text) or g.node_text.startswith("/"):
                hint = "each group starts with its preferred node, e.g. `%s %s`" % (nodes[0], g.render())
            else:
                hint = "write %s" % ("`%s`" % close[0] if close else "one of: " + ", ".join(nodes))
            out.append(dg.error("hares-bad-node", "group owner %s is not a node in ha.cf (%s); heartbeat refuses to "
                                "start (\"Bad nodename\")" % (show(g.node_text), ", ".join(nodes)), fn, g.lineno,
                                hint))
        for r in g.resources:
            if r.kind == "ip" or r.script == "SendArp":
                iface = r.base_iface
                if iface and not facts.interface_exists(iface):
                    out.append(dg.warning("hares-ip-iface-missing", "interface %s of %s does not exist on this host"
                                          % (show(iface), show(r.token)), fn, r.lineno,
                                          "use an existing interface (see `ip link`)"))
                continue
            problem = None if script_name_problem(r.script) else _agent_problem(r, fn, ha_dir, facts)
            if problem is not None:
                out.append(problem)
    return out


def _check_authkeys_stat(fn, st):
    # type: (str, FileStat) -> List[dg.Diagnostic]
    out = []  # type: List[dg.Diagnostic]
    if st.mode & 0o044:
        out.append(dg.error("authkeys-perms", "authkeys is readable by %s (mode %04o); heartbeat refuses to start "
                            "(\"Bad permissions on keyfile\")" % (
                                "group and others" if st.mode & 0o044 == 0o044 else
                                "its group" if st.mode & 0o040 else "others", st.mode), fn, None,
                            "chmod 600 %s" % fn))
    if st.mode & 0o022:
        out.append(dg.error("authkeys-writable", "authkeys is writable by %s (mode %04o); pyha refuses it although "
                            "heartbeat only checks the read bits: whoever can write the key controls the cluster"
                            % ("group and others" if st.mode & 0o022 == 0o022 else
                               "its group" if st.mode & 0o020 else "others", st.mode), fn, None,
                            "chmod 600 %s" % fn))
    if not st.mode & 0o066 and st.mode & 0o111:
        out.append(dg.warning("authkeys-mode", "authkeys has mode %04o; 0600 (or 0400) is expected" % st.mode,
                              fn, None, "chmod 600 %s" % fn))
    if st.uid != 0:
        out.append(dg.error("authkeys-owner", "authkeys is owned by uid %d, not root; pyha is stricter than heartbeat "
                            "here (heartbeat only checks the mode): whoever owns the key file can forge heartbeats"
                            % st.uid, fn, None, "chown root:root %s" % fn))
    return out
