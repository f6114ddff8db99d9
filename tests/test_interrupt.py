"""Ctrl-C during `rajudge score`: whole records, a summary, the command to continue, exit 130."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from cli_process import RAJUDGE, own_folders, run_rajudge

FAST = ["--ctx", "2048", "--rationale-tokens", "4", "--threads", "1"]
ROWS = [
    {"id": f"c{n}", "prompt": f"Spell {n} in words.", "responses": {"a": f"{n}", "b": "No."}}
    for n in range(8)
]


def start(folder: Path, *args: str) -> subprocess.Popen[str]:
    """`rajudge score ARGS` in `folder`, with Ctrl-C handled as in a terminal.

    A shell starts background jobs with SIGINT ignored, and Python then never raises
    KeyboardInterrupt; the child gets the default disposition back whatever ran this test.
    """
    (folder / "in.jsonl").write_text("".join(json.dumps(row) + "\n" for row in ROWS))
    return subprocess.Popen(
        [*RAJUDGE, "score", "in.jsonl", "-p", "concise", *FAST, *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=folder,
        env={**os.environ, **own_folders(folder)},
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def interrupt_when(process: subprocess.Popen[str], ready: Callable[[], bool]) -> tuple[str, str]:
    deadline = time.monotonic() + 600
    while not ready():
        assert process.poll() is None, "finished before it could be interrupted"
        assert time.monotonic() < deadline, "never got far enough to interrupt"
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    return process.communicate(timeout=300)


def cached_judgments(folder: Path) -> int:
    path = folder / "xdg_cache_home" / "rajudge" / "results.sqlite3"
    if not path.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            return db.execute("SELECT count(*) FROM judgments").fetchone()[0]
    except sqlite3.OperationalError:  # the table is not made yet
        return 0


def test_ctrl_c_keeps_whole_records_and_prints_the_command_that_continues(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    process = start(tmp_path, "-o", "out.jsonl")
    _, stderr = interrupt_when(process, lambda: out.exists() and out.read_bytes().count(b"\n") >= 2)

    assert process.returncode == 130, stderr
    data = out.read_bytes()
    assert data.endswith(b"\n")
    written = [json.loads(line) for line in data.splitlines()]
    count = len(written)
    assert [r["id"] for r in written] == [row["id"] for row in ROWS[:count]]
    message = " ".join(stderr.split())
    assert f"interrupted: judged {count} item(s) in " in message
    assert f"{len(ROWS) - count} of {len(ROWS)} not judged" in message
    assert "Traceback" not in stderr
    (command,) = re.findall(r"^to continue: (.*)$", stderr, re.MULTILINE)
    program, *args = shlex.split(command)
    assert program == "rajudge"
    assert args == ["score", "in.jsonl", "-p", "concise", *FAST, "-o", "out.jsonl", "--resume"]

    resumed = run_rajudge(*args, cwd=tmp_path, env=own_folders(tmp_path), timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{count} item(s) already there, {len(ROWS) - count} to judge" in " ".join(
        resumed.stderr.split()
    )
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in records] == [row["id"] for row in ROWS]
    assert records[:count] == written


def test_ctrl_c_with_json_output_still_writes_a_valid_array(tmp_path: Path) -> None:
    process = start(tmp_path, "--format", "json")
    stdout, stderr = interrupt_when(process, lambda: cached_judgments(tmp_path) >= 2)

    assert process.returncode == 130, stderr
    records = json.loads(stdout)
    assert 1 <= len(records) < len(ROWS)
    assert [r["id"] for r in records] == [row["id"] for row in ROWS[: len(records)]]
    assert all(len(r["judgments"]) == 1 for r in records)
    assert f"interrupted: judged {len(records)} item(s)" in " ".join(stderr.split())
    assert "to continue" not in stderr  # nothing to resume: the results went to stdout


def test_ctrl_c_before_judging_exits_130_quietly(tmp_path: Path) -> None:
    """Ctrl-C where Typer handles it (here: waiting for stdin) is exit 130 and no message.

    Typer before 0.13 printed "Aborted!" and exited 1; pyproject's floor keeps those out.
    """
    process = subprocess.Popen(
        [*RAJUDGE, "score", "-", "-p", "concise"],
        stdin=subprocess.PIPE,  # held open and never written: rajudge waits on it
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env={**os.environ, **own_folders(tmp_path)},
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    wchan = Path(f"/proc/{process.pid}/wchan")
    out, err = interrupt_when(process, lambda: "pipe" in wchan.read_text())
    assert (process.returncode, out, err.strip()) == (130, "", "")
