"""The VIP's alias label: the lowest free `<iface>:<n>`, as heartbeat's IPaddr chose it."""

from pyha.resources.ipaddr import LABEL_MAX, alias_label


def test_first_alias_is_iface_colon_zero():
    assert alias_label("eth0", ["eth0"]) == "eth0:0"
    assert alias_label("eth0", []) == "eth0:0"


def test_lowest_free_alias_is_taken():
    assert alias_label("eth0", ["eth0", "eth0:0", "eth0:1"]) == "eth0:2"
    assert alias_label("eth0", ["eth0", "eth0:1"]) == "eth0:0"
    # another interface's aliases do not count
    assert alias_label("eth0", ["eth1:0", "eth0"]) == "eth0:0"


def test_too_long_for_the_kernel_means_no_label():
    assert alias_label("a" * 13, []) == "a" * 13 + ":0"
    assert len(alias_label("a" * 13, [])) == LABEL_MAX
    assert alias_label("a" * 14, []) is None
    # a 12-character name still fits :99, not :100
    name = "b" * 12
    used = ["%s:%d" % (name, n) for n in range(100)]
    assert alias_label(name, used) is None


def test_every_alias_taken_means_no_label():
    assert alias_label("e", ["e:%d" % n for n in range(512)]) is None
