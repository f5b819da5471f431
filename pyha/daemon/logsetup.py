"""Logging as ha.cf asks for it: `logfile`, `debugfile`, `logfacility` (syslog).

Lines look like heartbeat's (`Nov 28 01:07:31 ha1 pyha: [1234]: info: ...`) so existing
log watchers and the operator's eyes keep working.  pyha.cf's `log_ident heartbeat`
(`set_ident`) makes them heartbeat's exactly (`heartbeat: [1234]: ...`), and `product()`
gives the daemon-level words heartbeat uses (`Heartbeat shutdown complete.`).
`RateLimiter` keeps a flood of bad
packets from flooding the log: the first few per key are logged, then one summary per
interval.

Logs are never lost and never crash the daemon:
* ha.cf with no `logfile`, no `debugfile` and no `logfacility` (or `logfacility none`):
  genuine heartbeat hands its messages to ha_logd, whose built-in default is syslog
  facility `daemon` (cluster-glue: HA_LOG_FACILITY = LOG_DAEMON, no files).  pyha has no
  logd, so it logs to syslog facility `daemon` itself.  `logfile /dev/null` alone is an
  explicit "discard", as in heartbeat.
* No /dev/log (a container, syslog not up): messages meant for syslog go to stderr, which
  the journal (systemd unit) or daemon.out (SysV script) keeps.  So do they when every
  destination ha.cf names fails to open.
* Files are created 0640 (never wider: the umask can only narrow it), and an existing
  file with wider permissions is narrowed to 0640 when opened: the log may quote a
  configuration line.  This holds again for the file logrotate makes pyha reopen.
* A file that cannot be reopened (directory gone, disk full) costs log lines, never the
  daemon: the logging call does not raise.
"""

import logging
import logging.handlers
import os
import socket
import stat
import sys
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

LOGGER = "pyha"
DEV_LOG = "/dev/log"
FALLBACK_FACILITY = "daemon"
LOG_FILE_MODE = 0o640

IDENTS = ("pyha", "heartbeat")
_PRODUCT = {"pyha": "pyha", "heartbeat": "Heartbeat"}
_ident = ["pyha"]  # the ident in force (pyha.cf's log_ident), read at format time


def set_ident(name):
    # type: (str) -> None
    """Switch the ident of every line from now on (pyha.cf's `log_ident`, also on SIGHUP)."""
    if name not in IDENTS:
        raise ValueError("log ident must be one of %s, not %r" % (", ".join(IDENTS), name))
    _ident[0] = name


def use_ident_of(pyhacf):
    # type: (Any) -> None
    """pyha.cf's `log_ident` for every line from now on (at start and on SIGHUP); the
    default ident without a pyha.cf or without the directive."""
    if pyhacf is None:
        return
    try:
        set_ident(pyhacf.settings.get("log_ident"))
    except (KeyError, ValueError):  # a pyha.cf evaluated without the directive
        set_ident("pyha")


def ident():
    # type: () -> str
    return _ident[0]


def product():
    # type: () -> str
    """The daemon's name in heartbeat's daemon-level messages: `pyha`, or `Heartbeat`
    under `log_ident heartbeat` (`<node> Heartbeat shutdown complete.`)."""
    return _PRODUCT[_ident[0]]


_LEVEL_NAMES = {logging.DEBUG: "debug", logging.INFO: "info", logging.WARNING: "WARN",
                logging.ERROR: "ERROR", logging.CRITICAL: "CRIT"}


class HeartbeatFormatter(logging.Formatter):
    def __init__(self, with_date=True):
        # type: (bool) -> None
        super(HeartbeatFormatter, self).__init__()
        self.with_date = with_date
        self.host = os.uname()[1]

    def format(self, record):
        level = _LEVEL_NAMES.get(record.levelno, record.levelname)
        text = "%s: [%d]: %s: %s" % (_ident[0], record.process, level, record.getMessage())
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        if not self.with_date:
            return text
        stamp = time.strftime("%b %d %H:%M:%S", time.localtime(record.created))
        return "%s %s %s" % (stamp, self.host, text)


class LogFile(logging.handlers.WatchedFileHandler):
    """WatchedFileHandler whose file is 0640 from its creation, also after logrotate
    moved it, and whose failures to (re)open never reach the code that logs."""

    _failing = False

    def _open(self):
        # O_NONBLOCK: a FIFO nobody reads is an error (ENXIO), not a daemon hung in open()
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK, LOG_FILE_MODE)
        try:
            os.set_blocking(fd, True)
            st = os.fstat(fd)
            if stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) & ~LOG_FILE_MODE:
                os.fchmod(fd, stat.S_IMODE(st.st_mode) & LOG_FILE_MODE)
            # the stat the base class takes after a reopen; also right when the stream
            # is reopened from emit() after a failed reopen
            self.dev, self.ino = st.st_dev, st.st_ino
            return open(fd, self.mode, encoding=self.encoding, errors=getattr(self, "errors", None))
        except BaseException:
            os.close(fd)
            raise

    def emit(self, record):
        try:
            self.reopenIfNeeded()
            if self.stream is None:
                self.stream = self._open()
        except Exception:
            # one report per failing spell (stderr), not one traceback per line
            if not self._failing:
                self._failing = True
                self.handleError(record)
            return
        self._failing = False
        logging.StreamHandler.emit(self, record)


