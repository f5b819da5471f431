"""`pyha init` and `pyha sync`: write /etc/ha.d for both nodes and copy it to the peer."""

import errno
import os
from typing import Any, List, Optional

import typer

from pyha import paths
from pyha.cli.output import fail, print_changes, print_json


def register(app):
    # type: (typer.Typer) -> None
    app.command("init")(init)
    app.command("sync")(sync)


def init(
    peer: str = typer.Option(..., "--peer", metavar="PEER_IP",
                             help="The peer's address on the dedicated heartbeat link (e.g. 10.0.0.2)."),
    peer_name: Optional[str] = typer.Option(None, "--peer-name", help="The peer's `uname -n` (asked over SSH if omitted)."),
    peer_public: Optional[str] = typer.Option(None, "--peer-public", metavar="ADDR",
                                              help="The peer's public address (asked over SSH if omitted)."),
    vip: List[str] = typer.Option([], "--vip", help="Virtual IP, heartbeat shorthand IP/PREFIX/IFACE (repeatable)."),
    service: List[str] = typer.Option([], "--service", help="Service started after the VIP, e.g. nginx (repeatable)."),
    primary: Optional[str] = typer.Option(None, "--primary", metavar="NODE",
                                          help="Preferred node for the group (default: this node)."),
    profile: str = typer.Option("tutorial", "--profile", help="Timings: tutorial (keepalive 2 s, deadtime 30 s) or fast (sub-second)."),
    ping: List[str] = typer.Option([], "--ping", help="Ping node(s) (default: the default gateway)."),
    no_ping: bool = typer.Option(False, "--no-ping", help="Configure no ping node."),
    auto_failback: str = typer.Option("on", "--auto-failback", help="on, off or legacy."),
    directory: str = typer.Option(paths.HA_DIR, "--dir", help="Configuration directory (both nodes)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the files; change nothing anywhere."),
    no_sync: bool = typer.Option(False, "--no-sync", help="Do not push the files to the peer."),
    new_key: bool = typer.Option(False, "--new-key", help="Generate a new key even if authkeys has a good one."),
    ssh_user: str = typer.Option("root", "--ssh-user", help="User for SSH to the peer."),
    ssh_opt: List[str] = typer.Option([], "--ssh-opt", help="Extra argument for ssh, e.g. --ssh-opt=-i --ssh-opt=/root/.ssh/ha (repeatable)."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable result."),
):
    """Generate ha.cf, haresources and authkeys for this node and its peer, and sync them."""
    from pyha.host.initcmd import InitError, run_init

    if auto_failback not in ("on", "off", "legacy"):
        fail("--auto-failback must be on, off or legacy, not %r" % auto_failback, code=2)
    if profile not in ("tutorial", "fast"):
        fail("--profile must be tutorial or fast, not %r" % profile, code=2)
    try:
        result = run_init(peer, peer_name=peer_name, peer_public=peer_public, vips=vip, services=service,
                          primary=primary, profile=profile, ping_nodes=([] if no_ping else (ping or None)),
                          directory=directory, dry_run=dry_run, sync=not no_sync, ssh_options=ssh_opt,
                          ssh_user=ssh_user, new_key=new_key, auto_failback=auto_failback)
    except InitError as exc:
        fail(exc.message, exc.hint)
        return
    if json_out:
        print_json({
            "dry_run": dry_run,
            "synced": result.synced,
            "notes": [d.to_dict() for d in result.notes],
            "local": [c.to_dict() for c in result.local_changes],
            "peer": [c.to_dict() for c in result.peer_changes],
        })
        return
    for d in result.notes:
        typer.echo(d.format(), err=True)
    if dry_run:
        typer.echo(dry_run_text(result, directory))
        return
    print_changes("local", result.local_changes)
    if result.synced:
        print_changes("peer %s" % peer, result.peer_changes)
    else:
        typer.echo("not synced: copy %s/{ha.cf,haresources,authkeys,pyha.cf} to the peer (pyha sync)" % directory)


def dry_run_text(result, directory):
    # type: (Any, str) -> str
    """The files `pyha init --dry-run` would write, the key masked (a dry run is run to be
    looked at, pasted into tickets, recorded by terminals)."""
    from pyha.config.authkeys import mask_text

    out = []
    for prefix, files in (("", result.local_files), ("peer:", result.peer_files)):
        if prefix and files == result.local_files:
            break
        for name in sorted(files):
            text, mode = files[name]
            out.append("==> %s%s (mode %04o) <==" % (prefix, os.path.join(directory, name), mode))
            out.append((mask_text(text) if name == "authkeys" else text).rstrip("\n"))
    return "\n".join(out)


def sync(
    peer: str = typer.Option(..., "--peer", metavar="PEER_IP", help="The peer to copy the files to."),
    directory: str = typer.Option(paths.HA_DIR, "--dir", help="Configuration directory (both nodes)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what would change on the peer."),
    ssh_user: str = typer.Option("root", "--ssh-user"),
    ssh_opt: List[str] = typer.Option([], "--ssh-opt", help="Extra argument for ssh (repeatable)."),
    json_out: bool = typer.Option(False, "--json"),
):
    """Push this node's ha.cf, haresources, authkeys and pyha.cf (if it has one) to the peer
    (like ha_propagate)."""
    from pyha.config.common import read_text
    from pyha.host.initcmd import os_error_text
    from pyha.host.peersync import HA_FILES, OPTIONAL_FILES, PeerStateUnknown, push
    from pyha.host.ssh import Peer, SshError

    files = {}
    for name in HA_FILES:
        path = os.path.join(directory, name)
        try:
            files[name] = (read_text(path), os.stat(path).st_mode & 0o7777)
        except OSError as exc:
            if name in OPTIONAL_FILES and getattr(exc, "errno", None) == errno.ENOENT:
                continue
            fail("cannot read this node's files: %s" % os_error_text(exc, path))
    try:
        changes = push(Peer(peer, user=ssh_user, options=ssh_opt), files, directory, dry_run=dry_run)
    except PeerStateUnknown as exc:
        fail(exc.message, "%s`pyha sync --peer %s --dry-run` shows how the peer's files differ from this "
             "node's; run `pyha sync --peer %s` again to finish" % (exc.hint + "; then " if exc.hint else "", peer, peer))
        return
    except SshError as exc:
        fail("the peer's files were not changed: " + exc.message, exc.hint)
        return
    if json_out:
        print_json({"dry_run": dry_run, "peer": [c.to_dict() for c in changes]})
        return
    print_changes("peer %s" % peer, changes)
