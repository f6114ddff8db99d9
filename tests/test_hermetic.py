"""The suite needs nothing beside the repository: the guard in conftest.py makes it so."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

LEAKY_TESTS = """
import socket
from pathlib import Path

BESIDE = Path({beside!r})
REPO = Path({repo!r})


def test_reads_beside():
    BESIDE.read_bytes()


def test_swallows_the_error():
    try:
        BESIDE.open("rb")
    except Exception:
        pass


def test_reaches_the_network():
    socket.create_connection(("192.0.2.1", 80), timeout=1)  # TEST-NET-1: nobody answers


def test_reads_the_repository_and_its_own_folder(tmp_path):
    (tmp_path / "x").write_text((REPO / "README.md").read_text())


def test_talks_to_this_machine():
    with socket.create_server(("127.0.0.1", 0)) as server:
        socket.create_connection(server.getsockname()).close()
"""


def test_a_test_that_reads_beside_the_repository_or_reaches_the_network_fails(
    tmp_path: Path,
) -> None:
    beside = REPO.parent / "shared" / "datasets" / "llmbar.jsonl"
    (tmp_path / "test_leaky.py").write_text(
        textwrap.dedent(LEAKY_TESTS.format(beside=str(beside), repo=str(REPO)))
    )
    env = {**os.environ, "PYTHONPATH": str(REPO / "tests")}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rfE", "-p", "conftest", "test_leaky.py"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=300,
    )
    out = done.stdout
    assert done.returncode == 1, out
    summary = [line for line in out.splitlines() if line.startswith(("FAILED", "ERROR"))]
    for name in ("test_reads_beside", "test_swallows_the_error", "test_reaches_the_network"):
        assert f"ERROR test_leaky.py::{name} - Failed: not hermetic" in out, out
    for name in ("test_reads_the_repository", "test_talks_to_this_machine"):
        assert not [line for line in summary if name in line], out
    assert f"opened {beside}, beside the repository" in out, out
    assert "reached for the network (socket.getaddrinfo '192.0.2.1')" in out, out
