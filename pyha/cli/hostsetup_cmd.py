"""`pyha firewall`, `pyha timesync`, `pyha watchdog`: the tutorial's host set-up steps 5, 6
and the softdog check, each one library call (pyha.host.firewall / timesync / softdog)
printed as text or JSON.

Exit codes: 0 done (or nothing to do), 1 failure or refusal (not root, no softdog, no
iptables), 2 usage error.  Status actions exit 0 whenever they could look.
"""

from typing import Any, List, Optional

import typer

from pyha import paths
from pyha.cli.output import fail, print_json


def register(app):
    # type: (typer.Typer) -> None
    app.command("firewall")(firewall)
    app.command("timesync")(timesync)
    app.command("watchdog")(watchdog)


def _print_steps(steps, dry_run):
    # type: (List[Any], bool) -> None
    for s in steps:
        typer.echo(s.format())
        if s.detail and (s.status in ("done", "would", "failed")) and "\n" in s.detail:
            typer.echo("    " + s.detail.rstrip("\n").replace("\n", "\n    "))
        elif s.detail and s.status == "failed":
            typer.echo("    " + s.detail)
    if dry_run:
        typer.echo("(dry run: nothing was changed)")


def _print_notes(notes):
    # type: (List[Any]) -> None
    for d in notes:
        typer.echo(d.format(), err=d.severity != "info")


def _finish(result, json_out):
    # type: (Any, bool) -> None
    if json_out:
        print_json(result.to_dict())
    raise typer.Exit(0 if result.ok else 1)


# -- firewall --------------------------------------------------------------------------------

def firewall(
    action: str = typer.Argument(..., metavar="open|close|status", help="What to do."),
    persist: bool = typer.Option(False, "--persist",
                                 help="Also write the boot-time rules file (/etc/sysconfig/iptables; "
                                      "/etc/iptables/rules.v4 on Debian), or firewalld's permanent config."),
    from_peers: bool = typer.Option(False, "--from-peers",
                                    help="Accept the heartbeat port only from the peer addresses of ha.cf's ucast lines."),
    port: List[str] = typer.Option([], "--port", metavar="N[/tcp|/udp]",
                                   help="Another service port to open (repeatable; tcp unless /udp)."),
    directory: str = typer.Option(paths.HA_DIR, "--dir", help="Configuration directory (ha.cf, haresources)."),
    root: str = typer.Option("/", "--root", metavar="DIR", help="Read the configuration and write files under DIR."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what would change; change nothing."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable result."),
):
    """Open heartbeat's udp port (694) and the service ports (nginx: tcp/80) in INPUT,
    before any REJECT/DROP, tagged "pyha"; close removes only pyha's rules."""
    from pyha.host import firewall as fw
    from pyha.host.hostenv import SetupError

    if action not in ("open", "close", "status"):
        fail("firewall: ACTION must be open, close or status, not %r" % action, code=2)
    try:
        ports = [fw.parse_port_spec(p) for p in port]
    except ValueError as exc:
        fail(str(exc), code=2)
        return
    try:
        if action == "open":
            result = fw.firewall_open(directory, ports, from_peers, persist, root, dry_run)
        elif action == "close":
            result = fw.firewall_close(persist, root, dry_run)
        else:
            result = fw.firewall_status(directory, ports, from_peers, root)
    except SetupError as exc:
        fail(exc.message, exc.hint, exc.code)
        return
    if not json_out:
        _print_firewall(result)
    _finish(result, json_out)


def _print_firewall(result):
    # type: (Any) -> None
    info = result.info
    if result.backend == "firewalld":
        head = "backend: firewalld (firewall-cmd, default zone)"
    else:
        if info.get("iptables_via", "python-iptables") == "python-iptables":
            head = "backend: iptables (python-iptables, legacy x_tables filter table)"
        else:
            head = "backend: iptables (%s commands, %s)" % (info["iptables_via"], info.get("iptables_command") or "legacy")
        if info.get("policy"):
            head += "; INPUT policy %s" % info["policy"]
    typer.echo(head)
    if result.action == "status":
        if result.backend == "iptables":
            fb = info.get("first_blocking_rule")
            typer.echo("first REJECT/DROP rule in INPUT: %s" % ("#%d" % fb if fb else "none"))
        typer.echo("rules pyha wants:")
        for st in result.states:
            typer.echo("  %-32s %s%s" % (st["describe"], st["state"],
                                         " (rule #%d)" % st["number"] if st.get("number") else ""))
        if result.pyha_rules:
            typer.echo("pyha rules in INPUT:")
            for r in result.pyha_rules:
                typer.echo("  #%d %s/%s from %s (%s)" % (r["number"], r["proto"], r["dport"],
                                                       r["source"] or "anywhere", r["comment"]))
        if "persist_file" in info:
            saved = info.get("persist_file_rules")
            typer.echo("rules file %s: %s" % (info["persist_file"], "absent" if saved is None else
                                               "%d pyha rule(s)" % len(saved)))
    else:
        _print_steps(result.steps, result.dry_run)
    _print_notes(result.notes)


# -- timesync -------------------------------------------------------------------------------

