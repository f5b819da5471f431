"""Heartbeat's words and pyha's own peer words: rsc_hold categories, ipfail, pyha-ping,
pyha-groups, pyha-links, stonith notes.

* pyha extensions (a genuine node accepts and ignores unknown types, spec 1.7):
  `t=pyha-ping num_ping=N` says how many ping nodes we reach; without the peer's count
  we never hand over on ping grounds (no evidence the peer is better off).
  `t=pyha-groups running=<keys>` follows every `resource` report: rsc_hold is per
  category ("local" = some or all of my groups), this says which groups really run, so a
  pyha peer knows exactly what it would take over from us.
  `t=pyha-links down=<keys>` says for which groups an interface carrying their service
  address has no carrier here (sent at comm-up and on every change).
* ipfail's peer (spec 5.10): a genuine node's ipfail talks to the ipfail of the other
  node.  With ping nodes we play that part: we sign on (`hbapi-clstat st=join
  from_id=ipfail`), answer its `num_ping_nodes` with `you_are_dead` when it reaches
  fewer ping nodes than we do (its ipfail then gives its groups up with the standby
  exchange) or `abort_giveup`, send our own count as `num_ping_nodes` to a peer not
  known to be pyha, and take its `you_are_dead` as its word that we reach fewer.
* What we report is what may run here (acquiring, running, releasing, stuck), plus
  categories without any group (heartbeat reports those too, A.3); a claim we could not
  act on (address answered, start failed) is not reported, so that it never makes the
  peer release its copy under the conflict rule.

`RscWords`, the translation of rsc_hold words, is a pure collaborator; the rest is a
mixin of `Manager` (core.py says why): ipfail and pyha's words read and change the peer
record and the arbitration state the rules ladder decides on.  It holds no state of its own.
Pure, like the whole package: see `pyha.cluster.manager` for what it must never do.
"""

from typing import Any, Dict, Iterable, List, Optional, Set

from pyha.cluster.events import WARNING, parse_dec
from pyha.cluster.manager.records import _Group
from pyha.cluster.manager.states import (
    G_ACQUIRING, G_HELD, G_PROBING, G_RELEASING, G_STUCK, GROUPS_MSG, IPFAIL, LINKS_MSG, MAX_PING, PEER_UP,
    _RUNNING_STATES,
)
from pyha.wire import vocabulary as words


class RscWords(object):
    """rsc_hold words <-> the categories (preferred nodes) they mean, in a two-node cluster.

    A collaborator the Manager owns (`Manager._rsc`): pure, it knows only the two names.
    A word is always said from its sender's point of view ("local" = the sender's own)."""

    __slots__ = ("me", "peer")

    def __init__(self, me, peer):
        # type: (str, str) -> None
        self.me = me
        self.peer = peer

    def _other(self, node):
        # type: (str) -> str
        return self.peer if node == self.me else self.me

    def cats(self, word, sender):
        # type: (str, str) -> Set[str]
        """rsc_hold as `sender` says it -> the set of preferred nodes whose groups it means."""
        if word == words.RSC_LOCAL or word == words.RSC_FAILBACK:
            return {sender}
        if word == words.RSC_FOREIGN:
            return {self._other(sender)}
        if word == words.RSC_ALL:
            return {self.me, self.peer}
        return set()

    def word(self, cats, sender=None):
        # type: (Iterable[str], Optional[str]) -> str
        """The categories `cats` as `sender` (default: this node) says them."""
        sender = sender or self.me
        cats = set(cats)
        local = sender in cats
        foreign = self._other(sender) in cats
        if local and foreign:
            return words.RSC_ALL
        if local:
            return words.RSC_LOCAL
        if foreign:
            return words.RSC_FOREIGN
        return words.RSC_NONE


