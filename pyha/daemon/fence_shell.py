"""The daemon's fencing hands: carry out the core's `FencePeer` and check the device.

The policy (when to fence, when to take over, retries) is the core's
(`pyha.cluster.manager.fence`); this module only runs calls and reports outcomes:

* `FencePeer(node)`: one call of `fence_action` (reboot or off, pyha.cf) on that node with
  the one device configured for it (`pyha.fencing.plan.plan_call`: a fence line for the
  node, or the stonith line that applies here and controls it); the outcome goes back to
  the core as `Fenced(node, ok, detail)`.  No delay here: the core already waited
  `fence_delay`, and could drop the fencing during that wait.
* Every `fence_check` (default 5 min, first one shortly after start) the device is asked
  for the peer's power state (`status`), so that a broken BMC shows in `pyha status` and
  the log before it is needed.  A check never runs beside a fence call.

Nothing blocks the loop: the plan is built beside it (`offloop.Job`: cluster-glue's
parameter names come from running `stonith -t TYPE -n`), and a running call is advanced
(`FenceCall.poll`, never waiting) when something can have changed: on SIGCHLD (a
listener beside the resource runner's handler, `EventLoop.add_signal_listener`) and at
the call's own next deadline (the delay's end, the step's timeout), never on a
periodic timer.

A SIGHUP (pyha/daemon/reload.py) rereads ha.cf's stonith lines and pyha.cf's `fence`,
`fence_delay`, `fence_action` and `fence_check` (`reload_fencing`): the core gets
`FenceSettings` (the device's name and fence_delay; it may refuse, see
`FenceGate.reconfigure`), and when it took them this shell uses the new devices from the
next call on (a call that runs keeps its plan); a device where there was none starts a
shell, none where there was one closes it.
"""

import logging
import signal
import time
from typing import Any, Callable, Dict, Optional, Tuple

from pyha.cluster import manager_events as me
from pyha.daemon.logsetup import LOGGER
from pyha.daemon.offloop import Job
from pyha.fencing.metadata import Probe
from pyha.fencing.plan import plan_call

log = logging.getLogger(LOGGER)

FIRST_CHECK_S = 10.0     # the first device check, after start-up has settled
PLAN_TIMEOUT_S = 60.0    # building a plan (cluster-glue's `stonith -n`) beside the loop


