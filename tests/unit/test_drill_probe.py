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
