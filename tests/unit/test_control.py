"""The control socket never kills the daemon nor stalls its loop (issue 11 item 2).

Real EventLoop, real Unix sockets in a temp dir; the loop is driven by hand
(`run_once`) until a condition holds, so nothing depends on sleeps.  The EMFILE case
runs the server in a child process with a lowered RLIMIT_NOFILE.
"""

import errno
import json
import os
import select
import socket
import subprocess
import sys
import textwrap
import time

import pytest

from pyha.daemon import control
from pyha.daemon.control import ControlServer
from pyha.daemon.loop import EventLoop

LIMIT = 10.0  # a generous bound for conditions that hold after a few loop rounds


def drive(loop, cond, limit=LIMIT):
    deadline = time.monotonic() + limit
    while not cond():
        assert time.monotonic() < deadline, "condition not reached"
        loop.run_once(max_wait=0.01)


def connect(path):
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.settimeout(LIMIT)  # a full backlog must fail the test, not hang it
    c.connect(path)
    c.setblocking(False)
    return c


class Reader(object):
    """Collects what the server sends to one client until it closes."""

    def __init__(self, sock):
        self.sock = sock
        self.data = b""
        self.closed = False

    def __call__(self):
        while not self.closed:
            try:
                chunk = self.sock.recv(65536)
            except (BlockingIOError, InterruptedError):
                return False
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                self.closed = True
            self.data += chunk
        return True

    def answer(self):
        return json.loads(self.data.decode("utf-8"))


def ask(loop, path, raw):
    c = connect(path)
    c.sendall(raw)
    r = Reader(c)
    drive(loop, r)
    c.close()
    return r.answer()


@pytest.fixture
def served(tmp_path):
    loop = EventLoop()
    path = str(tmp_path / "run" / "pyha.sock")
    replies = {"status": {"ok": True, "status": {"x": 1}}}
    server = ControlServer(loop, path, lambda req: replies.get(req.get("cmd"), {"ok": False}))
    yield loop, path, server, replies
    server.close()
    loop.close()


def test_deeply_nested_json_is_an_error_answer_and_the_server_goes_on(served):
    loop, path, server, _ = served
    answer = ask(loop, path, b"[" * 20000 + b"\n")
    assert answer["ok"] is False and "nested too deeply" in answer["error"]
    answer = ask(loop, path, b'{"cmd": "x", "a": ' + b"{" * 20000 + b"\n")
    assert answer["ok"] is False
    assert ask(loop, path, b'{"cmd": "status"}\n') == {"ok": True, "status": {"x": 1}}


@pytest.mark.parametrize("raw, reason", [
    (b"\xff\xfe\n", "not UTF-8"),
    (b"[1, 2]\n", "must be a JSON object"),
    (b"1" * 5000 + b"\n", "bad request"),  # int() digit limit on new Pythons: still ValueError
    (b'{"cmd": "status"', "bad request"),  # truncated at EOF
])
def test_any_garbage_gets_an_error_answer(served, reason, raw):
    loop, path, server, _ = served
    c = connect(path)
    c.sendall(raw)
    c.shutdown(socket.SHUT_WR)
    r = Reader(c)
    drive(loop, r)
    c.close()
    answer = r.answer()
    assert answer["ok"] is False and reason in answer["error"]


def test_oversize_request_gets_an_error_answer(served):
    loop, path, server, _ = served
    c = connect(path)
    c.setblocking(True)
    c.sendall(b" " * (control.MAX_REQUEST + 10))  # fits the socket buffer; no newline
    c.setblocking(False)
    r = Reader(c)
    drive(loop, r)
    assert "longer than %d bytes" % control.MAX_REQUEST in r.answer()["error"]
    c.close()
    assert server.clients == {}


def test_a_client_that_never_reads_its_answer_does_not_block_the_loop(tmp_path):
    now = [100.0]
    loop = EventLoop(clock=lambda: now[0])
    path = str(tmp_path / "pyha.sock")
    big = {"ok": True, "status": "x" * (4 * 1024 * 1024)}  # far more than a socket buffer
    server = ControlServer(loop, path, lambda req: big if req.get("cmd") == "big" else {"ok": True})
    lazy = connect(path)
    lazy.sendall(b'{"cmd": "big"}\n')
    slowest, deadline = 0.0, time.monotonic() + LIMIT
    while not select.select([lazy], [], [], 0)[0]:  # until the answer starts arriving
        assert time.monotonic() < deadline
        t0 = time.monotonic()
        loop.run_once(max_wait=0.01)
        slowest = max(slowest, time.monotonic() - t0)
    for _ in range(5):
        t0 = time.monotonic()
        loop.run_once(max_wait=0)
        slowest = max(slowest, time.monotonic() - t0)
    # no loop round waited for the client (a blocking send would take CLIENT_TIMEOUT)...
    assert slowest < control.CLIENT_TIMEOUT / 2
    # ...because the rest of the answer is parked until the socket is writable
    (client,) = server.clients.values()
    assert 0 < len(client.outbuf) < len(control._encode(big))
    # ...and serves others meanwhile
    assert ask(loop, path, b'{"cmd": "small"}\n') == {"ok": True}
    assert client.conn in server.clients
    # the lazy reader is dropped at its deadline, on the loop's (fake) clock
    now[0] += control.CLIENT_TIMEOUT + 0.1
    loop.run_once(max_wait=0)
    assert server.clients == {}
    lazy.close()
    server.close()
    loop.close()


