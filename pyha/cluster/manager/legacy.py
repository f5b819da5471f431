"""auto_failback legacy: heartbeat's `ip-request` / `ip-request-resp` hand-over.

* auto_failback legacy: no starting/resource; after comm-up each node asks for its own
  groups with `ip-request` (the owner releases them and answers `ip-request-resp
  weown=yes`), or, when the peer is not active, sends `ip-request-resp` to itself and
  takes them.  Standby and takeover are refused, like heartbeat.

The legacy start-up itself is in startup.py (`_on_comm_up`).

A mixin of `Manager` (core.py says why); it holds no state of its own.
Pure, like the whole package: see `pyha.cluster.manager` for what it must never do.
"""

from pyha.cluster.events import ERROR, INFO, WARNING
from pyha.cluster.manager.states import G_STUCK, PROBE_CLAIM, PROBE_NONE, _RUNNING_STATES
from pyha.wire import vocabulary as words


class LegacyMixin(object):
    """auto_failback legacy's ip-request exchange."""

    def _on_ip_request(self, fields, now):
        key = fields.get("ipaddr")
        g = self._groups.get(key) if isinstance(key, str) else None
        if g is None:
            self._log(WARNING, "ip-request from %s for unknown group %r" % (self.peer, key))
            return
        if g.state == G_STUCK:
            self._decide("ip-request from %s for %s: cannot release it, its stop failed" % (self.peer, g.key),
                         ERROR)
            return
        reason = "%s asks for %s (ip-request): releasing it" % (self.peer, g.key)
        self._unclaim((), reason, groups=[g])
        if g.state in _RUNNING_STATES:
            g.legacy_reply = True  # answered once the stop is done
            self._decide(reason)
            return
        self._send(words.ip_request_resp(self.peer, g.key, weown=False))

    def _on_ip_request_resp(self, fields, now):
        dest = fields.get("dest")
        if not isinstance(dest, str) or dest.lower() != self.me:
            return
        key = fields.get("ipaddr")
        g = self._groups.get(key) if isinstance(key, str) else None
        if g is None:
            self._log(WARNING, "ip-request-resp from %s for unknown group %r" % (self.peer, key))
            return
        if not g.legacy_requested:
            self._log(INFO, "ip-request-resp from %s for %s, which I did not ask for: ignored" % (self.peer, g.key))
            return
        g.legacy_requested = False
        weown = fields.get("weown") == "yes"
        reason = "%s %s %s (ip-request-resp weown=%s): taking it" % (
            self.peer, "released" if weown else "does not hold", g.key, "yes" if weown else "no")
        self._claim((), PROBE_NONE if weown else PROBE_CLAIM, reason, groups=[g])
        self._initial.legacy_keys.add(g.key)
        self._decide(reason)

    def _legacy_started(self, g):
        """A start ran (well or not) for a group taken through ip-request-resp: heartbeat's
        ip-request-resp child has exited, our own groups are settled (initial.py)."""
        if g.key in self._initial.legacy_keys:
            self._initial.legacy_keys.discard(g.key)
            self._initial_note("ip-request-resp", local=True)
