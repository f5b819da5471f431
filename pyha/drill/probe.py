"""The client probe: one short HTTP request to the VIP every interval, never waiting on
an earlier one, each recorded with its send time, end time, result and body.

Run inside the client's network namespace (`python -m pyha.drill.probe --url ...`), it
writes one JSON line per finished request to stdout; a failed one says why (`err`:
`connect timeout`, `refused`, `unreachable`, `answer timeout`, `http 503`, ...), so a
drill that fails can tell "nobody at the VIP" from "the VIP is up but not the service".
Requests are non-blocking sockets on one selector, so a request hanging on a dead VIP
never delays the next one (what a sequence of `curl` calls would do), and a process
spawn per request does not blur 20 ms timing.  Times are `time.monotonic()` of the
probe process (CLOCK_MONOTONIC is shared by all processes on the machine, so they line
up with the drill's own timestamps).
"""

import argparse
import errno
import json
import selectors
import socket
import sys
import time
from typing import Any, Dict, List, Optional
from urllib.parse import urlsplit


class _Request(object):
    __slots__ = ("sock", "sent", "buf", "deadline", "seq", "connected")


_ERRNO_NAMES = {errno.ECONNREFUSED: "refused", errno.EHOSTUNREACH: "unreachable",
                errno.ENETUNREACH: "network unreachable", errno.ECONNRESET: "reset",
                errno.ETIMEDOUT: "timeout"}


def error_name(code):
    # type: (int) -> str
    return _ERRNO_NAMES.get(code) or errno.errorcode.get(code, "errno %d" % code)


def parse_body(raw):
    # type: (bytes) -> Optional[str]
    head, _, body = raw.partition(b"\r\n\r\n")
    status = head.split(b"\r\n", 1)[0].split()
    if len(status) < 2 or status[1] != b"200":
        return None
    return body.decode("utf-8", "replace").strip()


def answer_error(raw):
    # type: (bytes) -> Optional[str]
    """Why a complete answer is not a success (None when it is one)."""
    if not raw:
        return "closed without an answer"
    status = raw.split(b"\r\n", 1)[0].split()
    if len(status) < 2:
        return "not HTTP"
    if status[1] != b"200":
        return "http %s" % status[1].decode("ascii", "replace")
    return None


def run(host, port, path, interval, timeout, duration, out):
    # type: (str, int, str, float, float, float, Any) -> None
    sel = selectors.DefaultSelector()
    request = ("GET %s HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n\r\n" % (path, host)).encode()
    start = time.monotonic()
    next_send = start
    seq = 0
    live = {}  # type: Dict[int, _Request]

    def finish(r, ok, body, err=None):
        sel.unregister(r.sock)
        r.sock.close()
        live.pop(r.seq, None)
        rec = {"seq": r.seq, "sent": r.sent, "end": time.monotonic(), "ok": ok, "body": body}
        if not ok:
            rec["err"] = err or "failed"
        out.write(json.dumps(rec) + "\n")
        out.flush()

    while True:
        now = time.monotonic()
        if duration and now - start >= duration and not live:
            break
        if (not duration or now - start < duration) and now >= next_send:
            r = _Request()
            r.seq, r.sent, r.buf, r.deadline, r.connected = seq, now, b"", now + timeout, False
            seq += 1
            r.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            r.sock.setblocking(False)
            err = r.sock.connect_ex((host, port))
            sel.register(r.sock, selectors.EVENT_WRITE, r)
            live[r.seq] = r
            if err not in (0, errno.EINPROGRESS):
                finish(r, False, None, error_name(err))
            next_send += interval
            if next_send < now:
                next_send = now + interval
        wait = max(0.0, min(next_send - time.monotonic(), 0.05))
        for key, events in sel.select(wait):
            r = key.data
            try:
                if events & selectors.EVENT_WRITE:
                    soerr = r.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if soerr:
                        finish(r, False, None, error_name(soerr))
                        continue
                    r.connected = True
                    r.sock.send(request)
                    sel.modify(r.sock, selectors.EVENT_READ, r)
                else:
                    data = r.sock.recv(65536)
                    if data:
                        r.buf += data
                    else:
                        body = parse_body(r.buf)
                        finish(r, body is not None, body, answer_error(r.buf))
            except OSError as exc:
                finish(r, False, None, error_name(exc.errno) if exc.errno else str(exc))
        now = time.monotonic()
        for r in list(live.values()):
            if now >= r.deadline:
                finish(r, False, None, "answer timeout" if r.connected else "connect timeout")


def main(argv=None):
    # type: (Optional[List[str]]) -> int
    ap = argparse.ArgumentParser(prog="pyha-probe")
    ap.add_argument("--url", required=True)
    ap.add_argument("--interval", type=float, default=0.1)
    ap.add_argument("--timeout", type=float, default=0.5)
    ap.add_argument("--duration", type=float, default=0.0, help="0 = until killed")
    args = ap.parse_args(argv)
    u = urlsplit(args.url)
    if u.scheme != "http" or not u.hostname:
        sys.stderr.write("pyha-probe: only http://HOST[:PORT]/PATH URLs\n")
        return 2
    try:
        run(u.hostname, u.port or 80, u.path or "/", args.interval, args.timeout, args.duration, sys.stdout)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
