"""The daemon's control socket: `pyha status`, `pyha standby`, `pyha takeover` talk here.

A Unix stream socket, mode 0600 in a root-only directory (only root may ask the daemon to
give up the VIP).  One JSON request per connection, one JSON answer, then close: simple
enough to use with `socat` in an emergency.  Reads are non-blocking and bounded, so a
client that connects and says nothing cannot stall keepalives; it is dropped after a
short timeout.
"""

import json
import logging
import os
import socket
import stat
import time
from typing import Any, Callable, Dict, Optional

DEFAULT_PATH = "/var/run/pyha/pyha.sock"
MAX_REQUEST = 64 * 1024
CLIENT_TIMEOUT = 2.0


class ControlServer(object):
    def __init__(self, loop, path, handler):
        # type: (Any, str, Callable[[Dict[str, Any]], Dict[str, Any]]) -> None
        self.loop = loop
        self.path = path
        self.handler = handler
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
        self.clients = {}  # type: Dict[socket.socket, list]
        loop.add_reader(sock, self._accept)

    def _accept(self):
        try:
            conn, _ = self.sock.accept()
        except (BlockingIOError, InterruptedError):
            return
        conn.setblocking(False)
        state = [b"", self.loop.call_later(CLIENT_TIMEOUT, lambda: self._drop(conn))]
        self.clients[conn] = state
        self.loop.add_reader(conn, lambda: self._read(conn))

    def _drop(self, conn):
        state = self.clients.pop(conn, None)
        if state is not None:
            state[1].cancel()
        self.loop.remove_reader(conn)
        conn.close()

    def _read(self, conn):
        state = self.clients.get(conn)
        if state is None:
            return
        try:
            data = conn.recv(4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._drop(conn)
            return
        state[0] += data
        if data and b"\n" not in state[0] and len(state[0]) < MAX_REQUEST:
            return
        line = state[0].split(b"\n", 1)[0]
        try:
            request = json.loads(line.decode("utf-8"))
            if not isinstance(request, dict):
                raise ValueError("request must be a JSON object")
        except (ValueError, UnicodeDecodeError) as exc:
            answer = {"ok": False, "error": "bad request: %s" % exc}
        else:
            try:
                answer = self.handler(request)
            except Exception as exc:  # a bug in one command must not take the node down
                logging.getLogger("pyha").exception("internal error answering %r", request.get("cmd"))
                answer = {"ok": False, "error": "internal error: %s" % exc}
        try:
            conn.setblocking(True)
            conn.settimeout(CLIENT_TIMEOUT)
            conn.sendall(json.dumps(answer, sort_keys=True).encode("utf-8") + b"\n")
        except OSError:
            pass
        self._drop(conn)

    def close(self):
        for conn in list(self.clients):
            self._drop(conn)
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
    """Send one request to the daemon and return its answer."""
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
    finally:
        sock.close()
    try:
        return json.loads(raw.decode("utf-8"))
    except ValueError:
        raise ControlError("pyha sent an unreadable answer: %r" % raw[:200])
