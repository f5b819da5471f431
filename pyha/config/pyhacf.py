"""/etc/ha.d/pyha.cf: pyha's own settings, in ha.cf's line syntax.

Heartbeat refuses an unknown ha.cf directive, so what only pyha understands (service
monitors, notification, fencing, ...) lives here; genuine heartbeat never reads this file,
so a mixed cluster keeps working.  A missing pyha.cf is normal: every setting has a default.

`PyhaCf` is ha.cf's document model (`pyha.config.hacf_doc`: the same lines, `#` comments,
lossless rendering, edits) with pyha.cf's own directive table (`pyha.config.pyhacf_registry`)
and evaluation (`pyhacf_eval`) into a frozen `PyhaSettings`.  `check(context, facts)` adds
the checks that need the other /etc/ha.d files or the host.  `template()` is the commented
file `pyha init` writes.  Reading the file is the only I/O here.
"""

import errno
import textwrap
from typing import Any, Dict, List, Optional, Sequence

from pyha import diagnostics as dg
from pyha.config.common import read_text
from pyha.config.hacf_doc import Document
from pyha.config.pyhacf_eval import CrossContext, cross_checks, evaluate, host_checks
from pyha.config.pyhacf_registry import specs as registered_specs
from pyha.config.pyhacf_schema import Spec, suggest
from pyha.config.pyhacf_settings import Entry, PyhaSettings

__all__ = ["PyhaCf", "PyhaSettings", "Entry", "CrossContext", "template", "missing_is_fine"]


class PyhaCf(Document):
    """The pyha.cf model: `PyhaCf.parse(text, filename)`, `PyhaCf.load(path)` (OSError if
    unreadable), `PyhaCf.load_optional(path)` (a missing file gives an empty, `present`
    False model); `settings` is what it means."""

    def __init__(self, filename="pyha.cf", specs=None):
        # type: (str, Optional[Dict[str, Spec]]) -> None
        super(PyhaCf, self).__init__(filename)
        self._settings = None  # type: Optional[PyhaSettings]
        self._specs = specs if specs is not None else registered_specs()
        self.present = True

    @property
    def specs(self):
        # type: () -> Dict[str, Spec]
        """The directive table (the registry's; tests may set their own)."""
        return self._specs

    @specs.setter
    def specs(self, table):
        # type: (Dict[str, Spec]) -> None
        self._specs = table
        self._settings = None

    @classmethod
    def load(cls, path):
        # type: (str) -> PyhaCf
        return cls.parse(read_text(path), filename=path)

    @classmethod
    def load_optional(cls, path):
        # type: (str) -> PyhaCf
        """The file at `path`, or an empty model when there is none (other OSErrors, and
        FileRefused for a FIFO or a huge file, are raised: those are mistakes)."""
        try:
            return cls.load(path)
        except OSError as exc:
            if not missing_is_fine(exc):
                raise
        empty = cls(path)
        empty.present = False
        return empty

    def _refuse_unknown(self, directive):
        # type: (str) -> None
        if directive not in self.specs:
            close = suggest(directive, self.specs)
            raise ValueError("unknown pyha.cf directive %r%s" % (directive, " (did you mean %r?)" % close
                                                                  if close else ""))

    def _changed(self):
        # type: () -> None
        self._settings = None

    @property
    def settings(self):
        # type: () -> PyhaSettings
        if self._settings is None:
            self._settings = evaluate(self.directives(), self.filename, self.specs, self.present)
        return self._settings

    def check(self, context=None, facts=None):
        # type: (Optional[CrossContext], Any) -> List[dg.Diagnostic]
        """Problems of the file itself, plus the cross-file checks when `context` (the other
        models) is given and the host checks when `facts` (a HostFacts) is."""
        s = self.settings
        out = s.diagnostics
        if context is not None:
            out.extend(cross_checks(s, self.specs, context))
        if facts is not None:
            out.extend(host_checks(s, self.specs, facts))
        return dg.sorted_diagnostics(out)


def missing_is_fine(exc):
    # type: (OSError) -> bool
    """True for the one read error that is not a problem: there is no pyha.cf."""
    return getattr(exc, "errno", None) == errno.ENOENT


def template(active=(), specs=None, header=None):
    # type: (Sequence[str], Optional[Dict[str, Spec]], Optional[Sequence[str]]) -> str
    """A commented pyha.cf: every registered directive with its syntax, what it does and its
    examples commented out, then the `active` lines (written uncommented).  `pyha init`
    writes it; `pyha config check` accepts it as it is."""
    specs = specs if specs is not None else registered_specs()
    out = list(header or ()) or [
        "# /etc/ha.d/pyha.cf: pyha's own settings (genuine heartbeat never reads this file).",
        "# Same syntax as ha.cf; check with `pyha config check`, apply with `systemctl reload pyha`,",
        "# copy to the peer with `pyha sync`.  Every directive is optional; see pyha(8).",
    ]
    for spec in specs.values():
        out.append("#")
        out.append("# %s" % spec.syntax)
        out.extend("#   " + line for line in textwrap.wrap(" ".join(spec.doc.split()), 84))
        out.extend("#" + line for line in spec.example)
    if active:
        out.append("")
        out.extend(active)
    return "\n".join(out) + "\n"
