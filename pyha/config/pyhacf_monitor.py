"""pyha.cf directives for service health (issue 14): `notify PROGRAM [ARG...]`.

Each directive is a `pyha.config.pyhacf_schema.Spec` in `DIRECTIVES`, registered in
`pyha.config.pyhacf_registry`.  Parsing and checking only: running the program is the
daemon's job.  Never looks at the host except through the HostFacts handed to host_check.
"""

from collections import namedtuple
from typing import Any, List

from pyha import diagnostics as dg
from pyha.config.common import show
from pyha.config.pyhacf_schema import BadValue, Findings, Parsed, Spec

# argv: the program (absolute path) and its fixed arguments; pyha appends the event's own.
Notify = namedtuple("Notify", "argv")


def _notify(args, rest):
    # type: (List[str], str) -> Parsed
    if not args[0].startswith("/"):
        raise BadValue("program %s is not an absolute path" % show(args[0]),
                       "write the full path, e.g. `notify /usr/local/sbin/%s`" % args[0].lstrip("./"))
    return Notify(tuple(args)), []


def _notify_host(value, facts):
    # type: (Notify, Any) -> Findings
    if facts.is_executable_file(value.argv[0]):
        return []
    return [dg.warning("pyhacf-notify-missing", "program %s is not an executable file; every notification "
                       "will fail" % show(value.argv[0]), hint="install it, `chmod +x` it, or fix the path")]


DIRECTIVES = [
    Spec("notify", _notify, syntax="notify PROGRAM [ARG...]",
         doc="PROGRAM (an absolute path, with optional fixed arguments) to run on every group or node state "
             "change, with the node, group, old and new state and the reason, beside the daemon and with a "
             "timeout.  Not run yet: this release checks the line only (issue 14).",
         example=("notify /usr/local/sbin/pyha-notify",),
         host_check=_notify_host),
]
