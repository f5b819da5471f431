"""`pyha watchdog setup|status`: the softdog kernel watchdog that backs heartbeat's
`watchdog /dev/watchdog` (drill 5 of the reference tutorial: after `killall -9 heartbeat`
the node must not keep the VIP; if even pyha's guardian fails, softdog reboots it).

setup: load softdog now (`modprobe softdog soft_margin=N nowayout=0`; nowayout=0 so a
clean stop, which writes the magic `V`, disarms it instead of rebooting), make it load at
boot the way the release expects (EL6: an executable `/etc/sysconfig/modules/softdog.modules`
that rc.sysinit runs; EL7+ and other systemd systems: `/etc/modules-load.d/softdog.conf`
plus an `options` line in `/etc/modprobe.d/softdog.conf`; both when the release is not
known), and add `watchdog /dev/watchdog` to ha.cf when it has no watchdog line (through
the config model, so comments and layout stay).  Under `--root DIR` it only writes files
(packaging, images): the running kernel is not touched.

status: what `modinfo softdog` says, whether it is loaded, the device and its timeout
(sysfs), the boot configuration and the ha.cf line.

Facts: softdog's parameters are declared with permission 0, so on most kernels
/sys/module/softdog/parameters/ does not exist; the watchdog class attributes
(/sys/class/watchdog/watchdogN/timeout, identity, nowayout) do when the kernel has
CONFIG_WATCHDOG_SYSFS.  The daemon sets the timeout itself when it opens the device
(deadtime + 10 ms, rounded up), so soft_margin only matters until then.
Never open /dev/watchdog here: opening arms the timer.
"""

import glob
import os
import re
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

from pyha import diagnostics as dg
from pyha import paths
from pyha.host import files
from pyha.host.hostenv import (DONE, FAILED, SKIPPED, UNCHANGED, WOULD, Release, RunResult, Runner, SetupError,
                               Step, detect_release, is_live, read_file, require_root, under)

MODULE = "softdog"
DEFAULT_MARGIN = 60  # softdog's TIMER_MARGIN
MAX_MARGIN = 65535
DEVICE = "/dev/watchdog"
EL6_MODULES_FILE = "/etc/sysconfig/modules/softdog.modules"
MODULES_LOAD_FILE = "/etc/modules-load.d/softdog.conf"
MODPROBE_FILE = "/etc/modprobe.d/softdog.conf"
SOFTDOG_IDENTITY = "Software Watchdog"

NO_SOFTDOG_HINT = (
    "install the modules of the running kernel (EL: the kernel package has softdog; Debian: "
    "linux-image-$(uname -r); Ubuntu: linux-modules-extra-$(uname -r)); in a container, load softdog on the "
    "host and pass /dev/watchdog in; a kernel built without CONFIG_SOFT_WATCHDOG needs another kernel or a "
    "hardware watchdog driver; without any watchdog leave `watchdog` out of ha.cf (no self-fencing by reboot)")


# -- pure helpers ----------------------------------------------------------------------------

def parse_modinfo(text):
    # type: (str) -> Dict[str, Any]
    """`modinfo softdog` -> {"fields": {name: first value}, "parms": {name: {description,
    type, default}}, "builtin": bool}."""
    fields = {}  # type: Dict[str, str]
    parms = {}  # type: Dict[str, Dict[str, Any]]
    for raw in text.splitlines():
        m = re.match(r"^([A-Za-z_][\w-]*):\s*(.*)$", raw)
        if not m:
            continue
        key, value = m.group(1), m.group(2).strip()
        if key == "parm":
            name, _, desc = value.partition(":")
            tm = re.search(r"\((\w+)\)\s*$", desc)
            dm = re.search(r"default\s*=\s*(-?\d+)", desc)
            parms[name.strip()] = {"description": desc.strip(), "type": tm.group(1) if tm else None,
                                   "default": int(dm.group(1)) if dm else None}
        elif key not in fields:
            fields[key] = value
    builtin = fields.get("filename", "") == "(builtin)"
    return {"fields": fields, "parms": parms, "builtin": builtin}


