"""`pyha lab ...` (the reference scenario in namespaces) and `pyha drill NAME` (measured drills)."""

import json
import os
import sys
from typing import List, Optional

import typer

from pyha import paths
from pyha.cli.output import fail, print_json

lab_app = typer.Typer(help="The two-node reference scenario in network namespaces on this machine.",
                      no_args_is_help=True)


def register(app):
    # type: (typer.Typer) -> None
    app.add_typer(lab_app, name="lab")
    app.command("drill")(drill)


def _root():
    if os.geteuid() != 0:
        fail("the lab needs root (network namespaces)", "run it with sudo", code=1)


@lab_app.command("up")
def up(
    profile: str = typer.Option("tutorial", "--profile", help="tutorial (keepalive 2 s, deadtime 30 s) or fast."),
    peer_daemon: str = typer.Option("pyha", "--peer-daemon", help="HA1 runs pyha or genuine heartbeat."),
    prefix: str = typer.Option("pyhalab", "--prefix", help="Namespace name prefix."),
    nginx_init: str = typer.Option("el", "--nginx-init",
                                   help="el: nginx's init script stops like EL's (signal, wait for exit); "
                                        "debian: the stock script (sleeps 1 s in every stop)."),
    fencing: bool = typer.Option(False, "--fencing", help="A virtual BMC (ipmi_sim) per node and pyha.cf fence "
                                                          "lines for fence_ipmilan: a dead peer is fenced "
                                                          "before any takeover."),
    fence_action: str = typer.Option("off", "--fence-action", help="With --fencing: off (a fenced node stays off "
                                                                   "until `pyha fence on`) or reboot (its BMC "
                                                                   "powers it on again)."),
):
    """Build HA1, HA2, a gateway and a client; nginx on both nodes; `pyha init`; start the daemons."""
    from pyha.lab import LabError, scenario
    _root()
    if profile not in ("tutorial", "fast"):
        fail("--profile must be tutorial or fast", code=2)
    if peer_daemon not in ("pyha", "heartbeat"):
        fail("--peer-daemon must be pyha or heartbeat", code=2)
    if nginx_init not in scenario.NGINX_INITS:
        fail("--nginx-init must be el or debian", code=2)
    if fence_action not in scenario.FENCE_ACTIONS:
        fail("--fence-action must be off or reboot", code=2)
    if fence_action != "off" and not fencing:
        fail("--fence-action needs --fencing", code=2)
    try:
        scenario.up(prefix=prefix, profile=profile, peer_daemon=peer_daemon, nginx_init=nginx_init,
                    progress=lambda text: typer.echo("lab: " + text), fencing=fencing,
                    fence_action=fence_action)
    except LabError as exc:
        fail(str(exc))
    typer.echo("lab is up: VIP http://%s/ from the client (pyha lab exec client -- curl -s http://%s/)"
               % (scenario.VIP, scenario.VIP))


@lab_app.command("down")
def down(prefix: str = typer.Option("pyhalab", "--prefix")):
    """Remove everything the lab made; safe to run twice or after a crash."""
    from pyha.lab import scenario
    _root()
    existed = scenario.down(prefix)
    typer.echo("lab removed" if existed else "no lab was up (cleaned leftovers, if any)")


@lab_app.command("status")
def status(prefix: str = typer.Option("pyhalab", "--prefix"), json_out: bool = typer.Option(False, "--json")):
    """Nodes, daemons, who holds the VIP, what the client gets."""
    from pyha.drill.drills import Cluster
    from pyha.lab import LabError, scenario
    _root()
    try:
        lab = scenario.load(prefix)
    except LabError as exc:
        fail(str(exc), code=3)
        return
    cluster = Cluster(lab)
    out = {"profile": cluster.profile, "nginx_init": scenario.load_meta(lab).get("nginx_init", "debian"),
           "nodes": {}, "vip_holders": scenario.vip_holders(lab),
           "client_gets": scenario.curl_vip(lab)}
    for name in scenario.NODES:
        node = lab.node(name)
        running = node.is_running()
        out["nodes"][name] = {"powered": running, "daemon": cluster.kinds[name],
                              "daemon_running": running and cluster.daemon_running(name)}
    if json_out:
        print_json(out)
        return
    typer.echo("lab %s (profile %s, nginx init script %s)" % (prefix, cluster.profile, out["nginx_init"]))
    for name, n in out["nodes"].items():
        typer.echo("  %-4s %-8s %s %s" % (name, "on" if n["powered"] else "off", n["daemon"],
                                          "running" if n["daemon_running"] else "stopped"))
    typer.echo("  VIP %s held by %s; client gets %r" % (scenario.VIP, ", ".join(out["vip_holders"]) or "nobody",
                                                      out["client_gets"]))


