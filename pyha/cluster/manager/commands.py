"""Operator commands: `pyha standby`, `pyha takeover`, graceful shutdown.

Each answers with exactly one `CommandResult`.

A mixin of `Manager` (core.py says why); it holds no state of its own.
Pure, like the whole package: see `pyha.cluster.manager` for what it must never do.
"""

from pyha.cluster.events import INFO, WARNING
from pyha.cluster.manager.records import _Wait
from pyha.cluster.manager.states import (
    P_RUNNING, P_STOPPING, PEER_UP, PROBE_CLAIM, _RUNNING_STATES, SB_NONE, W_SHUTDOWN,
)
from pyha.cluster.manager_events import CMD_SHUTDOWN, CMD_STANDBY, CMD_TAKEOVER, WHICH_WORDS, CommandResult
from pyha.wire import vocabulary as words


class CommandsMixin(object):
    """The operator's commands."""

    # operator commands

    def _on_standby_cmd(self, ev, now):
        which = ev.which
        if which not in WHICH_WORDS:
            self._out.append(CommandResult(CMD_STANDBY, which, False,
                                           "unknown set %r: use all, local, foreign or failback" % (which,)))
            return
        word = words.RSC_FOREIGN if which == words.RSC_FAILBACK else which
        ok, why = self._start_standby(word, "operator asked for standby [%s]" % which, "operator")
        if not ok:
            self._decide("standby [%s] refused: %s" % (which, why), WARNING)
        self._out.append(CommandResult(CMD_STANDBY, which, ok, why))

    def _on_takeover_cmd(self, ev, now):
        which = ev.which
        if which not in WHICH_WORDS:
            self._out.append(CommandResult(CMD_TAKEOVER, which, False,
                                           "unknown set %r: use all, local or foreign" % (which,)))
            return
        if not self.config.nice_failback:
            why = "Standby mode only implemented when nice_failback on (auto_failback is legacy)"
            self._out.append(CommandResult(CMD_TAKEOVER, which, False, why))
            return
        if self._phase != P_RUNNING:
            why = "cannot take over: resources are %s" % self._phase
            self._out.append(CommandResult(CMD_TAKEOVER, which, False, why))
            return
        if self._fence.blocking:
            why = "cannot take over: %s; %s" % (self._fence.waiting_for(), self._fence.reason)
            self._out.append(CommandResult(CMD_TAKEOVER, which, False, why))
            return
        cats = self._rsc.cats(which, self.me)
        if self._peer.state == PEER_UP and self._sb.state != SB_NONE:
            why = "cannot take over: a standby exchange is in progress (%s)" % self._sb.state
            self._out.append(CommandResult(CMD_TAKEOVER, which, False, why))
            return
        self._health.forgive(self._of(cats))
        for g in self._of(cats):
            if g.failed is not None:
                self._log(INFO, "operator takeover clears the start failure of %s (%s)" % (g.key, g.failed["error"]))
                g.failed = None
                g.handover_pending = False
        if self._peer.state == PEER_UP:
            self._send(words.hb_takeover(which))
            why = "asked %s to hand over [%s] groups %s (hb_takeover)" % (
                self.peer, which, self._fmt(self._keys(cats)))
            self._decide(why)
            self._out.append(CommandResult(CMD_TAKEOVER, which, True, why))
            return
        why = "operator takeover of [%s] groups %s while %s is %s" % (
            which, self._fmt(self._keys(cats)), self.peer, self._peer.state)
        self._claim(cats, PROBE_CLAIM, why)
        self._decide(why)
        self._out.append(CommandResult(CMD_TAKEOVER, which, True, why))

    def _on_shutdown(self, ev, now):
        if self._phase == P_STOPPING:
            self._out.append(CommandResult(CMD_SHUTDOWN, None, False, "already stopping"))
            return
        reason = "shutting down (%s): releasing all groups %s before saying shutdone" % (
            ev.reason, self._fmt(self._keys(groups=[g for g in self._groups.values() if g.state in _RUNNING_STATES])))
        if self._sb.state != SB_NONE:
            self._log(INFO, "Cancelling pending standby operation")
            self._sb_to(SB_NONE, "shutting down")
        self._phase_to(P_STOPPING, reason)
        self._unclaim({self.me, self.peer}, reason)
        for g in self._groups.values():
            g.handover_pending = False
        self._legacy.stop()
        self._waits = [_Wait(W_SHUTDOWN, self._keys(groups=self._groups.values()))]
        self._report(stable=False, info="shutdown", announce=True)
        self._decide(reason)
        self._out.append(CommandResult(CMD_SHUTDOWN, None, True, reason))
