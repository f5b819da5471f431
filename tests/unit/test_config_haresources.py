"""haresources: grammar, resources, rendering and the file-local diagnostics."""

import os

import pytest

from pyha.config.haresources import Haresources, Resource, looks_like_ip

DATA = os.path.join(os.path.dirname(__file__), "..", "data")


def hr(text):
    return Haresources.parse(text, "haresources")


def only(ds, code):
    found = [d for d in ds if d.code == code]
    assert len(found) == 1, (code, [d.format() for d in ds])
    return found[0]


def assert_diag(text, code, line, severity):
    d = only(hr(text).check(), code)
    assert (d.file, d.line, d.severity) == ("haresources", line, severity), d.format()
    return d


def test_tutorial_line():
    h = hr("ha1 10.168.0.160/24/eth0 nginx\n")
    (g,) = h.groups
    assert (g.node, g.key, g.lineno) == ("ha1", "10.168.0.160/24/eth0", 1)
    ip, svc = g.resources
    assert (ip.kind, ip.script, ip.args, ip.shorthand, ip.builtin) == ("ip", "IPaddr", ["10.168.0.160/24/eth0"], True, True)
    assert (ip.ip, ip.prefix, ip.iface, ip.broadcast) == ("10.168.0.160", 24, "eth0", None)
    assert (svc.kind, svc.script, svc.args, svc.builtin) == ("script", "nginx", [], False)
    assert h.check() == []


@pytest.mark.parametrize("token,fields", [
    ("192.0.2.1", ("192.0.2.1", None, None, None)),
    ("192.0.2.1/24", ("192.0.2.1", 24, None, None)),
    ("192.0.2.1/24/eth0", ("192.0.2.1", 24, "eth0", None)),
    ("192.0.2.1/24/192.0.2.255", ("192.0.2.1", 24, None, "192.0.2.255")),
    ("192.0.2.1/24/eth0/192.0.2.255", ("192.0.2.1", 24, "eth0", "192.0.2.255")),
    ("192.0.2.1/255.255.255.0/eth0:1", ("192.0.2.1", 24, "eth0:1", None)),
    ("IPaddr::192.0.2.1/24/eth0", ("192.0.2.1", 24, "eth0", None)),
    ("IPaddr2::192.0.2.1/32", ("192.0.2.1", 32, None, None)),
])
def test_ip_fields(token, fields):
    r = Resource.parse(token)
    assert r.kind == "ip" and r.problems == []
    assert (r.ip, r.prefix, r.iface, r.broadcast) == fields


def test_script_arguments_and_sendarp():
    r = Resource.parse("Filesystem::/dev/sda1::/data1::ext2")
    assert (r.kind, r.script, r.args) == ("script", "Filesystem", ["/dev/sda1", "/data1", "ext2"])
    s = Resource.parse("SendArp::192.0.2.1/eth0")
    assert (s.kind, s.builtin, s.ip, s.iface) == ("script", True, "192.0.2.1", "eth0")
    assert not looks_like_ip("nginx") and looks_like_ip("10.0.0.1") and looks_like_ip("1.2.3.4x")


def test_continuation_comments_and_keys():
    path = os.path.join(DATA, "edge", "haresources")
    h = Haresources.load(path)
    g1, g2, g3 = h.groups
    assert (g1.node, g1.lineno, g1.end_lineno) == ("ha1", 3, 5)
    assert [r.token for r in g1.resources] == ["192.0.2.160/24/eth0/192.0.2.255",
                                               "IPaddr2::192.0.2.161/255.255.255.0/eth0:1",
                                               "Filesystem::/dev/sda1::/data1::ext2"]
    assert [r.lineno for r in g1.resources] == [3, 4, 5]
    assert (g2.node, g2.node_text, g2.key) == ("ha2", "HA2", "192.0.2.170")
    assert [g.key for g in h.groups_for("HA1")] == ["192.0.2.160/24/eth0/192.0.2.255", "nginx.service"]
    assert h.group("192.0.2.170") is g2 and h.group("nope") is None
    assert len(h.resources) == 8
    with open(path) as f:
        assert h.render() == f.read()
    assert [d.code for d in h.check()] == ["hares-comment-in-continuation"]


