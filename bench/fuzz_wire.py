#!/usr/bin/env python3
"""Long fuzz campaign for pyha.wire: the decoder may only ever raise WireError.

Inputs are mutations of genuine packets (captures/*.bin and every heartbeat payload of
captures/pcap/*.pcap when ../shared/spec/captures exists) and of synthetic packets
(nested structs, lists, classic format), plus random bytes with and without a start
marker.  Each input goes through decode() and, if it decodes, through verification with
two keyrings and the canonical-form check (a decodable netstring packet re-encodes to the
same bytes).  Outcomes are counted by WireError code.

Exit status 1 (with reproducers in hex) if anything other than WireError escaped, if the
decoder reported an `internal` error, or if the canonical-form check failed.

    python bench/fuzz_wire.py [--count 1000000] [--seed 0] [--captures DIR]
"""

import argparse
import binascii
import collections
import glob
import os
import random
import struct
import sys
import time
import traceback

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from pyha.wire import (  # noqa: E402
    NETSTRING, WireError, codec, decode, encode_classic, encode_netstring, netstring_trailer, verify,
)
from pyha.wire import errors  # noqa: E402

sys.path.insert(0, os.path.join(REPO, "tests", "unit"))
from wirecorpus import CRC_RING, RING, synthetic_seeds  # noqa: E402  (shared with the tests)

MAGICS = [b"###\n", b">>>\n", b"###\n1", b"###\n10:(", b">>>\n(2)s=>>>\x14"]
INTERESTING = [b"%%%\n", b"###\n", b">>>\n", b"<<<\n", b"(2)", b"(3)", b"(1)", b"=",
               b",", b":", b"\x00", b"\x13", b"\x14", b"\n", b"99999:", b"0:", b"1:"]


def pcap_payloads(path):
    with open(path, "rb") as fh:
        raw = fh.read()
    endian = "<" if raw[:4] == b"\xd4\xc3\xb2\xa1" else ">"
    off = 24
    while off + 16 <= len(raw):
        _, _, incl, orig = struct.unpack(endian + "IIII", raw[off:off + 16])
        frame = raw[off + 16:off + 16 + incl]
        off += 16 + incl
        if incl != orig or frame[12:14] != b"\x08\x00":
            continue
        ip = frame[14:]
        ihl = (ip[0] & 15) * 4
        if ip[9] in (1, 17):
            payload = ip[ihl + 8:struct.unpack(">H", ip[2:4])[0]]
            if payload.startswith(b"###"):
                yield payload


def load_seeds(captures):
    """Seed groups (picked with equal weight, so the few classic seeds are not drowned
    by a thousand genuine netstring packets): genuine, synthetic netstring, classic."""
    genuine = []
    if captures and os.path.isdir(captures):
        for path in sorted(glob.glob(os.path.join(captures, "*.bin"))):
            with open(path, "rb") as fh:
                genuine.append(fh.read())
        for path in sorted(glob.glob(os.path.join(captures, "pcap", "*.pcap"))):
            genuine.extend(pcap_payloads(path))
    synthetic = synthetic_seeds()
    groups = [sorted(set(genuine)),
              [s for s in synthetic if s.startswith(b"###")],
              [s for s in synthetic if s.startswith(b">>>")]]
    return [g for g in groups if g]


def mutate(rng, data):
    buf = bytearray(data)
    for _ in range(rng.choice((1, 1, 1, 2, 2, 3, 4, 8))):
        if not buf:
            buf = bytearray(rng.choice(INTERESTING))
        i = rng.randrange(len(buf))
        j = min(len(buf), i + rng.randrange(1, 17))
        op = rng.randrange(9)
        if op == 0:
            buf[i] ^= 1 << rng.randrange(8)
        elif op == 1:
            buf[i] = rng.randrange(256)
        elif op == 2:
            buf[i:i] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 5)))
        elif op == 3:
            del buf[i:j]
        elif op == 4:
            buf[i:i] = buf[i:j]
        elif op == 5:  # lengths are the interesting part of a netstring
            buf[i] = 0x30 + rng.randrange(10)
        elif op == 6:
            buf[i:i] = rng.choice(INTERESTING)
        elif op == 7:
            k = rng.randrange(len(buf))
            buf[i], buf[k] = buf[k], buf[i]
        else:
            del buf[i:]
    return bytes(buf)


