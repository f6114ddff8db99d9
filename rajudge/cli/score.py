"""`rajudge score`: judge candidate responses under principles."""

from __future__ import annotations

import errno
import shlex
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from rajudge.cli.console import print_error, stderr, stdout
from rajudge.cli.errors import EXIT_BELOW_THRESHOLD, EXIT_INTERRUPTED, EXIT_ITEMS_FAILED
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
from rajudge.judging.principles import resolve
from rajudge.output.files import Earlier, output_format, read_earlier
from rajudge.output.gate import ScoreGate
from rajudge.output.schema import result_record
from rajudge.read import ReadResult, read_items
from rajudge.records import Item, ItemResult
from rajudge.run.cache import Fingerprint, ResultCache
from rajudge.run.core import Tally, score_file
from rajudge.run.schedule import Resumption

FileArgument = Annotated[
    str | None, typer.Argument(help="JSONL file of candidates, or - for stdin.")
]
PrincipleOption = Annotated[
    list[str] | None,
    typer.Option(
        "--principle",
        "-p",
        help="Library name, YAML file, or literal text. Repeatable. "
        "Default: each item's own 'principle' field.",
    ),
]
PromptOption = Annotated[
    str | None, typer.Option("--prompt", help="Judge one prompt given on the command line.")
]
ResponseOption = Annotated[
    list[str] | None,
    typer.Option("--response", "-r", help="A response to --prompt. Repeatable."),
]
OutputOption = Annotated[
    Path | None, typer.Option("--output", "-o", help="Write results here (default stdout).")
]
FormatOption = Annotated[
    str | None,
    typer.Option(
        "--format",
        "-f",
        help="table, jsonl or json (default: table on a terminal, jsonl otherwise; "
        "from the -o suffix).",
    ),
]
ResumeOption = Annotated[
    bool,
    typer.Option(
        "--resume",
        help="Continue the -o file: keep the items it holds under the same settings, "
        "judge and append the rest.",
    ),
]

FailUnderOption = Annotated[
    float | None,
    typer.Option(
        "--fail-under",
        help="Exit 4 when the mean score of all judged responses is below this (a CI gate).",
    ),
]


@with_flag_groups
def score(
    file: FileArgument = None,
    principle: PrincipleOption = None,
    prompt: PromptOption = None,
    response: ResponseOption = None,
    output: OutputOption = None,
    fmt: FormatOption = None,
    resume_output: ResumeOption = False,
    no_cache: NoCacheOption = False,
    fail_under: FailUnderOption = None,
    model: ModelOption = None,
    *,
    backend_choice: BackendChoice,
    engine: EngineFlags,
) -> None:
    """Score and rank candidate responses; a table on a terminal, JSONL in a pipeline."""
    fmt = output_format(fmt, output, terminal=sys.stdout.isatty())
    config = load_config()
    settings = engine.settings(config)
    principles = [p for spec in principle or [] for p in resolve(spec)]
    read = _candidates(file, prompt, response or [])
    gate = None if fail_under is None else ScoreGate(fail_under)
    earlier = _earlier(output, fmt) if resume_output else None
    for error in read.errors:
        print_error(error)
    opened = open_chosen(backend_choice, model, config, settings, engine, no_cache=no_cache)
    cache = None if no_cache else ResultCache.open()
    started = time.perf_counter()

    def resumed(resumption: Resumption, earlier: Earlier) -> None:
        if gate:
            gate.add(*resumption.kept)
        _report_resumption(output, earlier, resumption)

    try:
        with opened.backend, writing_to(output), item_progress(stderr) as progress:
            tally, _ = score_file(
                opened.backend,
                read.items,
                principles,
                output,
                fmt=fmt,
                earlier=earlier,
                fingerprint=Fingerprint.of(opened.identity, settings),
                cache=cache,
                console=stdout,
                on_resumed=resumed,
                on_start=progress.start,
                on_error=print_error,
                on_item=progress.advance,
                on_result=_grading(gate),
            )
    finally:
        if cache is not None:
            cache.close()
    _summarize(tally, time.perf_counter() - started, len(read.errors), output, gate)


