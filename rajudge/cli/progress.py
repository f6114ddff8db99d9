"""A progress bar on stderr (items/s and ETA), shown only where a person is watching."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text


class _RateColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{speed:.2f} items/s", style="progress.data.speed")


class ItemProgress:
    def __init__(self, progress: Progress | None) -> None:
        self._progress = progress

    def advance(self) -> None:
        if self._progress is not None:
            self._progress.advance(self._progress.task_ids[0])


@contextmanager
def item_progress(console: Console, total: int) -> Iterator[ItemProgress]:
    """Progress over `total` items; silent when stderr is not a terminal or there is one item."""
    if not console.is_terminal or total < 2:
        yield ItemProgress(None)
        return
    columns = (
        TextColumn("judging"),
        BarColumn(),
        MofNCompleteColumn(),
        _RateColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        progress.add_task("judging", total=total)
        yield ItemProgress(progress)
