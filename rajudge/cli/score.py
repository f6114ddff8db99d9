"""`rajudge score`: judge candidate responses under principles."""

from __future__ import annotations

import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from rajudge.cli.console import stderr, stdout
from rajudge.cli.errors import EXIT_ITEMS_FAILED
from rajudge.cli.options import (
    CtxOption,
    GpuLayersOption,
    ModelOption,
    ModeOption,
    RationaleTokensOption,
    ReasoningBudgetOption,
    SeedOption,
    TemperatureOption,
    ThreadsOption,
    engine_settings,
    load_backend,
)
from rajudge.cli.progress import item_progress
from rajudge.config import load_config
from rajudge.errors import InputError, UsageError
from rajudge.output import ResultWriter, TableWriter, make_writer
from rajudge.principles import resolve
from rajudge.read import ReadResult, read_items
from rajudge.records import Item
from rajudge.run import judge_items


def score(
    file: Annotated[
        str | None, typer.Argument(help="JSONL file of candidates, or - for stdin.")
    ] = None,
    principle: Annotated[
        list[str] | None,
        typer.Option(
            "--principle",
            "-p",
            help="Library name, YAML file, or literal text. Repeatable. "
            "Default: each item's own 'principle' field.",
        ),
    ] = None,
    prompt: Annotated[
        str | None, typer.Option("--prompt", help="Judge one prompt given on the command line.")
    ] = None,
    response: Annotated[
        list[str] | None,
        typer.Option("--response", "-r", help="A response to --prompt. Repeatable."),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write results here (default stdout).")
    ] = None,
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            "-f",
            help="table, jsonl or json (default: table on a terminal, jsonl otherwise; "
            "from the -o suffix).",
        ),
    ] = None,
    model: ModelOption = None,
    mode: ModeOption = None,
    threads: ThreadsOption = None,
    n_gpu_layers: GpuLayersOption = None,
    ctx: CtxOption = None,
    seed: SeedOption = None,
    reasoning_budget: ReasoningBudgetOption = None,
    rationale_tokens: RationaleTokensOption = None,
    temperature: TemperatureOption = 0.0,
) -> None:
    """Score and rank candidate responses; a table on a terminal, JSONL in a pipeline."""
    config = load_config()
    principles = [p for spec in principle or [] for p in resolve(spec)]
    read = _candidates(file, prompt, response or [])
    settings = engine_settings(
        config,
        mode=mode,
        threads=threads,
        n_gpu_layers=n_gpu_layers,
        ctx=ctx,
        seed=seed,
        reasoning_budget=reasoning_budget,
        rationale_tokens=rationale_tokens,
        temperature=temperature,
    )
    fmt = _format(fmt, output)
    for error in read.errors:
        _report(error)
    backend = load_backend(model, config, settings)
    judged = failed = 0
    started = time.perf_counter()
    with ExitStack() as stack:
        writer = _open_writer(fmt, output, stack)
        progress = stack.enter_context(item_progress(stderr, len(read.items)))
        for outcome in judge_items(backend, read.items, principles):
            if isinstance(outcome, InputError):
                failed += 1
                _report(outcome)
            else:
                judged += 1
                writer.write(outcome)
            progress.advance()
        writer.close()
    backend.close()
    failed += len(read.errors)
    elapsed = time.perf_counter() - started
    summary = f"judged {judged} item(s) in {elapsed:.1f} s"
    stderr.print(summary + (f"; {failed} failed" if failed else ""), style="dim", markup=False)
    if failed:
        raise typer.Exit(EXIT_ITEMS_FAILED)


def _candidates(file: str | None, prompt: str | None, responses: list[str]) -> ReadResult:
    if prompt is not None:
        if file is not None:
            raise UsageError("give either a candidates FILE or --prompt with -r, not both")
        if not responses:
            raise UsageError("--prompt needs at least one -r/--response")
        named = {f"response-{i + 1}": text for i, text in enumerate(responses)}
        return ReadResult(items=[Item(id="prompt", prompt=prompt, responses=named)], errors=[])
    if responses:
        raise UsageError("-r/--response needs --prompt")
    if file is None:
        raise UsageError("give a candidates FILE (or - for stdin), or --prompt with -r")
    return read_items(file)


def _format(fmt: str | None, output: Path | None) -> str:
    if fmt:
        return fmt
    if output is not None:
        return "json" if output.suffix == ".json" else "jsonl"
    return "table" if sys.stdout.isatty() else "jsonl"


def _open_writer(fmt: str, output: Path | None, stack: ExitStack) -> ResultWriter:
    if output is None:
        return make_writer(fmt, sys.stdout.buffer, stdout)
    if fmt == "table":
        text = stack.enter_context(output.open("w", encoding="utf-8"))
        return TableWriter(Console(file=text, width=100, color_system=None))
    return make_writer(fmt, stack.enter_context(output.open("wb")), stdout)


def _report(error: InputError) -> None:
    stderr.print("error:", str(error), style="red", markup=False, highlight=False)