def options_margin(text, module=MODULE):
    # type: (Optional[str], str) -> Optional[int]
    """soft_margin from `options softdog ...` lines (modprobe.d) or from a `modprobe
    softdog soft_margin=N` command (EL6 .modules script); the last one wins, like modprobe."""
    if not text:
        return None
    found = None
    for raw in text.splitlines():
        line = raw.split("#", 1)[0]
        if re.search(r"(^|\s)options\s+%s\s" % module, line) or re.search(r"modprobe\s+(-\S+\s+)*%s\s" % module, line):
            m = re.search(r"\bsoft_margin=(\d+)", line)
            if m:
                found = int(m.group(1))
    return found


def lists_module(text, module=MODULE):
    # type: (Optional[str], str) -> bool
    """A modules-load.d file names the module on a line of its own."""
    if not text:
        return False
    return any(raw.split("#", 1)[0].strip() == module for raw in text.splitlines())


def el6_script(margin):
    # type: (int) -> str
    return ("#!/bin/sh\n"
            "# Written by `pyha watchdog setup`: the software watchdog behind `watchdog /dev/watchdog`\n"
            "# in /etc/ha.d/ha.cf.  rc.sysinit runs every executable *.modules file here at boot.\n"
            "# nowayout=0: a clean stop of pyha disarms the timer instead of rebooting.\n"
            "/sbin/modprobe %s soft_margin=%d nowayout=0 >/dev/null 2>&1\n" % (MODULE, margin))


def modules_load_text():
    # type: () -> str
    return ("# Written by `pyha watchdog setup`: load the software watchdog at boot (systemd-modules-load).\n"
            "%s\n" % MODULE)


def modprobe_options_text(margin):
    # type: (int) -> str
    return ("# Written by `pyha watchdog setup`.  nowayout=0: a clean stop of pyha disarms the timer.\n"
            "options %s soft_margin=%d nowayout=0\n" % (MODULE, margin))


def boot_files(release, margin):
    # type: (Release, int) -> Dict[str, Tuple[str, int]]
    """{absolute path: (text, mode)} that make softdog load at boot on `release`."""
    el6 = {EL6_MODULES_FILE: (el6_script(margin), 0o755)}
    modern = {MODULES_LOAD_FILE: (modules_load_text(), 0o644), MODPROBE_FILE: (modprobe_options_text(margin), 0o644)}
    if release.el6:
        return el6
    if not release.known:
        out = dict(el6)
        out.update(modern)
        return out
    return modern


def check_margin(margin):
    # type: (int) -> None
    if not 1 <= margin <= MAX_MARGIN:
        raise SetupError("--margin %d: softdog accepts 1 to %d seconds" % (margin, MAX_MARGIN), code=2)


# -- the host -------------------------------------------------------------------------------

