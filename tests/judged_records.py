"""Score records as `rajudge score` writes them, for tests of what reads them back."""

from __future__ import annotations

from typing import Any

import orjson

from rajudge.output.schema import result_record
from rajudge.records import Item, ItemResult, Judgment, Principle, ResponseScore, Timings

HELPFUL = Principle(name="helpful", text="Prefer the most helpful response.")
CONCISE = Principle(name="concise", text="Prefer short answers.", weight=3.0)
TEXTS = {"a": "Paris.", "b": "It is Paris, the capital.", "c": "Lyon."}


def judgment(principle: Principle, expected: dict[str, float]) -> Judgment:
    order = sorted(expected, key=lambda name: -expected[name])
    return Judgment(
        item_id="q",
        principle=principle,
        responses=tuple(
            ResponseScore(name, round(expected[name]), expected[name], (0, 0, 1.0, 0, 0), rank)
            for rank, name in enumerate(order, start=1)
        ),
        rationale="",
        model="m",
        mode="fast",
        timings=Timings(prompt_tokens=1, reused_tokens=0, generated_tokens=1, seconds=0.1),
    )


def record(item_id: str, *expected: dict[str, float]) -> dict[str, Any]:
    """The record `score` writes for an item judged under one principle per dict given."""
    principles = (HELPFUL, CONCISE)[: len(expected)]
    texts = {name: TEXTS[name] for name in expected[0]}
    item = Item(id=item_id, prompt="Capital of France?", responses=texts)
    judgments = tuple(judgment(p, e) for p, e in zip(principles, expected, strict=True))
    return orjson.loads(orjson.dumps(result_record(ItemResult(item, judgments))))
