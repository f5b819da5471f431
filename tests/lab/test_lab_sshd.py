"""A real OpenSSH server inside lab node HA2, reached from HA1 (what `pyha init` needs to
copy /etc/ha.d to the peer): right key works, wrong key or unknown host key fail fast
under BatchMode, and nothing of the host's own SSH set-up is used or changed.
"""

import os
import time

import pytest

from pyha.lab import start_sshd
from pyha.lab.sshd import SERVER_DIR

LAB_TAG = "s"
pytestmark = pytest.mark.lab

SSH_TIMEOUT = 30  # every ssh call is bounded: a hang must fail the test, not stall it


def _host_ssh_state():
    """Names and mtimes under the host's /root/.ssh and /etc/ssh (must not change)."""
    state = {}
    for top in ("/root/.ssh", "/etc/ssh"):
        if not os.path.isdir(top):
            continue
        for dirpath, _dirs, files in os.walk(top):
            for name in files:
                path = os.path.join(dirpath, name)
                state[path] = os.lstat(path).st_mtime
    return state


@pytest.fixture(scope="module")
def host_ssh_before():
    return _host_ssh_state()


@pytest.fixture(scope="module")
def access(lab, host_ssh_before):
    acc = start_sshd(lab, "HA2")
    yield acc
    acc.stop()


def test_ssh_from_ha1_runs_a_command_on_ha2(lab, access):
    ha1 = lab.node("HA1")
    for address in ("198.51.100.2", "192.0.2.162"):
        proc = ha1.exec(access.ssh_argv(address, ["uname", "-n"]), timeout=SSH_TIMEOUT)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip() == "HA2"
    # The documented option list is what a caller such as `pyha init` passes on.
    opts = access.options
    assert opts[:2] == ["-i", access.identity]
    for wanted in ("BatchMode=yes", "StrictHostKeyChecking=yes", "UserKnownHostsFile=" + access.known_hosts):
        assert wanted in opts


def test_config_file_alternative(lab, access):
    proc = lab.node("HA1").exec(["ssh", "-F", access.config_file, "root@198.51.100.2", "uname", "-n"],
                                timeout=SSH_TIMEOUT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "HA2"


def test_scp_copies_into_the_peers_private_etc_ha_d(lab, access):
    ha1, ha2 = lab.node("HA1"), lab.node("HA2")
    ha1.sh("echo 'node HA1' > /etc/ha.d/pyha-lab-sync", check=True)
    proc = ha1.exec(["scp", "-q"] + access.options + ["/etc/ha.d/pyha-lab-sync", "root@198.51.100.2:/etc/ha.d/"],
                    timeout=SSH_TIMEOUT)
    assert proc.returncode == 0, proc.stderr
    assert ha2.exec(["cat", "/etc/ha.d/pyha-lab-sync"], check=True).stdout.strip() == "node HA1"
    with open(ha2.host_path("/etc/ha.d/pyha-lab-sync")) as f:
        assert f.read().strip() == "node HA1"
    assert not os.path.exists("/etc/ha.d/pyha-lab-sync")


def test_wrong_key_is_refused_without_hanging(lab, access):
    ha1 = lab.node("HA1")
    ha1.exec(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", "/tmp/wrong_key"], check=True)
    argv = access.ssh_argv("198.51.100.2", ["uname", "-n"],
                           options=access.options_for("/tmp/wrong_key", access.known_hosts))
    started = time.monotonic()
    proc = ha1.exec(argv, timeout=SSH_TIMEOUT)
    assert proc.returncode == 255
    assert "Permission denied" in proc.stderr
    assert "HA2" not in proc.stdout
    assert time.monotonic() - started < 10


def test_unknown_host_key_is_refused(lab, access):
    ha1 = lab.node("HA1")
    ha1.exec(["touch", "/tmp/empty_known_hosts"], check=True)
    argv = access.ssh_argv("198.51.100.2", ["uname", "-n"],
                           options=access.options_for(access.identity, "/tmp/empty_known_hosts"))
    proc = ha1.exec(argv, timeout=SSH_TIMEOUT)
    assert proc.returncode == 255
    assert "Host key verification failed" in proc.stderr


def test_sshd_state_is_private_to_the_node(lab, access, host_ssh_before):
    ha1, ha2 = lab.node("HA1"), lab.node("HA2")
    for name in ("sshd_config", "ssh_host_ed25519_key", "authorized_keys"):
        assert os.path.exists(ha2.host_path(SERVER_DIR + "/" + name)), name
        assert ha1.exec(["test", "-e", SERVER_DIR + "/" + name]).returncode != 0
    assert ha2.exec(["test", "-d", "/run/sshd"]).returncode == 0
    assert ha1.exec(["test", "-e", "/run/sshd"]).returncode != 0
    assert _host_ssh_state() == host_ssh_before
    config = ha2.exec(["cat", SERVER_DIR + "/sshd_config"], check=True).stdout
    assert "PermitRootLogin prohibit-password" in config
    assert "PasswordAuthentication no" in config


def test_stopped_sshd_refuses_connections(lab, access):
    access.stop()
    assert access.process.poll() is not None
    proc = lab.node("HA1").exec(access.ssh_argv("198.51.100.2", ["true"]), timeout=SSH_TIMEOUT)
    assert proc.returncode == 255
    assert "refused" in proc.stderr
    # The lab-wide client key works for a second server too (both directions of a sync).
    back = start_sshd(lab, "HA1")
    try:
        proc = lab.node("HA2").exec(back.ssh_argv("198.51.100.1", ["uname", "-n"]), timeout=SSH_TIMEOUT)
        assert proc.stdout.strip() == "HA1", proc.stderr
    finally:
        back.stop()
