"""`rajudge principles list|show`: browse the shipped principle library."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from rajudge.cli.console import print_table, stdout
from rajudge.judging.principles import library, resolve

app = typer.Typer(help="Browse the shipped principle library.", no_args_is_help=True)


@app.command(name="list")
def list_principles() -> None:
    """List the shipped principles with their tags."""
    table = Table("name", "tags", "description", box=None, pad_edge=False)
    for principle in sorted(library().values(), key=lambda p: p.name):
        table.add_row(
            Text(principle.name, style="bold"),
            Text(", ".join(principle.tags), style="cyan"),
            Text(principle.description),
        )
    print_table(table)


@app.command()
def show(
    name: Annotated[str, typer.Argument(help="Library name or YAML file.")],
) -> None:
    """Show a principle's full text, exactly as the judge will read it."""
    for principle in resolve(name):
        stdout.print(Text(principle.name, style="bold"), Text(f"({principle.source})", "dim"))
        if principle.description:
            stdout.print(Text(principle.description, style="italic"))
        if principle.tags:
            stdout.print(Text("tags: " + ", ".join(principle.tags), style="cyan"))
        if principle.weight != 1.0:
            stdout.print(Text(f"weight: {principle.weight:g}"))
        stdout.print(Text(principle.text), "")
