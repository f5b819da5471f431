"""What the host set-up commands (`pyha firewall`, `pyha timesync`, `pyha watchdog`) share.

* `Step`: one thing a command did, would do (dry run) or found already done, as data the
  CLI prints as text or JSON, so a result says exactly what changed.
* `SetupError`: a refusal with a message and a hint (not root, no softdog, no iptables).
* `require_root`: the root check, with the effective uid injectable for tests.
* `Runner`: the one way these commands start programs (modprobe, firewall-cmd,
  timedatectl, ...), so unit tests replace it with a fake that records the calls.
* `detect_release`: EL6 / EL7+ / Debian / unknown, read from files under a root
  directory, because the commands write what the release expects and can do it for an
  image or an RPM build root (`--root DIR`) as well as for the running system.

Never: change anything by itself, or look at the host anywhere but under the root it is
given (except `Runner`, which only runs what it is told).
"""

import os
import re
import shutil
import subprocess
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

# Step.status values.
DONE = "done"            # changed the system
WOULD = "would"          # dry run: this is what would change
UNCHANGED = "unchanged"  # already as wanted: nothing to do (idempotence)
SKIPPED = "skipped"      # deliberately not done (e.g. live action under --root)
FAILED = "failed"        # tried and failed (the command exits 1)


class Step(object):
    """One action: `action` is a short verb phrase ("insert rule", "write file"), `target`
    what it acts on, `status` one of the constants above, `detail` extra text (a diff, a
    command line, a reason)."""

    __slots__ = ("action", "target", "status", "detail")

    def __init__(self, action, target, status, detail=""):
        # type: (str, str, str, str) -> None
        self.action = action
        self.target = target
        self.status = status
        self.detail = detail

    def to_dict(self):
        # type: () -> Dict[str, Any]
        return {"action": self.action, "target": self.target, "status": self.status, "detail": self.detail}

    def format(self):
        # type: () -> str
        return "%-9s %s: %s" % (self.status, self.action, self.target)

    def __repr__(self):
        return "Step(%r, %r, %r)" % (self.action, self.target, self.status)


def changed(steps):
    # type: (Sequence[Step]) -> bool
    return any(s.status in (DONE, WOULD) for s in steps)


def failed(steps):
    # type: (Sequence[Step]) -> bool
    return any(s.status == FAILED for s in steps)


class SetupError(Exception):
    """The command cannot do its job here; `message` says why, `hint` what to do."""

    def __init__(self, message, hint=None, code=1):
        # type: (str, Optional[str], int) -> None
        super(SetupError, self).__init__(message)
        self.message = message
        self.hint = hint
        self.code = code


def require_root(what, geteuid=None):
    # type: (str, Optional[Callable[[], int]]) -> None
    """Raise SetupError unless the effective uid is 0.  `geteuid` is injectable so unit
    tests can check both answers without being (or not being) root."""
    euid = (geteuid or os.geteuid)()
    if euid != 0:
        raise SetupError("%s needs root (running as uid %d)" % (what, euid),
                         "run it as root, e.g. with sudo; --dry-run shows the plan without root")


class RunResult(object):
    __slots__ = ("argv", "rc", "out", "err")

    def __init__(self, argv, rc, out="", err=""):
        # type: (List[str], int, str, str) -> None
        self.argv = list(argv)
        self.rc = rc
        self.out = out
        self.err = err

    @property
    def ok(self):
        # type: () -> bool
        return self.rc == 0

    def text(self):
        # type: () -> str
        """stderr, else stdout, stripped: what to quote in an error message."""
        return (self.err.strip() or self.out.strip())

    def __repr__(self):
        return "RunResult(%r, rc=%d)" % (self.argv, self.rc)