class FenceShell(object):
    """Fence calls and device checks for the one peer of this node."""

    def __init__(self, loop, config, local, peer, feed, action="reboot", check_s=300.0, clock=time.monotonic,
                 probe=None, plan=plan_call):
        # type: (Any, Any, str, str, Callable[[Any], Any], str, float, Callable[[], float], Any, Callable[..., Any]) -> None
        self.loop = loop
        self.config = config  # pyha.fencing.devices.FenceConfig
        self.local = local
        self.peer = peer
        self.feed = feed      # hands a `Fenced` to the core (the daemon's queued feed)
        self.action = action
        self.check_s = check_s
        self.clock = clock
        self.probe = probe or Probe()
        self._plan = plan
        self.device = None    # type: Optional[Dict[str, Any]]  # the last plan's device, described
        self._job = None      # type: Any  # a plan being built
        self._call = None     # type: Any  # the running FenceCall
        self._what = None     # type: Optional[str]  # "fence" or "check"
        self._timer = None    # type: Any
        self._check_timer = None  # type: Any
        self.last_check = None  # type: Optional[Dict[str, Any]]
        self.last_fence = None  # type: Optional[Dict[str, Any]]
        self.closed = False
        self._pending = None  # type: Any  # (what, action, started) of the running call
        loop.add_signal_listener(signal.SIGCHLD, self._on_sigchld)
        if check_s > 0:
            self._check_timer = loop.call_later(min(FIRST_CHECK_S, check_s), self._check)

    # --- the core's action -----------------------------------------------------------------

    def do(self, action):
        # type: (Any) -> bool
        """Carry out `action` if it is fencing's; False for anything else."""
        if not isinstance(action, me.FencePeer):
            return False
        if action.node != self.peer:
            log.error("fence request for %s refused: this node only fences its peer %s", action.node, self.peer)
            self.feed(me.Fenced(action.node, False, "not this node's peer"))
            return True
        if self._what == "fence":
            log.warning("a fence call for %s is already running; the new request waits for its result", self.peer)
            return True
        self._abort("a fence call for %s takes precedence" % self.peer)
        log.warning("fencing %s (%s) with action %s: %s", self.peer, self.device_label(), self.action, action.reason)
        self._start("fence", self.action)
        return True

    def device_label(self):
        # type: () -> str
        d = self.device
        if not d:
            return "its configured device"
        return "%s, %s" % (d.get("agent") or d.get("type"), d.get("where"))

    # --- one call: plan beside the loop, then poll ----------------------------------------------

    def _start(self, what, action):
        # type: (str, str) -> None
        self._what = what
        started = self.clock()

        def build():
            return self._plan(self.config, self.peer, action, self.local, self.probe, None, 0.0)

        def planned(result, error):
            self._job = None
            if self.closed or self._what != what:
                return
            if error is not None:
                self._done(what, action, started, False, "cannot prepare the %s call: %s" % (action, error), None)
                return
            plan, why = result
            if plan is None:
                self._done(what, action, started, False, why, None)
                return
            self.device = plan.describe()
            self._call = plan.call
            try:
                self._call.start()
            except (OSError, RuntimeError) as exc:
                self._done(what, action, started, False, "cannot start the %s call: %s" % (action, exc), None)
                return
            self._pending = (what, action, started)
            self._advance()

        self._job = Job(self.loop, build, planned, PLAN_TIMEOUT_S)

    def _on_sigchld(self, signum):
        # type: (int) -> None
        if self._call is not None:
            self._advance()

    def _advance(self):
        # type: () -> None
        """Move the running call on (a child ended, or its deadline came); arm a timer for
        its next deadline, or report its outcome."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.closed or self._call is None or self._pending is None:
            return
        what, action, started = self._pending
        outcome = self._call.poll()
        if outcome is None:
            when = self._call.next_deadline()
            if when is not None:
                self._timer = self.loop.call_at(when, self._advance)
            return
        self._call = None
        self._pending = None
        self._done(what, action, started, outcome.ok, outcome.message, outcome)

    def _done(self, what, action, started, ok, message, outcome):
        # type: (str, str, float, bool, str, Any) -> None
        self._what = None
        now = self.clock()
        entry = {"at": now, "action": action, "ok": bool(ok), "message": message,
                 "power": getattr(outcome, "power", None), "duration_s": round(now - started, 3),
                 "device": self.device}
        if what == "fence":
            self.last_fence = entry
            detail = "%s: %s" % (self.device_label(), message) if ok else message
            (log.warning if ok else log.error)("fencing %s (%s): %s", self.peer, action, detail)
            self.feed(me.Fenced(self.peer, bool(ok), detail))
        else:
            was = self.last_check
            self.last_check = entry
            if not ok:
                log.error("fence device check for %s failed: %s (a takeover would wait for this device)",
                          self.peer, message)
            elif was is None or not was["ok"]:
                log.info("fence device check for %s: %s (%s)", self.peer, message, self.device_label())
        self._arm_check()

    # --- reload ----------------------------------------------------------------------------------

    def reconfigure(self, config, action, check_s):
        # type: (Any, str, float) -> None
        """New devices (a FenceConfig), fence_action and fence_check from a reload: the next
        call plans with them; a changed check interval re-arms the check."""
        self.config = config
        self.action = action
        if self._what is not None:
            log.info("fencing: the running %s call keeps its device; the next one uses the reloaded settings",
                     self._what)
        if check_s != self.check_s:
            self.check_s = check_s
            if self._check_timer is not None:
                self._check_timer.cancel()
                self._check_timer = None
            if check_s > 0 and self._what is None:
                self._check_timer = self.loop.call_later(min(FIRST_CHECK_S, check_s), self._check)

    # --- periodic checks -----------------------------------------------------------------------

    def _arm_check(self):
        if self.closed or self.check_s <= 0:
            return
        if self._check_timer is not None:
            self._check_timer.cancel()
        self._check_timer = self.loop.call_later(self.check_s, self._check)

    def _check(self):
        self._check_timer = None
        if self.closed:
            return
        if self._what is not None:
            self._arm_check()  # never beside a fence call (or another check)
            return
        self._start("check", "status")

    def _abort(self, why):
        # type: (str) -> None
        """Drop a running device check (a fence call needs the device)."""
        if self._what != "check":
            return
        if self._call is not None:
            self._call.cancel()
            self._call = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._what = None
        self._pending = None
        log.info("fence device check dropped: %s", why)

    # --- status and stop -------------------------------------------------------------------------

    def snapshot(self, now):
        # type: (float) -> Dict[str, Any]
        def aged(entry):
            if entry is None:
                return None
            out = dict(entry)
            out["age_s"] = round(now - entry["at"], 1)
            return out
        check = aged(self.last_check)
        if self._what == "check":
            summary = "checking now"
        elif check is None:
            summary = "not checked yet" if self.check_s > 0 else "checks off (fence_check 0)"
        else:
            summary = "%s %.0f s ago: %s" % ("ok" if check["ok"] else "FAILED", check["age_s"], check["message"])
        return {"peer": self.peer, "action": self.action, "device": self.device_label(),
                "check_interval_s": self.check_s, "running": self._what, "summary": summary,
                "last_check": check, "last_fence": aged(self.last_fence)}

    def close(self):
        # type: () -> None
        """The daemon stops: kill a running call (its result would reach nobody)."""
        self.closed = True
        self.loop.remove_signal_listener(signal.SIGCHLD, self._on_sigchld)
        for timer in (self._timer, self._check_timer):
            if timer is not None:
                timer.cancel()
        if self._call is not None:
            self._call.cancel()
            self._call = None


def _shell_settings(pyhacf):
    # type: (Any) -> Tuple[str, float]
    """pyha.cf's fence_action and fence_check (seconds)."""
    settings = pyhacf.settings if pyhacf is not None else None
    action = (settings.get("fence_action") if settings is not None else None) or "reboot"
    check_ms = settings.get("fence_check") if settings is not None else None
    return action, 300.0 if check_ms is None else check_ms / 1000.0


