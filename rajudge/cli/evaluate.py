"""`rajudge eval`: measure a judge (model + principle + settings) against labelled data."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.table import Table
from rich.text import Text

from rajudge.cli.console import print_error, print_table, stderr, stdout
from rajudge.cli.errors import EXIT_ITEMS_FAILED
from rajudge.cli.flag_groups import with_flag_groups
from rajudge.cli.options import (
    BackendChoice,
    EngineFlags,
    ModelOption,
    NoCacheOption,
    open_chosen,
)
from rajudge.cli.progress import item_progress
from rajudge.config import load_config
from rajudge.errors import UsageError
from rajudge.evaluation import evaluate as evaluation
from rajudge.evaluation.evaluate import (
    Prediction,
    item_record,
    longer_response_pairs,
    read_labelled,
    sample,
)
from rajudge.evaluation.plot import Bar, accuracy_chart
from rajudge.judging.principles import resolve
from rajudge.records import Principle
from rajudge.run.cache import Fingerprint, ResultCache

DEMO_NUMBERS = "demo model: a 135M pipeline model, not a real judge; these numbers say nothing \
about RewardAnything-8B"


DataArgument = Annotated[
    str, typer.Argument(help="Labelled JSONL: preference pairs or ranked lists.")
]
PrincipleOption = Annotated[
    str | None, typer.Option("--principle", "-p", help="Judge every item under this principle.")
]
LimitOption = Annotated[
    int | None, typer.Option(help="Judge a seeded random sample of this many items.")
]
SwapOption = Annotated[
    bool, typer.Option(help="Judge pairs in both orders; report swap consistency.")
]
ContrastOption = Annotated[
    str | None,
    typer.Option(
        help="Principle-flip check: also judge under this principle and report how often "
        "the verdict flips (pairs only)."
    ),
]
LengthRatioOption = Annotated[
    float | None,
    typer.Option(help="Keep only pairs whose longer response is this many times longer."),
]
OutputOption = Annotated[
    Path | None,
    typer.Option(
        "--output", "-o", help="Folder for report.json, predictions.jsonl and accuracy.svg."
    ),
]


@with_flag_groups
def evaluate(
    data: DataArgument,
    principle: PrincipleOption = None,
    limit: LimitOption = None,
    swap: SwapOption = False,
    contrast: ContrastOption = None,
    min_length_ratio: LengthRatioOption = None,
    output: OutputOption = None,
    no_cache: NoCacheOption = False,
    model: ModelOption = None,
    *,
    backend_choice: BackendChoice,
    engine: EngineFlags,
) -> None:
    """Pairwise accuracy, swap consistency, rank correlations, with bootstrap 95% CIs."""
    config = load_config()
    settings = engine.settings(config)
    override = _single_principle(principle) if principle else None
    items, errors = read_labelled(data, override)
    for error in errors:
        print_error(error)
    if min_length_ratio is not None:
        items = longer_response_pairs(items, min_length_ratio)
    items = sample(items, limit, settings.seed)
    if not items:
        raise UsageError(f"{data}: no labelled items to evaluate")
    if output is not None:
        _make_folder(output)  # before judging, so that a bad -o costs nothing
    opened = open_chosen(backend_choice, model, config, settings, engine, no_cache=no_cache)
    cache = None if no_cache else ResultCache.open()
    try:
        with opened.backend, item_progress(stderr) as progress:
            summary, predictions = evaluation.evaluate(
                opened.backend,
                items,
                data=data,
                principle=override,
                limit=limit,
                swap=swap,
                contrast=_single_principle(contrast) if contrast is not None else None,
                is_demo=opened.is_demo,
                unread=len(errors),
                fingerprint=Fingerprint.of(opened.identity, settings),
                cache=cache,
                on_start=progress.start,
                on_error=print_error,
                on_item=progress.advance,
            )
    finally:
        if cache is not None:
            cache.close()

    _print_summary(summary)
    if output is not None:
        _write_outputs(output, summary, predictions)
    if summary["failed"]:
        raise typer.Exit(EXIT_ITEMS_FAILED)


def _single_principle(spec: str) -> Principle:
    principles = resolve(spec)
    if len(principles) != 1:
        raise UsageError(f"{spec}: eval judges under one principle; this holds {len(principles)}")
    return principles[0]


def _print_summary(summary: dict[str, Any]) -> None:
    table = Table(
        "subset",
        "n",
        "accuracy [95% CI]",
        "by score",
        "by expected",
        "swap consistency",
        "averaged",
        box=None,
        pad_edge=False,
        title=f"rajudge eval · {summary['setup']['model']}",
    )
    rows = dict(summary["subsets"])
    if summary["pairs"] and len(rows) > 1:
        rows["all"] = summary["pairs"]
    for name, row in rows.items():
        table.add_row(
            Text(name, "bold" if name == "all" else ""),
            str(row["n"]),
            _with_ci(row, "accuracy"),
            _with_ci(row, "accuracy_score"),
            _with_ci(row, "accuracy_expected"),
            _with_ci(row, "swap_consistent"),
            _with_ci(row, "accuracy_averaged"),
        )
    if rows:
        print_table(table)
    if summary["lists"]:
        lists = summary["lists"]
        for key in ("kendall_tau", "spearman", "ndcg", "pairwise_accuracy", "shuffle_agreement"):
            if key in lists:
                stdout.print(f"{key}: {_with_ci(lists, key)}  (n={lists['n']})", markup=False)
    if "contrast" in summary:
        c = summary["contrast"]
        stdout.print(
            f"principle flip ({c['a']} vs {c['b']}, {c['pairs']} pairs): verdict flips in "
            f"{c['flip_rate']:.1%}; longer response wins {c['longer_wins_a']:.1%} vs "
            f"{c['longer_wins_b']:.1%}",
            markup=False,
        )
    if summary["setup"]["demo_model"]:
        stderr.print(
            "note: these are demo-model numbers; a 135M model is not a real judge",
            style="dim",
        )


def _with_ci(row: dict[str, Any], key: str) -> str:
    if key not in row:
        return "-"
    low, high = row[f"{key}_ci"]
    return f"{row[key]:.3f} [{low:.2f}, {high:.2f}]"


def _make_folder(folder: Path) -> None:
    """The -o folder, made and tried with a scratch file."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise UsageError(f"{folder}: cannot write there: {exc.strerror or exc}") from None


def _write_outputs(folder: Path, summary: dict[str, Any], predictions: list[Prediction]) -> None:
    try:
        _write_files(folder, summary, predictions)
    except OSError as exc:
        where = exc.filename or folder
        raise UsageError(f"{where}: cannot write: {exc.strerror or exc}") from None
    stderr.print(f"wrote {folder}/report.json, predictions.jsonl, accuracy.svg", style="dim")


def _write_files(folder: Path, summary: dict[str, Any], predictions: list[Prediction]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.json").write_bytes(
        orjson.dumps(summary, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)
    )
    with (folder / "predictions.jsonl").open("wb") as stream:
        for prediction in predictions:
            stream.write(orjson.dumps(item_record(prediction), option=orjson.OPT_APPEND_NEWLINE))
    bars = [
        Bar(name, row["accuracy"], row["accuracy_ci"][0], row["accuracy_ci"][1], row["n"])
        for name, row in summary["subsets"].items()
    ]
    if bars:
        setup = summary["setup"]
        title = f"{Path(setup['data']).name}: {setup['model']}, {setup['mode']} mode"
        note = DEMO_NUMBERS if setup["demo_model"] else ""
        (folder / "accuracy.svg").write_text(accuracy_chart(bars, title, note))
