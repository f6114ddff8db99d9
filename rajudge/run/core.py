"""The run core: a scoring run into an output, as `rajudge score`, `rajudge compare` and
`Judge.score_file` all make one.

Two promises hold whoever calls: an earlier output is continued, not redone (--resume: records
of the same items under the same settings stay, the rest are judged and appended), and a
result is never half written (Ctrl-C waits for the record being written, then the run ends
with what is done, ready to be continued).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rajudge.engine.base import Backend
from rajudge.errors import InputError
from rajudge.interrupts import interrupts_held
from rajudge.output.files import Earlier, ResultWriter, open_writer, output_format, read_earlier
from rajudge.records import Item, ItemResult, Principle
from rajudge.run.cache import Fingerprint, ResultCache
from rajudge.run.schedule import Resumption, judge_items, resume

if TYPE_CHECKING:
    from rich.console import Console


@dataclass
class Tally:
    """How a run went: how many items it had to judge, and what became of them."""

    todo: int
    judged: int = 0
    failed: int = 0
    from_cache: int = 0  # judgments (one per presentation order), not items
    interrupted: bool = False

    @property
    def left(self) -> int:
        """Items not judged because the run was interrupted."""
        return self.todo - self.judged - self.failed


def write_results(
    writer: ResultWriter,
    backend: Backend,
    items: Sequence[Item],
    principles: Sequence[Principle],
    *,
    fingerprint: Fingerprint | None = None,
    cache: ResultCache | None = None,
    on_error: Callable[[InputError], None] = lambda error: None,
    on_item: Callable[[], None] = lambda: None,
    on_result: Callable[[ItemResult], None] = lambda result: None,
) -> Tally:
    """Judge `items` into `writer`, then close it; Ctrl-C ends the run between two records.

    `on_error` hears of each item that failed, `on_result` of each judged, `on_item` of each
    item done either way.
    """
    tally = Tally(todo=len(items))
    try:
        outcomes = judge_items(backend, items, principles, fingerprint=fingerprint, cache=cache)
        for outcome in outcomes:
            if isinstance(outcome, InputError):
                tally.failed += 1
                on_error(outcome)
            else:
                tally.judged += 1
                tally.from_cache += sum(
                    o.timings.cached for j in outcome.judgments for o in j.orders or (j,)
                )
                on_result(outcome)
                with interrupts_held():
                    writer.write(outcome)
            on_item()
    except KeyboardInterrupt:
        tally.interrupted = True
    with interrupts_held():
        writer.close()
    return tally


def score_file(
    backend: Backend,
    items: Sequence[Item],
    principles: Sequence[Principle],
    output: Path | None,
    *,
    fmt: str | None = None,
    resume_output: bool = False,
    earlier: Earlier | None = None,
    fingerprint: Fingerprint | None = None,
    cache: ResultCache | None = None,
    console: Console | None = None,
    on_resumed: Callable[[Resumption, Earlier], None] = lambda resumed, earlier: None,
    on_start: Callable[[int], None] = lambda todo: None,
    on_error: Callable[[InputError], None] = lambda error: None,
    on_item: Callable[[], None] = lambda: None,
    on_result: Callable[[ItemResult], None] = lambda result: None,
) -> tuple[Tally, Resumption | None]:
    """Judge `items` into `output` in `fmt` (rajudge.output.files: by default JSON Lines, or
    one JSON array if it ends in `.json`; None: stdout, a table going to `console`).

    With `resume_output`, the records `output` already holds for these items under these
    settings stay and only the other items are judged (what was done is the Resumption, told to
    `on_resumed` first); `earlier` is what `output` held, when the caller read it already.
    `on_start` hears how many items are left to judge; the other callbacks are
    `write_results`'.
    """
    fmt = fmt or output_format(None, output, terminal=False)
    fingerprint = fingerprint or Fingerprint.of(backend.model_name, backend.settings)
    if resume_output and earlier is None and output is not None:
        earlier = read_earlier(output, fmt)
    resumed = None if earlier is None else resume(items, principles, earlier.records, fingerprint)
    if resumed is not None and earlier is not None:
        on_resumed(resumed, earlier)
    todo = items if resumed is None else resumed.todo
    on_start(len(todo))
    with ExitStack() as stack:
        kept = [] if resumed is None else resumed.kept
        writer = open_writer(fmt, output, stack, earlier=earlier, kept=kept, console=console)
        tally = write_results(
            writer,
            backend,
            todo,
            principles,
            fingerprint=fingerprint,
            cache=cache,
            on_error=on_error,
            on_item=on_item,
            on_result=on_result,
        )
        with interrupts_held():
            stack.close()  # a JSON file is put in place here
    return tally, resumed
