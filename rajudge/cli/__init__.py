"""The `rajudge` command: a thin layer over the core. One file per command, one error handler."""

from __future__ import annotations

import os
import sys
import warnings

import typer

from rajudge.cli import (
    cache,
    compare,
    evaluate,
    models,
    pairs,
    principles,
    report,
    score,
    serve,
)
from rajudge.cli.console import limit_errors, stderr
from rajudge.cli.errors import exit_code
from rajudge.errors import RajudgeError

app = typer.Typer(
    name="rajudge",
    help="Judge LLM responses against natural-language principles with a local reward model.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.callback()(limit_errors)  # before every command: its `error:` lines are limited
app.command()(score.score)
app.command(name="eval")(evaluate.evaluate)
app.command()(compare.compare)
app.add_typer(models.app, name="models")
app.add_typer(principles.app, name="principles")
app.command()(serve.serve)
app.command()(pairs.pairs)
app.command()(report.report)
app.add_typer(cache.app, name="cache")


def main() -> None:
    """Run the CLI; a user mistake ends in one line on stderr and an exit code, not a traceback.

    Typer itself reports bad flags (exit 2) and Ctrl-C (exit 130). Set RAJUDGE_DEBUG=1 to see
    the traceback behind any rajudge error.
    """
    warnings.showwarning = _show_warning
    try:
        app()
    except RajudgeError as exc:
        if os.environ.get("RAJUDGE_DEBUG"):
            raise
        stderr.print("error:", str(exc), style="red", markup=False, highlight=False)
        sys.exit(exit_code(exc))


def _show_warning(message: Warning | str, *_: object, **__: object) -> None:
    stderr.print("warning:", str(message), style="yellow", markup=False, highlight=False)
