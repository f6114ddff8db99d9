"""`rajudge cache [show]` and `rajudge cache clear [--states|--results]`: what rajudge keeps."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text
from typer.core import TyperGroup

from rajudge.cli.console import print_table, stdout
from rajudge.engine.prefix_state import CAP_ENV, PrefixStates
from rajudge.run.cache import CACHE_FILE, cache_dir


class _ShowByDefault(TyperGroup):
    """`rajudge cache` means `rajudge cache show`."""

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:  # type: ignore[override]
        if not args or (args[0] not in self.commands and args[0] != "--help"):
            args = ["show", *args]
        return super().parse_args(ctx, args)


app = typer.Typer(
    cls=_ShowByDefault,
    help="Show what the result cache and the prefix states hold (the default), or clear them.",
)


@app.command()
def show() -> None:
    """Where the result cache and the saved prefix states are, their files and bytes."""
    judgments = _judgments(cache_dir() / CACHE_FILE)
    results = _result_files()
    usage = PrefixStates.open().usage()
    table = Table("cache", "where", "files", "bytes", "holds", box=None, pad_edge=False)
    table.add_row(
        Text("results", "bold"),
        str(cache_dir() / CACHE_FILE),
        str(len(results)),
        f"{sum(p.stat().st_size for p in results):,}",
        "" if judgments is None else f"{judgments:,} judgment(s)",
    )
    table.add_row(
        Text("prefix states", "bold"),
        str(usage.folder),
        str(usage.files),
        f"{usage.bytes:,}",
        f"cap {usage.cap >> 20:,} MB (${CAP_ENV})",
    )
    print_table(table)


@app.command()
def clear(
    states: Annotated[bool, typer.Option("--states", help="Only the saved prefix states.")] = False,
    results: Annotated[bool, typer.Option("--results", help="Only the result cache.")] = False,
) -> None:
    """Delete the result cache and the saved prefix states (both unless one is named)."""
    both = states == results
    if results or both:
        judgments = _judgments(cache_dir() / CACHE_FILE)
        found = _result_files()
        for path in found:
            path.unlink(missing_ok=True)
        held = "" if judgments is None else f" ({judgments:,} judgment(s))"
        done = "removed the result cache" if found else "no result cache at"
        stdout.print(f"{done} {cache_dir() / CACHE_FILE}{held}")
    if states or both:
        store = PrefixStates.open()
        stdout.print(f"removed {store.clear()} prefix state(s) from {store.folder}")


def _result_files() -> list[Path]:
    """The result cache's SQLite file and its journal files, those that exist."""
    main = cache_dir() / CACHE_FILE
    candidates = [main, *(main.with_name(main.name + end) for end in ("-wal", "-shm"))]
    return [path for path in candidates if path.is_file()]


def _judgments(path: Path) -> int | None:
    """How many judgments the result cache at `path` holds; None if it cannot be read."""
    if not path.is_file():
        return None
    try:  # read-write as rajudge's own connections: the last one to close tidies the journal
        db = sqlite3.connect(path, timeout=5.0)
        try:
            (count,) = db.execute("SELECT count(*) FROM judgments").fetchone()
        finally:
            db.close()
    except sqlite3.Error:
        return None
    return int(count)