class Runner(object):
    """Runs programs.  `run` never raises for a missing program or a timeout: it returns
    rc 127 / 124 with the reason in `err`, like a shell would."""

    def which(self, name):
        # type: (str) -> Optional[str]
        found = shutil.which(name)
        if found:
            return found
        # root's tools live in sbin, which a sudo or cron PATH may lack
        for d in ("/usr/sbin", "/sbin", "/usr/bin", "/bin"):
            path = os.path.join(d, name)
            if os.access(path, os.X_OK):
                return path
        return None

    def run(self, argv, timeout=30.0, input=None):
        # type: (Sequence[str], float, Optional[str]) -> RunResult
        argv = list(argv)
        exe = self.which(argv[0]) if "/" not in argv[0] else argv[0]
        if exe is None:
            return RunResult(argv, 127, "", "%s: command not found" % argv[0])
        env = dict(os.environ)
        env["LC_ALL"] = "C"  # parse English output
        try:
            proc = subprocess.Popen([exe] + argv[1:], stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                                    env=env)
        except OSError as exc:
            return RunResult(argv, 126, "", "%s: %s" % (argv[0], exc.strerror))
        try:
            out, err = proc.communicate(input, timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            return RunResult(argv, 124, out, (err or "") + "\n%s: timed out after %.0f s" % (argv[0], timeout))
        return RunResult(argv, proc.returncode, out, err)


# -- paths under a root ----------------------------------------------------------------------

def under(root, path):
    # type: (str, str) -> str
    """`path` (absolute, as on the target system) inside `root`."""
    if not root or root == "/":
        return path
    return os.path.join(root, path.lstrip("/"))


def is_live(root):
    # type: (Optional[str]) -> bool
    """True when the commands act on the running system (not an image under --root)."""
    return not root or os.path.realpath(root) == "/"


def read_file(path):
    # type: (str) -> Optional[str]
    """Text of `path`, None when it does not exist (other errors raise OSError)."""
    try:
        with open(path, "r") as f:
            return f.read()
    except FileNotFoundError:
        return None
    except UnicodeDecodeError:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")


# -- release detection -----------------------------------------------------------------------

class Release(object):
    """`family`: "el" (RHEL, CentOS, Rocky, Alma, Oracle, Fedora counts as el8+ style),
    "debian", "suse", "other" or "unknown" (no release file); `major`: the major version
    when it could be read; `name`: the text found, for messages."""

    __slots__ = ("family", "major", "name")

    def __init__(self, family, major=None, name=""):
        # type: (str, Optional[int], str) -> None
        self.family = family
        self.major = major
        self.name = name

    @property
    def el6(self):
        # type: () -> bool
        """SysV-era EL (5 and 6): rc.sysinit, /etc/sysconfig/modules, /etc/sysconfig/clock."""
        return self.family == "el" and self.major is not None and self.major <= 6

    @property
    def known(self):
        # type: () -> bool
        return self.family != "unknown" and not (self.family == "el" and self.major is None)

    def to_dict(self):
        # type: () -> Dict[str, Any]
        return {"family": self.family, "major": self.major, "name": self.name}

    def __repr__(self):
        return "Release(%r, %r, %r)" % (self.family, self.major, self.name)


_EL_WORDS = ("red hat", "centos", "rocky", "almalinux", "oracle linux", "scientific linux", "cloudlinux",
             "fedora", "eurolinux", "virtuozzo")


def parse_redhat_release(text):
    # type: (str) -> Optional[Release]
    """`CentOS release 6.10 (Final)`, `CentOS Linux release 7.9.2009 (Core)`, ..."""
    line = text.strip().splitlines()[0] if text.strip() else ""
    low = line.lower()
    if not any(w in low for w in _EL_WORDS):
        return None
    m = re.search(r"release\s+(\d+)", low)
    major = int(m.group(1)) if m else None
    if "fedora" in low:
        major = 8 if major is not None else None  # systemd-era layout, like EL8
    return Release("el", major, line)


def parse_os_release(text):
    # type: (str) -> Release
    fields = {}
    for raw in text.splitlines():
        m = re.match(r"\s*([A-Z_][A-Z0-9_]*)=(.*)$", raw)
        if m:
            value = m.group(2).strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                value = value[1:-1]
            fields[m.group(1)] = value
    ids = [fields.get("ID", "").lower()] + fields.get("ID_LIKE", "").lower().split()
    name = fields.get("PRETTY_NAME") or fields.get("NAME") or fields.get("ID", "")
    m = re.match(r"(\d+)", fields.get("VERSION_ID", ""))
    major = int(m.group(1)) if m else None
    if any(i in ("rhel", "centos", "fedora", "rocky", "almalinux", "ol") for i in ids):
        if "fedora" == ids[0]:
            major = 8 if major is not None else None
        return Release("el", major, name)
    if any(i in ("debian", "ubuntu") for i in ids):
        return Release("debian", major, name)
    if any(i.startswith("suse") or i.startswith("opensuse") or i == "sles" for i in ids):
        return Release("suse", major, name)
    return Release("other", major, name)


def detect_release(root="/"):
    # type: (str) -> Release
    """EL's /etc/redhat-release first (EL6 has no os-release), then /etc/os-release."""
    for path in ("/etc/redhat-release", "/etc/centos-release"):
        text = read_file(under(root, path))
        if text:
            rel = parse_redhat_release(text)
            if rel is not None:
                return rel
    for path in ("/etc/os-release", "/usr/lib/os-release"):
        text = read_file(under(root, path))
        if text:
            return parse_os_release(text)
    return Release("unknown")


def systemd_running(root="/"):
    # type: (str) -> bool
    """sd_booted(): the running system was booted by systemd (never true under --root)."""
    return is_live(root) and os.path.isdir("/run/systemd/system")


def as_tuple(steps):
    # type: (Sequence[Step]) -> Tuple[Tuple[str, str, str], ...]
    """(action, target, status) of each step: handy for asserting in tests."""
    return tuple((s.action, s.target, s.status) for s in steps)
