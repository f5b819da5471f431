"""`pyha init` logic with injected discovery and a stand-in peer.

The stand-in peer answers the probe (uname -n, routes) with canned text, like a host we
cannot have here, but runs the fetch/install scripts for real with `sh` against a temp
directory, so the shell that will run on the peer is exercised.  The real SSH path is
covered by tests/lab/test_init_sync.py against a real sshd.
"""

import os
import stat
import subprocess

import pytest

from pyha.host import initcmd, initplan, peersync
from pyha.host.discover import Route
from pyha.host.files import CHANGED, CREATED, UNCHANGED
from pyha.host.ssh import Peer, Result, SshError


class FakeDiscovery(initcmd.Discovery):
    def __init__(self, name="HA1", hb=("eth1", "10.0.0.1"), default=("eth0", "10.168.0.161", "10.168.0.1")):
        self.name = name
        self.hb = hb
        self.default = default

    def node_name(self):
        return self.name

    def route_to(self, dst):
        return Route(dst, self.hb[0], self.hb[1])

    def default_route(self):
        if self.default is None:
            return None
        return Route("0.0.0.0/0", self.default[0], self.default[1], self.default[2])


class StandInPeer(Peer):
    """Canned probe answers; real `sh` for everything else, rooted at `peer_dir`."""

    def __init__(self, peer_dir, name="HA2", routes=None, uid=0, fail_with=None):
        super(StandInPeer, self).__init__("10.0.0.2")
        self.peer_dir = peer_dir
        self.name = name
        self.routes = routes or {"10.0.0.1": "10.0.0.1 dev eth1 src 10.0.0.2 uid 0",
                                 "10.168.0.161": "10.168.0.161 dev eth0 src 10.168.0.162 uid 0"}
        self.uid = uid
        self.fail_with = fail_with
        self.scripts = []

    def run_script(self, script, check=True):
        self.scripts.append(script)
        if self.fail_with:
            raise self.fail_with
        if "uname -n" in script:
            out = ["name=%s" % self.name, "uid=%d" % self.uid]
            for addr, line in self.routes.items():
                out.append("route %s=%s" % (addr, line))
            return Result(0, "\n".join(out) + "\n", "")
        proc = subprocess.run(["sh", "-s"], input=script, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              universal_newlines=True)
        if check and proc.returncode:
            raise SshError("script failed: " + proc.stderr)
        return Result(proc.returncode, proc.stdout, proc.stderr)


def run(tmp_path, peer=None, **kw):
    local = tmp_path / "local"
    local.mkdir(exist_ok=True)
    peer_dir = tmp_path / "peer"
    peer_dir.mkdir(exist_ok=True)
    peer = peer or StandInPeer(str(peer_dir))
    kw.setdefault("vips", ["10.168.0.160/24/eth0"])
    kw.setdefault("services", ["nginx"])
    # The stand-in peer writes into its own directory: point the peer's scripts there.
    real_push = peersync.push

    def push(p, wanted, directory="/etc/ha.d", dry_run=False, now=None):
        return real_push(p, wanted, str(peer_dir), dry_run, now)

    peersync.push, saved = push, real_push
    try:
        return initcmd.run_init("10.0.0.2", directory=str(local), discovery=kw.pop("discovery", FakeDiscovery()),
                                peer_factory=lambda host: peer, **kw), local, peer_dir, peer
    finally:
        peersync.push = saved


def test_tutorial_scenario_files(tmp_path):
    result, local, peer_dir, _ = run(tmp_path)
    hacf = (local / "ha.cf").read_text()
    assert "keepalive 2\ndeadtime 30\nwarntime 10\ninitdead 60\n" in hacf
    # both paths, both nodes' addresses: one file for both nodes
    for line in ("ucast eth1 10.0.0.1", "ucast eth1 10.0.0.2", "ucast eth0 10.168.0.161",
                 "ucast eth0 10.168.0.162", "node HA1", "node HA2", "ping 10.168.0.1", "auto_failback on"):
        assert line + "\n" in hacf
    assert hacf.index("udpport 694") < hacf.index("ucast ")
    assert "keeplive" not in hacf
    assert (local / "haresources").read_text().splitlines()[-1] == "HA1 10.168.0.160/24/eth0 nginx"
    auth = (local / "authkeys").read_text()
    assert "auth 1\n1 sha1 " in auth
    key = auth.split("1 sha1 ")[1].strip()
    assert len(key) == 64 and key not in ("hello!",)
    assert stat.S_IMODE(os.stat(str(local / "authkeys")).st_mode) == 0o600
    # the peer got byte-identical files with the same modes
    for name in ("ha.cf", "haresources", "authkeys"):
        assert (peer_dir / name).read_text() == (local / name).read_text()
        assert stat.S_IMODE(os.stat(str(peer_dir / name)).st_mode) == \
            stat.S_IMODE(os.stat(str(local / name)).st_mode)
    assert result.synced
    assert [c.status for c in result.local_changes] == [CREATED] * 3
    assert [c.status for c in result.peer_changes] == [CREATED] * 3


def test_rerun_is_unchanged_and_touches_nothing(tmp_path):
    run(tmp_path)
    before = {p.name: os.stat(str(p)).st_mtime_ns for p in (tmp_path / "local").iterdir()}
    result, local, _, peer = run(tmp_path)
    assert [c.status for c in result.local_changes] == [UNCHANGED] * 3
    assert [c.status for c in result.peer_changes] == [UNCHANGED] * 3
    assert {p.name: os.stat(str(p)).st_mtime_ns for p in local.iterdir()} == before
    assert not any("mv -f" in s for s in peer.scripts)  # no install round trip at all


