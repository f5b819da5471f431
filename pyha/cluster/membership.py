"""Who is alive: nodes, links and ping nodes, on ha.cf's timings (spec 1.7-1.12, 5.1).

`Membership` is a pure state machine.  The daemon feeds it what happened (`heard()` a
decoded message, `ping_reply()`, `tick()` as time passes, all with a monotonic `now`
in seconds) and gets back a list of actions: messages to send, stored messages to
retransmit, log lines, and notifications (`NodeUp`, `NodeDead`, `LinkDead`, ...), each
carrying the sentence that explains it.  `next_deadline()` says when to call `tick()`.

What it implements: node and link liveness from silence, initdead at start-up, the
peer's advertised `dt` as its dead time, healed partitions, answering `reqnodes`, graceful
`shutdone`, drop counters, and the composition of its parts, each with its own state:

* `membership_config`: `MembershipConfig`, derived timings, counter names, units;
* `membership_local.OurHeartbeat`: our status heartbeat (`st`, `dt`, `protocol`);
* `membership_peers.Peer`: one peer, its links and their checked transitions;
* `membership_generations.Generations`: one peer's generation numbers (replay, restart,
  a bogus generation pending or undone);
* `membership_rexmit.Reliability`: our sequence numbers, acks and retransmissions
  (per-peer sequence tracking is `seqtrack`);
* `membership_pings.Pings`: ping nodes and ping groups.

What it must never do: open sockets, read any clock (time only comes in as `now`),
draw randomness from anywhere but the injected generator, start processes or threads,
import a third-party library, or raise on bad input (bad input is dropped and counted).
Decisions about resources belong to the manager, not here: a healed partition is
reported, not acted upon (pyha does not copy heartbeat's self-restart).
"""

import math
import random
from collections import OrderedDict
from typing import Any, Callable, Dict, List, Optional

from pyha.cluster.events import (
    DEBUG, ERROR, INFO, WARNING, LOCAL_ACTIVE, LOCAL_UP, NODE_DEAD, NODE_NEVER, NODE_UP,
    PING_DEAD, PING_NEVER, PING_UP,
    CommUp, Deliver, Heard, Log, PingReply, Send, Tick, parse_hex,
)
from pyha.cluster.membership_config import (
    COUNTERS, MAX_DT_MS, MembershipConfig, default_initdead_ms, field, is_int, ms, since,
)
from pyha.cluster.membership_generations import AGAIN, RESTARTED
from pyha.cluster.membership_local import PROTOCOL_VERSION, OurHeartbeat
from pyha.cluster.membership_peers import IllegalTransition, Peer
from pyha.cluster.membership_pings import Pings
from pyha.cluster.membership_rexmit import Reliability
from pyha.cluster.seqtrack import DUPLICATE, GAP, LATE, OLD, RESET
from pyha.wire import vocabulary as words

# Importers name these as `pyha.cluster.membership.X`; they live in the modules above.
__all__ = ("Membership", "MembershipConfig", "IllegalTransition", "COUNTERS", "PROTOCOL_VERSION",
           "default_initdead_ms")

_MAX_BAD_NAMES_LOGGED = 32


