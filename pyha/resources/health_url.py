"""The HTTP check of a `monitor ... url=` line, run as a child process by the daemon:

    python3 -I .../pyha/resources/health_url.py URL TIMEOUT_SECONDS

One GET, redirects not followed: a 2xx or 3xx answer within the timeout exits 0, anything
else (4xx/5xx, refused, reset, timed out, a bad answer) exits 1; one line on stdout says
which (`HTTP 200 OK`, `HTTP 503 Service Unavailable`, `connection refused`).  https is
not verified (the check asks "does the service answer on this node", usually by an
address no certificate names).  A child process so that a hung server, a slow DNS name or
a half-open connection can only ever cost this process, which the daemon kills at its
deadline; it never runs inside the daemon.
"""

import http.client
import socket
import ssl
import sys
import time
from urllib.parse import urlsplit

USER_AGENT = "pyha-monitor"


def get(url, timeout):
    # type: (str, float) -> (int, str)
    """(exit code, one line): 0 for 2xx/3xx within `timeout` seconds."""
    parts = urlsplit(url)
    deadline = time.monotonic() + timeout
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    if parts.scheme == "https":
        conn = http.client.HTTPSConnection(parts.hostname, parts.port, timeout=timeout,
                                           context=ssl._create_unverified_context())  # see the docstring
    else:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"User-Agent": USER_AGENT, "Connection": "close"})
        conn.sock.settimeout(max(0.001, deadline - time.monotonic()))
        resp = conn.getresponse()
        status, reason = resp.status, resp.reason
    except socket.timeout:
        return 1, "no answer within %.1f s" % timeout
    except ConnectionRefusedError:
        return 1, "connection refused"
    except (OSError, http.client.HTTPException) as exc:
        return 1, "%s: %s" % (type(exc).__name__, exc)
    finally:
        conn.close()
    line = "HTTP %d %s" % (status, reason)
    return (0 if 200 <= status < 400 else 1), line


def main(argv=None):
    # type: (list) -> int
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: health_url.py URL TIMEOUT_SECONDS")
        return 2
    try:
        timeout = float(args[1])
    except ValueError:
        print("timeout %r is not a number of seconds" % args[1])
        return 2
    code, line = get(args[0], timeout)
    print(line)
    return code


if __name__ == "__main__":
    sys.exit(main())
