"""The fast paths: batched sequences and prefix reuse change speed, never verdicts.

The run's scheduling and output order are properties above the engine (test_run.py).

Exact equality is the stated tolerance: every sequence has its own KV stream, so a judgment's
arithmetic does not depend on which judgments share its batch or what the cache held before.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from rajudge.engine.base import Job, judge_one
from rajudge.engine.llama import LlamaBackend
from rajudge.errors import ContextOverflowError
from rajudge.records import Item, Judgment, Principle
from rajudge.settings import EngineSettings

SETTINGS = EngineSettings(ctx=4096, rationale_tokens=6)
CONCISE = Principle(name="concise", text="Prefer the shortest response that fully answers.")
CORRECT = Principle(name="correct", text="Prefer responses that are factually correct.")


def without_timings(judgment: Judgment) -> Judgment:
    return dataclasses.replace(judgment, timings=None)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def pairs(test_data: Path) -> list[Item]:
    """Six seeded LLMBar pairs, two of them sharing a prompt."""
    rows = [orjson.loads(line) for line in (test_data / "llmbar-sample.jsonl").open("rb")]
    chosen = random.Random(6).sample(rows, 5)
    items = [
        Item(id=f"p{i}", prompt=r["prompt"], responses={"a": r["chosen"], "b": r["rejected"]})
        for i, r in enumerate(chosen)
    ]
    twin = dataclasses.replace(items[0], id="twin", responses={"x": "Yes.", "y": "No."})
    return [*items, twin]


@pytest.fixture(scope="module")
def one_at_a_time(demo_model: Path) -> Iterator[LlamaBackend]:
    engine = LlamaBackend(demo_model, dataclasses.replace(SETTINGS, parallel=1))
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def batched(demo_model: Path) -> Iterator[LlamaBackend]:
    engine = LlamaBackend(demo_model, dataclasses.replace(SETTINGS, parallel=4))
    yield engine
    engine.close()


def test_batched_sequences_score_exactly_as_one_at_a_time(
    pairs: list[Item], one_at_a_time: LlamaBackend, batched: LlamaBackend
) -> None:
    jobs = [Job(item, CONCISE) for item in pairs] + [Job(pairs[1], CONCISE, ("b", "a"))]
    alone = [without_timings(judge_one(one_at_a_time, j.item, j.principle, j.order)) for j in jobs]
    together = batched.judge_jobs(jobs)
    assert [without_timings(j) for j in together if isinstance(j, Judgment)] == alone
    # a warm trunk (the same prefix cached by the batch before) changes nothing either
    again = batched.judge_jobs(list(reversed(jobs)))
    assert [without_timings(j) for j in reversed(again) if isinstance(j, Judgment)] == alone
    assert all(j.timings.reused_tokens > 0 for j in again if isinstance(j, Judgment))


def test_reasoning_mode_batches_exactly_too(demo_model: Path, pairs: list[Item]) -> None:
    settings = dataclasses.replace(SETTINGS, mode="reasoning", reasoning_budget=12)
    jobs = [Job(item, CORRECT) for item in pairs[:3]]
    outcomes = {}
    for parallel in (1, 3):
        engine = LlamaBackend(demo_model, dataclasses.replace(settings, parallel=parallel))
        try:
            outcomes[parallel] = [without_timings(j) for j in engine.judge_jobs(jobs)]  # type: ignore[arg-type]
        finally:
            engine.close()
    assert outcomes[1] == outcomes[3]
    assert all(j.rationale for j in outcomes[3])


def test_a_job_that_does_not_fit_fails_alone_in_its_batch(
    pairs: list[Item], batched: LlamaBackend
) -> None:
    huge = Item(id="huge", prompt="?", responses={"a": "word " * 5000, "b": "short"})
    outcomes = batched.judge_jobs([Job(pairs[2], CONCISE), Job(huge, CONCISE)])
    assert isinstance(outcomes[0], Judgment) and isinstance(outcomes[1], ContextOverflowError)
