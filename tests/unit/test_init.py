"""`pyha init` logic with injected discovery and a stand-in peer.

The stand-in peer answers the probe (uname -n, routes) with canned text, like a host we
cannot have here, but runs the fetch/install scripts for real with `sh` against a temp
directory, so the shell that will run on the peer is exercised.  The real SSH path is
covered by tests/lab/test_init_sync.py against a real sshd.
"""

import json
import os
import stat
import subprocess
import threading

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

    def run_script(self, script, check=True, secret_stdout=False):
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
    for name in ("ha.cf", "haresources", "authkeys", "pyha.cf"):
        assert (peer_dir / name).read_text() == (local / name).read_text()
        assert stat.S_IMODE(os.stat(str(peer_dir / name)).st_mode) == \
            stat.S_IMODE(os.stat(str(local / name)).st_mode)
    assert result.synced
    assert [c.status for c in result.local_changes] == [CREATED] * 4
    assert [c.status for c in result.peer_changes] == [CREATED] * 4


def test_rerun_is_unchanged_and_touches_nothing(tmp_path):
    run(tmp_path)
    before = {p.name: os.stat(str(p)).st_mtime_ns for p in (tmp_path / "local").iterdir()}
    result, local, _, peer = run(tmp_path)
    assert [c.status for c in result.local_changes] == [UNCHANGED] * 4
    assert [c.status for c in result.peer_changes] == [UNCHANGED] * 4
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


# -- issue 11: keys never shown, backups private and unique, honest errors ---------------------------

def key_of(path):
    return path.read_text().split("1 sha1 ")[1].strip()


def test_key_rotation_diffs_never_show_a_key(tmp_path):
    run(tmp_path)
    old = key_of(tmp_path / "local" / "authkeys")
    result, local, peer_dir, _ = run(tmp_path, new_key=True)
    new = key_of(local / "authkeys")
    assert new != old and key_of(peer_dir / "authkeys") == new
    for changes in (result.local_changes, result.peer_changes):
        auth = [c for c in changes if c.path.endswith("authkeys")][0]
        assert auth.status == CHANGED
        assert "-1 sha1 ****\n" in auth.diff and "+1 sha1 ****\n" in auth.diff
        for text in (auth.diff, json.dumps([c.to_dict() for c in changes])):
            assert old not in text and new not in text


def test_dry_run_output_masks_the_key(tmp_path):
    from pyha.cli.init_cmd import dry_run_text

    result, local, _, _ = run(tmp_path, dry_run=True)
    key = result.local_files["authkeys"][0].split("1 sha1 ")[1].strip()
    text = dry_run_text(result, str(local))
    assert "==> %s/authkeys (mode 0600) <==" % local in text and "\n1 sha1 ****\n" in text
    assert "ucast eth1 10.0.0.2" in text  # the rest is shown as it is
    assert key not in text


def test_local_authkeys_backup_is_created_0600(tmp_path, monkeypatch):
    run(tmp_path)
    local = tmp_path / "local"
    (local / "authkeys").chmod(0o644)  # even a key file with a bad mode gets a private backup
    old = key_of(local / "authkeys")
    created = []
    real_open = os.open

    def spy(path, flags, mode=0o777, *args, **kw):
        if ".bak." in str(path) and flags & os.O_CREAT:
            created.append((str(path), flags, mode))
        return real_open(path, flags, mode, *args, **kw)

    monkeypatch.setattr(os, "open", spy)
    result, _, _, _ = run(tmp_path, new_key=True)
    backup = [c for c in result.local_changes if c.path.endswith("authkeys")][0].backup
    # created with its final mode (never a moment at 0644), never through a symlink or over a file
    assert [(p, m) for p, _, m in created if p == backup] == [(backup, 0o600)]
    flags = [f for p, f, _ in created if p == backup][0]
    assert flags & os.O_EXCL and flags & os.O_NOFOLLOW
    assert stat.S_IMODE(os.stat(backup).st_mode) == 0o600
    assert key_of(tmp_path / "local" / os.path.basename(backup)) == old


def test_local_backups_within_one_second_do_not_collide(tmp_path):
    from pyha.host.files import write_files

    d = tmp_path / "d"
    names = []
    for n in range(3):
        changes = write_files({"authkeys": ("auth 1\n1 sha1 %s\n" % (str(n) * 32), 0o600)}, str(d), now=1e9)
        names.append(changes[0].backup)
    assert names[0] is None and names[1] != names[2]
    assert [key_of(tmp_path / "d" / os.path.basename(b)) for b in names[1:]] == ["0" * 32, "1" * 32]


