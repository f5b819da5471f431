"""The daemon shell's own guards, with a real configuration in a temp dir: what it keeps
per sender, and refusing a UDP port another process holds (real sockets on loopback)."""

import os
import subprocess
import sys
import textwrap

import pytest

from pyha import wire
from pyha.daemon.node import Daemon, Settings, StartupError
from pyha.wire import control
from test_media import _free_port

KEY = "shell-test-key"
ME = os.uname()[1].lower()  # check_config wants this host among the nodes, like heartbeat


def _ha_dir(tmp_path, port=694):
    d = tmp_path / "ha.d"
    d.mkdir()
    (d / "ha.cf").write_text("keepalive 1\ndeadtime 5\nwarntime 3\ninitdead 10\nudpport %d\n"
                             "auto_failback on\nucast lo 127.0.0.1\nnode %s\nnode ha2\n" % (port, ME))
    (d / "haresources").write_text("")
    keys = d / "authkeys"
    keys.write_text("auth 1\n1 sha1 %s\n" % KEY)
    os.chmod(str(keys), 0o600)
    return str(d)


class FakeMedium(object):
    """Hands the daemon prepared datagrams, as a UDP medium's receive() would."""
    name = "lo"

    def __init__(self, frames):
        self.frames = frames

    def receive(self):
        frames, self.frames = self.frames, []
        return frames


def _packet(src, seq, uuid):
    ring = wire.Keyring.from_mapping(1, {1: ("sha1", KEY)})
    sender = control.Sender(src, uuid, 0x1000)
    msg = control.add_control_fields(control.status("active", 5000), sender, ts=0x5f000000, seq=seq)
    return wire.sign_netstring(msg, ring)


def test_nothing_is_kept_for_senders_not_in_ha_cf(tmp_path):
    d = Daemon(Settings(ha_dir=_ha_dir(tmp_path), state_dir=str(tmp_path / "state"),
                        run_dir=str(tmp_path / "run"), manage_resources=False))
    try:
        frames = [(_packet("ghost%d" % i, 1, os.urandom(16)), "127.0.0.1:694") for i in range(2000)]
        d._on_readable(FakeMedium(frames))
        assert d.uuids == {} and d.clock_skew == {}
        d._on_readable(FakeMedium([(_packet("ha2", 1, b"\x07" * 16), "127.0.0.1:694")]))
        assert d.uuids == {"ha2": b"\x07" * 16} and list(d.clock_skew) == ["ha2"]
    finally:
        d.loop.close()


HOLDER = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
# as genuine heartbeat binds udpport: both options, so a second bind would succeed
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
s.bind(("0.0.0.0", int(sys.argv[1])))
print("bound", flush=True)
sys.stdin.read()
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="binding to a device (SO_BINDTODEVICE) needs root")
def test_a_udp_port_held_by_another_process_is_refused_naming_it(tmp_path):
    port = _free_port()
    d = Daemon(Settings(ha_dir=_ha_dir(tmp_path, port), state_dir=str(tmp_path / "state"),
                        run_dir=str(tmp_path / "run"), manage_resources=False))
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(HOLDER), str(port)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, universal_newlines=True)
    try:
        assert holder.stdout.readline().strip() == "bound"
        with pytest.raises(StartupError) as err:
            d.open()
        assert "UDP port %d is already in use by python" % port in err.value.message
        assert "(pid %d)" % holder.pid in err.value.message
        assert d.media == []
    finally:
        holder.stdin.close()
        holder.wait(10)
    # once the holder is gone the same daemon opens its medium on that port
    d.open()
    try:
        assert [m.port for m in d.media] == [port]
    finally:
        d._shutdown_io()
        d.loop.close()


def _daemon(tmp_path):
    return Daemon(Settings(ha_dir=_ha_dir(tmp_path), state_dir=str(tmp_path / "state"),
                           run_dir=str(tmp_path / "run"), manage_resources=False))


def _run_until(loop, cond, limit=5.0):
    import time
    deadline = time.monotonic() + limit
    while not cond() and time.monotonic() < deadline:
        loop.run_once(max_wait=0.01)
    return cond()


def test_reload_checks_beside_the_loop_and_applies_new_keys_after(tmp_path, monkeypatch):
    """A slow check (a dead DNS server for a ucast host name, a huge ha.cf) must not
    stall the loop: timers keep firing while it runs, and its outcome is applied after."""
    import threading
    from pyha.daemon import reload as node_mod
    d = _daemon(tmp_path)
    real_check = node_mod.check_config
    release = threading.Event()

    def slow_check(ha_dir):
        release.wait(3)  # bounded, so the old in-loop reload fails the test instead of hanging
        return real_check(ha_dir)

    monkeypatch.setattr(node_mod, "check_config", slow_check)
    with open(str(tmp_path / "ha.d" / "authkeys"), "w") as f:
        f.write("auth 2\n2 sha1 a-new-and-longer-key\n")
    ticks = []
    try:
        import time
        t0 = time.monotonic()
        d.reload()
        assert time.monotonic() - t0 < 0.5  # returned at once: the check is not in the loop
        for i in range(5):
            d.loop.call_later(0.01 * i, lambda i=i: ticks.append(i))
        assert _run_until(d.loop, lambda: len(ticks) == 5, 2.0), "timers stalled during the reload"
        assert d.authkeys.active_index == 1  # not yet applied
        release.set()
        assert _run_until(d.loop, lambda: d.authkeys.active_index == 2)
        assert d.reloader.job is None
    finally:
        release.set()
        d.loop.close()


