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
from rajudge.cli.options import ModelOption
from rajudge.cli.progress import item_progress
from rajudge.config import load_config
from rajudge.engine.base import EngineSettings
from rajudge.engine.llama import LlamaBackend
from rajudge.errors import InputError, UsageError
from rajudge.models import resolve_model
from rajudge.output import ResultWriter, TableWriter, make_writer
from rajudge.principles import resolve
from rajudge.read import ReadResult, read_items
from rajudge.records import Item
from rajudge.run import judge_items

DEMO_NOTICE = (
    "note: judging with the demo model SmolLM2-135M, a tiny pipeline model whose verdicts are "
    "not meaningful; pass -m path/to/RewardAnything-8B.gguf for a real judge (see README)"
)


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
    mode: Annotated[
        str | None,
        typer.Option(
            "--mode",
            help="fast (scores, then a short rationale; default) or reasoning "
            "(think first within --reasoning-budget tokens; slower, more accurate).",
        ),
    ] = None,
    threads: Annotated[int | None, typer.Option(help="CPU threads (default: usable CPUs).")] = None,
    n_gpu_layers: Annotated[
        int | None, typer.Option("--n-gpu-layers", help="Layers to offload to a GPU; -1 all.")
    ] = None,
    ctx: Annotated[
        int | None, typer.Option(help="Context size in tokens (default: model's, up to 8192).")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Seed of the response shuffle.")] = None,
    reasoning_budget: Annotated[
        int | None, typer.Option(help="Most thinking tokens in reasoning mode.")
    ] = None,
    rationale_tokens: Annotated[
        int | None, typer.Option(help="Most tokens of the fast mode's rationale (0: none).")
    ] = None,
    temperature: Annotated[
        float, typer.Option(help="Sampling temperature of free text (0: greedy).")
    ] = 0.0,
) -> None:
    """Score and rank candidate responses; a table on a terminal, JSONL in a pipeline."""
    config = load_config()
    principles = [p for spec in principle or [] for p in resolve(spec)]
    read = _candidates(file, prompt, response or [])
    chosen = {
        "mode": _mode(mode or config.mode),
        "threads": threads or config.threads,
        "n_gpu_layers": _first(n_gpu_layers, config.n_gpu_layers),
        "ctx": ctx or config.ctx,
        "seed": _first(seed, config.seed),
        "reasoning_budget": _first(reasoning_budget, config.reasoning_budget),
        "rationale_tokens": rationale_tokens,
        "temperature": temperature,
    }
    settings = EngineSettings(**{k: v for k, v in chosen.items() if v is not None})
    fmt = _format(fmt, output)
    model_ref = resolve_model(model, config)
    if model_ref.is_demo:
        stderr.print(DEMO_NOTICE, style="dim", markup=False, highlight=False)
    for error in read.errors:
        _report(error)

    backend = LlamaBackend(model_ref.path, settings, name=model_ref.name)
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


def _mode(value: str | None) -> str | None:
    if value not in (None, "fast", "reasoning"):
        raise UsageError(f"--mode must be fast or reasoning, not {value!r}")
    return value


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


def _first(*values: int | None) -> int | None:
    return next((v for v in values if v is not None), None)


def _report(error: InputError) -> None:
    stderr.print("error:", str(error), style="red", markup=False, highlight=False)
