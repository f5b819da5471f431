"""The daemon's control socket: `pyha status`, `pyha standby`, `pyha takeover` talk here.

A Unix stream socket, mode 0600 in a root-only directory (only root may ask the daemon to
give up the VIP).  One JSON request per connection, one JSON answer, then close: simple
enough to use with `socat` in an emergency.

This code runs inside the daemon's only loop, next to the keepalives, so it must never
block and never raise: reads and writes are non-blocking (an answer the client does not
read waits in a buffer until the socket is writable), every connection has a deadline,
at most MAX_CLIENTS are served at once (the rest get a "busy" answer), a request is at
most MAX_REQUEST bytes, and any input, however hostile, gets an error answer or is
dropped.  When accept() fails for lack of descriptors or memory the listener rests for
ACCEPT_BACKOFF instead of spinning on a socket that stays readable.  Problems are logged
through a rate limiter.
"""

import errno
import json
import logging
import os
import socket
import stat
import time
from typing import Any, Callable, Dict, Optional

from pyha import paths
from pyha.daemon.logsetup import LOGGER, RateLimiter

DEFAULT_PATH = paths.control_path()
MAX_REQUEST = 64 * 1024
CLIENT_TIMEOUT = 2.0
MAX_CLIENTS = 16
ACCEPT_BACKOFF = 0.5

log = logging.getLogger(LOGGER)

# accept() failures that concern only the connection being accepted: try the next one
_ACCEPT_SKIP = (errno.ECONNABORTED, errno.EPROTO, errno.EPERM)


class _Client(object):
    __slots__ = ("conn", "inbuf", "outbuf", "timer")

    def __init__(self, conn):
        # type: (socket.socket) -> None
        self.conn = conn
        self.inbuf = b""
        self.outbuf = None  # type: Optional[memoryview]  # the answer not yet written
        self.timer = None  # type: Any


def _encode(answer):
    # type: (Dict[str, Any]) -> bytes
    return json.dumps(answer, sort_keys=True).encode("utf-8") + b"\n"


def parse_request(line):
    # type: (bytes) -> Dict[str, Any]
    """The request object in `line`; ValueError with a short reason for anything else."""
    if len(line) > MAX_REQUEST:
        raise ValueError("request longer than %d bytes" % MAX_REQUEST)
    try:
        request = json.loads(line.decode("utf-8"))
    except RecursionError:  # 20,000 `[`: the decoder recurses once per level
        raise ValueError("JSON nested too deeply")
    except UnicodeDecodeError:
        raise ValueError("not UTF-8")
    if not isinstance(request, dict):
        raise ValueError("request must be a JSON object")
    return request