def test_peer_backups_are_unique_within_one_second_and_private(tmp_path):
    peer_dir = tmp_path / "peer"
    peer_dir.mkdir()
    (peer_dir / "authkeys").write_text("auth 1\n1 sha1 %s\n" % ("a" * 32))
    (peer_dir / "authkeys").chmod(0o644)  # the old key file had a bad mode: its backup must not
    peer = StandInPeer(str(peer_dir))
    backups = []
    for key in ("b" * 32, "c" * 32):
        changes = peersync.push(peer, {"authkeys": ("auth 1\n1 sha1 %s\n" % key, 0o600)}, str(peer_dir), now=1e9)
        backups.append(changes[0].backup)
    assert backups[0] != backups[1] and all(b and os.path.exists(b) for b in backups)
    assert sorted(str(p) for p in peer_dir.glob("authkeys.bak.*")) == sorted(backups)
    assert [key_of(peer_dir / os.path.basename(b)) for b in backups] == ["a" * 32, "b" * 32]
    assert [stat.S_IMODE(os.stat(b).st_mode) for b in backups] == [0o600, 0o600]
    assert key_of(peer_dir / "authkeys") == "c" * 32
    assert stat.S_IMODE(os.stat(str(peer_dir / "authkeys")).st_mode) == 0o600


class DropsAfterInstall(StandInPeer):
    """The install script runs to its end on the peer, then the connection breaks."""

    def run_script(self, script, check=True, secret_stdout=False):
        result = super(DropsAfterInstall, self).run_script(script, check, secret_stdout)
        if "mv -f" in script:
            raise SshError("ssh to root@10.0.0.2 failed: Connection reset by peer")
        return result


class EditsInstall(StandInPeer):
    """The install script with `edit(script)` applied: to make it fail at a chosen point."""

    def __init__(self, peer_dir, edit):
        super(EditsInstall, self).__init__(peer_dir)
        self.edit = edit

    def run_script(self, script, check=True, secret_stdout=False):
        if "mv -f" in script:
            script = self.edit(script)
        return super(EditsInstall, self).run_script(script, check, secret_stdout)


def test_connection_lost_after_the_peer_installed_says_state_unknown(tmp_path):
    (tmp_path / "peer").mkdir()
    with pytest.raises(initcmd.InitError) as err:
        run(tmp_path, peer=DropsAfterInstall(str(tmp_path / "peer")))
    assert "were not changed" not in err.value.message.split(";")[0]
    assert "may or may not be the new ones" in err.value.message and "Connection reset" in err.value.message
    assert "this node's files were not changed" in err.value.message
    assert "`pyha sync --peer 10.0.0.2 --dry-run`" in err.value.hint
    # that is the truth: the peer has them, this node does not
    assert sorted(p.name for p in (tmp_path / "peer").iterdir()) == ["authkeys", "ha.cf", "haresources", "pyha.cf"]
    assert list((tmp_path / "local").iterdir()) == []


def test_install_failing_before_any_rename_says_not_changed(tmp_path):
    (tmp_path / "peer").mkdir()
    peer = EditsInstall(str(tmp_path / "peer"), lambda s: s.replace("echo @@staged", "echo 'disk full' >&2; exit 7"))
    with pytest.raises(initcmd.InitError) as err:
        run(tmp_path, peer=peer)
    assert err.value.message.startswith("the peer's files were not changed: ") and "disk full" in err.value.message
    assert list((tmp_path / "peer").iterdir()) == []


def test_install_stopping_part_way_says_state_unknown(tmp_path):
    (tmp_path / "peer").mkdir()
    peer = EditsInstall(str(tmp_path / "peer"), lambda s: s.replace('mv -f "$tmp/haresources"', "false; "))
    with pytest.raises(initcmd.InitError) as err:
        run(tmp_path, peer=peer)
    assert "stopped part way" in err.value.message and "--dry-run" in err.value.hint
    # the renames before the failing one happened
    assert sorted(p.name for p in (tmp_path / "peer").iterdir()) == ["authkeys", "ha.cf"]


def test_unreadable_local_file_stops_init_before_the_peer_is_touched(tmp_path):
    local = tmp_path / "local"
    local.mkdir()
    os.mkfifo(str(local / "ha.cf"))
    (tmp_path / "peer").mkdir()
    peer = StandInPeer(str(tmp_path / "peer"))
    outcome = []
    worker = threading.Thread(target=lambda: outcome.append(pytest.raises(initcmd.InitError, run, tmp_path, peer=peer)))
    worker.daemon = True  # a blocking open of the FIFO would hang here for ever: fail instead
    worker.start()
    worker.join(10)
    assert outcome, "pyha init blocked on a FIFO"
    err = outcome[0]
    assert "FIFO" in err.value.message and str(local / "ha.cf") in err.value.message
    assert not any("mv -f" in s for s in peer.scripts) and list((tmp_path / "peer").iterdir()) == []


