"""A run above the engine: scheduling, input order, per-item failures and the result cache.

On the deterministic fake backend (tests/fake_backend.py): these are properties of
rajudge.run.schedule whatever the engine; the engine's own batching identity is tested on the
real model (test_batching.py).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from fake_backend import FakeBackend

from rajudge.errors import ContextOverflowError, InputError
from rajudge.records import Item, ItemResult, Principle
from rajudge.run.cache import Fingerprint, ResultCache
from rajudge.run.schedule import judge_items
from rajudge.settings import EngineSettings

CONCISE = Principle(name="concise", text="Prefer the shortest response that fully answers.")
CORRECT = Principle(name="correct", text="Prefer responses that are factually correct.")
TWIN_PROMPT = "What is the capital of France?"


def items() -> list[Item]:
    """Six items, the first and the last sharing a prompt, and one too long in the middle."""
    made = [
        Item(id=f"p{n}", prompt=f"Question {n}?", responses={"a": f"answer {n}", "b": "no"})
        for n in range(5)
    ]
    made[0] = dataclasses.replace(made[0], prompt=TWIN_PROMPT)
    twin = Item(id="twin", prompt=TWIN_PROMPT, responses={"x": "Paris.", "y": "Lyon."})
    broken = Item(id="huge", prompt="?", responses={"a": "word " * 5000, "b": "y"}, where="in:3")
    return [*made[:2], broken, *made[2:], twin]


def outcomes(backend: FakeBackend, chosen: list[Item], **run: object) -> list[object]:
    """Each outcome as plain data: the id, judgments without timings and key; or the error."""

    def plain(result: ItemResult | InputError) -> object:
        if isinstance(result, InputError):
            return str(result)
        judgments = [dataclasses.replace(j, timings=None) for j in result.judgments]
        return (result.item.id, judgments, result.key)

    return [plain(r) for r in judge_items(backend, chosen, [CONCISE, CORRECT], **run)]  # type: ignore[arg-type]


@pytest.mark.parametrize("parallel", [1, 3, 64])
def test_output_follows_input_order_whatever_the_schedule(parallel: int) -> None:
    backend = FakeBackend(EngineSettings(parallel=parallel))
    forward = outcomes(backend, items())
    assert [o[0] if isinstance(o, tuple) else o.split(":")[0] for o in forward] == [
        "p0",
        "p1",
        "in",
        "p2",
        "p3",
        "p4",
        "twin",
    ]
    assert forward == list(reversed(outcomes(FakeBackend(), list(reversed(items())))))
    assert all(len(batch) <= parallel for batch in backend.batches)


def test_jobs_sharing_a_prefix_are_judged_next_to_each_other() -> None:
    backend = FakeBackend(EngineSettings(parallel=4))
    list(judge_items(backend, items(), [CONCISE, CORRECT]))
    order = [(job.principle.name, job.item.id) for job in backend.jobs]
    # all of one principle before the other; within it, the twin right after the first item
    assert [name for name, _ in order] == ["concise"] * 7 + ["correct"] * 7
    assert [item for _, item in order[:3]] == ["p0", "twin", "p1"]


def test_an_item_that_fails_under_one_principle_is_reported_once() -> None:
    failing = dataclasses.replace(CORRECT, text="x" * 20_000)
    backend = FakeBackend()
    results = list(judge_items(backend, items()[:2], [CONCISE, failing]))
    assert [type(r) for r in results] == [ContextOverflowError, ContextOverflowError]
    assert all("skipped" in str(r) for r in results)


def test_items_without_a_principle_fail_alone() -> None:
    own = dataclasses.replace(items()[1], principle=CONCISE)
    results = list(judge_items(FakeBackend(), [items()[0], own]))
    assert isinstance(results[0], InputError) and "no principle" in str(results[0])
    assert isinstance(results[1], ItemResult) and results[1].item.id == "p1"


def test_items_are_read_a_window_at_a_time() -> None:
    read: list[str] = []

    def source() -> object:
        for item in items()[:2] * 20:
            read.append(item.id)
            yield item

    results = judge_items(FakeBackend(EngineSettings(parallel=2)), source(), [CONCISE])  # type: ignore[arg-type]
    next(results)
    assert len(read) == 8  # four batches of two read ahead, not the whole input


def test_the_cache_answers_what_was_judged_before(tmp_path: Path) -> None:
    fingerprint = Fingerprint.of("fake|1", EngineSettings())
    first, second = FakeBackend(), FakeBackend()
    with_cache = {"fingerprint": fingerprint, "cache": ResultCache(tmp_path / "cache.sqlite3")}
    made = outcomes(first, items(), **with_cache)
    again = list(judge_items(second, items(), [CONCISE, CORRECT], **with_cache))  # type: ignore[arg-type]
    assert [job.item.id for job in second.jobs] == ["huge", "huge"]  # only what failed
    cached = [r for r in again if isinstance(r, ItemResult)]
    assert all(j.timings.cached for r in cached for j in r.judgments)
    assert outcomes(FakeBackend(), items(), **with_cache) == made
