"""Event loop and state files: the daemon's plumbing, with real fds and a temp dir."""

import os
import signal

from pyha.daemon.loop import EventLoop
from pyha.daemon.statefiles import next_generation, node_uuid


def test_timers_fire_in_order_and_cancel():
    fake = [100.0]
    loop = EventLoop(clock=lambda: fake[0])
    fired = []
    loop.call_at(101.0, lambda: fired.append("b"))
    loop.call_at(100.5, lambda: fired.append("a"))
    t = loop.call_at(100.7, lambda: fired.append("x"))
    t.cancel()
    fake[0] = 102.0
    loop.run_once(max_wait=0)
    assert fired == ["a", "b"]
    loop.close()


def test_wall_clock_is_not_consulted(monkeypatch):
    import time
    fake = [5.0]
    loop = EventLoop(clock=lambda: fake[0])
    fired = []
    loop.call_later(1.0, lambda: fired.append(1))
    monkeypatch.setattr(time, "time", lambda: 1e12)  # a wall-clock jump changes nothing
    loop.run_once(max_wait=0)
    assert fired == []
    fake[0] = 6.0
    loop.run_once(max_wait=0)
    assert fired == [1]
    loop.close()


def test_reader_and_signal_dispatch():
    loop = EventLoop()
    r, w = os.pipe()
    got = []
    loop.add_reader(r, lambda: got.append(os.read(r, 10)))
    loop.add_signal_handler(signal.SIGUSR1, lambda s: got.append(s))
    os.write(w, b"hi")
    os.kill(os.getpid(), signal.SIGUSR1)
    for _ in range(3):
        loop.run_once(max_wait=0.1)
    assert b"hi" in got and signal.SIGUSR1 in got
    loop.close()
    signal.signal(signal.SIGUSR1, signal.SIG_DFL)
    os.close(r)
    os.close(w)


def test_generation_grows_and_uses_heartbeat_format(tmp_path):
    g1, warn = next_generation(str(tmp_path), now=1000)
    assert g1 == 1001 and "No Previous generation" in warn
    g2, warn2 = next_generation(str(tmp_path), now=5)
    assert g2 == 1002 and warn2 is None
    raw = (tmp_path / "hb_generation").read_bytes()
    assert len(raw) == 16 and raw == b"%15d\n" % 1002


def test_uuid_is_stable(tmp_path):
    u = node_uuid(str(tmp_path))
    assert len(u) == 16 and node_uuid(str(tmp_path)) == u


def test_control_socket_roundtrip_mode_and_garbage(tmp_path):
    import socket as s
    import stat as st
    import threading
    from pyha.daemon.control import ControlServer, request
    loop = EventLoop()
    path = str(tmp_path / "run" / "pyha.sock")
    server = ControlServer(loop, path, lambda req: {"ok": True, "echo": req.get("cmd")})
    assert st.S_IMODE(os.stat(path).st_mode) == 0o600
    results = []

    def client():
        results.append(request(path, {"cmd": "status"}))
        c = s.socket(s.AF_UNIX, s.SOCK_STREAM)
        c.connect(path)
        c.sendall(b"\xff\xfe not json\n")
        results.append(c.recv(1000))
        c.close()

    t = threading.Thread(target=client)
    t.start()
    while t.is_alive():
        loop.run_once(max_wait=0.05)
    t.join()
    assert results[0] == {"ok": True, "echo": "status"}
    assert b"bad request" in results[1]
    server.close()
    loop.close()
    assert not os.path.exists(path)


def test_rate_limiter_bursts_then_summarises():
    from pyha.daemon.logsetup import RateLimiter
    now = [0.0]
    rl = RateLimiter(burst=2, interval=10, clock=lambda: now[0])
    assert [rl.allow("bad-digest")[0] for _ in range(2)] == [True, True]
    assert rl.allow("bad-digest") == (True, 0)  # first beyond burst opens the interval
    assert [rl.allow("bad-digest")[0] for _ in range(5)] == [False] * 5
    now[0] = 11
    assert rl.allow("bad-digest") == (True, 5)
    assert rl.allow("other") == (True, 0)


def test_log_files_get_heartbeat_style_lines(tmp_path):
    import logging
    from pyha.daemon.logsetup import setup
    log, dbg = str(tmp_path / "ha-log"), str(tmp_path / "ha-debug")
    problems = setup(logfile=log, debugfile=dbg, logfacility="nosuch", stderr=False)
    logging.getLogger("pyha").info("Link ha2:eth1 up.")
    logging.getLogger("pyha").debug("detail")
    assert any("nosuch" in p for p in problems)
    text = open(log).read()
    assert "pyha: [%d]: info: Link ha2:eth1 up." % os.getpid() in text
    assert "detail" not in text and "detail" in open(dbg).read()
    setup(stderr=False)


def test_control_handler_bug_is_an_error_answer_not_a_crash(tmp_path):
    import threading
    from pyha.daemon.control import ControlServer, request
    loop = EventLoop()
    path = str(tmp_path / "pyha.sock")

    def broken(req):
        raise KeyError("bug")

    server = ControlServer(loop, path, broken)
    results = []
    t = threading.Thread(target=lambda: results.append(request(path, {"cmd": "status"})))
    t.start()
    while t.is_alive():
        loop.run_once(max_wait=0.05)
    t.join()
    assert results[0]["ok"] is False and "internal error" in results[0]["error"]
    server.close()
    loop.close()


def test_claim_delay_never_delays_a_takeover_past_deadtime():
    from pyha.cluster.manager import default_claim_delay_ms as claim_delay_ms
    assert claim_delay_ms(1000, 5000, 3000) == 2000      # deadtime - warntime, not 3 keepalives
    assert claim_delay_ms(2000, 30000, 10000) == 6000    # the tutorial: three keepalives
    assert claim_delay_ms(50, 200, 150) == 150           # fast profile: the preferred node's probe
    assert claim_delay_ms(1000, 5000, 5000) == 150       # warntime = deadtime: the floor
