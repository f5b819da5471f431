"""`pyha export pacemaker`: the pair's configuration as Pacemaker + Corosync files.

No logic here: one library call (`pyha.export.pacemaker.export`), then print what was
mapped and what could not be.  Exit 0 when everything was mapped, 1 when the export was
refused or something could not be mapped (the files are still written then), 2 for
usage errors.
"""

import json
from typing import List, Optional

import typer

from pyha import paths
from pyha.cli.output import fail

app = typer.Typer(no_args_is_help=True, add_completion=False,
                  context_settings={"help_option_names": ["-h", "--help"]})


@app.callback()
def export():
    """Export the configuration to another cluster stack."""


@app.command("pacemaker")
def pacemaker(
    output: str = typer.Option(..., "--output", "-o", metavar="DIR", help="Directory to write cib.xml, "
                               "corosync.conf and pcs.sh into (created if missing)."),
    directory: str = typer.Option(paths.HA_DIR, "--dir", metavar="DIR",
                                  help="Directory holding ha.cf and haresources."),
    no_fencing: bool = typer.Option(False, "--no-fencing", help="Export without fence devices "
                                    "(stonith-enabled=false; dangerous, see the output)."),
    corosync: int = typer.Option(3, "--corosync", metavar="2|3", help="Corosync version of the target: 2 (EL7, "
                                 "udpu, at most two rings) or 3 (knet)."),
    node_addr: Optional[List[str]] = typer.Option(None, "--node-addr", metavar="NODE=ADDR[,ADDR]",
                                                  help="A node's address on each link, in ha.cf order "
                                                  "(when ha.cf and this host do not tell)."),
    json_out: bool = typer.Option(False, "--json", help="Print the report as JSON."),
):
    """Write cib.xml, corosync.conf and pcs.sh for Pacemaker + Corosync from /etc/ha.d.

    Each haresources line becomes a group, the preferred node a location preference,
    auto_failback the resource stickiness, ping nodes a ping clone with a connectivity
    rule, each heartbeat medium a Corosync link.  Everything that has no equivalent is
    reported, never dropped silently.
    """
    from pyha.export.pacemaker import export as do_export, parse_node_addrs
    from pyha.export.pacemaker_model import ExportError, NOT_MAPPED
    try:
        cluster = do_export(directory, output, no_fencing=no_fencing, corosync=corosync,
                            node_addrs=parse_node_addrs(node_addr or []))
    except ExportError as exc:
        fail(str(exc), code=1)
        return
    if json_out:
        typer.echo(json.dumps({"output": output, "report": [{"kind": k, "text": t} for k, t in cluster.report]},
                              indent=2))
    else:
        for kind, text in cluster.report:
            typer.echo("%-10s %s" % (kind + ":", text))
        typer.echo("wrote %s/cib.xml, corosync.conf, pcs.sh" % output.rstrip("/"))
    raise typer.Exit(1 if any(k == NOT_MAPPED for k, _ in cluster.report) else 0)


def register(app_):
    # type: (typer.Typer) -> None
    app_.add_typer(app, name="export", help="Export the configuration (pacemaker).")