def _summarize(
    tally: Tally, elapsed: float, unread: int, output: Path | None, gate: ScoreGate | None
) -> None:
    """The run's one-line summary on stderr, then its exit: 130 interrupted, 1 items failed,
    4 mean score below --fail-under."""
    summary = f"judged {tally.judged} item(s) in {elapsed:.1f} s"
    if tally.from_cache:
        summary += f"; {tally.from_cache} judgment(s) from the cache"
    if tally.interrupted:
        summary = f"interrupted: {summary}; {tally.left} of {tally.todo} not judged"
    failed = tally.failed + unread
    summary += f"; {failed} failed" if failed else ""
    stderr.print(summary + (f"; {gate.summary()}" if gate else ""), style="dim", markup=False)
    if tally.interrupted:
        if output is not None:
            stderr.print(
                f"to continue: {resume_command()}", markup=False, highlight=False, soft_wrap=True
            )
        raise typer.Exit(EXIT_INTERRUPTED)
    if failed:
        raise typer.Exit(EXIT_ITEMS_FAILED)
    if gate and not gate.passed:
        raise typer.Exit(EXIT_BELOW_THRESHOLD)


def _grading(gate: ScoreGate | None) -> Callable[[ItemResult], None]:
    """What --fail-under counts of each judged item: its record's scores (none without it)."""
    return (lambda result: gate.add(result_record(result))) if gate else (lambda result: None)


def _candidates(file: str | None, prompt: str | None, responses: list[str]) -> ReadResult:
    if prompt is not None:
        if file is not None:
            raise UsageError("give either a candidates FILE or --prompt with -r, not both")
        if not responses:
            raise UsageError("--prompt needs at least one -r/--response")
        for text in (prompt, *responses):
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                raise UsageError("--prompt and -r must be valid UTF-8 text") from None
        named = {f"response-{i + 1}": text for i, text in enumerate(responses)}
        return ReadResult(items=[Item(id="prompt", prompt=prompt, responses=named)], errors=[])
    if responses:
        raise UsageError("-r/--response needs --prompt")
    if file is None:
        raise UsageError("give a candidates FILE (or - for stdin), or --prompt with -r")
    return read_items(file)


def _earlier(output: Path | None, fmt: str) -> Earlier:
    if output is None:
        raise UsageError("--resume needs -o/--output: the file to continue")
    if fmt not in ("jsonl", "json"):
        raise UsageError(f"--resume continues JSONL or JSON output, not {fmt}")
    return read_earlier(output, fmt)


def _report_resumption(output: Path | None, earlier: Earlier, resumption: Resumption) -> None:
    done, todo = len(resumption.kept), len(resumption.todo)
    message = f"resuming {output}: {done} item(s) already there, {todo} to judge"
    if resumption.dropped:
        message += (
            f"; {resumption.dropped} record(s) made with other settings or for other input "
            "removed (they are redone if in this input)"
        )
    if earlier.torn:
        message += "; a torn last line removed"
    stderr.print(message, style="dim", markup=False, highlight=False)


@contextmanager
def writing_to(output: Path | None) -> Iterator[None]:
    """An OSError while results are written (a full disk, a bad -o) is one line naming where."""
    try:
        yield
    except OSError as exc:
        if exc.errno == errno.EPIPE:  # `rajudge score ... | head`: Typer ends quietly
            raise
        where = output or "<stdout>"
        raise UsageError(f"{where}: cannot write: {exc.strerror or exc}") from None


def resume_command() -> str:
    """This very command line, with --resume: what continues an interrupted run."""
    args = sys.argv[1:]
    return shlex.join(["rajudge", *args, *([] if "--resume" in args else ["--resume"])])