class WatchdogHost(object):
    """The running kernel as seen through modprobe/modinfo, /proc and /sys.  `sys_root`,
    `proc_root` and `dev_root` let tests point it at fake trees."""

    def __init__(self, runner=None, geteuid=None, sys_root="/sys", proc_root="/proc", dev_root="/dev"):
        # type: (Optional[Runner], Optional[Callable[[], int]], str, str, str) -> None
        self.runner = runner or Runner()
        self.geteuid = geteuid or os.geteuid
        self.sys_root = sys_root
        self.proc_root = proc_root
        self.dev_root = dev_root

    def modinfo(self):
        # type: () -> RunResult
        return self.runner.run(["modinfo", MODULE], timeout=15)

    def modprobe_check(self):
        # type: () -> RunResult
        return self.runner.run(["modprobe", "-n", "-v", MODULE], timeout=15)

    def modprobe(self, margin):
        # type: (int) -> RunResult
        return self.runner.run(["modprobe", MODULE, "soft_margin=%d" % margin, "nowayout=0"], timeout=30)

    def loaded(self):
        # type: () -> Optional[str]
        """"module" (in /proc/modules), "builtin" (in the kernel image), or None."""
        text = read_file(os.path.join(self.proc_root, "modules"))
        if text and any(line.split(" ", 1)[0] == MODULE for line in text.splitlines()):
            return "module"
        base = os.path.join(self.sys_root, "module", MODULE)
        if os.path.isdir(base):
            return "module" if os.path.exists(os.path.join(base, "initstate")) else "builtin"
        text = read_file(os.path.join("/lib/modules", os.uname()[2], "modules.builtin"))
        if text and any(l.strip().endswith("/%s.ko" % MODULE) for l in text.splitlines()):
            return "builtin"
        return None

    def param(self, name):
        # type: (str) -> Optional[str]
        text = read_file(os.path.join(self.sys_root, "module", MODULE, "parameters", name))
        return text.strip() if text is not None else None

    def watchdog_devices(self):
        # type: () -> List[Dict[str, Any]]
        """/sys/class/watchdog/* with identity, timeout, nowayout, state where the kernel
        shows them."""
        out = []
        for d in sorted(glob.glob(os.path.join(self.sys_root, "class", "watchdog", "watchdog*"))):
            entry = {"name": os.path.basename(d)}  # type: Dict[str, Any]
            for attr in ("identity", "timeout", "nowayout", "state"):
                text = read_file(os.path.join(d, attr))
                entry[attr] = text.strip() if text is not None else None
            out.append(entry)
        return out

    def device_exists(self, name="watchdog"):
        # type: (str) -> bool
        return os.path.exists(os.path.join(self.dev_root, name))

    def in_container(self):
        # type: () -> bool
        if os.path.exists("/.dockerenv") or os.path.exists("/run/.containerenv"):
            return True
        try:
            env = read_file(os.path.join(self.proc_root, "1", "environ")) or ""
        except OSError:
            env = ""
        return "container=" in env

    def kernel_config(self, option):
        # type: (str) -> Optional[str]
        """"y", "m", "n" (not set) for a CONFIG_ option of the running kernel, from
        /proc/config.gz or /boot/config-RELEASE; None when neither is readable."""
        import gzip
        text = None
        try:
            with gzip.open(os.path.join(self.proc_root, "config.gz"), "rt") as f:
                text = f.read()
        except (OSError, EOFError):
            text = read_file("/boot/config-%s" % os.uname()[2])
        if not text:
            return None
        m = re.search(r"^%s=(\w+)$" % re.escape(option), text, re.M)
        return m.group(1) if m else "n"


class WatchdogResult(object):
    def __init__(self, action, dry_run=False):
        # type: (str, bool) -> None
        self.action = action
        self.dry_run = dry_run
        self.steps = []  # type: List[Step]
        self.notes = []  # type: List[dg.Diagnostic]
        self.module = {}  # type: Dict[str, Any]
        self.device = {}  # type: Dict[str, Any]
        self.boot = {}  # type: Dict[str, Any]
        self.hacf = {}  # type: Dict[str, Any]
        self.release = {}  # type: Dict[str, Any]

    @property
    def ok(self):
        # type: () -> bool
        return not any(s.status == FAILED for s in self.steps) and not dg.has_errors(self.notes)

    @property
    def ready(self):
        # type: () -> bool
        """softdog (or another watchdog) is there, boots, and ha.cf uses it."""
        return bool(self.device.get("exists") and self.boot.get("configured") and self.hacf.get("watchdog"))

    def to_dict(self):
        # type: () -> Dict[str, Any]
        return {"action": self.action, "dry_run": self.dry_run, "ok": self.ok, "ready": self.ready,
                "module": self.module, "device": self.device, "boot": self.boot, "hacf": self.hacf,
                "release": self.release, "steps": [s.to_dict() for s in self.steps],
                "notes": [d.to_dict() for d in self.notes]}


# -- facts gathering (shared by setup and status) ------------------------------------------

