"""Logging as ha.cf asks for it: `logfile`, `debugfile`, `logfacility` (syslog).

Lines look like heartbeat's (`Nov 28 01:07:31 ha1 pyha: [1234]: info: ...`) so existing
log watchers and the operator's eyes keep working.  Files use WatchedFileHandler so
logrotate can move them.  `RateLimiter` keeps a flood of bad packets from flooding the
log: the first few per key are logged, then one summary per interval.
"""

import logging
import logging.handlers
import os
import socket
import time
from typing import Callable, Dict, List, Optional, Tuple

LOGGER = "pyha"

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
        text = "pyha: [%d]: %s: %s" % (record.process, level, record.getMessage())
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        if not self.with_date:
            return text
        stamp = time.strftime("%b %d %H:%M:%S", time.localtime(record.created))
        return "%s %s %s" % (stamp, self.host, text)


def setup(logfile=None, debugfile=None, logfacility=None, debug_level=0, stderr=True):
    # type: (Optional[str], Optional[str], Optional[str], int, bool) -> List[str]
    """Configure the `pyha` logger; returns warnings about destinations that failed."""
    logger = logging.getLogger(LOGGER)
    for h in list(logger.handlers):
        logger.removeHandler(h)
        h.close()
    logger.setLevel(logging.DEBUG if (debugfile or debug_level) else logging.INFO)
    logger.propagate = False
    problems = []
    fmt = HeartbeatFormatter()
    for path, level in ((logfile, logging.INFO), (debugfile, logging.DEBUG)):
        if not path or path == "/dev/null":
            continue
        try:
            d = os.path.dirname(path)
            if d:
                os.makedirs(d, exist_ok=True)
            h = logging.handlers.WatchedFileHandler(path)
        except OSError as exc:
            problems.append("cannot open log file %s: %s" % (path, exc.strerror))
            continue
        h.setLevel(level)
        h.setFormatter(fmt)
        logger.addHandler(h)
    if logfacility and logfacility != "none":
        facility = logging.handlers.SysLogHandler.facility_names.get(logfacility)
        if facility is None:
            problems.append("unknown syslog facility %r" % logfacility)
        elif os.path.exists("/dev/log"):
            try:
                h = logging.handlers.SysLogHandler("/dev/log", facility=facility)
                h.setFormatter(HeartbeatFormatter(with_date=False))
                h.setLevel(logging.INFO)
                logger.addHandler(h)
            except (OSError, socket.error) as exc:
                problems.append("syslog unavailable: %s" % exc)
        else:
            problems.append("logfacility %s: /dev/log does not exist, syslog messages go nowhere" % logfacility)
    if stderr:
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
