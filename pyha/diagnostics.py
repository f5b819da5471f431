"""Problems found in input, as data: severity, code, where, what, and how to fix it.

Config checks, `pyha init` and the host set-up commands all report through this one
shape so the CLI can print them as text or JSON and tests can assert on codes rather
than on wording.  Nothing here does I/O.
"""

from typing import Any, Dict, Iterable, List, Optional

ERROR = "error"
WARNING = "warning"
INFO = "info"

_SEVERITY_ORDER = {ERROR: 0, WARNING: 1, INFO: 2}


class Diagnostic(object):
    """One finding. `file`/`line` name the place (line is 1-based, None for whole-file)."""

    __slots__ = ("severity", "code", "message", "file", "line", "hint")

    def __init__(self, severity, code, message, file=None, line=None, hint=None):
        # type: (str, str, str, Optional[str], Optional[int], Optional[str]) -> None
        if severity not in _SEVERITY_ORDER:
            raise ValueError("unknown severity %r" % (severity,))
        self.severity = severity
        self.code = code
        self.message = message
        self.file = file
        self.line = line
        self.hint = hint

    def where(self):
        # type: () -> str
        if self.file is None:
            return ""
        if self.line is None:
            return self.file
        return "%s:%d" % (self.file, self.line)

    def format(self):
        # type: () -> str
        """`file:line: severity: message [code]` plus an indented hint line, like a compiler."""
        where = self.where()
        text = "%s%s: %s [%s]" % (where + ": " if where else "", self.severity, self.message, self.code)
        if self.hint:
            text += "\n    hint: " + self.hint
        return text

    def to_dict(self):
        # type: () -> Dict[str, Any]
        return {
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
            "file": self.file,
            "line": self.line,
            "hint": self.hint,
        }

    def __eq__(self, other):
        return isinstance(other, Diagnostic) and self.to_dict() == other.to_dict()

    def __hash__(self):
        return hash((self.severity, self.code, self.message, self.file, self.line, self.hint))

    def __repr__(self):
        return "Diagnostic(%r)" % (self.format(),)


def error(code, message, file=None, line=None, hint=None):
    # type: (str, str, Optional[str], Optional[int], Optional[str]) -> Diagnostic
    return Diagnostic(ERROR, code, message, file, line, hint)


def warning(code, message, file=None, line=None, hint=None):
    # type: (str, str, Optional[str], Optional[int], Optional[str]) -> Diagnostic
    return Diagnostic(WARNING, code, message, file, line, hint)


def info(code, message, file=None, line=None, hint=None):
    # type: (str, str, Optional[str], Optional[int], Optional[str]) -> Diagnostic
    return Diagnostic(INFO, code, message, file, line, hint)


def has_errors(diags):
    # type: (Iterable[Diagnostic]) -> bool
    return any(d.severity == ERROR for d in diags)


def sort_key(d):
    # type: (Diagnostic) -> Any
    return (d.file or "", d.line or 0, _SEVERITY_ORDER[d.severity], d.code)


def sorted_diagnostics(diags):
    # type: (Iterable[Diagnostic]) -> List[Diagnostic]
    return sorted(diags, key=sort_key)


class ConfigError(Exception):
    """Raised when input is unusable; carries the diagnostics that explain why."""

    def __init__(self, diagnostics):
        # type: (List[Diagnostic]) -> None
        self.diagnostics = list(diagnostics)
        super(ConfigError, self).__init__("\n".join(d.format() for d in self.diagnostics))