def test_a_large_answer_reaches_a_client_that_reads_it(tmp_path):
    loop = EventLoop()
    path = str(tmp_path / "pyha.sock")
    big = {"ok": True, "status": "y" * (3 * 1024 * 1024)}
    server = ControlServer(loop, path, lambda req: big)
    assert ask(loop, path, b'{"cmd": "status"}\n') == big
    server.close()
    loop.close()


def test_connections_beyond_the_cap_get_a_busy_answer(served):
    loop, path, server, _ = served
    idle = []
    for n in range(1, control.MAX_CLIENTS + 1):
        idle.append(connect(path))
        drive(loop, lambda: len(server.clients) == n)
    extra = connect(path)
    r = Reader(extra)
    drive(loop, r)
    assert r.answer()["ok"] is False and "busy" in r.answer()["error"]
    assert len(server.clients) == control.MAX_CLIENTS and server.refused == 1
    for c in idle:
        c.close()
    drive(loop, lambda: not server.clients)
    assert ask(loop, path, b'{"cmd": "status"}\n')["ok"] is True


def test_a_handler_answer_that_is_not_json_is_an_internal_error(tmp_path):
    loop = EventLoop()
    path = str(tmp_path / "pyha.sock")
    server = ControlServer(loop, path, lambda req: {"ok": True, "when": object()})
    answer = ask(loop, path, b'{"cmd": "status"}\n')
    assert answer["ok"] is False and "internal error" in answer["error"]
    server.close()
    loop.close()


def test_accept_errors_rest_the_listener_instead_of_spinning(served, monkeypatch):
    loop, path, server, _ = served

    class Exhausted(object):
        calls = 0

        def accept(self):
            Exhausted.calls += 1
            raise OSError(errno.EMFILE, "Too many open files")

        def __getattr__(self, name):
            return getattr(real, name)

    real = server.sock
    c = connect(path)  # pending in the backlog: the listener stays readable
    server.sock = Exhausted()
    for _ in range(50):
        loop.run_once(max_wait=0)
    assert Exhausted.calls == 1 and server.accept_paused is not None
    server.sock = real
    server._resume_accept()
    c.sendall(b'{"cmd": "status"}\n')
    r = Reader(c)
    drive(loop, r)
    assert r.answer()["ok"] is True


EMFILE_SERVER = textwrap.dedent("""
    import os, resource, sys
    from pyha.daemon.control import ControlServer
    from pyha.daemon.loop import EventLoop
    loop = EventLoop()
    ControlServer(loop, sys.argv[1], lambda req: loop.stop() or {"ok": True, "pid": os.getpid()})
    highest = max(int(fd) for fd in os.listdir("/proc/self/fd"))
    resource.setrlimit(resource.RLIMIT_NOFILE, (highest + 4, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
    print("ready", flush=True)
    loop.run()
""")


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / float(os.sysconf("SC_CLK_TCK"))


def test_running_out_of_descriptors_is_survived_without_spinning(tmp_path):
    path = str(tmp_path / "pyha.sock")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    proc = subprocess.Popen([sys.executable, "-c", EMFILE_SERVER, path], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    idle = []
    try:
        assert proc.stdout.readline() == "ready\n", proc.stderr.read()
        for _ in range(40):  # far more than the server has descriptors for
            c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            c.setblocking(False)
            try:
                c.connect(path)
            except (BlockingIOError, InterruptedError):  # the backlog is full
                c.close()
                break
            idle.append(c)
        assert len(idle) > 8  # more than the free descriptors: accept() hit EMFILE
        # out of descriptors with connections pending: the server must rest, not spin
        cpu0 = cpu_seconds(proc.pid)
        t0 = time.monotonic()
        while time.monotonic() - t0 < 1.0:
            assert proc.poll() is None, proc.stderr.read()
            time.sleep(0.05)
        assert cpu_seconds(proc.pid) - cpu0 < 0.5
        for c in idle:
            c.close()
        idle = []
        answer = control.request(path, {"cmd": "stop"}, timeout=LIMIT)
        assert answer["ok"] is True and answer["pid"] == proc.pid
        assert proc.wait(LIMIT) == 0
        assert "Too many open files" in proc.stderr.read()
    finally:
        for c in idle:
            c.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_loop_dispatches_reader_and_writer_of_one_socket():
    loop = EventLoop()
    a, b = socket.socketpair()
    a.setblocking(False)
    events = []
    loop.add_writer(a, lambda: events.append("w"))
    loop.add_reader(a, lambda: events.append("r") or a.recv(10))
    b.send(b"x")
    loop.run_once(max_wait=0)
    assert sorted(events) == ["r", "w"]
    loop.remove_writer(a)
    del events[:]
    b.send(b"y")
    loop.run_once(max_wait=0)
    assert events == ["r"]
    loop.remove_reader(a)
    b.send(b"z")
    loop.run_once(max_wait=0)
    assert events == ["r"] and not loop.selector.get_map().get(a.fileno())
    loop.close()
    a.close()
    b.close()


def test_request_says_when_the_daemon_hangs_up_without_answering(tmp_path):
    path = str(tmp_path / "pyha.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(1)
    import threading

    def hang_up():
        conn, _ = listener.accept()
        conn.recv(100)
        conn.close()

    t = threading.Thread(target=hang_up)
    t.start()
    with pytest.raises(control.ControlError) as info:
        control.request(path, {"cmd": "status"}, timeout=LIMIT)
    t.join()
    listener.close()
    assert "without answering" in info.value.message