class CompatMixin(object):
    """Heartbeat's and pyha's peer words, read and written."""

    def _reported_cats(self, announce=False):
        # type: (bool) -> Set[str]
        """What we say we hold.  Never omits a group that might still run here, except in
        heartbeat's own announcements of a release about to happen (standby, shutdown),
        which say isstable=0; a stuck group is never omitted."""
        # A claimed category counts only when it has no groups at all (heartbeat reports
        # such categories too, Appendix A.3) or when one of its groups is being started
        # or runs: a claim we could not act on (address answered, start failed) must not
        # make the peer release its copy under the conflict rule.
        cats = set(c for c in self._cats if not self._keys({c}))
        for g in self._groups.values():
            if g.state == G_STUCK:
                cats.add(g.node)
            elif g.state in (G_ACQUIRING, G_HELD, G_RELEASING) and (g.want or not announce):
                cats.add(g.node)
            elif g.want and g.node in self._cats and g.state == G_PROBING and self._in_flight(g):
                cats.add(g.node)
        return cats

    def _running_keys(self, announce=False):
        # type: (bool) -> List[str]
        """The groups that may run here (the per-group version of _reported_cats)."""
        out = []
        for g in self._groups.values():
            if g.state == G_STUCK or (g.state in (G_ACQUIRING, G_HELD, G_RELEASING) and (g.want or not announce)):
                out.append(g.key)
            elif g.want and g.node in self._cats and g.state == G_PROBING and self._in_flight(g):
                out.append(g.key)
        return out

    def _holding_word(self):
        # type: () -> str
        return self._rsc.word(self._reported_cats())

    def _send_ping_count(self):
        if not self.config.ping_targets or not self.config.nice_failback:
            return
        self._send(words.pyha_ping(self._my_ping()))
        if not self._peer.is_pyha and self._peer.state == PEER_UP:
            self._send_ipfail(words.IPFAIL_NUM_PING, words.num_ping(self._my_ping()))

    def _send_links(self):
        if not self.config.nice_failback or not any(g.vip for g in self._groups.values()):
            return
        self._send(words.pyha_links(self._arb.links_down))

    def _send_notes(self):
        """Our extensions' state, for a peer that (re)starts or comes back."""
        self._send_ping_count()
        self._send_links()
        if self.config.ping_targets and self.config.nice_failback:
            self._send(words.ipfail_signon())

    def _send_ipfail(self, t, extra=()):
        self._send(words.ipfail_message(t, self.peer, extra))

    def _send_stonith(self, result):
        self._send(words.stonith(self.peer, result))

    def _peer_group_word(self, fields, field, msg, current, seq):
        # type: (Dict[str, Any], str, str, Any, Optional[int]) -> Optional[Set[str]]
        """The group keys in a pyha peer's `msg` (field `field`), or None when the message is
        malformed (logged) or older than the (keys, seq) we hold already (`current`)."""
        value = fields.get(field)
        if not isinstance(value, str):
            self._log(WARNING, "%s from %s without %s field ignored" % (msg, self.peer, field))
            return None
        if seq is not None and current is not None and current[1] is not None and seq < current[1]:
            return None  # an older one, overtaken
        return set(k for k in value.split() if k in self._groups)

    def _on_peer_groups(self, fields, seq):
        keys = self._peer_group_word(fields, "running", GROUPS_MSG, self._peer.running, seq)
        if keys is not None:
            self._peer.running = (keys, seq)

    def _on_peer_links(self, fields, seq):
        peer = self._peer
        keys = self._peer_group_word(fields, "down", LINKS_MSG, peer.links_down, seq)
        if keys is None:
            return
        before = peer.links_down[0] if peer.links_down is not None else set()
        peer.links_down = (keys, seq)
        if keys - before:
            self._decide("%s has no carrier for %s" % (self.peer, self._fmt(sorted(keys - before))), WARNING)
        back = before - keys
        if back:
            self._decide("%s has its carrier back for %s" % (self.peer, self._fmt(sorted(back))))
            if self.config.auto_failback == "on" and any(
                    g.key in back and g.node == self.peer and g.state in _RUNNING_STATES
                    for g in self._groups.values()):
                self._failback_needed = True

    def _peer_link_down(self, groups):
        # type: (Iterable[_Group]) -> List[str]
        """Keys of `groups` the peer said it could not serve (no carrier there)."""
        down = self._peer.links_down
        if down is None:
            return []
        return [g.key for g in groups if g.key in down[0]]

    def _peer_runs(self, g):
        # type: (_Group) -> Optional[bool]
        """Does the peer run `g`, as far as it told us per group (None: no such word; a genuine
        peer, or nothing since its last category report)."""
        peer = self._peer
        if peer.running is None:
            return None
        keys, seq = peer.running
        if seq is not None and peer.report_seq is not None and seq < peer.report_seq:
            return None  # older than its last rsc_hold
        return g.key in keys

    def _on_ipfail(self, t, fields, now):
        """The genuine peer's ipfail (spec 5.10); we answer as the ipfail of this node."""
        if not self.config.ping_targets or not self.config.nice_failback:
            return  # no ping nodes here: no ipfail to play
        if fields.get("to_id") not in (None, IPFAIL):
            return
        if t == words.IPFAIL_NUM_PING:
            if not self._on_peer_ping(fields, now):
                return
            theirs, mine = self._peer.ping, self._my_ping()
            if theirs < mine:
                self._send_ipfail("you_are_dead")
                self._decide("ipfail on %s reaches %d ping nodes, I reach %d: told it you_are_dead" % (
                    self.peer, theirs, mine))
            else:
                self._send_ipfail("abort_giveup")
        elif t == "you_are_dead":
            mine = self._my_ping()
            peer = self._peer
            if peer.ping is None or peer.ping <= mine:
                peer.ping = mine + 1  # its verdict: it reaches more than we do
                peer.ping_inferred = True
            self._decide("ipfail on %s says it reaches more ping nodes than my %d" % (self.peer, mine), WARNING)

    def _on_peer_ping(self, fields, now):
        # type: (Dict[str, Any], float) -> bool
        n = parse_dec(fields.get("num_ping"))
        if n is None or n > MAX_PING:
            self._log(WARNING, "bad num_ping %r from %s ignored" % (fields.get("num_ping"), self.peer))
            return False
        before = self._peer.ping
        self._peer.ping = n
        self._peer.ping_inferred = False
        if before == n:
            return True
        mine = self._my_ping()
        self._decide("%s reaches %d ping nodes (I reach %d)" % (self.peer, n, mine))
        if (self.config.auto_failback == "on" and before is not None and before < mine <= n):
            self._failback_needed = True
        return True
