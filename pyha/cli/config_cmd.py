"""`pyha config check`: print what `pyha.config.check.check_config` finds in /etc/ha.d.

No logic here: one library call, then print (text like a compiler, or JSON) and exit
0 when there is no error, 1 otherwise (2 for usage errors, by Typer).
"""

import typer

from pyha import paths

app = typer.Typer(no_args_is_help=True, add_completion=False,
                  context_settings={"help_option_names": ["-h", "--help"]})


@app.callback()
def config():
    """Check the /etc/ha.d configuration (ha.cf, haresources, authkeys, pyha.cf)."""


@app.command("check")
def check(
    directory: str = typer.Option(paths.HA_DIR, "--dir", metavar="DIR",
                                  help="Directory holding ha.cf, haresources, authkeys (and pyha.cf)."),
    json_out: bool = typer.Option(False, "--json", help="Print a JSON object instead of text."),
):
    """Check ha.cf, haresources and authkeys against heartbeat 3 rules and this host,
    and pyha's own settings in pyha.cf (optional; see PYHA.CF below).

    Every finding names the file, the line and the fix.  Exit status: 0 no errors,
    1 errors found, 2 usage error.
    """
    from pyha.config.check import check_config

    report = check_config(directory)
    from pyha.fencing.check import add_fencing_findings  # runs the fence agents' metadata: CLI only
    report = add_fencing_findings(report)
    if report.hacf is not None and not json_out:
        from pyha.daemon.logsetup import destinations
        cf = report.hacf
        typer.echo("\n  ".join(["logs go to:"] + destinations(cf.logfile, cf.debugfile, cf.logfacility)))
        if report.pyhacf is not None and not report.pyhacf.present:
            typer.echo("pyha.cf: none (every pyha setting is its default)")
    typer.echo(report.render(as_json=json_out))
    raise typer.Exit(report.exit_code)
