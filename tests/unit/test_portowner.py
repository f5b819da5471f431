"""The port-owner check names genuine heartbeat when it holds the port (issue 13 item 3):
the usual mistake during a migration is starting pyha on a node where heartbeat still
runs; the refusal must say so and what to do.  A real UDP socket on loopback, held by a
child process that calls itself `heartbeat` (prctl PR_SET_NAME, what /proc/PID/comm
shows; the lab test does the same with a genuine heartbeat holding udp/694).
"""

import subprocess
import sys
import textwrap

from pyha.media.portowner import port_conflict
from test_media import _free_port

HOLDER = """
import ctypes, socket, sys
ctypes.CDLL(None).prctl(15, sys.argv[2].encode(), 0, 0, 0)  # PR_SET_NAME: /proc/PID/comm
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
print("bound", flush=True)
sys.stdin.read()
"""


def held_by(name, port):
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(HOLDER), str(port), name],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, universal_newlines=True)


def check_with_holder(name):
    port = _free_port()
    holder = held_by(name, port)
    try:
        assert holder.stdout.readline().strip() == "bound"
        return port, holder.pid, port_conflict([port])
    finally:
        holder.stdin.close()
        holder.wait(10)


def test_heartbeat_holding_the_port_is_named_with_what_to_do():
    port, pid, message = check_with_holder("heartbeat")
    assert message.startswith("heartbeat is running on this node: UDP port %d is held by heartbeat (pid %d)."
                              % (port, pid)), message
    assert "service heartbeat stop" in message
    assert "chkconfig heartbeat off" in message and "systemctl disable heartbeat" in message


def test_another_holder_gets_the_general_message():
    port, pid, message = check_with_holder("someserver")
    assert message.startswith("UDP port %d is already in use by someserver (pid %d)" % (port, pid)), message
    assert "heartbeat is running" not in message


def test_a_free_port_is_no_conflict():
    assert port_conflict([_free_port()]) is None
