"""`rajudge models`: the models rajudge knows or finds, read from their GGUF headers."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from rajudge.cli.console import stdout
from rajudge.config import load_config
from rajudge.models import describe_model, gpu_offload_available, known_models, models_dir


def models(
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
        stdout.print(table)
    else:
        stdout.print("no models found")
    stdout.print(Text(f"models folder: {models_dir(config)}", "dim"))
    offload = "available" if gpu_offload_available() else "not available (CPU-only build)"
    stdout.print(Text(f"GPU offload in this llama.cpp build: {offload}", "dim"))