@pytest.mark.parametrize("text", ["", "\n", "a b", "# c\r\nha1 x \\\r\n y\r\n", "ha1 a \\\n", "  \t\n#\n"])
def test_render_is_lossless(text):
    assert hr(text).render() == text


def test_build_from_scratch():
    h = Haresources.new(comment="written by a test")
    h.add_group("ha1", [Resource.ipaddr("192.0.2.160", 24, "eth0"), Resource.service("nginx"), "Delay::5"])
    h.add_group("ha2", [Resource.service("Filesystem", "/dev/sdb1", "/srv")])
    text = h.render()
    assert text == "# written by a test\nha1 192.0.2.160/24/eth0 nginx Delay::5\nha2 Filesystem::/dev/sdb1::/srv\n"
    again = hr(text)
    assert [(g.node, [r.token for r in g.resources]) for g in again.groups] == \
        [(g.node, [r.token for r in g.resources]) for g in h.groups]
    assert again.render() == text
    with pytest.raises(ValueError):
        Resource.ipaddr("300.1.1.1")
    with pytest.raises(ValueError):
        Resource.service("bad name")
    with pytest.raises(ValueError):
        h.add_group("ha1", ["a#b"])


def test_edit_group_in_place():
    h = hr("# keep me\nha1 192.0.2.1 nginx  # web\n")
    g = h.groups[0]
    g.resources.append(Resource.service("postfix"))
    h.touch(g)
    assert h.render() == "# keep me\nha1 192.0.2.1 nginx postfix\n"
    assert h.remove_group("192.0.2.1") and h.render() == "# keep me\n"


# -- diagnostics ---------------------------------------------------------------------------------

def test_empty_file_and_group_without_resources():
    assert_diag("# nothing\n", "hares-empty", None, "warning")
    assert_diag("ha1 192.0.2.1\nha2\n", "hares-no-resources", 2, "warning")


def test_duplicates():
    assert_diag("ha1 nginx\nha2 nginx 192.0.2.1\n", "hares-duplicate-key", 2, "warning")
    assert_diag("ha1 192.0.2.1 a\nha2 IPaddr2::192.0.2.1/24 b\n", "hares-duplicate-ip", 2, "warning")


@pytest.mark.parametrize("token", ["300.1.2.3", "192.0.2.1/33", "192.0.2.1/255.0.255.0", "192.0.2.1//eth0",
                                   "192.0.2.1/24/eth0/999.1.1.1", "192.0.2.1/24/1.2.3", "IPaddr", "IPaddr2::x",
                                   "SendArp::192.0.2.1"])
def test_bad_ip(token):
    assert_diag("ha1 " + token + "\n", "hares-bad-ip", 1, "error")


def test_argument_problems():
    assert_diag("ha1 192.0.2.1/24/eth0/192.0.2.255/x\n", "hares-extra-args", 1, "warning")
    assert_diag("ha1 IPaddr::192.0.2.1::24\n", "hares-extra-args", 1, "warning")
    assert_diag("ha1 Filesystem::/dev/sda1::::ext2\n", "hares-empty-arg", 1, "warning")
    assert_diag("ha1 ::x\n", "hares-syntax", 1, "error")
    assert_diag("ha1 /etc/init.d/nginx\n", "hares-script-name", 1, "error")


def test_continuation_traps():
    d = assert_diag("ha1 192.0.2.1 \\  \nnginx\n", "hares-backslash-space", 1, "warning")
    assert "separate group" in d.message
    h = hr("ha1 192.0.2.1 \\  \nnginx\n")
    assert [g.node for g in h.groups] == ["ha1", "nginx"]  # what heartbeat would do
    d = assert_diag("ha1 192.0.2.1 ngi\\\nnx\n", "hares-continuation-glue", 2, "warning")
    assert "'nginx'" in d.message
    assert [r.token for r in hr("ha1 192.0.2.1 ngi\\\nnx\n").resources] == ["192.0.2.1", "nginx"]
    assert_diag("ha1 192.0.2.1 \\", "hares-continuation-eof", 1, "warning")
    assert_diag("ha1 192.0.2.1 \\\n  nginx # web\n", "hares-comment-in-continuation", 2, "warning")
    d = assert_diag("ha1 192.0.2.1 nginx\r\n", "hares-crlf", 1, "warning")
    assert [r.token for r in hr("ha1 192.0.2.1 nginx\r\n").resources] == ["192.0.2.1", "nginx"]