def test_a_reload_that_never_finishes_is_abandoned_and_the_config_kept(tmp_path, monkeypatch, caplog):
    import threading
    from pyha.daemon import reload as node_mod
    d = _daemon(tmp_path)
    release = threading.Event()
    monkeypatch.setattr(node_mod, "check_config", lambda ha_dir: release.wait(10))
    monkeypatch.setattr(node_mod, "RELOAD_TIMEOUT_S", 0.2)
    try:
        import logging
        monkeypatch.setattr(logging.getLogger("pyha"), "propagate", True)
        with caplog.at_level(logging.ERROR, logger="pyha"):
            d.reload()
            d.reload()  # a second SIGHUP meanwhile: queued, not a second thread at once
            assert _run_until(d.loop, lambda: "did not finish within" in caplog.text)
        assert "keeping the running configuration" in caplog.text
        assert d.authkeys.active_index == 1
        assert d.reloader.job is not None and d.reloader.job.running  # the queued reload started
    finally:
        release.set()
        d.loop.close()


def test_a_state_dir_that_cannot_be_written_is_a_clean_start_up_error(tmp_path):
    """Root ignores file modes, so the state dir is a regular file: makedirs fails as a
    read-only or full one would, and the daemon must say so instead of a traceback."""
    blocker = tmp_path / "state"
    blocker.write_text("not a directory\n")
    d = Daemon(Settings(ha_dir=_ha_dir(tmp_path), state_dir=str(blocker / "pyha"),
                        run_dir=str(tmp_path / "run"), manage_resources=False))
    try:
        with pytest.raises(StartupError) as err:
            d.open()
        assert str(blocker / "pyha") in err.value.message
        assert err.value.exit_code == 1
    finally:
        d.loop.close()


def test_status_shows_the_manager_transitions(tmp_path):
    """`pyha status --json` carries the core's last state changes under `transitions`;
    the shell executes the typed events without passing them to the resource shell."""
    from pyha.cluster import manager_events as me
    ha_dir = _ha_dir(tmp_path)
    with open(os.path.join(ha_dir, "haresources"), "w") as f:
        f.write("%s 192.0.2.100\n" % ME)
    d = Daemon(Settings(ha_dir=ha_dir, state_dir=str(tmp_path / "state"), run_dir=str(tmp_path / "run")))
    try:
        assert d.managing
        d.generation = 1  # open() would set these; no media: sending goes nowhere
        d.sender = control.Sender(ME, b"\x01" * 16, 1)
        steps = d._feed(me.Shutdown("test"))
        assert [type(a) for a in steps[0].of(me.PhaseChanged)] == [me.PhaseChanged, me.PhaseChanged]
        kept = d.status()["transitions"]
        assert [(t["kind"], t["old"], t["new"]) for t in kept] == [
            ("PhaseChanged", "waiting", "stopping"), ("PhaseChanged", "stopping", "stopped")]
        assert all(isinstance(t["at"], float) and t["reason"] and t["ago_s"] >= 0 for t in kept)
        # the human `pyha status` shows the last few with their age and reason
        from pyha.cli.daemon_cmd import format_status
        text = format_status(d.status())
        assert "recent changes:" in text
        assert "phase: waiting -> stopping (" in text and "phase: stopping -> stopped (" in text
    finally:
        d.loop.close()


def test_status_text_names_each_kind_of_change():
    from pyha.cli.daemon_cmd import RECENT_CHANGES, format_status, format_transition
    assert format_transition({"kind": "GroupStateChanged", "group": "192.0.2.160/24/eth0", "old": "acquiring",
                              "new": "held", "reason": "ha2 is dead", "ago_s": 2.0}) == \
        "    2.0 s ago  group 192.0.2.160/24/eth0: acquiring -> held (ha2 is dead)"
    assert format_transition({"kind": "NodeStateChanged", "node": "ha2", "old": "up", "new": "dead",
                              "reason": ""}) == "node ha2: up -> dead"
    assert format_transition({"kind": "StandbyStateChanged", "old": "none", "new": "asked",
                              "reason": "r"}) == "standby: none -> asked (r)"
    many = [{"kind": "NodeStateChanged", "node": "n%d" % i, "old": "up", "new": "dead"} for i in range(9)]
    text = format_status({"transitions": many})
    assert "node n8:" in text and "node n%d:" % (9 - RECENT_CHANGES) in text
    assert "node n%d:" % (8 - RECENT_CHANGES) not in text
