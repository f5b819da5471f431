"""The drill's holder sampler reads the nodes one after another: a hand-over between two
reads must not count as a duplicate VIP, a real duplicate must (the mixed failback drill
once reported 0.05 s of duplicate during genuine heartbeat's orderly shutdown)."""

from pyha.drill.sampler import IFF_LOWER_UP, IFF_UP, HolderSampler

VIP = "192.0.2.160"


class Addr(dict):
    def get_attr(self, name):
        return self.get(name)


class ScriptedNode(object):
    """A fake rtnetlink socket (no namespace here): says in turn, read by read, whether
    the VIP is on its up interface."""

    def __init__(self, answers):
        self.answers = list(answers)
        self.reads = 0

    def get_links(self):
        return [{"index": 2, "flags": IFF_UP | IFF_LOWER_UP}]

    def get_addr(self, family):
        held = self.answers[min(self.reads, len(self.answers) - 1)]
        self.reads += 1
        return [Addr(index=2, IFA_ADDRESS=VIP)] if held else []


def sampler(**nodes):
    s = HolderSampler.__new__(HolderSampler)
    s.vip = VIP
    s.iprs = nodes
    return s


def test_hand_over_between_two_reads_is_not_a_duplicate():
    # HA1 is read holding, releases, HA2 takes, HA2 is read holding
    s = sampler(HA1=ScriptedNode([True, False]), HA2=ScriptedNode([True]))
    assert s.holders() == ["HA2"]


def test_a_real_duplicate_is_counted():
    s = sampler(HA1=ScriptedNode([True, True]), HA2=ScriptedNode([True]))
    assert s.holders() == ["HA1", "HA2"]


def test_single_holder_is_read_once():
    ha1, ha2 = ScriptedNode([True]), ScriptedNode([False])
    s = sampler(HA1=ha1, HA2=ha2)
    assert s.holders() == ["HA1"]
    assert (ha1.reads, ha2.reads) == (1, 1)


def test_an_address_on_a_down_interface_is_not_held():
    node = ScriptedNode([True])
    node.get_links = lambda: [{"index": 2, "flags": IFF_UP}]  # no carrier
    assert sampler(HA1=node).holders() == []


def test_a_vanished_namespace_holds_nothing():
    class Gone(object):
        def get_links(self):
            raise OSError("namespace gone")
    assert sampler(HA1=Gone(), HA2=ScriptedNode([True])).holders() == ["HA2"]
