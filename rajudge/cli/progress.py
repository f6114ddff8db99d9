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
    """A bar over the items a run judges, shown from `start` (when the run knows how many)."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._progress: Progress | None = None

    def start(self, total: int) -> None:
        """Show a bar over `total` items (in place of any before); silent when stderr is not a
        terminal or for one item."""
        self.stop()
        if not self._console.is_terminal or total < 2:
            return
        columns = (
            TextColumn("judging"),
            BarColumn(),
            MofNCompleteColumn(),
            _RateColumn(),
            TimeRemainingColumn(),
        )
        self._progress = Progress(*columns, console=self._console, transient=True)
        self._progress.start()
        self._progress.add_task("judging", total=total)

    def advance(self) -> None:
        if self._progress is not None:
            self._progress.advance(self._progress.task_ids[0])

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


@contextmanager
def item_progress(console: Console, total: int | None = None) -> Iterator[ItemProgress]:
    """Progress over `total` items (None: from the run's `start`), removed when the block ends."""
    progress = ItemProgress(console)
    if total is not None:
        progress.start(total)
    try:
        yield progress
    finally:
        progress.stop()
