"""A scoring run into a file (rajudge.run.core): resume and Ctrl-C, for the CLI and the Python API.

On the deterministic fake backend: what is kept, redone and written whole does not depend on
the engine. The CLI's own handling (exit 130, the command that continues) is in
test_interrupt.py, on the real model.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fake_backend import FakeBackend

from rajudge import Judge
from rajudge.engine.base import Job
from rajudge.errors import InputError
from rajudge.interrupts import interrupts_held
from rajudge.records import Item, Principle
from rajudge.run.core import Tally, score_file
from rajudge.settings import EngineSettings

CONCISE = Principle(name="concise", text="Prefer the shortest response that fully answers.")
ITEMS = [
    Item(id=f"c{n}", prompt=f"Spell {n} in words.", responses={"a": f"{n}", "b": "No."})
    for n in range(8)
]


def interrupt_at(count: int) -> FakeBackend:
    """A backend judging one job at a time whose `count`-th job is met by Ctrl-C."""
    seen: list[Job] = []

    def press(job: Job) -> None:
        seen.append(job)
        if len(seen) == count:
            raise KeyboardInterrupt

    return FakeBackend(EngineSettings(parallel=1), before_job=press)


def report(errors: list[str]) -> Callable[[InputError], None]:
    return lambda error: errors.append(str(error))


def records(path: Path) -> list[dict]:
    if path.suffix == ".json":
        return json.loads(path.read_text())
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.parametrize("name", ["out.jsonl", "out.json"])
def test_ctrl_c_keeps_whole_records_and_resuming_finishes_as_one_run(
    tmp_path: Path, name: str
) -> None:
    whole = tmp_path / f"whole-{name}"
    score_file(FakeBackend(), ITEMS, [CONCISE], whole)
    out = tmp_path / name

    tally, _ = score_file(interrupt_at(4), ITEMS, [CONCISE], out)
    assert tally == Tally(todo=8, judged=3, interrupted=True)
    assert records(out) == records(whole)[:3]  # a JSON array is still one valid array

    tally, resumed = score_file(FakeBackend(), ITEMS, [CONCISE], out, resume_output=True)
    assert resumed is not None and (len(resumed.kept), len(resumed.todo)) == (3, 5)
    assert tally == Tally(todo=5, judged=5)
    assert out.read_bytes() == whole.read_bytes()


def test_resume_redoes_records_of_other_settings_and_drops_other_items(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    score_file(FakeBackend(), ITEMS, [CONCISE], out)
    other_seed = FakeBackend(EngineSettings(seed=1))
    tally, resumed = score_file(other_seed, ITEMS[:2], [CONCISE], out, resume_output=True)
    assert resumed is not None and (len(resumed.kept), resumed.dropped) == (0, 8)
    assert tally.judged == 2
    assert [r["id"] for r in records(out)] == ["c0", "c1"]


def test_a_torn_last_line_is_redone(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    score_file(FakeBackend(), ITEMS, [CONCISE], out)
    whole = out.read_bytes()
    out.write_bytes(whole[:-40])
    backend = FakeBackend()
    tally, _ = score_file(backend, ITEMS, [CONCISE], out, resume_output=True)
    assert (tally.judged, [job.item.id for job in backend.jobs]) == (1, ["c7"])
    assert out.read_bytes() == whole


def test_item_errors_are_counted_and_the_rest_written(tmp_path: Path) -> None:
    huge = Item(id="huge", prompt="?", responses={"a": "word " * 5000, "b": "y"}, where="in:2")
    errors: list[str] = []
    out = tmp_path / "out.jsonl"
    tally, _ = score_file(
        FakeBackend(), [ITEMS[0], huge, ITEMS[1]], [CONCISE], out, on_error=report(errors)
    )
    assert (tally.judged, tally.failed) == (2, 1)
    assert len(errors) == 1 and errors[0].startswith("in:2: needs")
    assert [r["id"] for r in records(out)] == ["c0", "c1"]


def test_the_python_api_resumes_too(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    with Judge(backend=interrupt_at(3)) as judge:
        assert judge.score_file(ITEMS, out, "concise").interrupted
    with Judge(backend=FakeBackend()) as judge:
        tally = judge.score_file(ITEMS, out, "concise", resume=True)
    assert (tally.todo, tally.judged, tally.interrupted) == (6, 6, False)
    assert [r["id"] for r in records(out)] == [item.id for item in ITEMS]


@pytest.fixture
def ctrl_c_raises() -> Iterator[None]:
    """Python's own Ctrl-C handler, even where a shell started the tests with SIGINT ignored."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.mark.usefixtures("ctrl_c_raises")
def test_ctrl_c_inside_a_held_block_waits_for_its_end() -> None:
    finished = []
    with pytest.raises(KeyboardInterrupt), interrupts_held():
        os.kill(os.getpid(), signal.SIGINT)
        finished.append(True)
    assert finished == [True]


def test_tally_counts_what_is_left() -> None:
    assert dataclasses.replace(Tally(todo=8), judged=3, failed=1).left == 4
