"""The `pyha` command: parse arguments, call one library function, print the result.

No decisions are made here (DESIGN.md: `cli/` imports everything, nothing imports it).
Exit codes everywhere: 0 ok, 1 failure or problems found, 2 usage error.
"""

import sys
from typing import Optional

import typer

from pyha import __version__

app = typer.Typer(
    name="pyha",
    help="Two-node failover for Linux: a drop-in successor to Linux-HA Heartbeat 3.",
    no_args_is_help=True,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value):
    # type: (bool) -> None
    if value:
        typer.echo("pyha %s" % __version__)
        raise typer.Exit(0)


@app.callback()
def root(version: Optional[bool] = typer.Option(
        None, "--version", callback=_version, is_eager=True, help="Print the version and exit.")):
    """Two-node failover for Linux: a drop-in successor to Linux-HA Heartbeat 3."""


def _register():
    from pyha.cli import config_cmd, daemon_cmd, export_cmd, hostsetup_cmd, init_cmd, lab_cmd
    from pyha.cli import fence_cmd
    init_cmd.register(app)
    daemon_cmd.register(app)
    hostsetup_cmd.register(app)
    lab_cmd.register(app)
    export_cmd.register(app)
    fence_cmd.register(app)
    app.add_typer(config_cmd.app, name="config", help="Check the /etc/ha.d configuration.")


_register()


def main():
    # type: () -> None
    try:
        app(prog_name="pyha")
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)
