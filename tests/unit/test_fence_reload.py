"""SIGHUP reloads fencing settings (issue 15): the core's side (`FenceGate.reconfigure`
through `FenceSettings`, in the deterministic simulator), the shell's side
(`fence_shell.reload_fencing`: the next call plans with the new devices; a device where
there was none starts a shell, none where there was one closes it; a refusal keeps the
old shell), and `Reloader` (a real check of a temp /etc/ha.d): ha.cf's stonith lines and
pyha.cf's fence lines are applied, not reported as "restart pyha"."""

import logging
import os

from clustersim import Cluster
from pyha.cluster.manager_events import Acquire, FenceSettings
from pyha.daemon import fence_shell
from pyha.daemon.reload import Reloader, without_stonith
from test_daemon_shell import _daemon, _run_until
from test_fence_gate import DISK, acquires, fence_calls, fencing, stonith

NEW = "fence_ipmilan (/etc/ha.d/pyha.cf:9)"


def test_a_new_device_while_the_gate_retries_is_used_by_the_next_attempt():
    c = Cluster(groups=((DISK, "ha1", False),), node_opts=fencing(0.0), shell={"ha2": {"fence_ok": False}})
    c.crash(30, "ha1")
    c.run_until(40)
    assert c.snapshot("ha2")["fencing"]["state"] in ("failed", "fencing")
    c.command(40.5, "ha2", FenceSettings(NEW, 0))
    c.run_until(41)
    snap = c.snapshot("ha2")["fencing"]
    assert snap["device"] == NEW and snap["blocking_takeover"]  # still waiting: only the device changed
    c.stacks["ha2"].shell.fence_ok = True  # the fixed device (a corrected password) works
    c.run_until(50)
    assert c.holders(DISK) == {"ha2"}
    assert stonith(c, "ha2")[-1] == {"node": "ha1", "result": "OK"}
    assert any("fenced by %s" % NEW in r for _, r in c.decisions("ha2"))


def test_taking_the_device_away_during_a_fencing_is_refused():
    c = Cluster(groups=((DISK, "ha1", False),), node_opts=fencing(0.0), shell={"ha2": {"fence_ok": False}})
    c.crash(30, "ha1")
    c.run_until(40)
    c.command(40.5, "ha2", FenceSettings(None, 0))
    c.run_until(45)
    snap = c.snapshot("ha2")["fencing"]
    assert snap["device"] == "fence_ipmilan (/etc/ha.d/pyha.cf:1)" and snap["blocking_takeover"]
    assert acquires(c, "ha2") == [] and c.holders(DISK) == set()  # no unfenced takeover
    text = "\n".join(line for _, line in c.decisions("ha2"))  # every log line at INFO and above
    assert "reload: fencing settings not changed: the new configuration has no fence device for ha1, but its " \
           "fencing with fence_ipmilan (/etc/ha.d/pyha.cf:1) is under way" in text


def test_taking_the_device_away_when_idle_means_heartbeats_unfenced_takeover():
    c = Cluster(groups=((DISK, "ha1", False),), node_opts=fencing(0.0))
    c.command(20, "ha2", FenceSettings(None, 0))
    c.crash(30, "ha1")
    c.run_until(45)
    assert fence_calls(c, "ha2") == [] and c.holders(DISK) == {"ha2"}
    assert stonith(c, "ha2") == [{"node": "ha1", "result": "n_stnth"}]


def test_a_device_added_by_reload_and_a_new_delay_take_effect():
    c = Cluster(groups=((DISK, "ha1", False),))
    c.command(20, "ha2", FenceSettings(NEW, 3000))
    c.crash(30, "ha1")
    c.run_until(45)
    calls = fence_calls(c, "ha2")
    assert len(calls) == 1 and 37.8 <= calls[0] <= 38.6  # dead ~35, then the new 3 s delay
    assert c.holders(DISK) == {"ha2"} and min(acquires(c, "ha2")) >= calls[0]


# --- the shell's side -------------------------------------------------------------------------

class _Timer(object):
    def __init__(self, when, fn):
        self.when, self.fn, self.cancelled = when, fn, False

    def cancel(self):
        self.cancelled = True


class _Loop(object):
    def __init__(self):
        self.timers = []

    def call_later(self, delay, fn):
        t = _Timer(delay, fn)
        self.timers.append(t)
        return t

    def add_signal_listener(self, signum, fn):
        pass

    def remove_signal_listener(self, signum, fn):
        pass


def _hacf(text):
    from pyha.config.hacf import HaCf
    return HaCf.parse("node ha1\nnode ha2\n" + text, filename="/etc/ha.d/ha.cf")


def _pyhacf(text):
    from pyha.config.pyhacf import PyhaCf
    return PyhaCf.parse(text, filename="/etc/ha.d/pyha.cf")