def _announce(peer, device, action, delay_ms, check_s):
    # type: (str, str, str, int, float) -> None
    log.info("fencing: %s is fenced with %s (action %s, delay %.1f s) before any takeover; device checked every %s",
             peer, device, action, delay_ms / 1000.0, "%.0f s" % check_s if check_s > 0 else "never (fence_check 0)")


def start_fence_shell(loop, cf, pyhacf, manager_config, feed):
    # type: (Any, Any, Any, Any, Callable[[Any], Any]) -> Optional[FenceShell]
    """The daemon's FenceShell, or None when the core has no device for the peer
    (`ManagerConfig.fence_device`, from `composition.fence_options`)."""
    if manager_config is None or manager_config.fence_device is None:
        return None
    from pyha.daemon.composition import fence_config
    action, check_s = _shell_settings(pyhacf)
    shell = FenceShell(loop, fence_config(cf, pyhacf), manager_config.local, manager_config.peer, feed,
                       action=action, check_s=check_s)
    _announce(manager_config.peer, manager_config.fence_device, action, manager_config.fence_delay_ms, check_s)
    return shell


def reload_fencing(loop, shell, cf, pyhacf, local, peer, preferred, feed_core, fence_state, feed):
    # type: (Any, Optional[FenceShell], Any, Any, str, str, Optional[str], Callable[[Any], Any], Callable[[], Any], Callable[[Any], Any]) -> Optional[FenceShell]
    """Apply reloaded fencing settings (ha.cf `cf`, pyha.cf `pyhacf`); returns the shell
    to use from now on.  `feed_core(event)` hands the core its `FenceSettings` at once;
    `fence_state()` is the core's fencing view after it (`FenceGate.to_dict`), which says
    whether it took the new device; `feed` is what a new shell reports `Fenced` to."""
    from pyha.daemon.composition import fence_config, fence_options
    config = fence_config(cf, pyhacf)
    opts = fence_options(config, local, peer, preferred)
    device = opts.get("fence_device")
    feed_core(me.FenceSettings(device, opts.get("fence_delay_ms", 0)))
    if (fence_state() or {}).get("device") != device:
        return shell  # refused (the core said why): the running devices stay too
    action, check_s = _shell_settings(pyhacf)
    if device is None:
        if shell is not None:
            shell.close()
            log.warning("fencing: reload: no fence device for %s any more; device checks stopped", peer)
        return None
    if shell is None:
        shell = FenceShell(loop, config, local, peer, feed, action=action, check_s=check_s)
    else:
        shell.reconfigure(config, action, check_s)
    _announce(peer, device, action, opts.get("fence_delay_ms", 0), check_s)
    return shell
