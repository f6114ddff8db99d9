"""The two consoles: results to stdout, progress, notices and errors to stderr.

Most of what they print comes from users or files (names, paths, prompts, error messages), so
Rich's markup, emoji codes and highlighting are off: `[b]` and `:x:` print as they are.
"""

from __future__ import annotations

from dataclasses import dataclass

import typer
from rich.console import RenderableType
from rich.measure import Measurement

from rajudge.output.render import plain_console

_UNBOUNDED = 1 << 20  # columns: wider than any table
ERRORS_SHOWN = 10  # `error:` lines one command prints for bad lines or items; the rest are counted


stdout = plain_console()
stderr = plain_console(stderr=True, soft_wrap=True)  # one line stays one line in logs


def print_table(table: RenderableType) -> None:
    """Tables on stdout: within a terminal's width, else (a pipe, a file) as wide as they need,
    so that no cell is folded onto a second line."""
    if stdout.is_terminal:
        stdout.print(table)
        return
    needed = Measurement.get(stdout, stdout.options.update_width(_UNBOUNDED), table).maximum
    plain_console(file=stdout.file, width=needed).print(table)


@dataclass
class _ErrorCount:
    """The `error:` lines of the running command: how many were printed, how many were not and
    where the first and last of those are."""

    shown: int = 0
    unshown: int = 0
    first: str = ""
    last: str = ""

    def hide(self, error: Exception) -> None:
        where = getattr(error, "where", "")
        self.unshown += 1
        self.first = self.first or where
        self.last = where or self.last

    def end(self) -> None:
        if self in _RUNNING:
            _RUNNING.remove(self)
        if self.unshown:
            where = f" ({self.first} to {self.last})" if self.first and self.last else ""
            _print_error_line(f"{self.unshown} more error(s) not shown{where}")


_RUNNING: list[_ErrorCount] = []  # the running command's count; none outside a command


def limit_errors(context: typer.Context) -> None:
    """Limit the `error:` lines of the command `context` runs to ERRORS_SHOWN; at its end, one
    line says how many more there were and where. The app calls this before every command."""
    count = _ErrorCount()
    _RUNNING[:] = [count]
    context.call_on_close(count.end)


def print_error(error: Exception) -> None:
    """One bad line or item as an `error:` line on stderr, up to ERRORS_SHOWN per command.

    Past that, errors are counted, and when the command ends one line says how many were not
    shown and where they are, as jq and csv tools keep a file that is not JSON Lines at all
    from flooding the terminal: one count for every command (limit_errors), none of its own.
    """
    count = _RUNNING[0] if _RUNNING else None
    if count is not None and count.shown >= ERRORS_SHOWN:
        count.hide(error)
        return
    if count is not None:
        count.shown += 1
    _print_error_line(str(error))


def _print_error_line(message: str) -> None:
    stderr.print("error:", message, style="red", markup=False, highlight=False)
