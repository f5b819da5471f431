#!/usr/bin/env python3
"""Throughput of pyha.wire: packets decoded + verified per second, per auth method.

The packet is a typical status message (the shape of capture cap01, ~300 bytes) signed
with both digests.  Also shows signing (inner + trailer) and decode without verification.

    python bench/bench_decode.py [--seconds 1.0]
"""

import argparse
import os
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from pyha.wire import Keyring, control, decode, decode_verified, sign_netstring  # noqa: E402

RINGS = [
    ("md5", Keyring.from_mapping(1, {1: ("md5", "specsecret")})),
    ("sha1", Keyring.from_mapping(3, {3: ("sha1", "spec-sha1-key")})),
    ("crc", Keyring.from_mapping(1, {1: "crc"})),
]


def status_message():
    sender = control.Sender("hbnode1", bytes.fromhex("e9b670c8936a43a9a686eb1356417d4c"),
                            0x6b0a29f8, ttl=3)
    msg = control.status("active", 6000)
    return control.add_control_fields(msg, sender, ts=0x6b0a2a0c, seq=0x21,
                                       ld="0.43 0.39 0.20 1/104 540")


def rate(fn, seconds):
    """Calls per second of fn(), measured over about `seconds`."""
    n = 0
    batch = 200
    start = time.perf_counter()
    while True:
        for _ in range(batch):
            fn()
        n += batch
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return n / elapsed


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="time per measurement")
    args = parser.parse_args(argv)

    msg = status_message()
    print("python %s" % sys.version.split()[0])
    print("%-6s %6s %18s %14s %12s" % ("method", "bytes", "decode+verify/s", "decode/s",
                                       "sign/s"))
    for name, ring in RINGS:
        data = sign_netstring(msg, ring)
        decode_verified(data, ring)  # sanity: must verify
        dv = rate(lambda: decode_verified(data, ring), args.seconds)
        d = rate(lambda: decode(data), args.seconds)
        s = rate(lambda: sign_netstring(msg, ring), args.seconds)
        print("%-6s %6d %18.0f %14.0f %12.0f" % (name, len(data), dv, d, s))
    return 0


if __name__ == "__main__":
    sys.exit(main())
