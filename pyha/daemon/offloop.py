"""Run one slow call beside the event loop and hand its outcome back to the loop.

Some work the daemon must do while running cannot be bounded: a SIGHUP reload reads
/etc/ha.d and resolves the `ucast`/`ping` host names (getaddrinfo can wait many seconds
on a dead DNS server), and a megabyte of ha.cf takes seconds to check.  Done inside the
loop, that stalls keepalives and the peer declares us dead (seen: 3.7 s for a 4 MB
ha.cf).  A `Job` runs the call in a thread; the loop keeps its cadence (Python switches
threads every few milliseconds, and getaddrinfo and file reads release the lock), and
the outcome comes back through a pipe the loop watches, so `on_done` runs in the loop's
thread like every other event.  After `timeout` seconds the job is abandoned: `on_done`
gets a TimeoutError and a late outcome is dropped (a thread cannot be killed; it only
holds memory until it returns).

Never: touch daemon state from the thread; the call must be a pure function of its
inputs (check_config is).
"""

import os
import threading
from typing import Any, Callable, Optional


class Job(object):
    def __init__(self, loop, call, on_done, timeout):
        # type: (Any, Callable[[], Any], Callable[[Any, Optional[BaseException]], None], float) -> None
        self.loop = loop
        self._call = call
        self._on_done = on_done
        self._result = None  # type: Any
        self._error = None  # type: Optional[BaseException]
        self._finished = False  # in the loop's thread: outcome delivered or abandoned
        self._r, self._w = os.pipe()
        loop.add_reader(self._r, self._collect)
        self._timer = loop.call_later(timeout, self._expire)
        self._timeout = timeout
        thread = threading.Thread(target=self._run, name="pyha-offloop", daemon=True)
        thread.start()

    @property
    def running(self):
        # type: () -> bool
        return not self._finished

    def _run(self):
        try:
            self._result = self._call()
        except BaseException as exc:  # handed to on_done; nothing may die silently here
            self._error = exc
        # The write end is the thread's alone (closing it from the loop could let the
        # number be reused by a socket before this write); EPIPE if abandoned.
        try:
            os.write(self._w, b"x")
        except OSError:
            pass
        os.close(self._w)

    def _close(self):
        self._finished = True
        self._timer.cancel()
        self.loop.remove_reader(self._r)
        os.close(self._r)

    def _collect(self):
        try:
            os.read(self._r, 16)
        except OSError:
            pass
        if self._finished:
            return
        self._close()
        self._on_done(self._result, self._error)

    def _expire(self):
        if self._finished:
            return
        self._close()
        self._on_done(None, TimeoutError("did not finish within %.0f s" % self._timeout))