def _why_missing(host, module):
    # type: (WatchdogHost, Dict[str, Any]) -> str
    """The most precise reason softdog is missing that this host can give."""
    if host.kernel_config("CONFIG_SOFT_WATCHDOG") == "n":
        why = "the running kernel %s was built without it (CONFIG_SOFT_WATCHDOG is not set)" % os.uname()[2]
    else:
        why = module.get("error") or "modprobe cannot find it"
    if host.in_container():
        why += "; this may be a container (it cannot load modules itself)"
    return why


def _module_facts(host, live):
    # type: (WatchdogHost, bool) -> Dict[str, Any]
    facts = {"name": MODULE, "available": None, "loaded": None, "modinfo": None, "error": None}  # type: Dict[str, Any]
    if not live:
        return facts
    info = host.modinfo()
    if info.ok:
        facts["modinfo"] = parse_modinfo(info.out)
        facts["available"] = True
    else:
        check = host.modprobe_check()
        facts["available"] = check.ok
        if not check.ok:
            facts["error"] = check.text() or info.text()
    facts["loaded"] = host.loaded()
    if facts["loaded"]:
        facts["available"] = True
    return facts


def _device_facts(host, live):
    # type: (WatchdogHost, bool) -> Dict[str, Any]
    if not live:
        return {"path": DEVICE, "exists": None}
    devs = host.watchdog_devices()
    first = devs[0] if devs else {}
    margin, source = None, None
    p = host.param("soft_margin")
    if p is not None and p.isdigit():
        margin, source = int(p), "/sys/module/softdog/parameters/soft_margin"
    soft = [d for d in devs if d.get("identity") == SOFTDOG_IDENTITY]
    if margin is None and soft and soft[0].get("timeout") and soft[0]["timeout"].isdigit():
        margin, source = int(soft[0]["timeout"]), "/sys/class/watchdog/%s/timeout" % soft[0]["name"]
    return {"path": DEVICE, "exists": host.device_exists(), "identity": first.get("identity"),
            "nowayout": first.get("nowayout"), "state": first.get("state"), "devices": devs,
            "softdog_device": ("/dev/" + soft[0]["name"]) if soft else None,
            "timeout_s": margin, "timeout_source": source}


def _boot_facts(root, release):
    # type: (str, Release) -> Dict[str, Any]
    el6_text = read_file(under(root, EL6_MODULES_FILE))
    el6_ok = el6_text is not None and os.access(under(root, EL6_MODULES_FILE), os.X_OK) and MODULE in el6_text
    load_files = []
    for path in sorted(glob.glob(under(root, "/etc/modules-load.d/*.conf")) + [under(root, "/etc/modules")]):
        if lists_module(read_file(path)):
            load_files.append(path)
    margin, margin_file = None, None
    for path in sorted(glob.glob(under(root, "/etc/modprobe.d/*.conf"))):
        m = options_margin(read_file(path))
        if m is not None:
            margin, margin_file = m, path
    if el6_ok and margin is None:
        margin, margin_file = options_margin(el6_text), under(root, EL6_MODULES_FILE)
    if release.el6:
        configured = el6_ok
    elif release.known:
        configured = bool(load_files)
    else:
        configured = el6_ok or bool(load_files)
    return {"configured": configured, "el6_script": under(root, EL6_MODULES_FILE) if el6_ok else None,
            "modules_load": load_files, "soft_margin": margin, "soft_margin_file": margin_file}


def _hacf_facts(root, directory):
    # type: (str, str) -> Tuple[Dict[str, Any], Any]
    from pyha.config import HaCf
    path = under(root, os.path.join(directory, "ha.cf"))
    try:
        cf = HaCf.load(path)
    except OSError as exc:
        return {"path": path, "exists": False, "watchdog": None, "error": exc.strerror}, None
    daemon_timeout = None
    try:
        from pyha.daemon.watchdog import timeout_for
        daemon_timeout = timeout_for(cf.deadtime_ms)
    except Exception:
        pass
    return {"path": path, "exists": True, "watchdog": cf.watchdog, "daemon_timeout_s": daemon_timeout}, cf


# -- the commands -----------------------------------------------------------------------------

