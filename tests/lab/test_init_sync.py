"""`pyha init` from HA1 against a real sshd on HA2 (issue 2 item 4), then `config check`.

Real OpenSSH on both ends (BatchMode, keys generated for the lab, nothing of the host's
SSH set-up used), real netlink discovery inside HA1's namespaces.
"""

import os
import stat

import pytest

from labutil import pyha
from pyha.lab import start_sshd

LAB_TAG = "i"
pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def ssh(lab):
    acc = start_sshd(lab, "HA2")
    yield ["--ssh-opt=" + o for o in acc.options]
    acc.stop()


def files(node):
    out = {}
    for name in ("ha.cf", "haresources", "authkeys", "pyha.cf"):
        path = node.host_path("/etc/ha.d/" + name)
        if os.path.exists(path):
            out[name] = (open(path).read(), stat.S_IMODE(os.stat(path).st_mode))
    return out


def test_ssh_not_set_up_changes_nothing_anywhere(lab):
    ha1, ha2 = lab.node("HA1"), lab.node("HA2")
    r = pyha(ha1, "init", "--peer", "198.51.100.2", "--vip", "192.0.2.160/24/eth0", "--service", "nginx",
             "--ssh-opt=-o", "--ssh-opt=UserKnownHostsFile=/dev/null", "--ssh-opt=-o",
             "--ssh-opt=StrictHostKeyChecking=no", "--ssh-opt=-o", "--ssh-opt=IdentitiesOnly=yes",
             "--ssh-opt=-i", "--ssh-opt=/nonexistent-key")
    assert r.returncode == 1
    assert "pyha: error:" in r.stderr and "hint:" in r.stderr
    assert files(ha1) == {} and files(ha2) == {}


def test_init_writes_both_nodes_then_rerun_is_unchanged(lab, ssh):
    ha1, ha2 = lab.node("HA1"), lab.node("HA2")
    r = pyha(ha1, "init", "--peer", "198.51.100.2", "--vip", "192.0.2.160/24/eth0", "--service", "nginx", *ssh)
    assert r.returncode == 0, r.stderr
    local, peer = files(ha1), files(ha2)
    assert set(local) == {"ha.cf", "haresources", "authkeys", "pyha.cf"}
    assert local == peer  # one file set serves both nodes
    hacf = local["ha.cf"][0]
    for line in ("ucast eth1 198.51.100.1", "ucast eth1 198.51.100.2", "ucast eth0 192.0.2.161",
                 "ucast eth0 192.0.2.162", "node HA1", "node HA2", "ping 192.0.2.1"):
        assert line + "\n" in hacf  # discovered: HA2's name and public address over SSH
    assert local["haresources"][0].splitlines()[-1] == "HA1 192.0.2.160/24/eth0 nginx"
    assert local["authkeys"][1] == 0o600
    for node in (ha1, ha2):
        check = pyha(node, "config", "check")
        assert check.returncode == 0, check.stdout + check.stderr

    again = pyha(ha1, "init", "--peer", "198.51.100.2", "--vip", "192.0.2.160/24/eth0", "--service", "nginx", *ssh)
    assert again.returncode == 0
    assert again.stdout.count("unchanged") == 8, again.stdout
    assert files(ha1) == local and files(ha2) == peer


def test_changed_option_backs_up_and_shows_diff_on_both(lab, ssh):
    ha1, ha2 = lab.node("HA1"), lab.node("HA2")
    r = pyha(ha1, "init", "--peer", "198.51.100.2", "--vip", "192.0.2.160/24/eth0", "--service", "nginx",
             "--profile", "fast", *ssh)
    assert r.returncode == 0, r.stderr
    assert "+keepalive 50ms" in r.stdout and "-keepalive 2" in r.stdout
    for node in (ha1, ha2):
        backups = [n for n in os.listdir(node.host_path("/etc/ha.d")) if n.startswith("ha.cf.bak.")]
        assert len(backups) == 1
    assert files(ha1) == files(ha2)
    sync = pyha(ha1, "sync", "--peer", "198.51.100.2", *ssh)
    assert sync.returncode == 0 and sync.stdout.count("unchanged") == 4


def test_key_rotation_shows_no_key_and_backs_up_privately(lab, ssh):
    """Issue 11 item 4: `--new-key` (rotation) and `--dry-run` print no key, old or new;
    each rotation leaves a 0600 backup of the old key file on both nodes, under its own
    name even when two runs fall within one second."""
    ha1, ha2 = lab.node("HA1"), lab.node("HA2")
    args = ["init", "--peer", "198.51.100.2", "--vip", "192.0.2.160/24/eth0", "--service", "nginx",
            "--profile", "fast"] + list(ssh)

    def key():
        return files(ha1)["authkeys"][0].split("1 sha1 ")[1].strip()

    def backups(node):
        d = node.host_path("/etc/ha.d")
        return {n: stat.S_IMODE(os.stat(os.path.join(d, n)).st_mode)
                for n in os.listdir(d) if n.startswith("authkeys.bak.")}

    seen = [key()]
    dry = pyha(ha1, *(args + ["--new-key", "--dry-run"]))
    assert dry.returncode == 0, dry.stderr
    assert "\n1 sha1 ****\n" in dry.stdout + "\n" and seen[0] not in dry.stdout + dry.stderr
    before = {n: backups(n) for n in (ha1, ha2)}
    for _ in range(2):
        r = pyha(ha1, *(args + ["--new-key"]))
        assert r.returncode == 0, r.stderr
        seen.append(key())
        assert r.stdout.count("-1 sha1 ****") == 2 and r.stdout.count("+1 sha1 ****") == 2  # local and peer
        for k in seen:
            assert k not in r.stdout + r.stderr
    assert len(set(seen)) == 3 and files(ha1) == files(ha2)
    for node in (ha1, ha2):
        new = {n: m for n, m in backups(node).items() if n not in before[node]}
        assert len(new) == 2 and set(new.values()) == {0o600}, new
        kept = sorted(open(os.path.join(node.host_path("/etc/ha.d"), n)).read().split("1 sha1 ")[1].strip()
                      for n in new)
        assert kept == sorted(seen[:2])  # each old key, once
    check = pyha(ha2, "config", "check")
    assert check.returncode == 0 and seen[-1] not in check.stdout
