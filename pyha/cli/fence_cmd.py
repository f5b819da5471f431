"""`pyha fence status|off|on|reboot NODE`: call NODE's fence device by hand.

No logic here: `pyha.fencing.command.fence_node` does the work; this prints the report
(text or JSON) and exits 0 when the device did what was asked, 1 when it failed or no
device may be used for NODE, 2 for usage errors (off/on/reboot without --yes).
"""

from typing import Optional

import typer

from pyha import paths
from pyha.cli.output import fail, print_json

ACTION_HELP = "status (0: device answered; power on/off in the output), off, on or reboot."


def register(app):
    # type: (typer.Typer) -> None
    @app.command("fence")
    def fence(
        action: str = typer.Argument(..., metavar="ACTION", help=ACTION_HELP),
        node: str = typer.Argument(..., metavar="NODE", help="The node to act on (as in ha.cf's node lines)."),
        directory: str = typer.Option(paths.HA_DIR, "--dir", metavar="DIR",
                                      help="Directory holding ha.cf and pyha.cf."),
        yes: bool = typer.Option(False, "--yes", help="Really power NODE off/on or reboot it."),
        json_out: bool = typer.Option(False, "--json", help="Print a JSON object instead of text."),
        as_node: Optional[str] = typer.Option(None, "--as-node", metavar="NAME",
                                              help="Choose the device as node NAME would (default: uname -n)."),
        timeout: Optional[float] = typer.Option(None, "--timeout", metavar="SECONDS",
                                                help="Per-call timeout (default: 30 s status, 60 s off/on, "
                                                     "90 s reboot)."),
    ):
        """Check or operate NODE's fence device (fence agent from pyha.cf, or ha.cf's stonith line).

        Only the device configured for NODE is ever called; a node without one is refused.
        """
        from pyha.fencing.command import CLI_ACTIONS, NEEDS_YES, fence_node

        if action not in CLI_ACTIONS:
            fail("unknown action %r" % action, "use one of: %s" % ", ".join(CLI_ACTIONS), code=2)
        if action in NEEDS_YES and not yes:
            fail("`pyha fence %s %s` powers a node %s" % (action, node, "on" if action == "on" else "off or resets it"),
                 "add --yes if you mean it; `pyha fence status %s` only asks the device" % node, code=2)
        if timeout is not None and not 0 < timeout <= 3600:
            fail("--timeout must be between 0 and 3600 seconds", code=2)
        report = fence_node(directory, action, node, local_node=as_node, timeout=timeout)
        if json_out:
            print_json(report.to_dict())
        else:
            typer.echo(report.format_text(), err=not report.ok)
        raise typer.Exit(report.exit_code)
