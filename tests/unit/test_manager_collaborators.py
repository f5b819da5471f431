"""The manager's collaborators own their state and are usable alone (issue 12 item 2):
RscWords translates rsc_hold words, LegacyFailback keeps the ip-request bookkeeping that
used to be flags on every group."""

import pytest

from pyha.cluster.events import NodeDead, Send
from pyha.cluster.manager.compat import RscWords
from pyha.cluster.manager.legacy import LegacyFailback
from pyha.cluster.manager.records import _Group
from pyha.cluster.manager_events import GroupReleased, Release
from test_manager import VIP, Drive, mk


@pytest.mark.parametrize("word,sender,cats", [
    ("local", "ha1", {"ha1"}), ("local", "ha2", {"ha2"}), ("failback", "ha2", {"ha2"}),
    ("foreign", "ha1", {"ha2"}), ("foreign", "ha2", {"ha1"}), ("all", "ha2", {"ha1", "ha2"}),
    ("none", "ha1", set()), ("bogus", "ha1", set())])
def test_rsc_words_both_ways(word, sender, cats):
    w = RscWords("ha1", "ha2")
    assert w.cats(word, sender) == cats
    if word in ("local", "foreign", "all", "none"):
        assert w.word(cats, sender) == word


def test_legacy_bookkeeping_lives_in_the_collaborator():
    m = mk(auto_failback="legacy")
    assert isinstance(m._legacy, LegacyFailback)
    g = m._groups[VIP]
    assert not [a for a in vars(g) if a.startswith("legacy")]
    assert not any(a.startswith("legacy") for a in _Group.__init__.__code__.co_names)
    d = Drive(m)
    d.up()  # the peer is active: ask for our group
    assert m._legacy.requested == {VIP}
    sent = [a.fields for a in d.out if isinstance(a, Send)]
    assert {"t": "ip-request", "ipaddr": VIP} in [dict(f) for f in sent]
    # an answer we did not ask for takes nothing; the one we asked for does
    m._legacy.requested.clear()
    d.msg("ip-request-resp", dest="ha1", ipaddr=VIP, weown="yes")
    assert not m._groups[VIP].want
    m._legacy.requested.add(VIP)
    d.msg("ip-request-resp", dest="ha1", ipaddr=VIP, weown="yes")
    assert m._groups[VIP].want and m._legacy.taken == {VIP} and not m._legacy.requested


def test_legacy_answers_the_peer_once_the_group_is_stopped():
    m = mk(auto_failback="legacy", groups=((VIP, "ha2", True),))
    d = Drive(m)
    d(NodeDead("ha2", "silent"))
    d.up()
    m._groups[VIP].state = "held"  # as if taken over while the peer was away (shortcut)
    m._groups[VIP].want = True
    d.out = []
    d.msg("ip-request", ipaddr=VIP)
    assert m._legacy.reply_due == {VIP}
    assert [a for a in d.out if isinstance(a, Release)]
    d.out = []
    d(GroupReleased(VIP))
    answers = [dict(a.fields) for a in d.out if isinstance(a, Send) and a.fields.get("t") == "ip-request-resp"]
    assert answers == [{"t": "ip-request-resp", "dest": "ha2", "ipaddr": VIP, "weown": "yes", "ok": "OK"}]
    assert m._legacy.reply_due == set()
