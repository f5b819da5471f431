"""What pyha.cf means, frozen: each directive's value (or its default) and where it was set.

`PyhaSettings` is built once by `pyha.config.pyhacf_eval.evaluate` and never changes: its
attributes are read-only, the lists it hands out are fresh copies and the values in them
are immutable (the specs' contract), so the daemon can share one object between the loop
and anything it hands settings to, and a SIGHUP swaps in a whole new one.

This module never parses text, never reports problems and never looks at the host.
"""

from collections import namedtuple
from typing import Any, Dict, List, Optional

from pyha import diagnostics as dg

Entry = namedtuple("Entry", "value lineno")  # one line's parsed value and its line number


class PyhaSettings(object):
    """The settings of one pyha.cf (a missing file gives the defaults: `present` False)."""

    __slots__ = ("_filename", "_present", "_values", "_entries", "_defaults", "_diagnostics")

    def __init__(self, filename, present, values, entries, defaults, diagnostics):
        # type: (str, bool, Dict[str, Entry], Dict[str, List[Entry]], Dict[str, Any], List[dg.Diagnostic]) -> None
        object.__setattr__(self, "_filename", filename)
        object.__setattr__(self, "_present", present)
        object.__setattr__(self, "_values", dict(values))
        object.__setattr__(self, "_entries", dict((k, tuple(v)) for k, v in entries.items()))
        object.__setattr__(self, "_defaults", dict(defaults))
        object.__setattr__(self, "_diagnostics", tuple(diagnostics))

    def __setattr__(self, name, value):
        raise AttributeError("PyhaSettings is frozen; a reload builds a new one")

    @property
    def filename(self):
        # type: () -> str
        return self._filename

    @property
    def present(self):
        # type: () -> bool
        """False when there was no pyha.cf (every setting is its default)."""
        return self._present

    @property
    def diagnostics(self):
        # type: () -> List[dg.Diagnostic]
        """What the file alone shows (cross-file and host checks: `pyha.config.pyhacf`)."""
        return list(self._diagnostics)

    def get(self, name):
        # type: (str) -> Any
        """A `one` directive's value: the last valid line's, else its default; for a `many`
        directive the list of values.  KeyError for a name pyha.cf does not know."""
        if name in self._entries:
            return [e.value for e in self._entries[name]]
        if name in self._values:
            return self._values[name].value
        if name in self._defaults:
            return self._defaults[name]
        raise KeyError("pyha.cf has no directive %r" % name)

    def lineno(self, name):
        # type: (str) -> Optional[int]
        """Line of a `one` directive's value in force; None if defaulted."""
        entry = self._values.get(name)
        return entry.lineno if entry is not None else None

    def entries(self, name):
        # type: (str) -> List[Entry]
        """A `many` directive's lines, (value, lineno) in file order; [] if none."""
        return list(self._entries.get(name, ()))

    def is_set(self, name):
        # type: (str) -> bool
        return name in self._values or bool(self._entries.get(name))

    def summary(self):
        # type: () -> Dict[str, Any]
        """Every directive set in the file, for `pyha status --json` and logs."""
        out = {}  # type: Dict[str, Any]
        for name, entry in self._values.items():
            out[name] = entry.value
        for name, entries in self._entries.items():
            if entries:
                out[name] = [e.value for e in entries]
        return out

    def __eq__(self, other):
        return (isinstance(other, PyhaSettings) and self._values == other._values
                and self._entries == other._entries)

    def __ne__(self, other):
        return not self == other

    def __hash__(self):
        return hash(tuple(sorted(self._values)))

    def __repr__(self):
        return "PyhaSettings(%s, %r)" % (self._filename, self.summary())
