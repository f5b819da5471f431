"""auto_failback legacy: heartbeat's `ip-request` / `ip-request-resp` hand-over.

* auto_failback legacy: no starting/resource; after comm-up each node asks for its own
  groups with `ip-request` (the owner releases them and answers `ip-request-resp
  weown=yes`), or, when the peer is not active, sends `ip-request-resp` to itself and
  takes them.  Standby and takeover are refused, like heartbeat.

A collaborator the Manager owns (`Manager._legacy`), not a mixin: the exchange's own
bookkeeping (which groups we asked for, which the peer is owed an answer for, which were
taken through an answer and have not reported their start yet) lives here and nowhere
else.  Its effects go through the Manager's own operations: `_claim`, `_unclaim`,
`_decide`, `_log`, `_send` and `_initial_note`; it reads `me`, `peer` and the group table.
The Manager tells it: `ask` / `take_own` (start-up, partition heal), `on_ip_request` /
`on_ip_request_resp` (the peer's messages), `released` / `started` (the shell's results)
and `stop` (shutdown).

Pure, like the whole package: see `pyha.cluster.manager` for what it must never do.
"""

from typing import Any, Dict, Iterable, Set

from pyha.cluster.events import ERROR, INFO, WARNING
from pyha.cluster.manager.states import G_STUCK, PROBE_CLAIM, PROBE_NONE, _RUNNING_STATES
from pyha.wire import vocabulary as words


class LegacyFailback(object):
    """auto_failback legacy's ip-request exchange (see the module docstring)."""

    def __init__(self, m):
        # type: (Any) -> None
        self._m = m
        self.requested = set()  # type: Set[str]  # we sent ip-request for these
        self.reply_due = set()  # type: Set[str]  # answer ip-request-resp once stopped here
        self.taken = set()      # type: Set[str]  # taken through ip-request-resp, start pending

    # what the Manager asks of it

    def ask(self, groups):
        # type: (Iterable[Any]) -> None
        """Ask the peer for these groups of ours (ip-request each)."""
        for g in groups:
            self.requested.add(g.key)
            self._m._send(words.ip_request(g.key))

    def take_own(self, groups, reason):
        # type: (Iterable[Any], str) -> None
        """The peer is not active: tell ourselves `ip-request-resp` and take our groups."""
        m = self._m
        for g in groups:
            m._send(words.ip_request_resp(m.me, g.key, weown=True))
            self.taken.add(g.key)
        m._claim({m.me}, PROBE_CLAIM, reason)
        m._decide(reason)

    def stop(self):
        """Shutting down: answers to our requests no longer take anything."""
        self.requested.clear()

    # the shell's results

    def released(self, g):
        # type: (Any) -> None
        if g.key in self.reply_due:
            self.reply_due.discard(g.key)
            self._m._send(words.ip_request_resp(self._m.peer, g.key, weown=True))

    def started(self, g):
        # type: (Any) -> None
        """A start ran (well or not) for a group taken through ip-request-resp: heartbeat's
        ip-request-resp child has exited, our own groups are settled (initial.py)."""
        if g.key in self.taken:
            self.taken.discard(g.key)
            self._m._initial_note("ip-request-resp", local=True)

    # the peer's messages

    def on_ip_request(self, fields):
        # type: (Dict[str, Any]) -> None
        m = self._m
        key = fields.get("ipaddr")
        g = m._groups.get(key) if isinstance(key, str) else None
        if g is None:
            m._log(WARNING, "ip-request from %s for unknown group %r" % (m.peer, key))
            return
        if g.state == G_STUCK:
            m._decide("ip-request from %s for %s: cannot release it, its stop failed" % (m.peer, g.key), ERROR)
            return
        reason = "%s asks for %s (ip-request): releasing it" % (m.peer, g.key)
        m._unclaim((), reason, groups=[g])
        if g.state in _RUNNING_STATES:
            self.reply_due.add(g.key)  # answered once the stop is done
            m._decide(reason)
            return
        m._send(words.ip_request_resp(m.peer, g.key, weown=False))

    def on_ip_request_resp(self, fields):
        # type: (Dict[str, Any]) -> None
        m = self._m
        dest = fields.get("dest")
        if not isinstance(dest, str) or dest.lower() != m.me:
            return
        key = fields.get("ipaddr")
        g = m._groups.get(key) if isinstance(key, str) else None
        if g is None:
            m._log(WARNING, "ip-request-resp from %s for unknown group %r" % (m.peer, key))
            return
        if g.key not in self.requested:
            m._log(INFO, "ip-request-resp from %s for %s, which I did not ask for: ignored" % (m.peer, g.key))
            return
        self.requested.discard(g.key)
        weown = fields.get("weown") == "yes"
        reason = "%s %s %s (ip-request-resp weown=%s): taking it" % (
            m.peer, "released" if weown else "does not hold", g.key, "yes" if weown else "no")
        m._claim((), PROBE_NONE if weown else PROBE_CLAIM, reason, groups=[g])
        self.taken.add(g.key)
        m._decide(reason)
