"""The two consoles: results to stdout, progress, notices and errors to stderr."""

from __future__ import annotations

from rich.console import Console

stdout = Console()
stderr = Console(stderr=True, soft_wrap=True)  # a one-line message stays one line in logs