class ControlServer(object):
    def __init__(self, loop, path, handler, max_clients=MAX_CLIENTS, clock=time.monotonic):
        # type: (Any, str, Callable[[Dict[str, Any]], Dict[str, Any]], int, Callable[[], float]) -> None
        self.loop = loop
        self.path = path
        self.handler = handler
        self.max_clients = max_clients
        self.limiter = RateLimiter(burst=5, interval=60.0, clock=clock)
        directory = os.path.dirname(path)
        os.makedirs(directory, mode=0o700, exist_ok=True)
        if os.path.exists(path) and stat.S_ISSOCK(os.lstat(path).st_mode):
            os.unlink(path)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)
        try:
            sock.bind(path)
        finally:
            os.umask(old)
        os.chmod(path, 0o600)
        sock.listen(8)
        sock.setblocking(False)
        self.sock = sock
        self.clients = {}  # type: Dict[socket.socket, _Client]
        self.accept_paused = None  # type: Any  # the timer that resumes accept()
        self.refused = 0  # connections answered "busy" (tests and status)
        loop.add_reader(sock, self._accept)

    # -- logging -----------------------------------------------------------------------
    def _log(self, key, fmt, *args):
        allowed, suppressed = self.limiter.allow(key)
        if allowed:
            if suppressed:
                fmt += " (%d similar messages suppressed)" % suppressed
            log.warning("control socket: " + fmt, *args)

    # -- accepting ---------------------------------------------------------------------
    def _accept(self):
        # A burst of pending connections is taken in one go, but never more than the
        # cap allows: the rest stay in the kernel's backlog until the next round.
        for _ in range(self.max_clients + 1):
            try:
                conn, _ = self.sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno in _ACCEPT_SKIP:
                    continue
                # EMFILE, ENFILE, ENOBUFS, ENOMEM...: the pending connection stays in the
                # backlog and the listener stays readable, so stop watching it for a while
                # (a level-triggered selector would otherwise spin the loop).
                self._pause_accept(exc)
                return
            except Exception as exc:  # nothing on this path may end the loop
                self._log("accept", "accept failed: %r", exc)
                self._pause_accept(exc)
                return
            try:
                self._start(conn)
            except Exception as exc:
                self._log("internal", "dropping a connection: %r", exc)
                self._close(conn)

    def _pause_accept(self, exc):
        if self.accept_paused is not None:
            return
        self._log("accept-" + str(getattr(exc, "errno", "")), "accept failed (%s); not accepting for %.1f s",
                  getattr(exc, "strerror", None) or exc, ACCEPT_BACKOFF)
        self.loop.remove_reader(self.sock)
        self.accept_paused = self.loop.call_later(ACCEPT_BACKOFF, self._resume_accept)

    def _resume_accept(self):
        if self.accept_paused is None:
            return
        self.accept_paused.cancel()
        self.accept_paused = None
        if self.sock.fileno() >= 0:
            self.loop.add_reader(self.sock, self._accept)

    def _start(self, conn):
        # type: (socket.socket) -> None
        conn.setblocking(False)
        if len(self.clients) >= self.max_clients:
            self.refused += 1
            self._log("busy", "%d connections already open; refusing one", len(self.clients))
            try:
                conn.send(_encode({"ok": False, "error": "busy: %d control connections open, try again"
                                   % len(self.clients)}))
            except OSError:
                pass
            self._close(conn)
            return
        client = _Client(conn)
        self.clients[conn] = client
        client.timer = self.loop.call_later(CLIENT_TIMEOUT, lambda: self._drop(client, "timed out"))
        self.loop.add_reader(conn, lambda: self._guard(client, self._read))

    # -- one connection ----------------------------------------------------------------
    def _guard(self, client, step):
        # type: (_Client, Callable[[_Client], None]) -> None
        """Run one I/O step; whatever it raises costs this connection only."""
        try:
            step(client)
        except Exception as exc:
            self._log("internal", "dropping a connection after an internal error: %r", exc)
            self._drop(client)

    def _close(self, conn):
        # type: (socket.socket) -> None
        try:
            conn.close()
        except OSError:
            pass

    def _drop(self, client, why=None):
        # type: (_Client, Optional[str]) -> None
        if self.clients.pop(client.conn, None) is None:
            return
        if why:
            self._log("drop", "client %s, dropped", why)
        client.timer.cancel()
        self.loop.remove_reader(client.conn)
        self.loop.remove_writer(client.conn)
        self._close(client.conn)
        if self.accept_paused is not None:
            self._resume_accept()  # a descriptor is free again

    def _read(self, client):
        # type: (_Client) -> None
        try:
            data = client.conn.recv(4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._drop(client)
            return
        client.inbuf += data
        if b"\n" in client.inbuf:
            line = client.inbuf.split(b"\n", 1)[0]
        elif not data and client.inbuf:
            line = client.inbuf  # `printf '{...}' | socat`: the request ends at EOF
        elif not data:
            self._drop(client)  # connected and left without a word
            return
        elif len(client.inbuf) > MAX_REQUEST:
            line = client.inbuf  # refused by its length below
        else:
            return
        self.loop.remove_reader(client.conn)
        client.inbuf = b""
        self._answer(client, self._handle(line))

    def _handle(self, line):
        # type: (bytes) -> bytes
        try:
            request = parse_request(line)
        except ValueError as exc:
            self._log("bad-request", "bad request: %s", exc)
            return _encode({"ok": False, "error": "bad request: %s" % exc})
        try:
            return _encode(self.handler(request))
        except Exception as exc:  # a bug in one command must not take the node down
            if self.limiter.allow("handler")[0]:
                log.exception("internal error answering %r", request.get("cmd"))
            return _encode({"ok": False, "error": "internal error: %s" % exc})

    def _answer(self, client, payload):
        # type: (_Client, bytes) -> None
        client.outbuf = memoryview(payload)
        # a fresh deadline for the answer: a big status on a slow reader
        client.timer.cancel()
        client.timer = self.loop.call_later(CLIENT_TIMEOUT, lambda: self._drop(client, "did not read its answer"))
        self._write(client)
        if client.conn in self.clients:
            self.loop.add_writer(client.conn, lambda: self._guard(client, self._write))

    def _write(self, client):
        # type: (_Client) -> None
        try:
            sent = client.conn.send(client.outbuf)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._drop(client)
            return
        client.outbuf = client.outbuf[sent:]
        if not len(client.outbuf):
            self._drop(client)

    def close(self):
        for client in list(self.clients.values()):
            self._drop(client)
        if self.accept_paused is not None:
            self.accept_paused.cancel()
            self.accept_paused = None
        self.loop.remove_reader(self.sock)
        self.sock.close()
        try:
            os.unlink(self.path)
        except OSError:
            pass


class ControlError(Exception):
    def __init__(self, message, hint=None):
        # type: (str, Optional[str]) -> None
        super(ControlError, self).__init__(message)
        self.message = message
        self.hint = hint


def request(path, payload, timeout=5.0):
    # type: (str, Dict[str, Any], float) -> Dict[str, Any]
    """Send one request to the daemon and return its answer (a dict); ControlError otherwise."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        try:
            sock.connect(path)
        except FileNotFoundError:
            raise ControlError("pyha is not running (no control socket at %s)" % path,
                               "start it: systemctl start pyha / service pyha start / pyha daemon")
        except ConnectionRefusedError:
            raise ControlError("pyha is not running (stale control socket %s)" % path,
                               "start it: systemctl start pyha / service pyha start / pyha daemon")
        except PermissionError:
            raise ControlError("permission denied on %s" % path, "run as root")
        sock.sendall(json.dumps(payload).encode("utf-8") + b"\n")
        chunks = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            data = sock.recv(65536)
            if not data:
                break
            chunks.append(data)
        raw = b"".join(chunks)
    except socket.timeout:
        raise ControlError("pyha did not answer within %.0f s on %s" % (timeout, path))
    except OSError as exc:  # e.g. the daemon dropped the connection (ECONNRESET, EPIPE)
        raise ControlError("lost the connection to pyha on %s: %s" % (path, exc.strerror or exc))
    finally:
        sock.close()
    if not raw:
        raise ControlError("pyha closed the connection on %s without answering" % path)
    try:
        answer = json.loads(raw.decode("utf-8"))
    except ValueError:
        raise ControlError("pyha sent an unreadable answer: %r" % raw[:200])
    if not isinstance(answer, dict):
        raise ControlError("pyha sent an unreadable answer: %r" % raw[:200])
    return answer
