"""The daemon's single-threaded event loop: file descriptors, monotonic timers, signals.

One thread, no blocking calls: sockets are non-blocking, child processes are watched
through their pipes, and every timer is on `time.monotonic()` so a wall-clock step
(timesync!) can neither fire nor delay a deadline.  Signals are turned into loop events
through a self-pipe (`signal.set_wakeup_fd`), so handlers never run in the middle of a
state-machine step.
"""

import errno
import heapq
import itertools
import os
import selectors
import signal
import time
from typing import Any, Callable, Dict, List, Optional, Tuple


class Timer(object):
    __slots__ = ("when", "callback", "cancelled")

    def __init__(self, when, callback):
        # type: (float, Callable[[], Any]) -> None
        self.when = when
        self.callback = callback
        self.cancelled = False

    def cancel(self):
        self.cancelled = True


class EventLoop(object):
    def __init__(self, clock=time.monotonic):
        # type: (Callable[[], float]) -> None
        self.clock = clock
        self.selector = selectors.DefaultSelector()
        self._timers = []  # type: List[Tuple[float, int, Timer]]
        self._counter = itertools.count()
        self._signal_handlers = {}  # type: Dict[int, Callable[[int], Any]]
        self._signal_listeners = {}  # type: Dict[int, List[Callable[[int], Any]]]
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self.add_reader(self._wake_r, self._drain_wakeup)
        self._stopping = False
        self._old_wakeup_fd = None  # type: Optional[int]

    # -- file descriptors -------------------------------------------------
    # One selector key per descriptor whose data is (reader, writer): a socket can wait
    # to be readable and writable at once (the control socket's answer is written while
    # the loop keeps serving keepalives).
    def _callbacks(self, fileobj):
        # type: (Any) -> Tuple[Optional[Callable[[], Any]], Optional[Callable[[], Any]]]
        try:
            return self.selector.get_key(fileobj).data
        except (KeyError, ValueError):
            return None, None

    def _watch(self, fileobj, reader, writer):
        # type: (Any, Optional[Callable[[], Any]], Optional[Callable[[], Any]]) -> None
        events = ((selectors.EVENT_READ if reader is not None else 0)
                  | (selectors.EVENT_WRITE if writer is not None else 0))
        old_reader, old_writer = self._callbacks(fileobj)
        if old_reader is None and old_writer is None:
            if events:
                self.selector.register(fileobj, events, (reader, writer))
        elif events:
            self.selector.modify(fileobj, events, (reader, writer))
        else:
            try:
                self.selector.unregister(fileobj)
            except (KeyError, ValueError):
                pass

    def add_reader(self, fileobj, callback):
        # type: (Any, Callable[[], Any]) -> None
        self._watch(fileobj, callback, self._callbacks(fileobj)[1])

    def remove_reader(self, fileobj):
        # type: (Any) -> None
        self._watch(fileobj, None, self._callbacks(fileobj)[1])

    def add_writer(self, fileobj, callback):
        # type: (Any, Callable[[], Any]) -> None
        """Call `callback()` from the loop while `fileobj` is writable."""
        self._watch(fileobj, self._callbacks(fileobj)[0], callback)

    def remove_writer(self, fileobj):
        # type: (Any) -> None
        self._watch(fileobj, self._callbacks(fileobj)[0], None)

    # -- timers -----------------------------------------------------------
    def call_at(self, when, callback):
        # type: (float, Callable[[], Any]) -> Timer
        timer = Timer(when, callback)
        heapq.heappush(self._timers, (when, next(self._counter), timer))
        return timer

    def call_later(self, delay, callback):
        # type: (float, Callable[[], Any]) -> Timer
        return self.call_at(self.clock() + delay, callback)

    # -- signals ----------------------------------------------------------
    def add_signal_handler(self, signum, callback):
        # type: (int, Callable[[int], Any]) -> None
        """Run `callback(signum)` from the loop (not from the signal context)."""
        self._signal_handlers[signum] = callback
        if self._old_wakeup_fd is None:
            self._old_wakeup_fd = signal.set_wakeup_fd(self._wake_w)
        signal.signal(signum, lambda s, f: None)

    def add_signal_listener(self, signum, callback):
        # type: (int, Callable[[int], Any]) -> None
        """One more `callback(signum)` for a signal, run from the loop after its handler:
        SIGCHLD wakes every owner of children (the resource runner's handler, the fence
        shell's listener), where a second handler would replace the first."""
        self._signal_listeners.setdefault(signum, []).append(callback)
        if self._old_wakeup_fd is None:
            self._old_wakeup_fd = signal.set_wakeup_fd(self._wake_w)
        if signum not in self._signal_handlers:
            signal.signal(signum, lambda s, f: None)

    def remove_signal_listener(self, signum, callback):
        # type: (int, Callable[[int], Any]) -> None
        listeners = self._signal_listeners.get(signum, [])
        if callback in listeners:
            listeners.remove(callback)

    def _drain_wakeup(self):
        while True:
            try:
                data = os.read(self._wake_r, 512)
            except (BlockingIOError, InterruptedError):
                return
            if not data:
                return
            for signum in data:
                handler = self._signal_handlers.get(signum)
                if handler is not None:
                    handler(signum)
                for listener in list(self._signal_listeners.get(signum, ())):
                    listener(signum)

    def wake(self):
        try:
            os.write(self._wake_w, b"\0")
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EWOULDBLOCK):
                raise

    # -- running ----------------------------------------------------------
    def stop(self):
        self._stopping = True
        self.wake()

    def run_once(self, max_wait=1.0):
        # type: (float) -> None
        now = self.clock()
        timeout = max_wait
        while self._timers and self._timers[0][2].cancelled:
            heapq.heappop(self._timers)
        if self._timers:
            timeout = max(0.0, min(timeout, self._timers[0][0] - now))
        for key, mask in self.selector.select(timeout):
            reader, writer = key.data
            if mask & selectors.EVENT_READ and reader is not None:
                reader()
            if mask & selectors.EVENT_WRITE and writer is not None:
                # the reader may just have removed the writer (or closed the socket)
                writer = self._callbacks(key.fileobj)[1]
                if writer is not None:
                    writer()
        now = self.clock()
        while self._timers and self._timers[0][0] <= now:
            _, _, timer = heapq.heappop(self._timers)
            if not timer.cancelled:
                timer.callback()

    def run(self):
        self._stopping = False
        while not self._stopping:
            self.run_once()

    def close(self):
        if self._old_wakeup_fd is not None:
            signal.set_wakeup_fd(self._old_wakeup_fd)
            self._old_wakeup_fd = None
        self.selector.close()
        os.close(self._wake_r)
        os.close(self._wake_w)
