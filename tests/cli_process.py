"""`python -m rajudge ARGS` in a fresh process, as a user runs it: for tests of what a command
prints, what it exits with and what it leaves behind.

The environment is the test's own (conftest's hermetic fixture: XDG folders under the test's
tmp_path, no RAJUDGE_* or API-key variables) with `env` on top.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

RAJUDGE = [sys.executable, "-m", "rajudge"]


def run_rajudge(
    *args: str,
    cwd: Path,
    stdin: str | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    """Run rajudge to the end in `cwd`; Rich lays out for 200 columns unless `env` says."""
    return subprocess.run(
        [*RAJUDGE, *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
        timeout=timeout,
    )


def own_folders(folder: Path) -> dict[str, str]:
    """XDG folders of a run's own under `folder` (config, data, cache), for tests that need
    runs which share nothing with each other or with the test."""
    return {
        var: str(folder / var.lower())
        for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME")
    }