FENCE = "fence ha2 fence_ipmilan ip=192.0.2.12 username=admin password=%s lanplus=1\n"


def _reload(shell, cf, pyhacf, refuse=False):
    fed = []

    def state():
        if refuse:
            return {"device": "old device"}
        return {"device": fed[-1].device}
    new = fence_shell.reload_fencing(_Loop(), shell, cf, pyhacf, "ha1", "ha2", "ha1", fed.append, state,
                                     lambda ev: None)
    return new, fed


def test_reload_fencing_gives_the_shell_the_new_device_action_and_check():
    loop = _Loop()
    cf = _hacf("")
    shell = fence_shell.FenceShell(loop, None, "ha1", "ha2", lambda ev: None, check_s=300.0)
    new, fed = _reload(shell, cf, _pyhacf(FENCE % "fixed" + "fence_action off\nfence_check 1min\n"))
    assert new is shell
    assert fed == [FenceSettings("fence_ipmilan (/etc/ha.d/pyha.cf:1)", 0)]
    assert shell.action == "off" and shell.check_s == 60.0
    assert dict(shell.config.agent_for("ha2").params)["password"] == "fixed"
    assert loop.timers[0].cancelled  # the old 5 min check timer was replaced


def test_reload_fencing_starts_closes_and_keeps_shells():
    cf = _hacf("")
    new, fed = _reload(None, cf, _pyhacf(FENCE % "x"))
    assert isinstance(new, fence_shell.FenceShell) and new.peer == "ha2"
    gone, fed = _reload(new, cf, _pyhacf(""))
    assert gone is None and new.closed and fed == [FenceSettings(None, 0)]
    kept = fence_shell.FenceShell(_Loop(), "old config", "ha1", "ha2", lambda ev: None)
    same, fed = _reload(kept, cf, _pyhacf(""), refuse=True)  # the core refused: nothing changes here
    assert same is kept and kept.config == "old config" and not kept.closed


def test_reload_fencing_reads_hacf_stonith_host_lines():
    cf = _hacf("stonith_host ha1 external/ipmi ha2 192.0.2.12 admin secret lanplus\n")
    new, fed = _reload(None, cf, _pyhacf(""))
    assert fed == [FenceSettings("external/ipmi (/etc/ha.d/ha.cf:3)", 0)]
    assert new.config.glue_for("ha1").type == "external/ipmi"


# --- Reloader, over a real /etc/ha.d --------------------------------------------------------------

def test_reloader_applies_stonith_and_fence_lines_and_reports_the_rest(tmp_path, caplog, monkeypatch):
    d = _daemon(tmp_path)
    ha_dir = str(tmp_path / "ha.d")
    calls = []
    state = {"pyhacf": d.pyhacf}
    reloader = Reloader(d.loop, ha_dir, lambda: (d.cf, d.haresources, d.authkeys), lambda k, a: None,
                        lambda: state["pyhacf"], lambda p: state.update(pyhacf=p),
                        lambda cf, p: calls.append((tuple(cf.stonith), p)))
    monkeypatch.setattr(logging.getLogger("pyha"), "propagate", True)
    hacf = os.path.join(ha_dir, "ha.cf")
    try:
        with caplog.at_level(logging.INFO, logger="pyha"):
            with open(hacf, "a") as f:
                f.write("stonith_host * external/ipmi ha2 192.0.2.12 admin secret lanplus\n")
            reloader.reload()
            assert _run_until(d.loop, lambda: len(calls) == 1)
            assert calls[0][0][0].type == "external/ipmi"
            assert "stonith lines reread" in caplog.text and "restart pyha" not in caplog.text
            # pyha.cf's fence line: the same path
            with open(os.path.join(ha_dir, "pyha.cf"), "w") as f:
                f.write(FENCE % "fixed")
            os.chmod(os.path.join(ha_dir, "pyha.cf"), 0o600)
            reloader.reload()
            assert _run_until(d.loop, lambda: len(calls) == 2)
            assert calls[1][1].settings.entries("fence")[0].value.node == "ha2"
            assert "restart pyha" not in caplog.text
            # a timing: reported, not applied; fencing not called again (nothing of it changed)
            with open(hacf, "a") as f:
                f.write("deadtime 6\n")
            reloader.reload()
            assert _run_until(d.loop, lambda: "restart pyha" in caplog.text)
            assert len(calls) == 2
    finally:
        d.loop.close()


def test_without_stonith_leaves_the_other_lines():
    cf = _hacf("stonith_host * external/ipmi ha2 192.0.2.12 admin secret lanplus\ndeadtime 5\n")
    assert without_stonith(cf) == "node ha1\nnode ha2\ndeadtime 5"
