"""`pyha daemon` (run the node in the foreground) and `pyha status` (ask it)."""

import logging
import os
import sys
from typing import Any, Dict

import typer

from pyha import paths
from pyha.cli.output import fail, print_json


def register(app):
    # type: (typer.Typer) -> None
    app.command("daemon")(daemon)
    app.command("status")(status)
    app.command("standby")(standby)
    app.command("takeover")(takeover)


def daemon(
    directory: str = typer.Option(paths.HA_DIR, "--dir", help="Configuration directory."),
    state_dir: str = typer.Option(paths.STATE_DIR, "--state-dir", help="Generation number and uuid."),
    run_dir: str = typer.Option(paths.RUN_DIR, "--run-dir", help="Pid file and control socket."),
    no_resources: bool = typer.Option(False, "--no-resources",
                                      help="Membership only: never hold resources (heartbeat's -M)."),
    quiet: bool = typer.Option(False, "--quiet", help="Log only to ha.cf's destinations, not stderr."),
    no_realtime: bool = typer.Option(False, "--no-realtime",
                                     help="Normal scheduling whatever ha.cf's `realtime` says (heartbeat's -l)."),
):
    """Run this node in the foreground (systemd Type=notify; the SysV script backgrounds it)."""
    from pyha.daemon.pidlock import AlreadyRunning, PidLock

    # First act, before any medium, socket or state file is touched: one daemon per node.
    pidlock = PidLock(run_dir)
    try:
        pidlock.take()
    except AlreadyRunning as exc:
        typer.echo("pyha: ERROR: %s" % exc, err=True)
        raise typer.Exit(1)
    except OSError as exc:
        typer.echo("pyha: ERROR: cannot create the pid file %s: %s" % (pidlock.path, exc.strerror), err=True)
        raise typer.Exit(1)
    try:
        _run_daemon(directory, state_dir, run_dir, no_resources, quiet, no_realtime)
    finally:
        pidlock.release()


def _run_daemon(directory, state_dir, run_dir, no_resources, quiet, no_realtime):
    from pyha.daemon import logsetup, sdnotify
    from pyha.daemon.node import Daemon, Settings, StartupError

    logsetup.setup(stderr=True, fallback=False)  # until ha.cf says where logs go
    settings = Settings(directory, state_dir, run_dir, manage_resources=not no_resources)
    try:
        d = Daemon(settings)
        logsetup.setup(d.cf.logfile, d.cf.debugfile, d.cf.logfacility, d.cf.debug or 0, stderr=not quiet)
        d.open()
    except StartupError as exc:
        for diag in exc.diagnostics:
            typer.echo(diag.format(), err=True)
        typer.echo("pyha: ERROR: %s" % exc.message, err=True)
        raise typer.Exit(exc.exit_code)
    from pyha.daemon.realtime import make_realtime
    wanted = bool(d.cf.get("realtime")) and not no_realtime
    rt, text = make_realtime(wanted, d.cf.get("rtprio"))
    d.realtime = text
    log = logging.getLogger(logsetup.LOGGER)
    (log.warning if wanted and not rt else log.info)("%s", text)
    sdnotify.notify("READY=1\nMAINPID=%d" % os.getpid())
    try:
        code = d.run()
    finally:
        sdnotify.notify("STOPPING=1")
    raise typer.Exit(code)


def _ms(value):
    if value is None:
        return "-"
    return "%.1f s" % (value / 1000.0) if value >= 1000 else "%d ms" % value


RECENT_CHANGES = 5


def format_transition(t):
    # type: (Dict[str, Any]) -> str
    """One typed state change (pyha.cluster.manager_events.TRANSITIONS) as a line."""
    what = {"PhaseChanged": "phase", "StandbyStateChanged": "standby"}.get(t.get("kind"))
    if t.get("kind") == "FenceStateChanged":
        what = "fencing of %s" % t.get("node")
    if what is None:
        what = "group %s" % t["group"] if "group" in t else "node %s" % t.get("node")
    ago = t.get("ago_s")
    return "%s%s: %s -> %s%s" % ("%7.1f s ago  " % ago if ago is not None else "", what, t.get("old"), t.get("new"),
                                 " (%s)" % t["reason"] if t.get("reason") else "")


