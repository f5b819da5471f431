"""Our side of heartbeat's reliable delivery (spec 1.9, 1.10): our sequence numbers and the
`NS_` messages around them.

`Reliability` numbers what we send and keeps it for retransmission (`SendHistory`), sends
acknowledgements while flow control is on, takes a peer's acks, NAKs and retransmission
requests, and asks peers that are up to retransmit what we miss of theirs (the missing
seqs are tracked per peer incarnation in `SeqTrack`).

What it must never do: open sockets or encode packets (the shell does, then calls
`record()`), read a clock (time comes in as `now`), draw randomness but through the
injected `rand`, import a third-party library, or raise on a peer's bad field (counted).
"""

from collections import OrderedDict
from typing import Any, Callable, Dict, Iterable, List, Optional

from pyha.cluster.events import ERROR, INFO, NODE_UP, WARNING, Log, Retransmit, Send, parse_dec, parse_hex
from pyha.cluster.membership_config import EPS, MembershipConfig, field
from pyha.cluster.membership_peers import Peer
from pyha.cluster.seqtrack import SendHistory
from pyha.wire import vocabulary as words


class Reliability(object):
    """Sequence numbers, acks and retransmissions between us and every peer."""

    def __init__(self, config, count, rand):
        # type: (MembershipConfig, Callable[..., None], Callable[[int, int], int]) -> None
        self.history = SendHistory(config.max_rexmit_delay_ms)
        self.flow_control = True  # off once a peer without `protocol` (an old heartbeat) is heard
        self._count = count
        self._rand = rand
        self._max_delay_ms = config.max_rexmit_delay_ms
        self._rexmit_s = config.max_rexmit_delay_ms / 1000.0

    def send(self, fields, dest=None):
        # type: (Dict[str, str], Optional[str]) -> Send
        """Turn a message of ours into a `Send`, numbering it unless it is an NS_ type."""
        fields = OrderedDict(fields)
        if dest is not None and "dest" not in fields:
            fields["dest"] = dest
        t = fields.get("t")
        if not isinstance(t, str) or not t:
            raise ValueError("message to send has no type: %r" % (dict(fields),))
        seq = None if t.startswith("NS_") else self.history.next_seq()
        return Send(dict(fields), fields.get("dest"), seq)

    def ack(self, peer, seq, out):
        # type: (Peer, int, List[Any]) -> None
        if not self.flow_control:
            return
        self._count("acks_sent")
        out.append(self.send(OrderedDict(words.ns_ackmsg(peer.name, seq))))

    def missing(self, now, peer, seqs):
        # type: (float, Peer, Iterable[int]) -> None
        """`seqs` of the peer went missing: ask for each after a random delay."""
        top = self._max_delay_ms
        low = 0 if top < 100 else 50
        for seq in seqs:
            peer.cur.track.schedule_rexmit(seq, now + self._rand(low, top) / 1000.0)

    def on_nak(self, peer, fields, to_us, out):
        # type: (Peer, Dict[str, Any], bool, List[Any]) -> None
        """`NS_nak_rexmit`: always consumed, whoever asked, that seq will never come."""
        nseq = parse_hex(field(fields, "firstseq"))
        if nseq is None or nseq <= 0:
            self._count("bad_field")
            out.append(Log(ERROR, "should_drop_message: bad nak seq number from %s" % peer.name))
            return
        if to_us:
            self._count("naks_received")
            out.append(Log(ERROR, "Irretrievably lost packet: node %s seq %d" % (peer.name, nseq)))
        was_missing, ack, closed = peer.cur.track.forget(nseq)
        if was_missing and closed:
            out.append(Log(INFO, "No pkts missing from %s!" % peer.name))
        if ack is not None:
            self.ack(peer, ack, out)

    def on_ack(self, peer, fields):
        # type: (Peer, Dict[str, Any]) -> None
        ackseq = parse_hex(field(fields, "ackseq"))
        if ackseq is None or ackseq <= 0 or ackseq > self.history.hiseq:
            self._count("bad_field")
            return
        self._count("acks_received")
        peer.cur.acked = max(peer.cur.acked, ackseq)

    def on_rexmit(self, now, peer, fields, out):
        # type: (float, Peer, Dict[str, Any], List[Any]) -> None
        """`NS_rexmit`: resend what we still have, NAK what we do not."""
        first = parse_dec(field(fields, "firstseq"))
        last = parse_dec(field(fields, "lastseq"))
        if first is None or last is None or first <= 0 or last <= 0 or first > last:
            self._count("bad_field")
            out.append(Log(ERROR, "Invalid rexmit seqnos from %s: %r-%r" % (
                peer.name, fields.get("firstseq"), fields.get("lastseq"))))
            return
        self._count("rexmit_requests_received")
        ans = self.history.answer(now, first, last, peer.cur.acked)
        for seq, payload in ans.resend:
            self._count("retransmitted")
            out.append(Retransmit(seq, payload, peer.name))
        for seq, why in ans.nak:
            self._count("naks_sent")
            out.append(self.send(OrderedDict(words.ns_nak_rexmit(peer.name, seq, why))))
        if ans.too_high is not None:
            out.append(Log(WARNING, "Rexmit of seq %d requested. %d is max." % (ans.too_high, self.history.hiseq)))

    def fire(self, now, peers, out):
        # type: (float, Iterable[Peer], List[Any]) -> None
        """Ask for the missing seqs that are due, of peers that are up (spec 1.10)."""
        for peer in peers:
            for seq in peer.cur.track.due_rexmits(now + EPS):
                if peer.state != NODE_UP:
                    peer.cur.track.cancel_rexmit(seq)
                    continue
                self._count("rexmit_requests_sent")
                out.append(self.send(OrderedDict(words.ns_rexmit(peer.name, seq, seq))))
                peer.cur.track.schedule_rexmit(seq, now + self._rexmit_s)
