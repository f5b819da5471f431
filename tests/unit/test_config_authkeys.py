"""authkeys: grammar, keyring accessors, rendering and the text diagnostics (mode and owner
are host facts: see test_config_check.py)."""

import os

import pytest

from pyha.config.authkeys import AuthKey, Authkeys

DATA = os.path.join(os.path.dirname(__file__), "..", "data")
GOOD_KEY = "0123456789abcdef0123456789abcdef"


def ak(text):
    return Authkeys.parse(text, "authkeys")


def only(ds, code):
    found = [d for d in ds if d.code == code]
    assert len(found) == 1, (code, [d.format() for d in ds])
    return found[0]


def assert_diag(text, code, line, severity):
    d = only(ak(text).check(), code)
    assert (d.file, d.line, d.severity) == ("authkeys", line, severity), d.format()
    return d


def test_tutorial_keyring():
    k = ak("auth 3\n3 md5 hello!\n")
    assert k.active_index == 3
    assert k.active == AuthKey(3, "md5", "hello!")
    assert [d.code for d in k.check()] == ["authkeys-weak-key"]


def test_edge_fixture():
    path = os.path.join(DATA, "edge", "authkeys")
    k = Authkeys.load(path)
    assert k.active_index == 2 and k.active.method == "sha1" and k.active.key == GOOD_KEY
    assert list(k.keys) == [1, 2, 3] and k.keys[3].key is None and k.keys[1].lineno == 5
    with open(path) as f:
        assert k.render() == f.read()
    assert [d.code for d in k.check()] == ["authkeys-crc"]


def test_hash_is_part_of_a_key_and_not_a_comment():
    k = ak("auth 1\n1 sha1 abc#def0123456789abcdef\n")
    assert k.active.key == "abc#def0123456789abcdef"
    assert_diag("auth 1\n1 sha1 abc#def0123456789abcdef\n", "authkeys-hash-in-key", 2, "warning")


def test_loose_spellings_heartbeat_accepts():
    k = ak("  auth1\r\n\t1\tsha1\t%s\r\n" % GOOD_KEY)
    assert k.active_index == 1 and k.check() == []


@pytest.mark.parametrize("text", ["", "\n", "auth 1", "#x\r\nauth 2\r\n2 crc\r\n", "garbage\n"])
def test_render_is_lossless(text):
    assert ak(text).render() == text


def test_build_from_scratch():
    k = Authkeys.new(comment=["mode 0600"])
    k.add_key(1, "sha1", GOOD_KEY)
    k.add_key(2, "crc")
    k.set_active(1)
    text = k.render()
    assert text == "# mode 0600\nauth 1\n1 sha1 %s\n2 crc\n" % GOOD_KEY
    again = ak(text)
    assert again.active == k.active and again.keys == k.keys and again.render() == text
    k.set_active(2)
    assert k.render() == "# mode 0600\nauth 2\n1 sha1 %s\n2 crc\n" % GOOD_KEY
    for bad in [(16, "sha1", GOOD_KEY), (1, "sha256", GOOD_KEY), (1, "md5", None), (1, "crc", "x"),
                (1, "sha1", "a b")]:
        with pytest.raises(ValueError):
            k.add_key(*bad)


def test_set_active_on_a_parsed_file_replaces_the_auth_line():
    k = ak("# c\n1 sha1 %s\nauth 1\n" % GOOD_KEY)
    assert k.active_index is None  # auth after the key: heartbeat does not find it
    k.set_active(1)
    assert k.render() == "# c\nauth 1\n1 sha1 %s\n" % GOOD_KEY
    assert k.active_index == 1


def test_repr_never_shows_the_key():
    assert GOOD_KEY not in repr(ak("auth 1\n1 sha1 %s\n" % GOOD_KEY).active)


# -- diagnostics ---------------------------------------------------------------------------------

def test_missing_auth_directive():
    d = assert_diag("1 sha1 %s\n" % GOOD_KEY, "authkeys-no-auth", None, "error")
    assert "Missing auth directive" in d.message


def test_auth_names_undefined_key():
    d = assert_diag("auth 2\n1 sha1 %s\n" % GOOD_KEY, "authkeys-auth-undefined", 1, "error")
    assert "not found" in d.message and d.hint == "write `auth 1`"
    assert_diag("auth 1\n", "authkeys-auth-undefined", 1, "error")
    # the selected key exists but is invalid: the line's own error plus this one
    assert_diag("auth 1\n1 md5\n", "authkeys-auth-undefined", 1, "error")


def test_auth_after_the_key_line():
    d = assert_diag("1 sha1 %s\nauth 1\n" % GOOD_KEY, "authkeys-auth-order", 2, "error")
    assert "move `auth 1` above" in d.hint


def test_line_errors():
    assert_diag("auth x\n", "authkeys-auth-syntax", 1, "error")
    assert_diag("auth 1\n16 sha1 %s\n1 sha1 %s\n" % (GOOD_KEY, GOOD_KEY), "authkeys-bad-index", 2, "error")
    d = assert_diag("auth 1\n1 sha256 %s\n" % GOOD_KEY, "authkeys-bad-method", 2, "error")
    assert d.hint == "use sha1 (or md5)"
    assert only(ak("auth 1\n1 SHA1 %s\n" % GOOD_KEY).check(), "authkeys-bad-method").hint == "write `sha1`"
    assert_diag("auth 1\n1 sha1\n", "authkeys-key-required", 2, "error")
    assert_diag("auth 1\n1 crc key\n", "authkeys-key-unexpected", 2, "error")
    assert_diag("auth 1\n1 sha1 %s\nsha1 x\n" % GOOD_KEY, "authkeys-syntax", 3, "error")
    assert_diag("auth 1\n1 sha1 %s\n7\n" % GOOD_KEY, "authkeys-syntax", 3, "error")


def test_warnings():
    assert_diag("auth 1\n1 crc\n", "authkeys-crc", 2, "warning")
    assert_diag("auth 1\nauth 1\n1 sha1 %s\n" % GOOD_KEY, "authkeys-multiple-auth", 2, "warning")
    assert_diag("auth 1\n1 sha1 %s extra\n" % GOOD_KEY, "authkeys-extra", 2, "warning")
    assert_diag("auth 1\n1 sha1 %s\n1 sha1 %s\n" % (GOOD_KEY, GOOD_KEY[::-1]), "authkeys-duplicate-index", 3, "warning")
    assert ak("auth 1\n1 sha1 %s\n1 sha1 %s\n" % (GOOD_KEY, GOOD_KEY[::-1])).active.key == GOOD_KEY[::-1]
    assert_diag("auth 1\n1 sha1 Hi!\n", "authkeys-weak-key", 2, "warning")
    assert_diag("auth 1\n1 sha1 CHANGE-ME-run-pyha-init\n", "authkeys-placeholder", 2, "warning")


def test_debian_sample_has_no_auth_line():
    path = "/usr/share/doc/heartbeat/authkeys"
    if not os.path.exists(path):
        pytest.skip("Debian's heartbeat package is not installed (%s)" % path)
    k = Authkeys.load(path)
    assert k.active is None and k.keys == {}
    assert [(d.code, d.severity) for d in k.check()] == [("authkeys-no-auth", "error")]
    with open(path) as f:
        assert k.render() == f.read()
