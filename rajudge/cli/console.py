"""The two consoles: results to stdout, progress, notices and errors to stderr."""

from __future__ import annotations

from rich.console import Console

stdout = Console()
stderr = Console(stderr=True)
