"""Score records (JSONL schema 1) for the report tests, written the way `rajudge score` writes
them, with any texts, names and scores: hostile ones, and thousands of them."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import orjson

PWNED = "document.title = 'pwned'"  # what every hostile text tries to run
HOSTILE_ID = "<b>bold-id</b>"
HOSTILE_NAME = f'<img src=x onerror="{PWNED}">'
SCRIPT_RESPONSE = f"<script>{PWNED}</script>"
HOSTILE = {
    "prompt": f"</script><script>{PWNED}</script><!-- an open comment",
    "responses": {
        "script": SCRIPT_RESPONSE,
        "textarea": f'</textarea><img src=x onerror="{PWNED}">',
        "link": f'<a href="javascript:{PWNED}">click me</a>',
        HOSTILE_NAME: "A" * 1_000_000 + "<b>end of a megabyte line</b>",
    },
    "rationale": f"<!-- <style>body {{ display: none }}</style> {{{{data}}}} \u2028 {PWNED}",
}


def record(
    item_id: str,
    prompt: str,
    responses: dict[str, str],
    expected: dict[str, float],
    *,
    principle: str = "concise",
    rationale: str = "",
    consistency: float | None = None,
    model: str = "judge.gguf",
) -> dict[str, Any]:
    """One record; each response's score is its rounded expected score, ranks follow it."""
    ranking = sorted(responses, key=lambda name: -expected[name])
    judgment: dict[str, Any] = {
        "principle": {
            "name": principle,
            "text": f"text of {principle}",
            "weight": 1.0,
            "source": "library",
        },
        "ranking": ranking,
        "responses": {name: _score(expected[name], ranking.index(name) + 1) for name in responses},
        "distribution_source": "logprobs",
        "rationale": rationale,
        "timings": {
            "prompt_tokens": 1,
            "reused_tokens": 0,
            "generated_tokens": 1,
            "seconds": 0.1,
            "cached": False,
        },
    }
    if consistency is not None:
        judgment["consistency"] = consistency
    return {
        "schema": 1,
        "id": item_id,
        "ranking": ranking,
        "composite": None,
        "judgments": [judgment],
        "model": model,
        "mode": "fast",
        "key": "0" * 16,
        "prompt": prompt,
        "responses": responses,
    }


def _score(expected: float, rank: int) -> dict[str, Any]:
    score = min(5, max(1, round(expected)))
    distribution = [0.0] * 5
    distribution[score - 1] = 1.0
    return {"rank": rank, "score": score, "expected": expected, "distribution": distribution}


def hostile_record() -> dict[str, Any]:
    names = list(HOSTILE["responses"])
    return record(
        HOSTILE_ID,
        HOSTILE["prompt"],
        HOSTILE["responses"],
        {name: 5 - i for i, name in enumerate(names)},
        principle=f"<i>{PWNED}</i>",
        rationale=HOSTILE["rationale"],
        model=f"<script>{PWNED}</script>",
    )


def many_records(count: int, seed: int = 13) -> list[dict[str, Any]]:
    """`count` items of three responses with seeded scores, about 1.5 kB of text each."""
    rng = random.Random(seed)
    filler = "The answer, explained step by step with an example or two. " * 6
    return [
        record(
            f"item-{i}",
            f"Question {i}: {filler}",
            {name: f"{name} says: {filler}" for name in ("a", "b", "c")},
            {name: round(rng.uniform(1, 5), 4) for name in ("a", "b", "c")},
            principle=("concise", "helpful")[i % 2],
            rationale=f"Rationale {i}.",
            consistency=round(rng.random(), 2),
        )
        for i in range(count)
    ]


def write_jsonl(path: Path, records: list[dict[str, Any] | str]) -> Path:
    """Records as JSON lines; a str is written as the raw line (to make broken ones)."""
    with path.open("wb") as out:
        for r in records:
            out.write((r.encode() if isinstance(r, str) else orjson.dumps(r)) + b"\n")
    return path
