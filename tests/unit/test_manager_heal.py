"""The end of a healed partition: "Partition with <peer> resolved" (manager/heal.py).

Genuine heartbeat restarts both nodes after a heal (spec 5.7); pyha resolves it in place
and logs this line on each node once the two agree again on who holds what.  CTS's
Split_brain waits for it (pyha/lab/cts_driver.py, patch 12)."""

from pyha.cluster.events import Log
from clustersim import Cluster

VIP = "192.0.2.100/24/eth0"


def resolved(c, node):
    return [(t, a.text) for t, a in c.stacks[node].log if isinstance(a, Log) and "resolved" in a.text]


def held_by(c, node, t):
    """Whether the world had the group running on `node` at time `t`."""
    up = False
    for when, key, holders in c.world.changes:
        if when <= t and key == VIP:
            up = node in holders
    return up


def test_cut_while_the_holder_keeps_its_address_resolves_at_the_heal():
    c = Cluster()
    c.run_until(20)
    c.cut(20)
    c.restore(40)
    c.run_until(60)
    assert c.holders() == {"ha1"}
    ha1, ha2 = resolved(c, "ha1"), resolved(c, "ha2")
    assert [text for _, text in ha1] == [
        "Partition with ha2 resolved: holding [%s], ha2 reports rsc_hold=local" % VIP]
    assert [text for _, text in ha2] == ["Partition with ha1 resolved: holding [none], ha1 reports rsc_hold=all"]
    assert 40 <= ha1[0][0] < 42 and 40 <= ha2[0][0] < 42


def links_cut_then_nic_dark_then_healed():
    """The links cut at 20, then ha1's NIC dark (ha2's witness finds the address free and
    takes the group), NIC and links back by 40; run to 60 (ha2 fails the group back)."""
    c = Cluster()
    c.run_until(20)
    c.cut(20)
    c.nic(22, "ha1", False)
    c.nic(38, "ha1", True)
    c.restore(40)
    c.run_until(60)
    return c


def test_when_both_held_it_the_line_comes_only_after_the_failback():
    # ha2 says "resolved" only once it has released the group and ha1 runs it.
    c = links_cut_then_nic_dark_then_healed()
    assert c.holders() == {"ha1"}
    [(t2, text2)] = resolved(c, "ha2")
    assert text2 == "Partition with ha1 resolved: holding [none], ha1 reports rsc_hold=all"
    assert held_by(c, "ha1", t2) and not held_by(c, "ha2", t2)
    assert len(resolved(c, "ha1")) == 1


def test_no_line_without_a_heal_and_none_for_a_heal_that_ends_in_death():
    c = Cluster()
    c.run_until(30)
    assert resolved(c, "ha1") == [] and resolved(c, "ha2") == []
    c.crash(30, "ha2")
    c.restart(40, "ha2")        # a restart is not a heal
    c.run_until(60)
    assert resolved(c, "ha1") == [] and resolved(c, "ha2") == []


def test_both_holding_both_groups_resolve_after_the_overlap_release():
    c = Cluster(groups=[("httpd", "ha1", False), ("mysql", "ha2", False)])
    c.cut(30)
    c.restore(50)
    c.run_until(70)
    assert c.holders("httpd") == {"ha1"} and c.holders("mysql") == {"ha2"}
    ends = [end for _, end, _, _ in c.world.duplicates]
    for node, peer, mine in (("ha1", "ha2", "httpd"), ("ha2", "ha1", "mysql")):
        [(t, text)] = resolved(c, node)
        assert text == "Partition with %s resolved: holding [%s], %s reports rsc_hold=local" % (peer, mine, peer)
        assert t >= max(ends) - 1e-9
