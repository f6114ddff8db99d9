"""Options shared by several commands, declared once."""

from __future__ import annotations

from typing import Annotated

import typer

ModelOption = Annotated[
    str | None,
    typer.Option(
        "--model",
        "-m",
        help="GGUF path or alias (default: $RAJUDGE_MODEL, config file, then the demo model).",
    ),
]
