"""The two consoles: results to stdout, progress, notices and errors to stderr.

Most of what they print comes from users or files (names, paths, prompts, error messages), so
Rich's markup, emoji codes and highlighting are off: `[b]` and `:x:` print as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import click
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

_UNBOUNDED = 1 << 20  # columns: wider than any table
ERRORS_SHOWN = 10  # `error:` lines one command prints for bad lines or items; the rest are counted
_SHOWN, _UNSHOWN = "rajudge.errors_shown", "rajudge.errors_unshown"  # keys in Click's context meta


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


@dataclass
class _Unshown:
    """The errors a command has not printed: how many, and where the first and last are."""

    count: int = 0
    first: str = ""
    last: str = ""

    def add(self, error: Exception) -> None:
        where = getattr(error, "where", "")
        self.count += 1
        self.first = self.first or where
        self.last = where or self.last

    def line(self) -> str:
        where = f" ({self.first} to {self.last})" if self.first and self.last else ""
        return f"{self.count} more error(s) not shown{where}"


def print_error(error: Exception) -> None:
    """One bad line or item as an `error:` line on stderr, up to ERRORS_SHOWN per command.

    Past that, errors are counted, and when the command ends one line says how many were not
    shown and where they are, as jq and csv tools keep a file that is not JSON Lines at all
    from flooding the terminal. The count lives in the command's Click context, so every
    command that prints its errors here is limited with no bookkeeping of its own.
    """
    context = click.get_current_context(silent=True)
    if context is not None:
        unshown = context.meta.get(_UNSHOWN)
        shown = context.meta.setdefault(_SHOWN, 0)
        if shown >= ERRORS_SHOWN:
            if unshown is None:
                unshown = context.meta[_UNSHOWN] = _Unshown()
                context.call_on_close(lambda: _print_error_line(unshown.line()))
            unshown.add(error)
            return
        context.meta[_SHOWN] = shown + 1
    _print_error_line(str(error))


def _print_error_line(message: str) -> None:
    stderr.print("error:", message, style="red", markup=False, highlight=False)
