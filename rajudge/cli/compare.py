"""`rajudge compare`: which system is better, by how much, how sure, under each principle."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from rajudge.cli.console import print_error, print_table, stderr
from rajudge.cli.errors import EXIT_BELOW_THRESHOLD, EXIT_INTERRUPTED, EXIT_ITEMS_FAILED
from rajudge.cli.flag_groups import with_flag_groups
from rajudge.cli.options import BackendChoice, EngineFlags, ModelOption, NoCacheOption, open_chosen
from rajudge.cli.progress import item_progress
from rajudge.cli.score import PrincipleOption, resume_command, writing_to
from rajudge.compare.judging import Verdicts, judge_systems, read_judged_file, read_verdicts
from rajudge.compare.plot import ratings_chart
from rajudge.compare.systems import OnMissing, Systems, read_systems
from rajudge.config import load_config
from rajudge.errors import UsageError
from rajudge.judging.principles import resolve
from rajudge.output.gate import worse_than_baseline
from rajudge.output.leaderboard import render_leaderboard, summary_line
from rajudge.run.cache import Fingerprint, ResultCache

InputsArgument = Annotated[
    list[str] | None,
    typer.Argument(
        help="Each system's outputs (JSONL rows {id?, prompt, response}, or AlpacaEval's "
        "model_outputs.json), as PATH or NAME=PATH; or one candidates file whose 'responses' "
        "are keyed by system.",
        show_default=False,
    ),
]
BaselineOption = Annotated[
    str | None,
    typer.Option(
        "--baseline",
        help="The system win rates and ratings are measured against (default: the first).",
    ),
]
OnMissingOption = Annotated[
    str,
    typer.Option(
        "--on-missing",
        help="error: a system lacking a prompt stops the comparison; skip: compare on the "
        "prompts every system answered.",
    ),
]
JudgedOption = Annotated[
    Path | None,
    typer.Option("--judged", help="Keep the judged records here (JSONL, the score schema)."),
]
FromOption = Annotated[
    str | None,
    typer.Option(
        "--from",
        help="Recompute the statistics from judged records (--judged, or score output) "
        "without judging.",
    ),
]
OutDirOption = Annotated[
    Path | None,
    typer.Option(
        "--output-dir", "-o", help="Write summary.json, ratings.svg and judged.jsonl here."
    ),
]
FormatOption = Annotated[
    str | None,
    typer.Option(
        "--format", "-f", help="table or json (default: table on a terminal, json otherwise)."
    ),
]
ResumeOption = Annotated[
    bool,
    typer.Option(
        "--resume", help="Continue the judged records (--judged or -o): judge only what is new."
    ),
]
BootstrapOption = Annotated[
    int,
    typer.Option("--bootstrap", min=10, help="Bootstrap rounds over prompts for the 95% CIs."),
]
FailIfWorseOption = Annotated[
    bool,
    typer.Option(
        "--fail-if-worse",
        help="Exit 4 when a system is worse than the baseline with confidence (its win "
        "rate's CI lies below 0.5): a CI gate.",
    ),
]
FailIfWorseLcOption = Annotated[
    bool,
    typer.Option(
        "--fail-if-worse-lc",
        help="As --fail-if-worse, on the length-controlled win rate.",
    ),
]
_FORMATS = ("table", "json")
_ON_MISSING: tuple[OnMissing, ...] = ("error", "skip")


@with_flag_groups
def compare(
    inputs: InputsArgument = None,
    principle: PrincipleOption = None,
    baseline: BaselineOption = None,
    on_missing: OnMissingOption = "error",
    judged: JudgedOption = None,
    source: FromOption = None,
    output_dir: OutDirOption = None,
    fmt: FormatOption = None,
    resume_output: ResumeOption = False,
    bootstrap: BootstrapOption = 200,
    fail_if_worse: FailIfWorseOption = False,
    fail_if_worse_lc: FailIfWorseLcOption = False,
    no_cache: NoCacheOption = False,
    model: ModelOption = None,
    *,
    backend_choice: BackendChoice,
    engine: EngineFlags,
) -> None:
    """Compare systems' outputs on the same prompts: a leaderboard with CIs, as a CI gate."""
    fmt = _format(fmt)
    if output_dir is not None:
        _make_dir(output_dir)
        judged = judged or output_dir / "judged.jsonl"
    if source is not None:
        if inputs or principle or resume_output:
            raise UsageError("--from recomputes from records: give no inputs, -p or --resume")
        verdicts, failed, left_out, tally_line = read_judged_file(source), 0, 0, ""
    else:
        verdicts, failed, left_out, tally_line = _judge(
            inputs or [],
            principle or [],
            on_missing=_on_missing(on_missing),
            judged=judged,
            resume_output=resume_output,
            no_cache=no_cache,
            model=model,
            backend_choice=backend_choice,
            engine=engine,
        )
    for error in verdicts.errors:
        print_error(error)
    failed += len(verdicts.errors)
    if failed:
        tally_line += f"; {failed} prompt(s) or line(s) left out (errors above)"
    if not verdicts.verdicts:
        if failed:
            stderr.print("nothing to compare: no prompt was judged", style="red", markup=False)
            raise typer.Exit(EXIT_ITEMS_FAILED)
        raise UsageError("nothing to compare: no prompt was judged")
    record = _summary(verdicts, baseline, bootstrap, left_out)
    if output_dir is not None:
        _write_dir(output_dir, record)
    if fmt == "json":
        sys.stdout.buffer.write(orjson.dumps(record, option=orjson.OPT_INDENT_2) + b"\n")
    else:
        print_table(render_leaderboard(record))
    stderr.print(summary_line(record) + tally_line, style="dim", markup=False, highlight=False)
    _exit(record, failed, fail_if_worse, fail_if_worse_lc)


