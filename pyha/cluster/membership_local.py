"""Our own heartbeat (spec 1.12): the local status and the status messages that carry it.

`OurHeartbeat` sends the start burst (status `init`, then `up` at once), a status every
keepalive (resuming the cadence after a pause rather than bursting), an extra one when a
status changes or when the advertised dead time settles (deadtime + 2000 ms for the first
5 s after start, then deadtime), and knows when it next has something to send.

What it must never do: open sockets or number messages itself (every message goes through
the injected `send`), read a clock (time comes in as `now`), or import a third-party library.
"""

from collections import OrderedDict
from typing import Any, Callable, Dict, List, Optional

from pyha.cluster.events import INFO, LOCAL_INIT, Log, Send
from pyha.cluster.membership_config import EPS, START_DT_EXTRA_MS, START_DT_PERIOD_S, MembershipConfig
from pyha.wire import vocabulary as words

PROTOCOL_VERSION = "%d" % words.PROTOCOL_VERSION  # as status carries it


class OurHeartbeat(object):
    """The local node's status and the cadence of its status messages."""

    def __init__(self, config, send):
        # type: (MembershipConfig, Callable[[Dict[str, str]], Send]) -> None
        self._deadtime_ms = config.deadtime_ms
        self._keepalive_s = config.keepalive_ms / 1000.0
        self._send = send
        self.status = LOCAL_INIT
        self.started_at = None  # type: Optional[float]
        self._dt_settled = False
        self._next_at = None  # type: Optional[float]
        self._last_at = None  # type: Optional[float]

    def advertised_dt_ms(self):
        # type: () -> int
        extra = 0 if self._dt_settled else START_DT_EXTRA_MS
        return self._deadtime_ms + extra

    def start(self, now, out):
        # type: (float, List[Any]) -> None
        self.started_at = now
        self._next_at = now + self._keepalive_s
        self._send_status(now, out)

    def set_status(self, now, status, reason, out):
        # type: (float, str, str, List[Any]) -> None
        if status == self.status:
            return
        self.status = status
        out.append(Log(INFO, "Local status now %s: %s" % (status, reason)))
        self._send_status(now, out)

    def tick(self, now, out):
        # type: (float, List[Any]) -> None
        """Send a status if one is due as of `now`."""
        due = False
        if not self._dt_settled and now >= self.started_at + START_DT_PERIOD_S - EPS:
            self._dt_settled = True  # dt changes: heartbeat sends an extra status
            due = True
        if now >= self._next_at - EPS:
            due = True
            self._next_at += self._keepalive_s
            if self._next_at <= now:
                # We were not called for a while: resume the cadence, no burst.
                self._next_at = now + self._keepalive_s
        if due and self._last_at != now:
            self._send_status(now, out)

    def deadlines(self):
        # type: () -> List[float]
        cands = [self._next_at]
        if not self._dt_settled:
            cands.append(self.started_at + START_DT_PERIOD_S)
        return cands

    def _send_status(self, now, out):
        # type: (float, List[Any]) -> None
        self._last_at = now
        out.append(self._send(OrderedDict(words.status(self.status, self.advertised_dt_ms()))))