@lab_app.command("cts")
def cts(
    daemons: List[str] = typer.Option(None, "--daemon", help="heartbeat and/or pyha (default: both, heartbeat "
                                                             "first); each gets a fresh lab with it on both nodes."),
    iterations: int = typer.Option(12, "--iterations", "-n", help="CTS iterations (random tests) per daemon."),
    seed: str = typer.Option(None, "--seed", help="CTS's random seed (default: CTS picks one; the report says it)."),
    test: str = typer.Option(None, "--test", help="Run only this CTS test (e.g. Split_brain; CTS's --choose)."),
    prefix: str = typer.Option("pyhacts", "--prefix", help="Namespace name prefix."),
    keep: bool = typer.Option(False, "--keep", help="Keep the run directory (log, CTS output) even when it passes."),
    json_out: bool = typer.Option(False, "--json"),
):
    """Heartbeat's own Cluster Test Suite against the lab: genuine heartbeat, then pyha, side by side."""
    from pyha.lab import LabError
    from pyha.lab import cts as ctsmod
    _root()
    kinds = list(daemons or ctsmod.KINDS)
    bad = [k for k in kinds if k not in ctsmod.KINDS]
    if bad:
        fail("--daemon must be heartbeat or pyha, not %s" % ", ".join(repr(k) for k in bad), code=2)
    if iterations < 1:
        fail("--iterations must be at least 1", code=2)
    say = None if json_out else (lambda text: typer.echo("cts: " + text))
    try:
        results = ctsmod.run(kinds, iterations, seed, prefix, keep=keep, progress=say, tests=[test] if test else None)
    except LabError as exc:
        fail(str(exc))
        return
    if json_out:
        print_json(results)
    else:
        typer.echo(ctsmod.side_by_side(results))
        for r in results:
            if r.get("workdir"):
                typer.echo("%s: collected log, CTS output and configuration kept in %s" % (r["kind"], r["workdir"]))
    raise typer.Exit(0 if all(r.get("passed") for r in results) else 1)