def format_status(st):
    # type: (Dict[str, Any]) -> str
    d = st.get("daemon", {})
    local = st.get("local", {})
    lines = ["pyha %s on %s (pid %s, generation %s): %s%s" % (
        d.get("version"), d.get("node"), d.get("pid"), d.get("generation"), local.get("status"),
        ", stopping" if d.get("stopping") else "")]
    lines.append("nodes:")
    for name, n in sorted(st.get("nodes", {}).items()):
        skew = n.get("peer_clock_skew_s")
        lines.append("  %-16s %-6s %-7s last heard %s ago, generation %s%s" % (
            name, n.get("state"), n.get("status") or "", _ms(n.get("silence_ms")), n.get("generation"),
            ", clock skew %+.0f s" % skew if skew is not None else ""))
        for medium, link in sorted(n.get("links", {}).items()):
            lines.append("    link %-10s %s" % (medium, link.get("state")))
        if n.get("reason"):
            lines.append("    why: %s" % n["reason"])
    pings = st.get("ping_nodes", {})
    pings.update(st.get("ping_groups", {}))
    if pings:
        lines.append("ping nodes:")
        for name, p in sorted(pings.items()):
            lines.append("  %-16s %s" % (name, p.get("state")))
    res = st.get("resources", {})
    if res.get("mode"):
        lines.append("resources: %s" % res["mode"])
    else:
        lines.append("resources: %s holds %s; peer %s holds %s" % (
            d.get("node"), res.get("holding"), res.get("peer"), (res.get("peer_state") or {}).get("holds")))
        for key, g in (res.get("groups") or {}).items():
            lines.append("  group %-28s %-9s (prefers %s)" % (key, g.get("state"), g.get("preferred")))
            if g.get("reason"):
                lines.append("    why: %s" % g["reason"])
    fence = res.get("fencing") or {}
    if fence.get("device"):
        lines.append("  fencing %s with %s: %s%s" % (res.get("peer"), fence["device"], fence.get("state"),
                                                  " (%s)" % fence["reason"] if fence.get("reason") else ""))
    check = st.get("fence_device") or {}
    if check.get("device"):
        lines.append("  fence device check: %s" % check.get("summary"))
    for name, m in (st.get("monitors") or {}).items():
        seen = ("not checked yet" if m.get("ok") is None else
                "%s %s ago: %s" % ("ok" if m["ok"] else "FAILED", _ms((m.get("age_s") or 0) * 1000), m.get("detail")))
        lines.append("  monitor %-26s %s%s" % (name, seen if m.get("checking") else "idle (group not held here)",
                                              ", %d failure(s) in window" % m["failures_in_window"]
                                              if m.get("failures_in_window") else ""))
        done = ((res.get("health") or {}).get("last") or {}).get(name)
        if done:
            lines.append("    why: %s (%s ago)" % (done.get("reason"), _ms((done.get("ago_s") or 0) * 1000)))
    for u in (res.get("health") or {}).get("not_fit") or []:
        lines.append("  not given %s: its copy of %s failed %s ago (for %s more)" % (
            u.get("node"), u.get("resource"), _ms(u.get("failed_ago_s", 0) * 1000), _ms(u.get("for_s", 0) * 1000)))
    last = res.get("last_decision")
    if last:
        lines.append("  last decision: %s" % (last.get("reason") if isinstance(last, dict) else last))
    step = (st.get("last_step") or {}).get("reason")
    if step and step != (last.get("reason") if isinstance(last, dict) else last):
        lines.append("last event: %s" % step)
    changes = st.get("transitions") or []
    if changes:
        lines.append("recent changes:")
        for t in changes[-RECENT_CHANGES:]:
            lines.append("  %s" % format_transition(t))
    drops = d.get("dropped") or {}
    counters = {k: v for k, v in (st.get("counters") or {}).items() if v}
    if drops or counters:
        lines.append("dropped/odd input: %s" % ", ".join(
            "%s=%d" % kv for kv in sorted(list(drops.items()) + list(counters.items()))))
    return "\n".join(lines)