def _judge(
    inputs: list[str],
    principle: list[str],
    *,
    on_missing: OnMissing,
    judged: Path | None,
    resume_output: bool,
    no_cache: bool,
    model: str | None,
    backend_choice: BackendChoice,
    engine: EngineFlags,
) -> tuple[Verdicts, int, int, str]:
    """Judge the systems' answers: the verdicts, how many prompts failed and were left out,
    and what the run tallied (for the summary line)."""
    if not inputs:
        raise UsageError("give each system's outputs (or one candidates file), or --from FILE")
    if resume_output and judged is None:
        raise UsageError("--resume needs --judged FILE or -o DIR: the records to continue")
    principles = [p for spec in principle for p in resolve(spec)]
    systems = read_systems(inputs, on_missing=on_missing)
    _check_principles(systems, principles)
    for error in systems.errors:
        print_error(error)
    if systems.left_out:
        stderr.print(
            f"--on-missing skip: {len(systems.left_out)} prompt(s) not answered by every "
            f"system left out; comparing on {len(systems.items)}",
            style="dim",
            markup=False,
            highlight=False,
        )
    # Every system in every position equally often, unless --permutations says otherwise.
    engine = replace(engine, permutations=engine.permutations or len(systems.names))
    config = load_config()
    settings = engine.settings(config)
    backend, identity, _ = open_chosen(
        backend_choice, model, config, settings, engine, no_cache=no_cache
    )
    cache = None if no_cache else ResultCache.open()
    try:
        with backend, writing_to(judged), item_progress(stderr, len(systems.items)) as progress:
            run = judge_systems(
                backend,
                systems.items,
                principles,
                judged=judged,
                resume_output=resume_output,
                fingerprint=Fingerprint.of(identity, settings),
                cache=cache,
                on_error=print_error,
                on_item=progress.advance,
            )
    finally:
        if cache is not None:
            cache.close()
    if run.tally.interrupted:
        stderr.print(
            f"interrupted: {run.tally.left} of {run.tally.todo} prompt(s) not judged",
            style="dim",
            markup=False,
            highlight=False,
        )
        if judged is not None:
            stderr.print(f"to continue: {resume_command()}", markup=False, highlight=False)
        raise typer.Exit(EXIT_INTERRUPTED)
    verdicts = read_verdicts((f"record {r.get('id')!r}", r) for r in run.records)
    tally = f"; {run.tally.from_cache} judgment(s) from the cache" if run.tally.from_cache else ""
    if run.resumed is not None:
        tally += f"; {len(run.resumed.kept)} prompt(s) kept from {judged}"
    failed = run.tally.failed + len(systems.errors)
    return replace(verdicts, systems=systems.names), failed, len(systems.left_out), tally


def _check_principles(systems: Systems, principles: list[Any]) -> None:
    if not principles and not all(item.principle for item in systems.items):
        raise UsageError("compare needs a principle: -p NAME (a library name, YAML file or text)")


def _summary(
    verdicts: Verdicts, baseline: str | None, rounds: int, left_out: int
) -> dict[str, Any]:
    systems = list(verdicts.systems)
    baseline = baseline or systems[0]
    if baseline not in systems:
        raise UsageError(f"--baseline {baseline!r} is none of the systems: {', '.join(systems)}")
    # Imported here: the statistics pull in scipy, 0.3-0.6 s that every other command
    # (one-shot `score --prompt` above all) would pay at startup.
    from rajudge.compare.record import summary_record
    from rajudge.compare.summary import summarize

    try:
        summary = summarize(verdicts.verdicts, systems, baseline, rounds=rounds)
    except ValueError as exc:  # records that do not make one comparison (joined by hand)
        raise UsageError(f"these records cannot be compared: {exc}") from None
    return summary_record(
        summary,
        model=verdicts.model,
        mode=verdicts.mode,
        judgments=verdicts.judgments,
        left_out=left_out,
    )


def _make_dir(directory: Path) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"{directory}: cannot make the folder: {exc.strerror or exc}") from None


def _write_dir(directory: Path, record: dict[str, Any]) -> None:
    try:
        (directory / "summary.json").write_bytes(
            orjson.dumps(record, option=orjson.OPT_INDENT_2) + b"\n"
        )
        (directory / "ratings.svg").write_text(ratings_chart(record), encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{directory}: cannot write: {exc.strerror or exc}") from None


def _exit(record: dict[str, Any], failed: int, raw_gate: bool, lc_gate: bool) -> None:
    """Exit 4 when the gate finds a system worse than the baseline, else 1 if prompts failed."""
    worse = worse_than_baseline(record, length_controlled=lc_gate) if lc_gate else []
    if raw_gate:
        worse = [*worse_than_baseline(record, length_controlled=False), *worse]
    for line in dict.fromkeys(worse):
        stderr.print(f"gate: {line}", style="red", markup=False, highlight=False)
    if worse:
        raise typer.Exit(EXIT_BELOW_THRESHOLD)
    if failed:
        raise typer.Exit(EXIT_ITEMS_FAILED)


def _format(fmt: str | None) -> str:
    if fmt is None:
        return "table" if sys.stdout.isatty() else "json"
    if fmt not in _FORMATS:
        raise UsageError(f"unknown format {fmt!r}; choose table or json")
    return fmt


def _on_missing(value: str) -> OnMissing:
    for choice in _ON_MISSING:
        if value == choice:
            return choice
    raise UsageError(f"--on-missing must be error or skip, not {value!r}")
