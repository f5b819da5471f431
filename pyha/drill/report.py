"""Turning probe records and holder samples into a drill's numbers (pure).

Client-visible outage = the longest run of failed probes, from the first failure's send
time to the send time of the next success.  Split brain seen by the client = answers
alternating between nodes inside a short window; duplicate VIP = a holder sample with
two nodes holding the VIP on an up interface.
"""

from typing import Any, Dict, List, Optional, Sequence, Tuple


def outages(records, since=None):
    # type: (Sequence[Dict[str, Any]], Optional[float]) -> List[Tuple[float, float]]
    """Runs of failed probes as (first failure sent, next success sent), in order."""
    runs = []
    start = None
    for r in sorted(records, key=lambda r: r["sent"]):
        if since is not None and r["sent"] < since:
            continue
        if not r["ok"]:
            if start is None:
                start = r["sent"]
        elif start is not None:
            runs.append((start, r["sent"]))
            start = None
    if start is not None:
        last = max(r["sent"] for r in records)
        runs.append((start, last))
    return runs


def longest_outage(records, since=None, until=None):
    # type: (Sequence[Dict[str, Any]], Optional[float], Optional[float]) -> float
    best = 0.0
    for a, b in outages(records, since):
        if until is not None and a > until:
            continue
        best = max(best, b - a)
    return best


def failure_summary(records, since=None):
    # type: (Sequence[Dict[str, Any]], Optional[float]) -> str
    """How the failed probes sent since `since` failed, most frequent first:
    "312 timeout, 3 refused" ("" when none failed)."""
    counts = {}  # type: Dict[str, int]
    for r in records:
        if not r["ok"] and (since is None or r["sent"] >= since):
            why = r.get("err") or "failed"
            counts[why] = counts.get(why, 0) + 1
    return ", ".join("%d %s" % (n, why) for why, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def serving(records, before=None, after=None):
    # type: (Sequence[Dict[str, Any]], Optional[float], Optional[float]) -> Optional[str]
    """The node that gave the last successful answer sent in [after, before)."""
    chosen = None
    for r in sorted(records, key=lambda r: r["sent"]):
        if not r["ok"]:
            continue
        if before is not None and r["sent"] >= before:
            break
        if after is not None and r["sent"] < after:
            continue
        chosen = r["body"]
    return chosen


def alternations(records, window=1.0):
    # type: (Sequence[Dict[str, Any]], float) -> int
    """How often answers switched node and switched back within `window` seconds."""
    oks = [r for r in sorted(records, key=lambda r: r["sent"]) if r["ok"]]
    count = 0
    for a, b, c in zip(oks, oks[1:], oks[2:]):
        if a["body"] != b["body"] and c["body"] == a["body"] and c["sent"] - a["sent"] <= window:
            count += 1
    return count


def duplicate_time(samples, interval):
    # type: (Sequence[Tuple[float, List[str]]], float) -> float
    """Seconds during which two or more nodes held the VIP (sample count x interval)."""
    return sum(interval for _, holders in samples if len(holders) > 1)


def first_time(samples, predicate, since=0.0):
    # type: (Sequence[Tuple[float, List[str]]], Any, float) -> Optional[float]
    for t, holders in samples:
        if t >= since and predicate(holders):
            return t
    return None