@lab_app.command("exec", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def exec_(ctx: typer.Context, member: str = typer.Argument(..., help="HA1, HA2, gw or client."),
          prefix: str = typer.Option("pyhalab", "--prefix")):
    """Run a command inside a lab member: pyha lab exec HA1 -- ip addr."""
    from pyha.lab import LabError, scenario
    _root()
    argv = list(ctx.args)
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        fail("give a command after --", code=2)
    try:
        lab = scenario.load(prefix)
        r = lab.node(member).exec(argv, timeout=3600)
    except (LabError, KeyError) as exc:
        fail(str(exc))
        return
    sys.stdout.write(r.stdout)
    sys.stderr.write(r.stderr)
    raise typer.Exit(r.returncode)


def drill(
    names: List[str] = typer.Argument(None, help="Drills to run (default: all in the lab, failover with --url). "
                                                 "Known: failover, restart, halt, kill, link-down, nic-down, "
                                                 "link-then-nic, failback, flap, loss, cold-start, "
                                                 "service-kill; on a `pyha lab up --fencing` lab: "
                                                 "fence-links-cut and fence-broken-bmc (never run by "
                                                 "default), not halt, kill, link-then-nic."),
    prefix: str = typer.Option("pyhalab", "--prefix"),
    json_out: bool = typer.Option(False, "--json"),
    url: str = typer.Option(None, "--url", help="Real cluster: run on one of its nodes against this URL of the "
                                                "VIP (drills: failover, restart, kill, link-down, nic-down, "
                                                "service-kill)."),
    yes: bool = typer.Option(False, "--yes", help="Real cluster: allow drills that take something down."),
    restore_after: float = typer.Option(None, "--restore-after", help="Real cluster: a detached process brings "
                                        "downed links up after this many seconds even if the drill dies "
                                        "(default: the drill's longest wait + 30 s)."),
    group: str = typer.Option(None, "--group", help="Real cluster: the haresources group (default: the first "
                                                    "with an address)."),
    ha_dir: str = typer.Option(paths.HA_DIR, "--dir", help="Real cluster: configuration directory."),
    run_dir: str = typer.Option(paths.RUN_DIR, "--run-dir", help="Real cluster: the daemon's run directory."),
    restart_cmd: str = typer.Option(None, "--restart-cmd", help="Real cluster: how to restart the local daemon "
                                                                "(default: systemctl or /etc/init.d/pyha)."),
    start_cmd: str = typer.Option(None, "--start-cmd", help="Real cluster: how to start the local daemon."),
):
    """Run failover drills against the lab (or, with --url, from a node of a real pair) and report
    measured numbers (PASS/FAIL)."""
    from pyha.drill import drills
    _root()
    say = None if json_out else (lambda t: typer.echo("... " + t))
    live = not json_out and sys.stdout.isatty()
    if url is not None:
        from pyha.drill import real
        if not url.startswith("http://"):
            fail("--url must be http://ADDRESS[:PORT]/PATH, not %r" % url, code=2)
        if restore_after is not None and restore_after <= 0:
            fail("--restore-after must be positive", code=2)
        names = list(names or ["failover"])
        for n in names:
            if n not in real.REAL_DRILLS:
                fail("drill %r cannot run on a real pair (known there: %s)" % (n, ", ".join(real.REAL_DRILLS)),
                     "it needs the lab: pyha lab up, then pyha drill %s" % n, code=2)
            if n not in real.SAFE and not yes:
                fail("%s takes the service or a link down on this node" % n,
                     "add --yes if you mean it; `pyha drill --url %s failover` is the safe one" % url, code=2)
        try:
            pair = real.RealPair(ha_dir, run_dir, group=group, restart_cmd=restart_cmd, start_cmd=start_cmd)
        except drills.DrillError as exc:
            fail(str(exc), code=3)
            return
        results = []
        for n in names:
            try:
                res = real.run(pair, n, url, yes=yes, progress=say, restore_after=restore_after, live=live)
            except drills.DrillError as exc:
                fail(str(exc), code=3)
                return
            results.append(res)
            if not json_out:
                typer.echo(drills.format_result(res))
    else:
        from pyha.lab import LabError, scenario
        names = list(names or [])
        fencing = drills.fence_drills()
        for n in names:
            if n not in drills.DRILLS and n not in fencing:
                fail("unknown drill %r (known: %s)" % (n, ", ".join(list(drills.DRILLS) + list(fencing))), code=2)
        try:
            lab = scenario.load(prefix)
        except LabError as exc:
            fail(str(exc), "start the lab first: pyha lab up --profile fast%s"
                 % (" --fencing" if any(n in fencing for n in names) else ""), code=1)
            return
        meta = scenario.load_meta(lab)
        # by default every classic drill this lab can run (a --fencing lab skips the ones it would fence)
        names = names or [n for n in drills.DRILLS if drills.refusal(n, meta) is None]
        for n in names:
            why = drills.refusal(n, meta)
            if why is not None:
                fail(why, code=3)
        results = []
        for n in names:
            try:
                res = drills.run(lab, n, progress=say, live=live)
            except drills.DrillError as exc:
                fail(str(exc), code=3)
                return
            results.append(res)
            if not json_out:
                typer.echo(drills.format_result(res))
    if json_out:
        print_json([r.to_dict() for r in results])
    else:
        typer.echo("\n%-16s %-6s %10s %10s %10s %10s" % ("drill", "result", "detect s", "outage s", "dup VIP s",
                                                         "failback s"))
        for r in results:
            v = r.values
            typer.echo("%-16s %-6s %10s %10s %10s %10s" % (r.name, "PASS" if r.passed else "FAIL",
                                                            v.get("detection_s", "-"), v.get("outage_s", "-"),
                                                            v.get("duplicate_vip_s", "-"),
                                                            v.get("failback_outage_s", "-")))
    if not all(r.passed for r in results):
        raise typer.Exit(1)
