"""pyha.cf directive for log tooling (issue 17): `log_ident pyha|heartbeat`.

Log scrapers written for heartbeat (heartbeat's own Cluster Test Suite among them) key on
its syslog ident and on a few of its daemon-level words: `heartbeat: [pid]: info: ...` and
`<node> Heartbeat shutdown complete.`.  `log_ident heartbeat` makes pyha's lines carry
that ident and those words at the same places heartbeat logs them, so such tooling keeps
working during and after a migration; the default `pyha` keeps pyha's own name.  The
message texts pyha shares with heartbeat (`node ha2: is dead`, `Initial resource
acquisition complete`, ...) are the same either way.

Parsing only; `pyha.daemon.logsetup` applies the value (at start and on SIGHUP).
"""

from pyha.config.pyhacf_schema import Spec, choice, single

LOG_IDENTS = ("pyha", "heartbeat")

DIRECTIVES = [
    Spec("log_ident", single(choice(*LOG_IDENTS)), default="pyha", syntax="log_ident pyha|heartbeat",
         doc="The name pyha's log lines carry (`pyha: [pid]: info: ...`).  `heartbeat` writes "
             "`heartbeat: [pid]: ...` and heartbeat's daemon words (`Heartbeat shutdown complete.`) for log "
             "tooling written for heartbeat, such as its Cluster Test Suite.  Default `pyha`.",
         example=("log_ident heartbeat",)),
]