def make_input(rng, seeds):
    r = rng.random()
    if r < 0.85:
        return mutate(rng, rng.choice(rng.choice(seeds)))
    size = rng.randrange(0, 200)
    tail = bytes(rng.randrange(256) for _ in range(size))
    if r < 0.95:
        return rng.choice(MAGICS) + tail
    return tail


def check(data, outcomes):
    """Run one input; return a problem description or None."""
    try:
        pkt = decode(data)
    except WireError as exc:
        outcomes[exc.code] += 1
        if exc.code == errors.INTERNAL:
            return str(exc)
        return None
    except Exception as exc:  # decode() should make this impossible
        outcomes["NON-WIREERROR"] += 1
        return "%s: %s" % (type(exc).__name__, exc)
    outcomes["decoded-" + pkt.format] += 1
    try:
        if pkt.format == NETSTRING:
            if encode_netstring(pkt.message) + netstring_trailer(
                    pkt.trailer_index, pkt.trailer_digest) != data:
                return "canonical-form check failed: netstring re-encodes differently"
        elif decode(encode_classic(pkt.message)).message != pkt.message:
            return "canonical-form check failed: classic round trip differs"
        for ring in (RING, CRC_RING):
            try:
                verify(pkt, ring)
                outcomes["verified"] += 1
            except WireError as exc:
                if exc.code == errors.INTERNAL:
                    return str(exc)
    except WireError as exc:
        if exc.code in (errors.UNENCODABLE, errors.TOO_DEEP):
            return None  # classic cannot carry every netstring value; not a bug
        return "re-encode raised %s" % exc
    except Exception as exc:
        outcomes["NON-WIREERROR"] += 1
        return "after decode: %s: %s" % (type(exc).__name__, exc)
    return None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000000, help="inputs to try")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.add_argument("--captures", default=os.path.join(
        os.path.dirname(REPO), "shared", "spec", "captures"),
        help="directory with genuine capture vectors (default: ../shared/spec/captures)")
    parser.add_argument("--show", type=int, default=5, help="reproducers to print")
    args = parser.parse_args(argv)

    rng = random.Random(args.seed)
    seeds = load_seeds(args.captures)
    outcomes = collections.Counter()
    problems = []
    print("fuzz_wire: %d inputs, seed %d, seed packets per group: %s"
          % (args.count, args.seed, "/".join(str(len(g)) for g in seeds)))
    start = time.perf_counter()
    step = max(1, args.count // 10)
    for n in range(1, args.count + 1):
        data = make_input(rng, seeds)
        problem = check(data, outcomes)
        if problem is not None:
            problems.append((problem, data))
        if n % step == 0:
            elapsed = time.perf_counter() - start
            sys.stderr.write("  %d inputs, %.0f/s, %d problems\n"
                             % (n, n / elapsed, len(problems)))
    elapsed = time.perf_counter() - start

    print("%d inputs in %.1f s: %.0f inputs/s" % (args.count, elapsed,
                                                 args.count / elapsed))
    print("%-22s %10s %7s" % ("outcome", "count", "share"))
    for code, count in sorted(outcomes.items(), key=lambda kv: (-kv[1], kv[0])):
        if code == "verified":
            continue
        print("%-22s %10d %6.2f%%" % (code, count, 100.0 * count / args.count))
    print("%-22s %10d" % ("(verifications ok)", outcomes["verified"]))
    if not problems:
        print("OK: only WireError, canonical form holds")
        return 0
    print("FAIL: %d problem inputs" % len(problems))
    for problem, data in problems[:args.show]:
        print("- %s\n  reproducer: %s" % (problem, binascii.hexlify(data).decode()))
    # A traceback from the unwrapped decoder makes the first one easy to fix.
    try:
        codec._decode(problems[0][1], True)
    except Exception:
        traceback.print_exc()
    return 1


if __name__ == "__main__":
    sys.exit(main())