class Membership(object):
    """The membership state machine for the local node (see the module docstring)."""

    def __init__(self, config, rng=None):
        # type: (MembershipConfig, Any) -> None
        self.config = config
        if rng is None:
            rng = random.Random()
        if hasattr(rng, "randint"):
            self._randint = rng.randint  # type: Callable[[int, int], int]
        elif callable(rng):
            self._randint = rng
        else:
            raise TypeError("rng must be a random.Random or a function (a, b) -> int")
        self._peers = OrderedDict()  # type: Dict[str, Peer]
        for name in config.peers:
            self._peers[name] = Peer(name, config.media, self._rand(0, 9), self._count)
        self._pings = Pings(config)
        self._sent = Reliability(config, self._count, self._rand)
        self._local = OurHeartbeat(config, self._sent.send)
        self.counters = OrderedDict((name, 0) for name in COUNTERS)  # type: Dict[str, int]
        self._bad_names = set()  # type: set
        self._local_links = OrderedDict((m, None) for m in config.media)  # type: Dict[str, Optional[float]]
        self._now = None  # type: Optional[float]
        self._comm_up = False
        self._comm_reason = "not started"

    # --- small helpers ----------------------------------------------------------------

    def _rand(self, a, b):
        # type: (int, int) -> int
        value = self._randint(a, b)
        # A misbehaving injected function must not break the timing rules.
        return min(max(int(value), a), b)

    def _count(self, name, n=1):
        self.counters[name] += n

    def _clock(self, now):
        # type: (Any) -> float
        """Accept `now`, never going back in time (a backwards step is clamped)."""
        try:
            now = float(now)
        except (TypeError, ValueError):
            now = float("nan")
        if math.isnan(now) or math.isinf(now):
            self._count("clock_backwards")
            return self._now if self._now is not None else 0.0
        if self._now is not None and now < self._now:
            self._count("clock_backwards")
            return self._now
        self._now = now
        return now

    def _dead_ms(self, peer):
        # type: (Peer) -> int
        if not self._comm_up:
            return self.config.initdead_ms
        return peer.cur.dt_ms if peer.cur.dt_ms is not None else self.config.deadtime_ms

    def _ping_dead_ms(self):
        # type: () -> int
        return self.config.deadping_ms if self._comm_up else self.config.initdead_ms

    # --- outgoing messages -----------------------------------------------------------

    def send(self, fields, dest=None):
        # type: (Dict[str, str], Optional[str]) -> Send
        """Turn a message of ours into a `Send`, numbering it unless it is an NS_ type.

        Every sequenced message we send must come through here (the manager's too):
        this machine owns our sequence counter and answers retransmission requests.
        """
        return self._sent.send(fields, dest)

    def record_sent(self, seq, payload):
        # type: (int, Any) -> None
        """The shell encoded our message `seq` as `payload`: keep it for retransmission."""
        self._sent.history.record(seq, payload)

    # --- inputs ------------------------------------------------------------------------

    def handle(self, event):
        # type: (Any) -> List[Any]
        """Dispatch any input value (`Heard`, `PingReply`, `Tick`)."""
        if isinstance(event, Heard):
            return self.heard(event)
        if isinstance(event, PingReply):
            return self.ping_reply(event)
        if isinstance(event, Tick):
            return self.tick(event.now)
        raise TypeError("not a membership event: %r" % (event,))

    def start(self, now):
        # type: (float) -> List[Any]
        """Begin: status `init` then `up` right away (heartbeat's start burst)."""
        out = []  # type: List[Any]
        if self._local.started_at is not None:
            return out
        now = self._clock(now)
        out.append(Log(INFO, "Membership of %s starting: peers [%s], media [%s], ping [%s]" % (
            self.config.local, " ".join(self.config.peers), " ".join(self.config.media),
            " ".join(self._pings.by_name))))
        self._local.start(now, out)
        self._local.set_status(now, LOCAL_UP, "started", out)
        self._check_comm_up(now, out)
        return out

    def tick(self, now):
        # type: (float) -> List[Any]
        """Time passed: timeouts, retransmission requests, our keepalive."""
        out = self.start(now)
        now = self._clock(now)
        self._expire(now, out)
        self._sent.fire(now, self._peers.values(), out)
        self._local.tick(now, out)
        return out

    def next_deadline(self, now):
        # type: (float) -> float
        """When `tick()` should next be called (monotonic seconds, never before `now`)."""
        if self._local.started_at is None:
            return now
        cands = self._local.deadlines()
        for peer in self._peers.values():
            cands += peer.deadlines(self._dead_ms(peer), self.config.warntime_ms, self._local.started_at)
        cands += self._pings.deadlines(self._ping_dead_ms(), self._local.started_at)
        return max(now, min(cands))

    def ping_reply(self, event):
        # type: (PingReply) -> List[Any]
        out = self.start(event.now)
        now = self._clock(event.now)
        self._expire(now, out)
        if not self._pings.reply(now, event.target, out):
            self._count("unknown_ping")
        self._check_comm_up(now, out)
        return out

    def heard(self, h):
        # type: (Heard) -> List[Any]
        """A decoded, authenticated message arrived."""
        out = self.start(h.now)
        now = self._clock(h.now)
        # Timeouts first, as a tick at this instant would have found them.
        self._expire(now, out)
        self._on_heard(now, h, out)
        self._check_comm_up(now, out)
        return out

    # --- message processing ------------------------------------------------------------

    def _on_heard(self, now, h, out):
        # type: (float, Heard, List[Any]) -> None
        fields = h.fields if isinstance(h.fields, dict) else {}
        src, t = h.src, h.t
        if not isinstance(src, str) or not src or not isinstance(t, str) or not t:
            self._count("malformed")
            out.append(Log(DEBUG, "dropped message without src or t"))
            return
        src = src.lower()
        medium = h.medium if isinstance(h.medium, str) else None
        if src == self.config.local:
            self._count("loopback")
            if medium in self._local_links:
                self._local_links[medium] = now
            return
        if t == "NS_st" and self._pings.matching(h.src):
            self._pings.reply(now, h.src, out)
            return
        peer = self._peers.get(src)
        if peer is None:
            self._count("unknown_node")
            if src not in self._bad_names and len(self._bad_names) < _MAX_BAD_NAMES_LOGGED:
                self._bad_names.add(src)
                out.append(Log(ERROR, "process_status_message: bad node [%s] in message" % src))
            return
        if t.startswith("NS_"):
            self._on_ns(now, peer, medium, t, fields, out)
        else:
            self._on_sequenced(now, peer, medium, t, h, fields, out)

    def _touch_link(self, now, peer, medium, out):
        # type: (float, Peer, Optional[str], List[Any]) -> None
        if not peer.touch(now, medium, out):
            self._count("unknown_medium")

    def _on_sequenced(self, now, peer, medium, t, h, fields, out):
        # type: (float, Peer, Optional[str], str, Heard, Dict[str, Any], List[Any]) -> None
        seq, hg, ts = h.seq, h.hg, h.ts
        if not is_int(seq) or seq <= 0:
            self._count("bad_seq")
            out.append(Log(ERROR, "should_drop_message: bad sequence number from %s" % peer.name))
            return
        if not is_int(hg) or hg < 0:
            self._count("bad_hg")
            out.append(Log(ERROR, "should_drop_message: bad generation number from %s" % peer.name))
            return
        if not is_int(ts) or ts <= 0:
            self._count("bad_ts")
            out.append(Log(ERROR, "should_drop_message: bad timestamp from %s" % peer.name))
            return
        gen = peer.cur.generation
        if gen is not None and hg != gen:
            self._other_generation(now, peer, h, out)
            return
        heal = False
        if gen is None:
            peer.cur.generation = hg  # first contact: nothing to compare with (as heartbeat)
        elif t == words.T_STATUS and peer.state == NODE_DEAD and not peer.gens.restarted:
            if seq <= peer.cur.status_seq:
                self._count("stale_status")
                return
            heal = True
        self._accept(now, peer, medium, t, h, fields, heal, False, out)

    def _accept(self, now, peer, medium, t, h, fields, heal, restart, out):
        # type: (float, Peer, Optional[str], str, Heard, Dict[str, Any], bool, bool, List[Any]) -> None
        """A sequenced packet of the peer's current generation."""
        seq = h.seq
        is_status = t == words.T_STATUS
        dest = field(fields, "dest")
        to_us = dest is None or dest.lower() == self.config.local
        prev_last = peer.cur.track.last_seq
        receipt = peer.cur.track.receive(seq)
        # Any authentic packet proves its link works, even a copy we already have (heartbeat
        # ignores older copies; a second link slower than the message rate would look dead).
        self._touch_link(now, peer, medium, out)
        verdict = receipt.verdict
        if verdict == DUPLICATE:
            self._count("duplicate")
            return
        if verdict == OLD:
            self._count("old_duplicate")
            return
        peer.cur.last = now
        if verdict in (GAP, RESET):
            nlost = seq - prev_last - 1
            out.append(Log(WARNING, "%d lost packet(s) for [%s] [%d:%d]" % (nlost, peer.name, prev_last, seq)))
            if verdict == RESET:
                self._count("seq_resets")
                out.append(Log(ERROR, "lost a lot of packets!"))
            else:
                self._count("lost_packets", len(receipt.lost))
                self._sent.missing(now, peer, receipt.lost)
        elif verdict == LATE:
            self._count("late_packets")
            if receipt.gap_closed:
                out.append(Log(INFO, "No pkts missing from %s!" % peer.name))
        if receipt.ack is not None:
            self._sent.ack(peer, receipt.ack, out)
        if not to_us:
            self._count("not_for_us")
            return
        if is_status:
            self._on_status(now, peer, medium, seq, fields, heal, restart, out)
        elif peer.state == NODE_DEAD and not restart and not peer.gens.restarted:
            # Sent before it died and read after we declared it dead (queued on a slow
            # link, or behind our own stall): its word on what it holds is older than our
            # takeover, and acting on it would hand its groups back to a dead node.  It is
            # alive again only when a newer status heals it; then both sides report anew.
            self._count("from_dead_node")
            out.append(Log(INFO, "ignored %s from %s: declared dead, and no newer status since" % (t, peer.name)))
        elif t == words.T_SHUTDONE:
            peer.leaves(out)
        elif t == words.T_REQNODES:
            out.append(Log(DEBUG, "answering reqnodes from %s" % peer.name))
            out.append(self.send(OrderedDict(words.repnodes(peer.name, self.config.nodes))))
        elif t == words.T_REPNODES:
            # Our node list is ha.cf's; a genuine peer's view is not imported (spec 1.11).
            out.append(Log(DEBUG, "repnodes from %s: %r" % (peer.name, field(fields, "nodelist"))))
        else:
            out.append(Deliver(peer.name, t, dict(fields), medium, seq))

    def _other_generation(self, now, peer, h, out):
        # type: (float, Peer, Heard, List[Any]) -> None
        """A packet whose generation is not the current one (`Generations.other` decides)."""
        what, packets = peer.gens.other(now, h, self._dead_ms(peer) / 1000.0, out)
        for pkt in packets:
            fields = pkt.fields if isinstance(pkt.fields, dict) else {}
            medium = pkt.medium if isinstance(pkt.medium, str) else None
            if what == RESTARTED:
                self._accept(now, peer, medium, pkt.t, pkt, fields, False, True, out)
            elif what == AGAIN:
                self._on_sequenced(now, peer, medium, pkt.t, pkt, fields, out)
            else:  # PREVIOUS: its link works, and a newer status keeps the node alive
                self._touch_link(now, peer, medium, out)
                if pkt.t == words.T_STATUS and peer.state == NODE_UP and peer.gens.previous_status(pkt.seq):
                    peer.last_heard = now
                    peer.warned = False

    def _on_status(self, now, peer, medium, seq, fields, heal, restart, out):
        # type: (float, Peer, Optional[str], int, Dict[str, Any], bool, bool, List[Any]) -> None
        st = field(fields, "st")
        if st is None or not st:
            self._count("bad_status")
            out.append(Log(ERROR, "HBDoMsg_T_STATUS: status update without st field from %s" % peer.name))
            return
        if seq <= peer.cur.status_seq:
            # A late copy of an older status (e.g. a retransmission): no news.
            self._count("stale_status")
            return
        if self._sent.flow_control and field(fields, "protocol") is None:
            self._sent.flow_control = False
            out.append(Log(INFO, "flow control disabled due to different version heartbeat"))
        if "dt" in fields:
            dt = parse_hex(field(fields, "dt"))
            if dt is None or dt <= 0 or dt > MAX_DT_MS:
                self._count("bad_field")
                out.append(Log(WARNING, "ignoring bad dt %r from %s" % (fields.get("dt"), peer.name)))
            else:
                peer.cur.dt_ms = dt
        if peer.state == NODE_UP and peer.last_heard is not None:
            interval = ms(now - peer.last_heard)
            if interval > self.config.warntime_ms:
                out.append(Log(WARNING, "Late heartbeat: Node %s: interval %d ms" % (peer.name, interval)))
        peer.status_heard(now, seq, st, medium, heal, restart, out)

    def _on_ns(self, now, peer, medium, t, fields, out):
        # type: (float, Peer, Optional[str], str, Dict[str, Any], List[Any]) -> None
        dest = field(fields, "dest")
        to_us = dest is None or dest.lower() == self.config.local
        if t == words.T_NS_NAK_REXMIT:
            # Always consumed: whoever asked, that seq will never come (spec 1.10).
            self._touch_link(now, peer, medium, out)
            self._sent.on_nak(peer, fields, to_us, out)
        elif not to_us:
            self._count("ns_not_for_us")
        else:
            self._touch_link(now, peer, medium, out)
            if t == words.T_NS_ACKMSG:
                self._sent.on_ack(peer, fields)
            elif t == words.T_NS_REXMIT:
                self._sent.on_rexmit(now, peer, fields, out)
            else:
                self._count("ns_ignored")

    # --- time ----------------------------------------------------------------------------

    def _expire(self, now, out):
        # type: (float, List[Any]) -> None
        """Declare dead what has been silent too long, as of `now`."""
        if self._local.started_at is None:
            return
        for peer in self._peers.values():
            peer.expire(now, self._dead_ms(peer), self.config.warntime_ms, self._local.started_at, out)
        self._pings.expire(now, self._ping_dead_ms(), self._local.started_at, out)
        self._check_comm_up(now, out)

    def _check_comm_up(self, now, out):
        # type: (float, List[Any]) -> None
        if self._comm_up or self._local.started_at is None:
            return
        if any(p.state == NODE_NEVER for p in self._peers.values()):
            return
        if self._pings.names_in(PING_NEVER):
            return
        heard = [p.name for p in self._peers.values() if p.state != NODE_DEAD]
        dead = [p.name for p in self._peers.values() if p.state == NODE_DEAD]
        heard += self._pings.names_in(PING_UP)
        dead += self._pings.names_in(PING_DEAD)
        reason = "communication is up: heard from [%s], declared dead [%s]" % (
            " ".join(heard), " ".join(dead))
        self._comm_up = True
        self._comm_reason = reason
        out.append(Log(INFO, "Comm_now_up(): updating status to active"))
        out.append(CommUp(reason))
        self._local.set_status(now, LOCAL_ACTIVE, reason, out)

    # --- reading the state -------------------------------------------------------------------

    @property
    def now(self):
        # type: () -> Optional[float]
        """The latest `now` this machine was given (None before start)."""
        return self._now

    @property
    def comm_up(self):
        # type: () -> bool
        return self._comm_up

    @property
    def local_status(self):
        # type: () -> str
        return self._local.status

    @property
    def flow_control(self):
        # type: () -> bool
        return self._sent.flow_control

    def node_state(self, name):
        # type: (str) -> str
        return self._peers[name.lower()].state

    def node_status(self, name):
        # type: (str) -> Optional[str]
        return self._peers[name.lower()].status

    def link_state(self, name, medium):
        # type: (str, str) -> str
        return self._peers[name.lower()].links[medium].state

    def ping_state(self, name):
        # type: (str) -> str
        return self._pings.by_name[name].state

    def nodes_in(self, state):
        # type: (str) -> List[str]
        return [p.name for p in self._peers.values() if p.state == state]

    def snapshot(self, now=None):
        # type: (Optional[float]) -> Dict[str, Any]
        """A JSON-able picture for `pyha status` (times are this machine's monotonic seconds)."""
        def silence(last):
            if now is None or self._local.started_at is None:
                return None
            return max(0, ms(now - since(last, self._local.started_at)))

        hiseq = self._sent.history.hiseq
        nodes = OrderedDict((p.name, p.view(silence, self._dead_ms(p), hiseq)) for p in self._peers.values())
        pings, groups = self._pings.views(silence)
        return {
            "local": {
                "node": self.config.local,
                "status": self._local.status,
                "started_at": self._local.started_at,
                "comm_up": self._comm_up,
                "comm_reason": self._comm_reason,
                "flow_control": self._sent.flow_control,
                "advertised_dt_ms": self._local.advertised_dt_ms(),
                "sent": self._sent.history.snapshot(),
                "links": OrderedDict((m, {"last_heard": t}) for m, t in self._local_links.items()),
            },
            "config": self.config.to_dict(),
            "nodes": nodes,
            "ping_nodes": pings,
            "ping_groups": groups,
            "counters": dict(self.counters),
        }
