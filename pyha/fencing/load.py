"""Read the fencing configuration of an /etc/ha.d directory: ha.cf's stonith lines and
pyha.cf's `fence` / `fence_delay` lines, into one `FenceConfig`.

pyha.cf is read here line by line with ha.cf's line syntax (`pyha.config.hacf_doc.parse_line`)
and only the fencing lines are looked at; the other directives of pyha.cf are the pyha.cf
framework's to judge.  Reading the two files is the only I/O.
"""

import os
from typing import List, Optional, Tuple

from pyha import diagnostics as dg
from pyha.config.common import BadValue, read_text, split_ws
from pyha.config.hacf import HaCf
from pyha.config.hacf_doc import parse_line
from pyha.fencing.devices import FenceConfig
from pyha.fencing.lines import FenceLine, parse_fence, parse_fence_delay

PYHA_CF = "pyha.cf"


def fencing_lines(text, filename):
    # type: (str, str) -> Tuple[List[Tuple[FenceLine, int]], Optional[Tuple[float, int]], List[dg.Diagnostic]]
    """The fence lines (with their line numbers), the last valid fence_delay (value,
    line) and the problems, from pyha.cf's text."""
    fences = []  # type: List[Tuple[FenceLine, int]]
    delay = None  # type: Optional[Tuple[float, int]]
    diags = []  # type: List[dg.Diagnostic]
    seen = {}  # type: dict
    for lineno, raw in enumerate(text.splitlines(), 1):
        d = parse_line(raw, lineno)
        if d is None or d.name not in ("fence", "fence_delay"):
            continue
        args = split_ws(d.rest)
        try:
            if d.name == "fence":
                line, found = parse_fence(args, d.rest)
                if line.node in seen:
                    diags.append(dg.error("fence-repeated", "a second fence line for %s (first at line %d); pyha "
                                          "uses one device per node" % (line.node, seen[line.node]), filename, lineno,
                                          "keep one `fence %s ...` line" % line.node))
                    continue
                seen[line.node] = lineno
                fences.append((line, lineno))
            else:
                value, found = parse_fence_delay(args, d.rest)
                if delay is not None:
                    diags.append(dg.warning("fence-delay-repeated", "fence_delay is set again (first at line %d); the "
                                            "later value wins" % delay[1], filename, lineno, "keep one fence_delay"))
                delay = (value, lineno)
        except BadValue as exc:
            diags.append(dg.error("fence-syntax", exc.message, filename, lineno, exc.hint))
            continue
        for f in found:
            diags.append(dg.Diagnostic(f.severity, f.code, f.message, filename, lineno, f.hint))
    return fences, delay, diags


class Loaded(object):
    """The fencing configuration of a directory, the ha.cf it came from (None when it
    could not be read) and the problems met on the way."""

    def __init__(self, config, hacf, diagnostics):
        # type: (FenceConfig, Optional[HaCf], List[dg.Diagnostic]) -> None
        self.config = config
        self.hacf = hacf
        self.diagnostics = diagnostics


def load_fencing(ha_dir):
    # type: (str) -> Loaded
    """Never raises for missing or bad files: they become diagnostics."""
    diags = []  # type: List[dg.Diagnostic]
    hacf_path = os.path.join(ha_dir, "ha.cf")
    hacf = None  # type: Optional[HaCf]
    try:
        hacf = HaCf.load(hacf_path)
    except (OSError, IOError) as exc:
        diags.append(dg.error("fence-hacf-unreadable", "cannot read ha.cf (%s)" % (getattr(exc, "strerror", None) or exc),
                              hacf_path))
    pyhacf_path = os.path.join(ha_dir, PYHA_CF)
    fences, delay = [], None  # type: List[Tuple[FenceLine, int]], Optional[Tuple[float, int]]
    if os.path.exists(pyhacf_path):
        try:
            fences, delay, found = fencing_lines(read_text(pyhacf_path), pyhacf_path)
            diags.extend(found)
        except (OSError, IOError) as exc:
            diags.append(dg.error("fence-pyhacf-unreadable", "cannot read pyha.cf (%s)"
                                  % (getattr(exc, "strerror", None) or exc), pyhacf_path))
    config = FenceConfig.from_lines(hacf.stonith if hacf is not None else [], fences,
                                    delay[0] if delay else 0.0, hacf_path, pyhacf_path)
    return Loaded(config, hacf, diags)