def test_changed_file_is_backed_up_with_diff(tmp_path):
    run(tmp_path)
    result, local, peer_dir, _ = run(tmp_path, profile="fast")
    hacf = [c for c in result.local_changes if c.path.endswith("ha.cf")][0]
    assert hacf.status == CHANGED and hacf.backup and os.path.exists(hacf.backup)
    assert "-keepalive 2" in hacf.diff and "+keepalive 50ms" in hacf.diff
    assert "keepalive 2\n" in open(hacf.backup).read()
    peer_hacf = [c for c in result.peer_changes if c.path.endswith("ha.cf")][0]
    assert peer_hacf.status == CHANGED
    backups = [p.name for p in peer_dir.iterdir() if p.name.startswith("ha.cf.bak.")]
    assert len(backups) == 1
    assert not [p for p in peer_dir.iterdir() if p.name.startswith(".pyha-sync")]


def test_dry_run_writes_nothing(tmp_path):
    result, local, peer_dir, peer = run(tmp_path, dry_run=True)
    assert list(local.iterdir()) == [] and list(peer_dir.iterdir()) == []
    assert "ucast eth1 10.0.0.2" in result.local_files["ha.cf"][0]


def test_ssh_failure_leaves_both_nodes_untouched(tmp_path):
    peer = StandInPeer(str(tmp_path / "peer"), fail_with=SshError("key-based SSH to root@10.0.0.2 is not set up",
                                                                  "run ssh-copy-id root@10.0.0.2"))
    (tmp_path / "peer").mkdir()
    with pytest.raises(initcmd.InitError) as err:
        run(tmp_path, peer=peer)
    assert "ssh-copy-id" in err.value.hint
    assert list((tmp_path / "local").iterdir()) == []
    assert list((tmp_path / "peer").iterdir()) == []


def test_peer_not_root_is_refused(tmp_path):
    (tmp_path / "peer").mkdir()
    with pytest.raises(initcmd.InitError, match="not root"):
        run(tmp_path, peer=StandInPeer(str(tmp_path / "peer"), uid=1000))


def test_peer_name_mismatch(tmp_path):
    with pytest.raises(initcmd.InitError, match="says its name"):
        run(tmp_path, peer_name="HA3")


def test_interface_names_differ_gives_per_node_files(tmp_path):
    (tmp_path / "peer").mkdir()
    peer = StandInPeer(str(tmp_path / "peer"),
                       routes={"10.0.0.1": "10.0.0.1 dev ens4 src 10.0.0.2",
                               "10.168.0.161": "10.168.0.161 dev ens3 src 10.168.0.162"})
    result, local, peer_dir, _ = run(tmp_path, peer=peer)
    lhacf, phacf = (local / "ha.cf").read_text(), (peer_dir / "ha.cf").read_text()
    assert "ucast eth1 10.0.0.2\n" in lhacf and "ucast eth0 10.168.0.162\n" in lhacf
    assert "ucast ens4 10.0.0.1\n" in phacf and "ucast ens3 10.168.0.161\n" in phacf
    ucast = [l for l in phacf.splitlines() if l.startswith("ucast ")]
    assert ucast == ["ucast ens4 10.0.0.1", "ucast ens3 10.168.0.161"]  # no line naming itself
    assert any(n.code == "init-per-node-hacf" for n in result.notes)


def test_no_sync_needs_peer_name_and_uses_peer_public(tmp_path):
    with pytest.raises(initcmd.InitError, match="--peer-name"):
        run(tmp_path, sync=False)
    result, local, peer_dir, _ = run(tmp_path, sync=False, peer_name="HA2", peer_public="10.168.0.162")
    assert "ucast eth0 10.168.0.162\n" in (local / "ha.cf").read_text()
    assert list(peer_dir.iterdir()) == [] and not result.synced


def test_single_link_warns(tmp_path):
    disc = FakeDiscovery(default=("eth1", "10.0.0.1", "10.0.0.254"))
    result, local, _, _ = run(tmp_path, discovery=disc)
    assert any(n.code == "init-single-link" for n in result.notes)
    assert "ucast eth0" not in (local / "ha.cf").read_text()


def test_existing_real_key_is_reused_sample_key_is_not(tmp_path):
    local = tmp_path / "local"
    local.mkdir()
    (local / "authkeys").write_text("auth 3\n3 md5 hello!\n")
    run(tmp_path)
    key1 = (local / "authkeys").read_text()
    assert "hello!" not in key1
    run(tmp_path)
    assert (local / "authkeys").read_text() == key1
    run(tmp_path, new_key=True)
    assert (local / "authkeys").read_text() != key1


@pytest.mark.parametrize("vip", ["10.168.0.300/24/eth0", "nonsense", "10.1.1.1/33", "10.1.1.1/24/eth0/x"])
def test_bad_vip_rejected(tmp_path, vip):
    with pytest.raises(initcmd.InitError, match="--vip"):
        run(tmp_path, vips=[vip])


def test_fast_profile_timings_are_sane():
    timings = dict(initplan.PROFILES["fast"])
    ms = {k: (int(v[:-2]) if v.endswith("ms") else int(float(v) * 1000)) for k, v in timings.items()}
    assert ms["deadtime"] > 2 * ms["keepalive"]
    assert ms["keepalive"] < ms["warntime"] < ms["deadtime"] <= ms["initdead"]


def test_primary_must_be_a_node(tmp_path):
    with pytest.raises(initcmd.InitError, match="--primary"):
        run(tmp_path, primary="HA9")
    result, local, _, _ = run(tmp_path, primary="ha2")
    assert (local / "haresources").read_text().splitlines()[-1].startswith("ha2 ")


def test_parse_route_get():
    assert peersync.parse_route_get("10.0.0.1 dev eth1 src 10.0.0.2 uid 0 \\    cache") == ("eth1", "10.0.0.2")
    assert peersync.parse_route_get("") == (None, None)
