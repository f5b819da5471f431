"""What the daemon builds its node core from (pyha/daemon/composition.py), and the health
collaborator's forwarding of state changes to the notify program (health_shell.py)."""

import pytest

from pyha.cluster import manager_events as me
from pyha.config.hacf import HaCf
from pyha.config.haresources import Haresources
from pyha.daemon.composition import CompositionError, core_config
from pyha.daemon.health_shell import HealthShell

HACF = """keepalive 1
deadtime 5
ucast eth1 198.51.100.2
ucast eth1 198.51.100.1
bcast eth0
ping 192.0.2.1
ping_group gw 192.0.2.2 192.0.2.3
node ha1
node ha2
"""


def config(hacf=HACF, hares="ha1 192.0.2.160/24/eth0 nginx\n", manage=True):
    return core_config(HaCf.parse(hacf, "ha.cf"), Haresources.parse(hares, "haresources"), "ha1", manage)


def test_links_once_each_ping_targets_and_heartbeats_ttl_rule():
    cc = config()
    assert list(cc.membership.media) == ["eth1", "eth0"]  # two ucast lines on eth1 are one link
    assert (cc.ping_targets, dict(cc.ping_groups)) == (["192.0.2.1"], {"gw": ["192.0.2.2", "192.0.2.3"]})
    assert cc.ttl == 1 + 2 + 1 + 1  # hopfudge 1 + nodes + ping node + ping group
    assert cc.inner_auth and cc.managing
    assert (cc.manager.local, cc.manager.peer) == ("ha1", "ha2")
    assert list(cc.manager.ping_targets) == ["192.0.2.1", "gw"]


def test_no_groups_or_no_resources_mode_has_no_manager():
    assert config(hares="").manager is None and not config(hares="").managing
    assert config(manage=False).manager is None


def test_three_nodes_with_resources_are_refused_with_the_reason():
    with pytest.raises(CompositionError, match="two-node clusters; ha.cf lists 3 nodes"):
        config(hacf=HACF + "node ha3\n")
    assert config(hacf=HACF + "node ha3\n", hares="").manager is None  # membership only is fine


class FakeNotifier(object):
    def __init__(self):
        self.calls = []

    def notify(self, *args):
        self.calls.append(args)


def test_health_shell_runs_notify_for_group_and_node_changes_only():
    shell = HealthShell.__new__(HealthShell)  # no loop or runner needed to forward changes
    shell.notifier = FakeNotifier()
    shell.on_transition(me.GroupStateChanged("192.0.2.160", "acquiring", "held", "ha2 is dead"))
    shell.on_transition(me.NodeStateChanged("ha2", "up", "dead", "silent for 5 s"))
    shell.on_transition(me.PhaseChanged("starting", "running", "alone"))
    assert shell.notifier.calls == [("group", "192.0.2.160", "acquiring", "held", "ha2 is dead"),
                                    ("node", "ha2", "up", "dead", "silent for 5 s")]
