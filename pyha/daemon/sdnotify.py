"""systemd's readiness protocol (Type=notify), without libsystemd: one datagram."""

import os
import socket


def notify(state):
    # type: (str) -> bool
    """Send `state` (e.g. "READY=1", "STOPPING=1") to $NOTIFY_SOCKET; False if not under systemd."""
    path = os.environ.get("NOTIFY_SOCKET")
    if not path:
        return False
    if path.startswith("@"):
        path = "\0" + path[1:]
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        sock.connect(path)
        sock.sendall(state.encode("utf-8"))
        return True
    except OSError:
        return False
    finally:
        sock.close()
