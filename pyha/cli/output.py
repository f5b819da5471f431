"""Printing helpers shared by the commands: diagnostics and file changes as text or JSON."""

import json
import sys
from typing import Any, Iterable, List

import typer

from pyha.diagnostics import Diagnostic


def print_json(obj):
    # type: (Any) -> None
    typer.echo(json.dumps(obj, indent=2, sort_keys=True))


def print_diagnostics(diags, stream=None):
    # type: (Iterable[Diagnostic], Any) -> None
    for d in diags:
        typer.echo(d.format(), err=stream is sys.stderr)


def fail(message, hint=None, code=1):
    # type: (str, Any, int) -> None
    typer.echo("pyha: error: %s" % message, err=True)
    if hint:
        typer.echo("    hint: %s" % hint, err=True)
    raise typer.Exit(code)


def print_changes(title, changes, show_diff=True):
    # type: (str, List[Any], bool) -> None
    for c in changes:
        line = "%s: %s %s" % (title, c.path, c.status)
        if c.backup:
            line += " (backup %s)" % c.backup
        typer.echo(line)
        if show_diff and c.diff:
            # undecodable bytes of a file survive as surrogates: print them escaped
            typer.echo(c.diff.rstrip("\n").encode("utf-8", "backslashreplace").decode("utf-8"))
