"""Media over real sockets on loopback and a real pseudo-terminal pair (pyserial)."""

import os
import select
import socket
import time

import pytest

from pyha.media.serial_link import FrameSplitter, SerialMedium
from pyha.media.udp import UdpMedium, open_udp_media

FRAME = b">>>\nt=status\nsrc=ha1\n<<<\n"


def _free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _wait_readable(medium, timeout=2.0):
    r, _, _ = select.select([medium], [], [], timeout)
    return bool(r)


def test_ucast_on_loopback_roundtrip():
    port = _free_port()
    a = UdpMedium("lo", port, ["127.0.0.1"])
    try:
        assert a.send(b"hello") == 1
        assert _wait_readable(a)
        frames = a.receive()
        assert frames and frames[0][0] == b"hello"
        assert a.receive() == []  # non-blocking when empty
    finally:
        a.close()


def test_self_destinations_are_skipped_but_medium_still_receives():
    port = _free_port()
    media = open_udp_media([("lo", "127.0.0.1"), ("lo", "127.0.0.1")], [], [], port,
                           own_addresses={"127.0.0.1"})
    try:
        assert len(media) == 1 and media[0].name == "lo"
        assert media[0].destinations == []
        assert media[0].send(b"x") == 0
        other = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        other.sendto(b"from-peer", ("127.0.0.1", port))
        other.close()
        assert _wait_readable(media[0])
        assert media[0].receive()[0][0] == b"from-peer"
    finally:
        for m in media:
            m.close()


def test_two_ucast_lines_on_one_device_are_one_link():
    port = _free_port()
    media = open_udp_media([("lo", "127.0.0.2"), ("lo", "127.0.0.3")], [], [], port, own_addresses=set())
    try:
        assert [m.name for m in media] == ["lo"]
        assert media[0].destinations == ["127.0.0.2", "127.0.0.3"]
    finally:
        for m in media:
            m.close()


def test_missing_interface_is_a_clear_error():
    from pyha.media.base import MediumError
    with pytest.raises(MediumError, match="eth9"):
        UdpMedium("eth9", _free_port(), ["127.0.0.1"])


def test_frame_splitter_handles_noise_partial_and_nul():
    s = FrameSplitter()
    assert s.feed(b"noise" + FRAME[:10]) == []
    assert s.feed(FRAME[10:] + b"\0" + FRAME) == [FRAME, FRAME]
    assert s.discarded == 5
    assert s.feed(b"x" * 100000) == [] and len(s.buf) < 10


def test_serial_over_pty_pair():
    # A pseudo-terminal pair stands in for a null-modem cable (this machine has no UART).
    master, slave = os.openpty()
    name = os.ttyname(slave)
    medium = SerialMedium(name, baud=19200)
    try:
        os.write(master, b"junk" + FRAME + FRAME[:7])
        deadline = time.monotonic() + 2
        got = []
        while time.monotonic() < deadline and not got:
            if _wait_readable(medium, 0.2):
                got = medium.receive()
        assert [f for f, _ in got] == [FRAME]
        assert medium.send(FRAME) == 1
        r, _, _ = select.select([master], [], [], 2)
        assert r and os.read(master, 1000) == FRAME
    finally:
        medium.close()
        os.close(master)
        os.close(slave)


def test_icmp_echo_checksum_and_reply_parsing():
    from pyha.media.ping import checksum, echo_request, parse_echo_reply
    req = echo_request(0x1234, 7, b"payload")
    assert checksum(req) == 0  # a correct checksum sums to zero
    # build the reply as a kernel would: IPv4 header (20 bytes) + type 0 + same data
    reply = b"\x45" + b"\0" * 19 + b"\x00\x00" + req[2:]
    assert parse_echo_reply(reply, 0x1234) == (7, b"payload")
    assert parse_echo_reply(reply, 0x9999) is None
    assert parse_echo_reply(b"\x45" + b"\0" * 10, 0x1234) is None


def test_ping_socket_on_loopback():
    import os
    if os.geteuid() != 0:
        pytest.skip("raw ICMP needs root")
    from pyha.media.ping import PingSocket
    p = PingSocket(ident=0x4242)
    try:
        assert p.send("127.0.0.1", b"###\nhello%%%\n")
        deadline = time.monotonic() + 2
        got = []
        while not got and time.monotonic() < deadline:
            select.select([p], [], [], 0.2)
            got = p.receive()
        assert got == [("127.0.0.1", b"###\nhello%%%\n")]
    finally:
        p.close()


def test_local_addresses_from_the_fib(tmp_path):
    from pyha.media.udp import local_addresses
    fib = tmp_path / "fib_trie"
    fib.write_text("""Main:
  +-- 0.0.0.0/0 3 0 5
     +-- 127.0.0.0/8 2 0 2
           |-- 127.0.0.1
              /32 host LOCAL
        |-- 127.255.255.255
           /32 link BROADCAST
     +-- 198.51.100.0/24 2 0 2
           |-- 198.51.100.0
              /24 link UNICAST
           |-- 198.51.100.1
              /32 host LOCAL
""")
    assert local_addresses(str(fib)) == {"127.0.0.1", "198.51.100.1"}
    assert "127.0.0.1" in local_addresses()  # this host's real table
