"""`rajudge report`: the verdicts of `rajudge score`, or a comparison of `rajudge compare`, as
one self-contained HTML file."""

from __future__ import annotations

import errno
import sys
from pathlib import Path
from typing import Annotated

import typer

from rajudge.cli.console import print_error, stderr
from rajudge.cli.errors import EXIT_ITEMS_FAILED
from rajudge.errors import UsageError
from rajudge.output.files import atomic_replace
from rajudge.report import comparison_model, find_comparison, page_model, read_records, render_page


def report(
    file: Annotated[
        str,
        typer.Argument(
            help="JSONL written by rajudge score, or - for stdin; or the folder that "
            "rajudge compare -o wrote (or its summary.json)."
        ),
    ],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the HTML page here (default stdout)."),
    ] = None,
) -> None:
    """One HTML page of judged items to sort, filter and search; opens offline from a file."""
    comparison = find_comparison(file)
    records = comparison.records if comparison else read_records(file)
    for error in records.errors:
        print_error(error)
    if not records.items and comparison is None:
        raise UsageError(f"{file}: no record of rajudge score to report on")
    model = (
        comparison_model(comparison)
        if comparison
        else page_model(records.items, skipped=len(records.errors))
    )
    page = render_page(model).encode()
    _write(output, page)
    if output is not None:
        count = f"{len(records.items)} items"
        if comparison:
            count = f"{len(comparison.summary['systems'])} systems, {len(records.items)} prompts"
        stderr.print(f"report: {count} -> {output}")
    if records.errors:
        raise typer.Exit(EXIT_ITEMS_FAILED)


def _write(output: Path | None, page: bytes) -> None:
    """The page to the -o file (replaced in one step) or to stdout; a failure is one line."""
    try:
        if output is None:
            sys.stdout.buffer.write(page)
            sys.stdout.buffer.flush()
            return
        with atomic_replace(output) as stream:
            stream.write(page)
    except OSError as exc:
        if exc.errno == errno.EPIPE:  # `rajudge report ... | head`: Typer ends quietly
            raise
        raise UsageError(f"{output or '<stdout>'}: cannot write: {exc.strerror or exc}") from None
