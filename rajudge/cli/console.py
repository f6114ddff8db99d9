"""The two consoles: results to stdout, progress, notices and errors to stderr.

Most of what they print comes from users or files (names, paths, prompts, error messages), so
Rich's markup, emoji codes and highlighting are off: `[b]` and `:x:` print as they are.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

_UNBOUNDED = 1 << 20  # columns: wider than any table


def plain_console(**options: Any) -> Console:
    """A Rich console that prints text as it is: no markup, emoji codes or highlighting."""
    return Console(markup=False, emoji=False, highlight=False, **options)


stdout = plain_console()
stderr = plain_console(stderr=True, soft_wrap=True)  # one line stays one line in logs


def print_table(table: Table) -> None:
    """A table on stdout: within a terminal's width, else (a pipe, a file) as wide as it needs,
    so that no cell is folded onto a second line."""
    if stdout.is_terminal:
        stdout.print(table)
        return
    needed = Measurement.get(stdout, stdout.options.update_width(_UNBOUNDED), table).maximum
    plain_console(file=stdout.file, width=needed).print(table)
