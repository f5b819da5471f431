"""The live progress line of `pyha drill` on a terminal.

A drill waits: for deadtime, for a takeover, for failback.  Instead of a silent cursor
the operator sees, rewritten in place four times a second, how long the drill has run,
who holds the VIP and what the client got last, and how many requests failed so far,
which is what they would otherwise check with `watch curl`.  Only on a TTY (never in
--json output, logs or CI).
"""

import sys
import threading
import time
from typing import Any, Optional


class LiveLine(object):
    def __init__(self, obs, name, out=None, interval=0.25):
        # type: (Any, str, Any, float) -> None
        self.obs = obs
        self.name = name
        self.out = out if out is not None else sys.stdout
        self.interval = interval
        self._stop = threading.Event()
        self._t0 = time.monotonic()
        self._thread = None  # type: Optional[threading.Thread]

    def text(self):
        # type: () -> str
        records = [r for r in list(self.obs.records) if r["sent"] >= self._t0]
        failed = sum(1 for r in records if not r["ok"])
        last = records[-1] if records else None
        client = "-" if last is None else ("%s" % (last["body"] or "?")[:16] if last["ok"] else "FAILED")
        holders = self.obs.holders()
        return "  %s %6.1f s  holders %-10s client %-16s failed %d/%d" % (
            self.name, time.monotonic() - self._t0, ",".join(holders) if holders else "none", client,
            failed, len(records))

    def start(self):
        self._thread = threading.Thread(target=self._run)
        self._thread.daemon = True
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.wait(self.interval):
            try:
                self.out.write("\r\033[K" + self.text())
                self.out.flush()
            except (OSError, ValueError):
                return

    def stop(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2)
        try:
            self.out.write("\r\033[K")
            self.out.flush()
        except (OSError, ValueError):
            pass
