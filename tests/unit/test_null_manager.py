"""`pyha daemon --no-resources` still runs the resource protocol a genuine peer expects.

Genuine heartbeat marks a peer unstable when its `starting` arrives and stable again only
on `t=resource isstable=1` (hb_resource.c); a graceful `heartbeat -k` waits for a stable
peer.  Our `starting` may reach it after our answer to its own `starting`, so the answer
to our `starting` must be followed by our `isstable=1` (spec 1.11).
"""

from pyha.cluster import events as ev
from pyha.cluster.membership import Membership, MembershipConfig
from pyha.cluster.null_manager import NullManager


def deliver(t, **fields):
    return ev.Deliver("ha1", t, fields, "eth0", 7)


def null_manager():
    membership = Membership(MembershipConfig("ha2", ["ha1", "ha2"], ["eth0"]))
    return NullManager("ha2", send=membership.send)


def sent(actions):
    """The messages sent; every action must be a numbered Send (no private dialect)."""
    assert all(isinstance(a, ev.Send) and a.seq for a in actions), actions
    return [dict(a.fields) for a in actions]


STABLE = {"t": "resource", "rsc_hold": "none", "rtype": "full", "isstable": "1"}


def test_answers_the_peers_starting_with_none_and_stable():
    m = null_manager()
    assert sent(m.handle(deliver("starting"), 1.0)) == [STABLE]


def test_says_stable_once_the_answer_to_its_own_starting_arrives():
    m = null_manager()
    assert sent(m.handle(ev.CommUp("communication is up"), 1.0)) == [{"t": "starting"}]
    # the crossing case: the peer's starting answered first, our starting lands later
    assert sent(m.handle(deliver("starting"), 1.1)) == [STABLE]
    assert sent(m.handle(deliver("resource", rsc_hold="all", rtype="full", isstable="1"), 1.2)) == [STABLE]
    # and only once: genuine nodes do not answer a resource report, nor do we
    assert sent(m.handle(deliver("resource", rsc_hold="all", rtype="full", isstable="1"), 1.3)) == []


def test_a_resource_report_without_our_starting_is_not_answered():
    m = null_manager()
    assert sent(m.handle(deliver("resource", rsc_hold="all", rtype="full", isstable="1"), 1.0)) == []
