"""`rajudge pairs`: preference pairs for DPO and reward-model training from `score` output."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Annotated

import orjson
import typer

from rajudge.cli.console import print_error, stderr
from rajudge.cli.errors import EXIT_ITEMS_FAILED
from rajudge.errors import InputError, UsageError
from rajudge.jsonl import input_lines, json_objects
from rajudge.output.pairs import DEFAULT_MIN_MARGIN, Pairing
from rajudge.output.parse import Record, parse_record


def pairs(
    file: Annotated[
        str | None, typer.Argument(help="JSONL output of rajudge score, or - for stdin.")
    ] = None,
    every: Annotated[
        bool,
        typer.Option(
            "--all",
            help="Every response against each one scored lower, not only best against worst.",
        ),
    ] = False,
    min_margin: Annotated[
        float,
        typer.Option("--min-margin", help="Leave out pairs whose scores differ by less."),
    ] = DEFAULT_MIN_MARGIN,
    conversational: Annotated[
        bool,
        typer.Option(
            "--conversational",
            help="TRL's conversational shape: the prompt as chat messages, chosen and rejected "
            "as assistant messages, for a trainer that applies the policy's chat template.",
        ),
    ] = False,
) -> None:
    """Turn judged items into preference pairs (prompt, chosen, rejected) as JSONL on stdout."""
    if file is None:
        if sys.stdin.isatty():
            raise UsageError("give the JSONL output of rajudge score (or - for stdin)")
        file = "-"
    pairing = Pairing(every=every, min_margin=min_margin, conversational=conversational)
    failed = 0
    out = sys.stdout.buffer
    for judged in _judged(file):
        try:
            if isinstance(judged, InputError):
                raise judged
            out.write(b"".join(orjson.dumps(row) + b"\n" for row in pairing.rows(judged)))
        except InputError as error:
            failed += 1
            print_error(error)
    out.flush()
    summary = pairing.summary() + (f"; {failed} record(s) failed" if failed else "")
    stderr.print(summary, style="dim", markup=False, highlight=False)
    if failed:
        raise typer.Exit(EXIT_ITEMS_FAILED)


def _judged(file: str) -> Iterator[Record | InputError]:
    """Each line's record, or the error that says why a line holds none."""
    with input_lines(file) as (lines, source):
        for where, record in json_objects(lines, source):
            if isinstance(record, InputError):
                yield record
                continue
            try:
                yield parse_record(record, where)
            except InputError as error:
                yield error
