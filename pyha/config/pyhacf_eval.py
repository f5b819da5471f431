"""pyha.cf evaluation: one pass over the directive lines giving a frozen `PyhaSettings` and
the diagnostics that name file, line and fix; then the checks that need more than the file
(the other /etc/ha.d models, this host), run by whoever has them.

Each line's syntax is its spec's job (`pyha.config.pyhacf_schema`); this pass resolves the
name (typos get the closest directive, ha.cf directives are sent back to ha.cf), repetition
(`one`: the last wins with a warning; `many`: a repeated key is an error) and defaults.
Never raises on bad input, never edits the document, never looks at the host itself.
"""

from collections import OrderedDict, namedtuple
from typing import Any, Dict, List, Optional

from pyha import diagnostics as dg
from pyha.config.common import BadValue, show, split_ws
from pyha.config.hacf_doc import Directive
from pyha.config.hacf_schema import KNOWN_DIRECTIVES
from pyha.config.pyhacf_schema import Spec, suggest
from pyha.config.pyhacf_settings import Entry, PyhaSettings

# What a cross_check sees: the other models of /etc/ha.d (None when that file could not be
# read: a check that needs it is skipped, the missing file is reported on its own).
CrossContext = namedtuple("CrossContext", "hacf haresources")


def evaluate(directives, filename, specs, present=True):
    # type: (List[Directive], str, Dict[str, Spec], bool) -> PyhaSettings
    """The settings `directives` (file order) give, with every problem found on the way."""
    diags = []  # type: List[dg.Diagnostic]
    values = {}  # type: Dict[str, Entry]
    entries = OrderedDict((name, []) for name, spec in specs.items()
                          if spec.kind == "many")  # type: Dict[str, List[Entry]]
    lines_of = {}  # type: Dict[str, List[Optional[int]]]
    keys = {}  # type: Dict[Any, Optional[int]]

    def report(severity, code, message, line, hint=None):
        diags.append(dg.Diagnostic(severity, code, message, filename, line, hint))

    for d in directives:
        line = d.lineno
        spec = specs.get(d.name)
        if spec is None:
            _unknown(report, d, specs)
            continue
        args = split_ws(d.rest)
        if not args:
            report(dg.ERROR, "pyhacf-missing-value", "%s has no value" % d.name, line, "write `%s`" % spec.syntax)
            continue
        try:
            value, findings = spec.parse(args, d.rest)
        except BadValue as exc:
            report(dg.ERROR, "pyhacf-bad-value", "%s: %s" % (d.name, exc.message), line,
                   exc.hint or "write `%s`" % spec.syntax)
            continue
        for f in findings:
            report(f.severity, f.code, "%s: %s" % (d.name, f.message), line, f.hint)
        seen = lines_of.setdefault(d.name, [])
        seen.append(line)
        if spec.kind == "one":
            if len(seen) > 1:
                report(dg.WARNING, "pyhacf-duplicate", "%s is set again (first %s); the later value wins"
                       % (d.name, _on(seen[0])), line, "keep one %s line" % d.name)
            values[d.name] = Entry(value, line)
            continue
        if spec.key is not None:
            key = (d.name, spec.key(value))
            if key in keys:
                report(dg.ERROR, "pyhacf-repeated", "%s %s is given twice (first %s)"
                       % (d.name, show(str(key[1])), _on(keys[key])), line, "merge the two lines into one")
                continue
            keys[key] = line
        entries[d.name].append(Entry(value, line))
    defaults = dict((name, spec.default) for name, spec in specs.items() if spec.kind == "one")
    return PyhaSettings(filename, present, values, entries, defaults, diags)


def _unknown(report, d, specs):
    # type: (Any, Directive, Dict[str, Spec]) -> None
    if d.name in KNOWN_DIRECTIVES:
        report(dg.ERROR, "pyhacf-hacf-directive",
               "%s is an ha.cf directive; pyha.cf holds only pyha's own settings" % show(d.name), d.lineno,
               "move the line to ha.cf (heartbeat and pyha both read it there)")
        return
    close = suggest(d.name, specs)
    report(dg.ERROR, "pyhacf-unknown-directive",
           "unknown pyha.cf directive %s%s" % (show(d.name), " (did you mean %s?)" % close if close else ""),
           d.lineno, ("write `%s%s`" % (close, " " + d.rest if d.rest else "")) if close else
           "pyha.cf directives: %s (see pyha(8))" % (", ".join(sorted(specs)) or "none"))


def _on(lineno):
    # type: (Optional[int]) -> str
    return "on line %d" % lineno if isinstance(lineno, int) else "added earlier"


def _stamp(findings, filename, line, name):
    # type: (List[dg.Diagnostic], str, Optional[int], str) -> List[dg.Diagnostic]
    return [dg.Diagnostic(f.severity, f.code, "%s: %s" % (name, f.message), filename, line, f.hint)
            for f in findings]


def _each_value(settings, specs):
    for name, spec in specs.items():
        if spec.kind == "one":
            if settings.is_set(name):
                yield spec, settings.get(name), settings.lineno(name)
        else:
            for entry in settings.entries(name):
                yield spec, entry.value, entry.lineno


def _hooks(settings, specs, hook, arg):
    # type: (PyhaSettings, Dict[str, Spec], str, Any) -> List[dg.Diagnostic]
    out = []  # type: List[dg.Diagnostic]
    for spec, value, line in _each_value(settings, specs):
        check = getattr(spec, hook)
        if check is not None:
            out.extend(_stamp(check(value, arg), settings.filename, line, spec.name))
    return out


def cross_checks(settings, specs, context):
    # type: (PyhaSettings, Dict[str, Spec], CrossContext) -> List[dg.Diagnostic]
    """Every spec's cross_check on the values the file sets, stamped with file and line."""
    return _hooks(settings, specs, "cross_check", context)


def host_checks(settings, specs, facts):
    # type: (PyhaSettings, Dict[str, Spec], Any) -> List[dg.Diagnostic]
    """Every spec's host_check (facts: a HostFacts) on the values the file sets."""
    return _hooks(settings, specs, "host_check", facts)
