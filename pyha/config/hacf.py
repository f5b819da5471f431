"""/etc/ha.d/ha.cf: parse, validate and render with heartbeat 3.0.x semantics.

`HaCf` is the one class callers use: a document (`pyha.config.hacf_doc`: lines, comments,
lossless rendering, edits) whose meaning is evaluated on demand (`hacf_eval`, following the
directive table and validators in `hacf_schema` and the whole-file rules in `hacf_rules`)
into a frozen `Settings` (`hacf_settings`).  The typed accessors (times in ms, media,
nodes, ...) read that object, and `check()` reports every problem that can be seen from
this file alone, as diagnostics that name the line and the fix.

This module never looks at the host (interfaces, DNS, users, files other than the one it
is asked to load): those checks live in `pyha.config.check` and get the host injected.
Bad input never raises: it becomes a diagnostic, and the accessor falls back to the value
heartbeat would have used.  The daemon reads settings; it never edits the document.
"""

from typing import Any, List, Optional

from pyha import diagnostics as dg
from pyha.config.common import read_text
from pyha.config.hacf_doc import Directive, Document, parse_line, value_text
from pyha.config.hacf_eval import evaluate
from pyha.config.hacf_schema import (ALIASES, DEFAULT_BAUD, DEFAULT_UDPPORT, KNOWN_DIRECTIVES, MAXMEDIA, MAXNODE,
                                     PYHA_MEDIA_KINDS, SPECS, suggest_directive)
from pyha.config.hacf_settings import (ApiAuth, EnvEntry, Medium, NodeEntry, PingGroup, PingNode, Respawn,
                                       Settings, StonithLine)

__all__ = [
    "HaCf", "Settings", "Directive", "Medium", "Respawn", "NodeEntry", "PingNode", "PingGroup", "ApiAuth",
    "EnvEntry", "StonithLine", "SPECS", "ALIASES", "KNOWN_DIRECTIVES", "suggest_directive", "parse_line", "value_text",
    "DEFAULT_UDPPORT", "DEFAULT_BAUD", "MAXNODE", "MAXMEDIA", "PYHA_MEDIA_KINDS",
]


def _read(name):
    # type: (str) -> property
    """A read-only HaCf attribute that answers what the current settings answer."""
    return property(lambda self: getattr(self.settings, name), doc=getattr(Settings, name).__doc__)


class HaCf(Document):
    """The ha.cf model.  Build it with `HaCf.parse(text)`, `HaCf.load(path)` or
    `HaCf.new()` + `add()`; `render()` gives the text back; `settings` is what it means."""

    def __init__(self, filename="ha.cf"):
        # type: (str) -> None
        super(HaCf, self).__init__(filename)
        self._settings = None  # type: Optional[Settings]

    @classmethod
    def load(cls, path):
        # type: (str) -> HaCf
        """Parse a file (OSError if it cannot be read)."""
        return cls.parse(read_text(path), filename=path)

    def _changed(self):
        # type: () -> None
        self._settings = None  # an edit makes the old meaning stale; evaluate again on next read

    @property
    def settings(self):
        # type: () -> Settings
        """The frozen meaning of the current lines (evaluated once per version)."""
        if self._settings is None:
            self._settings = evaluate(self.directives(), self.filename)
        return self._settings

    def get(self, name):
        # type: (str) -> Any
        """Effective value of a single-valued directive (last valid one, else heartbeat's
        default, else None), parsed: times in ms, booleans as bool, numbers as int."""
        return self.settings.get(name)

    def lineno(self, name):
        # type: (str) -> Optional[int]
        """Line of the effective (last valid) value of `name`, None if defaulted."""
        return self.settings.lineno(name)

    def check(self):
        # type: () -> List[dg.Diagnostic]
        """Every problem visible from ha.cf alone (host and cross-file checks are in
        `pyha.config.check`)."""
        return list(self.settings.diagnostics)

    nodes = _read("nodes")
    node_entries = _read("node_entries")
    keepalive_ms = _read("keepalive_ms")
    deadtime_ms = _read("deadtime_ms")
    warntime_ms = _read("warntime_ms")
    initdead_ms = _read("initdead_ms")
    deadping_ms = _read("deadping_ms")
    udpport = _read("udpport")
    media = _read("media")
    all_media = _read("all_media")
    ping_nodes = _read("ping_nodes")
    ping_groups = _read("ping_groups")
    auto_failback = _read("auto_failback")
    respawn = _read("respawn")
    watchdog = _read("watchdog")
    logfile = _read("logfile")
    debugfile = _read("debugfile")
    logfacility = _read("logfacility")
    use_logd = _read("use_logd")
    msgfmt = _read("msgfmt")
    hopfudge = _read("hopfudge")
    max_rexmit_delay_ms = _read("max_rexmit_delay_ms")
    debug = _read("debug")
    pacemaker = _read("pacemaker")
    pacemaker_enabled = _read("pacemaker_enabled")
    crm = pacemaker
    crm_enabled = pacemaker_enabled
    apiauth = _read("apiauth")
    env = _read("env")
    stonith = _read("stonith")
