"""Which directives pyha.cf knows: the one registration point.

To add pyha.cf directives (fencing's `fence`, `fence_delay`; the CTS helper's `log_ident`,
...), write a module of your own that defines `DIRECTIVES`, a list of
`pyha.config.pyhacf_schema.Spec`, and add its name to `DIRECTIVE_MODULES` below: one line,
nothing else to touch.  From there `pyha config check` validates the lines (file:line,
typo suggestions), the daemon reads them (`PyhaSettings.get(name)` / `.entries(name)`,
reloaded on SIGHUP), `pyha init` writes their `example` lines commented out in its template
and the man page lists them (`make manpage`, which docs/pyha.8 must match).

A name may be defined once, and never with a name ha.cf has (those belong in ha.cf):
importing the registry fails loudly otherwise, so a clash is found by the first test run.
Nothing here looks at the host.
"""

import importlib
from collections import OrderedDict
from typing import Dict, Optional

from pyha.config.hacf_schema import KNOWN_DIRECTIVES
from pyha.config.pyhacf_schema import Spec

DIRECTIVE_MODULES = (
    "pyha.config.pyhacf_monitor",  # monitor, notify (issue 14)
    "pyha.config.pyhacf_fencing",  # fence, fence_delay (issue 15)
    "pyha.config.pyhacf_logging",  # log_ident (issue 17)
)

_SPECS = None  # type: Optional[Dict[str, Spec]]


def build(modules):
    # type: (tuple) -> Dict[str, Spec]
    """The specs the named modules define, in module order; ValueError on a clash."""
    out = OrderedDict()  # type: Dict[str, Spec]
    for name in modules:
        for spec in getattr(importlib.import_module(name), "DIRECTIVES"):
            if spec.name in out:
                raise ValueError("pyha.cf directive %r is defined twice (second in %s)" % (spec.name, name))
            if spec.name in KNOWN_DIRECTIVES:
                raise ValueError("pyha.cf directive %r (%s) is an ha.cf directive; it belongs in ha.cf"
                                 % (spec.name, name))
            out[spec.name] = spec
    return out


def specs():
    # type: () -> Dict[str, Spec]
    """Every registered pyha.cf directive by name (built once)."""
    global _SPECS
    if _SPECS is None:
        _SPECS = build(DIRECTIVE_MODULES)
    return _SPECS