def timesync(
    server: List[str] = typer.Option([], "--server", metavar="HOST[:PORT]",
                                     help="NTP server to ask (repeatable; default: chrony.conf/ntp.conf servers, "
                                          "else pool.ntp.org)."),
    timezone: Optional[str] = typer.Option(None, "--timezone", metavar="ZONE", help="Set the time zone, e.g. Asia/Shanghai."),
    set_clock: bool = typer.Option(False, "--set", help="Step the clock (like ntpdate) when the offset exceeds the threshold."),
    threshold: float = typer.Option(0.5, "--threshold", metavar="SECONDS", help="Step only above this offset."),
    timeout: float = typer.Option(5.0, "--timeout", metavar="SECONDS", help="Wait this long for each server."),
    root: str = typer.Option("/", "--root", metavar="DIR", help="Write the time zone files under DIR."),
    run_dir: str = typer.Option(paths.RUN_DIR, "--run-dir", help="Where the daemon's control socket is."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Query, but change neither clock nor zone."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable result."),
):
    """Show each NTP server's offset, delay and stratum; optionally step the clock and set
    the time zone; show the clock skew to the peer that the running daemon sees."""
    import os

    from pyha.host import timesync as ts
    from pyha.host.hostenv import SetupError

    try:
        for s in server:
            ts.parse_server(s)
    except ValueError as exc:
        fail(str(exc), code=2)
    try:
        result = ts.timesync(server, timezone, set_clock, threshold, root, dry_run, timeout,
                             paths.control_path(run_dir))
    except SetupError as exc:
        fail(exc.message, exc.hint, exc.code)
        return
    if not json_out:
        for s in result.servers:
            mark = "*" if result.chosen is s else " "
            typer.echo("%s %s" % (mark, s.describe()))
        if result.steps:
            _print_steps(result.steps, result.dry_run)
        elif result.dry_run:
            typer.echo("(dry run: nothing was changed)")
        if result.chosen is not None and not set_clock:
            typer.echo("offset %+.6f s from %s (step threshold %.3f s; --set steps the clock)"
                       % (result.chosen.offset, result.chosen.server, threshold))
        peer = result.peer
        if peer.get("nodes"):
            typer.echo("peer clock skew (heartbeat timestamps; + means the peer is ahead):")
            for name, skew in sorted(peer["nodes"].items()):
                typer.echo("  %-16s %s" % (name, "%+.3f s" % skew if skew is not None else "not known yet"))
        else:
            typer.echo(peer.get("message", ""))
        _print_notes(result.notes)
    _finish(result, json_out)


# -- watchdog -------------------------------------------------------------------------------

def watchdog(
    action: str = typer.Argument(..., metavar="setup|status", help="What to do."),
    margin: int = typer.Option(60, "--margin", metavar="SECONDS", help="softdog's soft_margin (default 60)."),
    root: str = typer.Option("/", "--root", metavar="DIR",
                             help="Write the files under DIR and leave the running kernel alone (packaging, tests)."),
    directory: str = typer.Option(paths.HA_DIR, "--dir", help="Configuration directory (ha.cf)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what would change; change nothing."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable result."),
):
    """Load softdog (soft_margin, nowayout=0), load it at every boot, and add
    `watchdog /dev/watchdog` to ha.cf; status shows module, device and margin."""
    from pyha.host import softdog
    from pyha.host.hostenv import SetupError

    if action not in ("setup", "status"):
        fail("watchdog: ACTION must be setup or status, not %r" % action, code=2)
    try:
        if action == "setup":
            result = softdog.watchdog_setup(margin, root, directory, dry_run)
        else:
            result = softdog.watchdog_status(root, directory)
    except SetupError as exc:
        fail(exc.message, exc.hint, exc.code)
        return
    if not json_out:
        if action == "setup":
            _print_steps(result.steps, result.dry_run)
        _print_watchdog(result)
        _print_notes(result.notes)
    _finish(result, json_out)


def _print_watchdog(result):
    # type: (Any) -> None
    mod = result.module
    info = mod.get("modinfo")
    if info:
        f = info["fields"]
        typer.echo("module %s: %s" % (mod["name"], f.get("filename", "?")))
        if f.get("description"):
            typer.echo("  description: %s" % f["description"])
        for name, p in sorted(info["parms"].items()):
            typer.echo("  parm %s: %s" % (name, p["description"]))
    elif mod.get("available") is False:
        typer.echo("module %s: not available (%s)" % (mod["name"], mod.get("error")))
    if mod.get("available") is not None:
        typer.echo("loaded: %s" % (mod.get("loaded") or "no"))
    dev = result.device
    if dev.get("exists") is not None:
        line = "device %s: %s" % (dev["path"], "present" if dev["exists"] else "absent")
        if dev.get("identity"):
            line += " (%s)" % dev["identity"]
        if dev.get("timeout_s") is not None:
            line += ", timeout %d s" % dev["timeout_s"]
        if dev.get("nowayout") is not None:
            line += ", nowayout %s" % dev["nowayout"]
        typer.echo(line)
    boot = result.boot
    if boot:
        where = [p for p in ([boot.get("el6_script")] + list(boot.get("modules_load") or [])) if p]
        typer.echo("at boot: %s%s" % (", ".join(where) if where else "not configured",
                                      "; soft_margin=%d (%s)" % (boot["soft_margin"], boot["soft_margin_file"])
                                      if boot.get("soft_margin") is not None else ""))
    hacf = result.hacf
    if hacf:
        typer.echo("ha.cf %s: %s" % (hacf["path"], ("watchdog %s" % hacf["watchdog"]) if hacf.get("watchdog")
                                      else ("no watchdog line" if hacf.get("exists") else "absent")))
    if result.action == "status":
        typer.echo("ready: %s" % ("yes" if result.ready else "no"))