def _plan(logfile, debugfile, logfacility, have_syslog, fallback=True):
    # type: (Optional[str], Optional[str], Optional[str], bool, bool) -> List[Tuple[str, str, int, str]]
    """Where messages go: (kind, target, level, why) with kind file, syslog or stderr."""
    out = []  # type: List[Tuple[str, str, int, str]]
    for path, level in ((logfile, logging.INFO), (debugfile, logging.DEBUG)):
        if path and path != "/dev/null":
            out.append(("file", path, level, ""))
    facility, why = logfacility, ""
    if fallback and not logfile and not debugfile and (not logfacility or logfacility == "none"):
        facility = FALLBACK_FACILITY
        why = ("ha.cf names %s: heartbeat's ha_logd would log there too"
               % ("no logfile or debugfile and logfacility none" if logfacility
                  else "no logfile, debugfile or logfacility"))
    if facility and facility != "none":
        if have_syslog:
            out.append(("syslog", facility, logging.INFO, why))
        else:
            out.append(("stderr", facility, logging.INFO, "no %s for syslog facility %s%s"
                        % (DEV_LOG, facility, "; " + why if why else "")))
    return out


def destinations(logfile, debugfile, logfacility, have_syslog=None):
    # type: (Optional[str], Optional[str], Optional[str], Optional[bool]) -> List[str]
    """Where the daemon (run with --quiet, as the service files do) will log: one
    sentence per destination.  `have_syslog`: whether /dev/log exists (looked up when None)."""
    if have_syslog is None:
        have_syslog = os.path.exists(DEV_LOG)
    words = {logging.INFO: "info and above", logging.DEBUG: "debug and above"}
    out = []
    for kind, target, level, why in _plan(logfile, debugfile, logfacility, have_syslog):
        details = [words[level]] + ([why] if why else [])
        if kind == "file":
            text = "file %s" % target
        elif kind == "syslog":
            text = "syslog facility %s via %s" % (target, DEV_LOG)
        else:
            text = "stderr: the journal under systemd, daemon.out in the run directory under the SysV script"
        out.append("%s (%s)" % (text, "; ".join(details)))
    if not out:
        out.append("nowhere: ha.cf sends every message to /dev/null")
    return out


def setup(logfile=None, debugfile=None, logfacility=None, debug_level=0, stderr=True,
          fallback=True, dev_log=DEV_LOG):
    # type: (Optional[str], Optional[str], Optional[str], int, bool, bool, str) -> List[str]
    """Configure the `pyha` logger; returns warnings about destinations that failed.

    `fallback=False` (for the bootstrap call, before ha.cf is read) skips the syslog
    fallback of an ha.cf that names no destination."""
    logger = logging.getLogger(LOGGER)
    for h in list(logger.handlers):
        logger.removeHandler(h)
        h.close()
    logger.setLevel(logging.DEBUG if (debugfile or debug_level) else logging.INFO)
    logger.propagate = False
    problems = []
    fmt = HeartbeatFormatter()
    plan = _plan(logfile, debugfile, logfacility, os.path.exists(dev_log), fallback)
    want_stderr = stderr
    opened = 0
    for kind, target, level, _ in plan:
        h = None  # type: Optional[logging.Handler]
        if kind == "file":
            try:
                d = os.path.dirname(target)
                if d:
                    os.makedirs(d, exist_ok=True)
                h = LogFile(target)
            except (OSError, ValueError) as exc:
                problems.append("cannot open log file %s: %s" % (target, getattr(exc, "strerror", None) or exc))
            else:
                h.setFormatter(fmt)
        elif kind == "syslog":
            facility = logging.handlers.SysLogHandler.facility_names.get(target)
            if facility is None:
                problems.append("unknown syslog facility %r" % target)
                continue
            try:
                h = logging.handlers.SysLogHandler(dev_log, facility=facility)
            except OSError as exc:
                problems.append("syslog unavailable (%s): %s" % (dev_log, exc))
            else:
                h.setFormatter(HeartbeatFormatter(with_date=False))
        else:
            problems.append("%s does not exist: syslog facility %s unavailable, logging to stderr instead"
                            % (dev_log, target))
            want_stderr = True
            opened += 1
        if h is not None:
            h.setLevel(level)
            logger.addHandler(h)
            opened += 1
    if plan and not opened and not want_stderr:
        problems.append("no log destination of ha.cf could be opened: logging to stderr")
        want_stderr = True
    if want_stderr:
        h = logging.StreamHandler()
        h.setFormatter(HeartbeatFormatter())
        h.setLevel(logging.DEBUG if debug_level else logging.INFO)
        logger.addHandler(h)
    for p in problems:
        logger.warning(p)
    return problems


class RateLimiter(object):
    """Allow `burst` messages per key, then at most one per `interval` with a count."""

    def __init__(self, burst=5, interval=60.0, clock=time.monotonic):
        # type: (int, float, Callable[[], float]) -> None
        self.burst = burst
        self.interval = interval
        self.clock = clock
        self._state = {}  # type: Dict[str, List[float]]  # key -> [count, suppressed, next_allowed]

    def allow(self, key):
        # type: (str) -> Tuple[bool, int]
        """(log it?, how many were suppressed since the last one logged)."""
        now = self.clock()
        st = self._state.get(key)
        if st is None:
            self._state[key] = [1, 0, 0.0]
            return True, 0
        if st[0] < self.burst:
            st[0] += 1
            return True, 0
        if now >= st[2]:
            suppressed = int(st[1])
            st[1] = 0
            st[2] = now + self.interval
            return True, suppressed
        st[1] += 1
        return False, 0