def watchdog_status(root="/", directory=paths.HA_DIR, host=None, live=None):
    # type: (str, str, Optional[WatchdogHost], Optional[bool]) -> WatchdogResult
    """Module, device, margin, boot configuration and ha.cf line (no root needed).
    `live`: look at the running kernel too (default: only when `root` is /)."""
    host = host or WatchdogHost()
    live = is_live(root) if live is None else live
    release = detect_release(root)
    result = WatchdogResult("status")
    result.release = release.to_dict()
    result.module = _module_facts(host, live)
    result.device = _device_facts(host, live)
    result.boot = _boot_facts(root, release)
    result.hacf, _ = _hacf_facts(root, directory)
    if live and result.module.get("available") is False and not result.device.get("exists"):
        result.notes.append(dg.warning("wd-no-softdog", "no softdog here: %s" % _why_missing(host, result.module),
                                       hint=NO_SOFTDOG_HINT))
    _margin_notes(result)
    return result


def _margin_notes(result):
    # type: (WatchdogResult) -> None
    t = result.hacf.get("daemon_timeout_s")
    if t and result.hacf.get("watchdog"):
        result.notes.append(dg.info("wd-daemon-timeout", "pyha sets the device timeout to %d s (deadtime + 10 ms, "
                                    "rounded up) when it opens %s; soft_margin applies until then"
                                    % (t, result.hacf["watchdog"])))
    if result.device.get("nowayout") == "1":
        result.notes.append(dg.warning("wd-nowayout", "the watchdog runs with nowayout=1: even a clean stop of pyha "
                                       "reboots this node", hint="reload softdog with nowayout=0 while pyha is "
                                       "stopped: rmmod softdog; pyha watchdog setup"))


def watchdog_setup(margin=DEFAULT_MARGIN, root="/", directory=paths.HA_DIR, dry_run=False, host=None, live=None):
    # type: (int, str, str, bool, Optional[WatchdogHost], Optional[bool]) -> WatchdogResult
    """Load softdog, make it load at boot, point ha.cf at /dev/watchdog; idempotent.
    `live`: act on the running kernel too (default: only when `root` is /; tests pass
    True with a fake host and a temporary root)."""
    host = host or WatchdogHost()
    check_margin(margin)
    live = is_live(root) if live is None else live
    if live and not dry_run:
        require_root("pyha watchdog setup", host.geteuid)
    release = detect_release(root)
    result = WatchdogResult("setup", dry_run)
    result.release = release.to_dict()
    if not release.known:
        result.notes.append(dg.info("wd-release-unknown", "release not recognised under %s: writing both the EL6 "
                                    ".modules script and the modules-load.d/modprobe.d files" % root))
    module = _module_facts(host, live)
    result.module = module
    use_softdog = True
    if live and not module["available"]:
        if not host.device_exists():
            raise SetupError("no softdog here: %s" % _why_missing(host, module), NO_SOFTDOG_HINT)
        use_softdog = False
        result.notes.append(dg.warning("wd-other-device", "no softdog module, but %s exists (another watchdog "
                                       "driver): using it as it is" % DEVICE))
    # 1. load it now
    if live and use_softdog:
        _load_now(host, result, margin, dry_run)
    elif not live:
        result.steps.append(Step("load module", "%s soft_margin=%d" % (MODULE, margin), SKIPPED,
                                 "--root %s: the running kernel is not touched" % root))
    # 2. at boot
    if use_softdog:
        if module.get("loaded") == "builtin" or (module.get("modinfo") or {}).get("builtin"):
            result.notes.append(dg.info("wd-builtin", "softdog is built into this kernel: soft_margin comes from "
                                        "the kernel command line (softdog.soft_margin=%d)" % margin))
        _write_boot_files(result, root, boot_files(release, margin), dry_run)
    # 3. ha.cf
    _ensure_hacf(result, root, directory, dry_run)
    result.device = _device_facts(host, live)
    result.boot = _boot_facts(root, release)  # after the writes (before them, in a dry run)
    _margin_notes(result)
    return result


