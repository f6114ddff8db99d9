"""`rajudge models [list] [PATH...]` and `rajudge models pull`: the models rajudge can use."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table
from rich.text import Text
from typer.core import TyperGroup

from rajudge.cli.console import print_table, stderr, stdout
from rajudge.config import load_config
from rajudge.models.catalog import describe_model, gpu_offload_available, known_models, models_dir
from rajudge.models.pull import Progress as OnProgress
from rajudge.models.pull import model_url, pull


class _ListByDefault(TyperGroup):
    """`rajudge models` and `rajudge models FILE...` mean `rajudge models list ...`."""

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:  # type: ignore[override]
        if not args or (args[0] not in self.commands and args[0] != "--help"):
            args = ["list", *args]
        return super().parse_args(ctx, args)


app = typer.Typer(
    cls=_ListByDefault,
    help="List the models rajudge knows (the default) or download one.",
)


@app.command(name="list")
def list_models(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Also describe these GGUF files.")
    ] = None,
) -> None:
    """List known models (demo, config aliases, models folder) with what their GGUF says."""
    config = load_config()
    found = known_models(config) + [describe_model(p) for p in paths or []]
    table = Table(
        "name",
        "file",
        "arch",
        "quant",
        "params",
        "context",
        "chat template",
        "size",
        "source",
        box=None,
        pad_edge=False,
    )
    for info in found:
        if info.error:
            table.add_row(
                Text(info.name, "bold"),
                info.path.name,
                Text(info.error, "red"),
                *[""] * 5,
                info.source,
            )
            continue
        table.add_row(
            Text(info.name, "bold"),
            info.path.name,
            info.architecture or "?",
            info.quantization or "?",
            info.parameters or "?",
            str(info.context_length or "?"),
            info.template or "?",
            info.size or "?",
            info.source,
        )
    if found:
        print_table(table)
    else:
        stdout.print("no models found")
    stdout.print(Text(f"models folder: {models_dir(config)}", "dim"))
    offload = "available" if gpu_offload_available() else "not available (CPU-only build)"
    stdout.print(Text(f"GPU offload in this llama.cpp build: {offload}", "dim"))


@app.command(name="pull")
def pull_model(
    source: Annotated[str, typer.Argument(help="Hub repo id (owner/name), or a URL of a .gguf.")],
    filename: Annotated[
        str | None, typer.Argument(help="The .gguf file in the repo (not with a URL).")
    ] = None,
    revision: Annotated[str, typer.Option(help="Branch, tag or commit in the repo.")] = "main",
) -> None:
    """Download a GGUF into the models folder; an interrupted download resumes.

    The hub is $RAJUDGE_HUB_URL (default https://huggingface.co); for a gated repo it gets
    $HF_TOKEN, else the token `hf auth login` saved. The path of the model is printed on
    stdout; progress and notes go to stderr.
    """
    url = model_url(source, filename, revision)
    folder = models_dir(load_config())
    with _bar() as progress:
        pulled = pull(url, folder, progress)
    name = pulled.path.stem
    if not pulled.fetched and not pulled.resumed_at:
        note = f"already in the models folder: {pulled.path.name}"
    elif pulled.resumed_at:
        note = f"resumed at byte {pulled.resumed_at} and saved {pulled.path.name}"
    else:
        note = f"saved {pulled.path.name}"
    stderr.print(f"{note}; judge with it: -m {name}", style="dim", markup=False, highlight=False)
    stdout.print(str(pulled.path), markup=False, highlight=False, soft_wrap=True)


@contextmanager
def _bar() -> Iterator[OnProgress | None]:
    """A download bar on stderr where a person watches; nothing in a pipeline or a log."""
    if not stderr.is_terminal:
        yield None
        return
    columns = (
        TextColumn("downloading"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=stderr, transient=True) as bar:
        task = bar.add_task("downloading", total=None)

        def advance(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        yield advance