def test_ssh_errors_never_quote_output_that_may_hold_a_key(tmp_path):
    fake = tmp_path / "ssh"
    fake.write_text("#!/bin/sh\ncat >/dev/null\necho 'auth 1'\necho '1 sha1 %s'\nexit 1\n" % ("k" * 40))
    fake.chmod(0o755)
    peer = Peer("10.0.0.2", ssh=str(fake))
    with pytest.raises(SshError) as err:
        peer.run_script("true\n", secret_stdout=True)
    assert "k" * 40 not in err.value.message and "exit 1" in err.value.message
    with pytest.raises(SshError, match="k" * 40):  # other scripts: the output helps
        peer.run_script("true\n")
    with pytest.raises(SshError) as err:
        peersync.fetch(peer, str(tmp_path))
    assert "k" * 40 not in err.value.message


def test_sync_refuses_a_fifo_without_blocking_or_traceback(tmp_path):
    import typer
    from typer.testing import CliRunner

    from pyha.cli import init_cmd

    app = typer.Typer()
    init_cmd.register(app)
    for name in ("ha.cf", "haresources"):
        (tmp_path / name).write_text("# x\n")
    os.mkfifo(str(tmp_path / "authkeys"))
    box = []
    worker = threading.Thread(target=lambda: box.append(CliRunner().invoke(
        app, ["sync", "--peer", "10.0.0.2", "--dir", str(tmp_path)])))
    worker.daemon = True
    worker.start()
    worker.join(10)
    assert box, "pyha sync blocked on a FIFO"
    result = box[0]
    assert result.exit_code == 1 and not isinstance(result.exception, Exception)
    assert ("pyha: error: cannot read this node's files: %s is a FIFO (named pipe), not a regular file"
            % (tmp_path / "authkeys")) in result.output


def test_init_writes_the_pyha_cf_template_to_both_nodes_and_keeps_an_existing_one(tmp_path):
    from pyha.config import Haresources
    from pyha.config.pyhacf import CrossContext, PyhaCf, template
    from pyha.config.pyhacf_monitor import monitors
    result, local, peer_dir, _ = run(tmp_path)
    text = (local / "pyha.cf").read_text()
    assert text == (peer_dir / "pyha.cf").read_text() and text.startswith(template().rstrip("\n"))
    assert stat.S_IMODE(os.stat(str(local / "pyha.cf")).st_mode) == 0o600  # fence credentials may go there
    # a monitor line for the service, with the HTTP check of the VIP nginx users want
    assert text.endswith("\nmonitor nginx interval=2s timeout=5s restarts=1 window=5min url=http://10.168.0.160/\n")
    doc = PyhaCf.parse(text, "pyha.cf")
    hares = Haresources.parse((local / "haresources").read_text(), "haresources")
    assert doc.check(CrossContext(None, hares)) == []
    assert [(m.resource, m.interval_ms, m.url) for m in monitors(doc.settings)] == \
        [("nginx", 2000, "http://10.168.0.160/")]
    assert not [n for n in result.notes if n.code == "init-pyhacf-kept"]
    # the operator's own pyha.cf: init never rewrites it, the peer gets the same
    (local / "pyha.cf").write_text("notify /usr/local/sbin/ours\n")
    result, local, peer_dir, _ = run(tmp_path)
    assert (local / "pyha.cf").read_text() == "notify /usr/local/sbin/ours\n" == (peer_dir / "pyha.cf").read_text()
    assert [n.code for n in result.notes if n.code == "init-pyhacf-kept"] == ["init-pyhacf-kept"]
    assert [c.status for c in result.local_changes if c.path.endswith("pyha.cf")] == [UNCHANGED]


def test_init_monitor_lines_only_web_servers_get_a_url():
    params = initplan.InitParams("ha1", "ha2", [], services=("mysql", "httpd::conf"))
    assert initplan.monitor_lines(params) == [
        "monitor mysql interval=2s timeout=5s restarts=1 window=5min",
        "monitor httpd::conf interval=2s timeout=5s restarts=1 window=5min url=http://127.0.0.1/"]
    assert initplan.render_pyhacf(initplan.InitParams("ha1", "ha2", [])) == \
        __import__("pyha.config.pyhacf", fromlist=["template"]).template()


def test_sync_pushes_pyha_cf_when_this_node_has_one(tmp_path, monkeypatch):
    from typer.testing import CliRunner
    import typer

    from pyha.cli import init_cmd
    from pyha.host import peersync as ps

    pushed = []
    monkeypatch.setattr(ps, "push", lambda peer, files, directory, dry_run=False: pushed.append(sorted(files)) or [])
    app = typer.Typer()
    init_cmd.register(app)
    for name in ("ha.cf", "haresources", "authkeys"):
        (tmp_path / name).write_text("# x\n")
    assert CliRunner().invoke(app, ["sync", "--peer", "10.0.0.2", "--dir", str(tmp_path)]).exit_code == 0
    (tmp_path / "pyha.cf").write_text("# mine\n")
    assert CliRunner().invoke(app, ["sync", "--peer", "10.0.0.2", "--dir", str(tmp_path)]).exit_code == 0
    assert pushed == [["authkeys", "ha.cf", "haresources"], ["authkeys", "ha.cf", "haresources", "pyha.cf"]]
