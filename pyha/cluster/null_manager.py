"""Membership-only mode (`pyha daemon --no-resources`, heartbeat's -M): the resource
protocol a genuine peer still expects from a node that holds nothing.

Pure, like the Manager it stands in for: events in, `Send` actions out (numbered by
Membership.send, the one owner of our sequence numbers).  Never: hold, start or stop
anything, or speak any dialect the daemon shell does not already carry out.
"""

from collections import OrderedDict
from typing import Any, Callable, Dict, List

from pyha.cluster.events import CommUp, Deliver, Send
from pyha.wire import vocabulary as words


class NullManager(object):
    """Holds nothing, and says so the way a genuine peer needs to hear it.

    A genuine peer still runs its resource protocol with us (spec 1.11): its `starting`
    is answered with "I hold none and I am stable".  Our own `starting` (sent when
    communication comes up) makes the genuine node mark us unstable until we say
    `isstable=1` again; a genuine starter says it once the reply to its `starting` has
    arrived and its takeover is done, and so do we (nothing to take).  Without that, a
    `starting` of ours that reached the peer after our answer to its own left it waiting
    for our stability: its `heartbeat -k` then hung for ever after "Shutdown delayed until
    current resource activity finishes" (seen in CI; hb_rsc_isstable needs other_is_stable).

    A genuine node that took our groups over while we were away offers them back
    (auto_failback: `ask_resources info=me`); we cannot take them and do not answer, as a
    genuine -M node would not: it cancels after its 10 s standby timeout and keeps them.
    """

    def __init__(self, local, send):
        # type: (str, Callable[[Dict[str, str]], Send]) -> None
        self.local = local
        self.send = send  # Membership.send: numbers our messages, like the Manager's
        self._awaiting_reply = False  # our `starting` is out, its `resource` answer not in

    def handle(self, event, now):
        # type: (Any, float) -> List[Any]
        if isinstance(event, Deliver) and event.t == words.T_STARTING:
            return [self._stable()]
        if isinstance(event, Deliver) and event.t == words.T_RESOURCE and self._awaiting_reply:
            self._awaiting_reply = False
            return [self._stable()]
        if isinstance(event, CommUp):
            self._awaiting_reply = True
            return [self.send(OrderedDict(words.starting()))]
        return []

    def _stable(self):
        # type: () -> Send
        """"I hold none and I am stable"."""
        return self.send(OrderedDict(words.resource(words.RSC_NONE, True)))

    decision_count = 0  # it never decides anything
    last_decision = None

    def tick(self, now):
        # type: (float) -> List[Any]
        return []

    def next_deadline(self, now):
        # type: (float) -> None
        return None

    def snapshot(self, now):
        return {"mode": "membership only (resources not managed)", "holding": []}
