"""The one log file CTS watches: every node's log lines, each with its host field.

CTS was written for a lab whose nodes send syslog to the test machine: one file, lines
`<date> <host> <ident>: <text>`, and its patterns name the node by that host field
(`"%s heartbeat.*Heartbeat shutdown complete"`).  The lab has no syslog, so this
collector plays that part: it follows the daemon's `logfile` of each node (heartbeat and
pyha both write syslog-style lines there) and appends each new line to one file.

`syslog_line` only re-frames a line, never changes its words:
* a syslog-style line (`Dec 06 21:47:22 HA1 heartbeat: [156]: info: ...`) keeps its
  text; its host field becomes the node name CTS uses (lower case: CTS, like heartbeat,
  names nodes in lower case, while the lab's hostnames are the tutorial's HA1/HA2);
* a resource script's line (`2026/12/06_21:47:22  harc(default)[172]:    info: ...`,
  heartbeat's ha_log.sh format, which has no host) gets the syslog date and host;
* anything else (a continuation line) gets the current time and the host.

Never: rewrite the text of a message (a pattern must match what the daemon logged).
"""

import os
import re
import threading
import time
from typing import Dict, List, Optional

_SYSLOG_RE = re.compile(r"^([A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d) (\S+) (.*)$")
_HALOG_RE = re.compile(r"^(\d{4})/(\d\d)/(\d\d)_(\d\d:\d\d:\d\d)\s+(\S+:)\s*(.*)$")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def syslog_line(line, host, now=None):
    # type: (str, str, Optional[float]) -> str
    """`line` (no newline) as syslog would have written it on the test machine."""
    m = _SYSLOG_RE.match(line)
    if m:
        return "%s %s %s" % (m.group(1), host, m.group(3))
    m = _HALOG_RE.match(line)
    if m and 1 <= int(m.group(2)) <= 12:
        stamp = "%s %s %s" % (_MONTHS[int(m.group(2)) - 1], m.group(3), m.group(4))
        return "%s %s %s %s" % (stamp, host, m.group(5), m.group(6))
    stamp = time.strftime("%b %d %H:%M:%S", time.localtime(time.time() if now is None else now))
    return "%s %s %s" % (stamp, host, line)


class Collector(object):
    """Follow files (host -> path) and append their new lines, re-framed, to `out_path`.

    Starts at each file's current end (what was logged before the run is not CTS's).
    A file that shrinks (truncated, rotated) is read again from its start."""

    def __init__(self, sources, out_path, interval=0.05):
        # type: (Dict[str, str], str, float) -> None
        self.sources = dict(sources)
        self.out_path = out_path
        self.interval = interval
        self._offsets = {}  # type: Dict[str, int]
        self._partial = {}  # type: Dict[str, bytes]
        self._stop = threading.Event()
        self._thread = None  # type: Optional[threading.Thread]
        for host, path in self.sources.items():
            self._offsets[host] = self._size(path)
            self._partial[host] = b""
        open(out_path, "a").close()

    @staticmethod
    def _size(path):
        # type: (str) -> int
        try:
            return os.path.getsize(path)
        except OSError:
            return 0

    def poll(self):
        # type: () -> int
        """Copy what is new; returns the number of lines written."""
        lines = []  # type: List[str]
        for host in sorted(self.sources):
            path = self.sources[host]
            size = self._size(path)
            if size < self._offsets[host]:
                self._offsets[host], self._partial[host] = 0, b""
            if size == self._offsets[host]:
                continue
            try:
                with open(path, "rb") as f:
                    f.seek(self._offsets[host])
                    data = f.read(size - self._offsets[host])
            except OSError:
                continue
            self._offsets[host] += len(data)
            data = self._partial[host] + data
            *complete, self._partial[host] = data.split(b"\n")
            for raw in complete:
                text = raw.decode("utf-8", "replace")
                if text.strip():
                    lines.append(syslog_line(text, host) + "\n")
        if lines:
            with open(self.out_path, "a") as out:
                out.write("".join(lines))
        return len(lines)

    def _run(self):
        while not self._stop.wait(self.interval):
            self.poll()

    def start(self):
        # type: () -> Collector
        self._thread = threading.Thread(target=self._run, name="cts-log-collector", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        # type: () -> None
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5.0)
        self.poll()