def status(
    run_dir: str = typer.Option(paths.RUN_DIR, "--run-dir", help="Where the daemon's control socket is."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
):
    """Show nodes, links, ping nodes and resources as this node's daemon sees them.

    Exit code: 0 healthy pair, 1 degraded (running; the reasons are listed), 3 not running,
    4 starting or unknown.
    """
    from pyha.cli import health
    from pyha.daemon.control import ControlError, request
    try:
        answer = request(paths.control_path(run_dir), {"cmd": "status"})
    except ControlError as exc:
        starting = _starting_daemon(run_dir)
        if starting is not None:
            # Alive (it holds its pid lock) but not answering yet: opening its media or
            # waiting for a killed predecessor's guardian.  LSB: status unknown (4).
            message = "pyha (pid %s) is starting: %s" % (starting or "?", exc.message)
            hint = "its log says what it waits for (e.g. a crashed daemon's guardian releasing resources)"
            if json_out:
                print_json({"running": True, "starting": True, "pid": starting or None, "error": exc.message})
                raise typer.Exit(4)
            fail(message, hint, code=4)
            return
        if json_out:
            print_json({"running": False, "error": exc.message})
            raise typer.Exit(3)
        fail(exc.message, exc.hint, code=3)
        return
    if not answer.get("ok") or not isinstance(answer.get("status"), dict):
        fail(answer.get("error", "the daemon refused"), code=health.UNKNOWN)
    code, problems = health.assess(answer["status"])
    if json_out:
        print_json(dict(answer["status"], health={"state": health.WORDS[code], "exit_code": code,
                                                  "problems": problems}))
    else:
        typer.echo(format_status(answer["status"]))
        typer.echo("health: %s%s" % (health.WORDS[code], "".join("\n  " + p for p in problems)))
    raise typer.Exit(code)


def _starting_daemon(run_dir):
    """The pid of a daemon holding the run dir's pid lock (0: not written yet), else None."""
    from pyha.daemon.pidlock import held_by
    try:
        return held_by(run_dir)
    except OSError:
        return None


def _command(cmd, which, run_dir, json_out):
    from pyha.daemon.control import ControlError, request
    from pyha.cluster.manager_events import WHICH_WORDS
    if which not in WHICH_WORDS:
        fail("%s takes %s, not %r" % (cmd, ", ".join(WHICH_WORDS[:-1]) + " or " + WHICH_WORDS[-1], which), code=2)
    try:
        answer = request(paths.control_path(run_dir), {"cmd": cmd, "which": which}, timeout=10)
    except ControlError as exc:
        fail(exc.message, exc.hint, code=3)
        return
    if json_out:
        print_json(answer)
    elif answer.get("ok"):
        typer.echo("%s %s: %s" % (cmd, which, answer.get("reason", "accepted")))
    if not answer.get("ok"):
        fail(answer.get("error") or answer.get("reason") or "refused")


def standby(
    which: str = typer.Argument("all", help="all (default), local, foreign or failback (= foreign)."),
    run_dir: str = typer.Option(paths.RUN_DIR, "--run-dir"),
    json_out: bool = typer.Option(False, "--json"),
):
    """Hand resource groups to the peer now (heartbeat's hb_standby)."""
    _command("standby", which, run_dir, json_out)


def takeover(
    which: str = typer.Argument("all", help="all (default), local or foreign."),
    run_dir: str = typer.Option(paths.RUN_DIR, "--run-dir"),
    json_out: bool = typer.Option(False, "--json"),
):
    """Bring resource groups to this node now (heartbeat's hb_takeover)."""
    _command("takeover", which, run_dir, json_out)
