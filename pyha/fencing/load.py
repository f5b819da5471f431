"""Read the fencing configuration of an /etc/ha.d directory: ha.cf's stonith lines and
pyha.cf's `fence` / `fence_delay` lines (registered in `pyha.config.pyhacf_fencing`), into
one `FenceConfig`.

Problems are kept apart: `diagnostics` are those on the fencing lines themselves (a bad
fence line must stop `pyha fence`: the device it meant is unknown), `other` the rest of
pyha.cf's (shown, never blocking).  Reading the two files is the only I/O.
"""

import os
from typing import Any, List, Optional

from pyha import diagnostics as dg
from pyha import paths
from pyha.config.hacf import HaCf
from pyha.config.pyhacf import PyhaCf
from pyha.fencing.devices import FenceConfig

FENCING_DIRECTIVES = ("fence", "fence_delay")


class Loaded(object):
    """The fencing configuration of a directory, the ha.cf it came from (None when it
    could not be read), the problems on fencing lines and pyha.cf's other problems."""

    def __init__(self, config, hacf, diagnostics, other=()):
        # type: (FenceConfig, Optional[HaCf], List[dg.Diagnostic], Any) -> None
        self.config = config
        self.hacf = hacf
        self.diagnostics = diagnostics
        self.other = list(other)


def _unreadable(name, path, exc):
    # type: (str, str, Any) -> dg.Diagnostic
    return dg.error("fence-%s-unreadable" % name.replace(".", ""), "cannot read %s (%s)"
                    % (name, getattr(exc, "strerror", None) or exc), path)


def load_fencing(ha_dir):
    # type: (str) -> Loaded
    """Never raises for missing or bad files: they become diagnostics (a missing
    pyha.cf is no problem)."""
    diags = []  # type: List[dg.Diagnostic]
    other = []  # type: List[dg.Diagnostic]
    hacf_path = os.path.join(ha_dir, "ha.cf")
    hacf = None  # type: Optional[HaCf]
    try:
        hacf = HaCf.load(hacf_path)
    except (OSError, IOError) as exc:
        diags.append(_unreadable("ha.cf", hacf_path, exc))
    pyhacf_path = os.path.join(ha_dir, paths.PYHA_CF)
    fences = []  # type: List[Any]
    delay = 0.0
    try:
        doc = PyhaCf.load_optional(pyhacf_path)
    except (OSError, IOError) as exc:
        diags.append(_unreadable("pyha.cf", pyhacf_path, exc))
    else:
        s = doc.settings
        fences = [(e.value, e.lineno) for e in s.entries("fence")]
        delay = s.get("fence_delay")
        fencing_lines = set(d.lineno for d in doc.directives() if d.name in FENCING_DIRECTIVES)
        for d in s.diagnostics:
            (diags if d.line in fencing_lines else other).append(d)
    config = FenceConfig.from_lines(hacf.stonith if hacf is not None else [], fences, delay, hacf_path, pyhacf_path)
    return Loaded(config, hacf, diags, other)

