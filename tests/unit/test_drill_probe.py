"""The client probe against a real HTTP server on loopback, and against a closed port."""

import io
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

from pyha.drill.probe import run


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"HA1\n")

    def log_message(self, *args):
        pass


def test_probe_records_answers_and_failures():
    server = HTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=server.serve_forever)
    t.daemon = True
    t.start()
    try:
        out = io.StringIO()
        run("127.0.0.1", server.server_address[1], "/", 0.05, 0.5, 0.5, out)
    finally:
        server.shutdown()
    recs = [json.loads(l) for l in out.getvalue().splitlines()]
    assert 8 <= len(recs) <= 12
    assert all(r["ok"] and r["body"] == "HA1" for r in recs)
    sends = sorted(r["sent"] for r in recs)
    assert max(b - a for a, b in zip(sends, sends[1:])) < 0.1  # paced, not serialised

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    out = io.StringIO()
    run("127.0.0.1", port, "/", 0.05, 0.2, 0.3, out)
    recs = [json.loads(l) for l in out.getvalue().splitlines()]
    assert recs and not any(r["ok"] for r in recs)
    assert {r["err"] for r in recs} == {"refused"}


def test_a_failed_answer_says_why():
    from pyha.drill.probe import answer_error
    assert answer_error(b"HTTP/1.1 200 OK\r\n\r\nHA1") is None
    assert answer_error(b"HTTP/1.1 503 Service Unavailable\r\n\r\n") == "http 503"
    assert answer_error(b"") == "closed without an answer"
    assert answer_error(b"garbage") == "not HTTP"


def test_failure_summary_counts_reasons_most_frequent_first():
    from pyha.drill.report import failure_summary
    recs = [{"sent": 1.0, "ok": False, "err": "refused"}, {"sent": 2.0, "ok": False, "err": "connect timeout"},
            {"sent": 3.0, "ok": False, "err": "connect timeout"}, {"sent": 4.0, "ok": True},
            {"sent": 5.0, "ok": False}]
    assert failure_summary(recs) == "2 connect timeout, 1 failed, 1 refused"
    assert failure_summary(recs, since=2.5) == "1 connect timeout, 1 failed"
    assert failure_summary(recs[3:4]) == ""