def _load_now(host, result, margin, dry_run):
    # type: (WatchdogHost, WatchdogResult, int, bool) -> None
    target = "%s soft_margin=%d nowayout=0" % (MODULE, margin)
    loaded = host.loaded()
    if loaded:
        current = _device_facts(host, True).get("timeout_s")
        detail = "already loaded (%s)" % loaded
        if current is not None and current != margin:
            result.notes.append(dg.warning(
                "wd-margin-differs", "softdog is loaded with a %d s timeout, not %d s; the new margin applies at the "
                "next load" % (current, margin),
                hint="while pyha is stopped: rmmod softdog; pyha watchdog setup --margin %d" % margin))
        result.steps.append(Step("load module", target, UNCHANGED, detail))
        return
    if dry_run:
        result.steps.append(Step("load module", target, WOULD, "modprobe " + target))
        return
    res = host.modprobe(margin)
    if not res.ok:
        result.steps.append(Step("load module", target, FAILED, res.text()))
        result.notes.append(dg.error("wd-modprobe", "modprobe %s failed: %s" % (MODULE, res.text()),
                                     hint=NO_SOFTDOG_HINT))
        return
    deadline = time.monotonic() + 3.0  # udev creates the device node asynchronously
    while not host.device_exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    result.steps.append(Step("load module", target, DONE, "modprobe " + target))
    if not host.device_exists():
        result.notes.append(dg.error("wd-no-device", "softdog is loaded but %s did not appear" % DEVICE,
                                     hint="check udev/devtmpfs; another watchdog may have taken the name "
                                          "(see /sys/class/watchdog)"))


def _write_boot_files(result, root, wanted, dry_run):
    # type: (WatchdogResult, str, Dict[str, Tuple[str, int]], bool) -> None
    by_dir = {}  # type: Dict[str, Dict[str, Tuple[str, int]]]
    for path, (text, mode) in sorted(wanted.items()):
        full = under(root, path)
        by_dir.setdefault(os.path.dirname(full), {})[os.path.basename(full)] = (text, mode)
    for directory in sorted(by_dir):
        for c in files.write_files(by_dir[directory], directory, dry_run=dry_run):
            status = UNCHANGED if c.status == files.UNCHANGED else (WOULD if dry_run else DONE)
            detail = c.diff + ("(backup %s)\n" % c.backup if c.backup else "")
            result.steps.append(Step("boot file", c.path, status, detail))


def _ensure_hacf(result, root, directory, dry_run):
    # type: (WatchdogResult, str, str, bool) -> None
    facts, cf = _hacf_facts(root, directory)
    result.hacf = facts
    if cf is None:
        result.notes.append(dg.warning("wd-no-hacf", "%s not readable (%s): no watchdog line added"
                                       % (facts["path"], facts.get("error")),
                                       hint="run pyha init, then pyha watchdog setup again"))
        return
    if cf.watchdog:
        result.steps.append(Step("ha.cf", "watchdog %s" % cf.watchdog, UNCHANGED, facts["path"]))
        return
    cf.add("watchdog", DEVICE)
    directory_path, name = os.path.split(facts["path"])
    mode = os.stat(facts["path"]).st_mode & 0o7777
    change = files.write_files({name: (cf.render(), mode)}, directory_path, dry_run=dry_run)[0]
    result.steps.append(Step("ha.cf", "watchdog %s" % DEVICE, WOULD if dry_run else DONE,
                             change.diff + ("(backup %s)\n" % change.backup if change.backup else "")))
    if not dry_run:
        result.hacf["watchdog"] = DEVICE
        result.notes.append(dg.info("wd-hacf-peer", "ha.cf changed: copy it to the peer (pyha sync) and reload "
                                    "pyha on both nodes"))


__all__ = ["watchdog_setup", "watchdog_status", "WatchdogHost", "WatchdogResult", "parse_modinfo", "boot_files",
           "options_margin", "lists_module", "el6_script", "DEFAULT_MARGIN"]
