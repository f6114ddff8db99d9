"""Workloads A, B and C, built from ../shared/datasets (read in place, never copied).

A: the first 50 LLMBar pairs, each under its own principle, read the way `rajudge score` reads
them. B: 25 PandaLM prompts x 6 responses (one seeded distractor answer to another prompt where
a prompt has fewer than 6) under 3 library principles. C: A in reasoning mode, budget 64.
"""

from __future__ import annotations

import random
from itertools import islice
from pathlib import Path

import orjson

from bench.jobs import Json
from rajudge.judging.principles import library
from rajudge.read import parse_lines

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"
A_PAIRS = 50
B_PROMPTS = 25
B_RESPONSES = 6
B_PRINCIPLES = ("concise", "detailed", "helpful")
C_BUDGET = 64
NAMES = ("A", "B", "C")


def build(name: str, seed: int, limit: int | None, datasets: Path = DATASETS) -> Json:
    """The workload `name`, its items capped at `limit` (smoke runs), from `datasets`."""
    if name == "B":
        items = _pandalm_lists(seed, datasets)
        principles = [{"name": n, "text": library()[n].text} for n in B_PRINCIPLES]
    else:
        items, principles = _llmbar_pairs(datasets), []
    return {
        "name": name,
        "mode": "reasoning" if name == "C" else "fast",
        "reasoning_budget": C_BUDGET if name == "C" else None,
        "principles": principles,
        "items": items[:limit],
    }


def _llmbar_pairs(datasets: Path) -> list[Json]:
    path = datasets / "llmbar.jsonl"
    with path.open("rb") as lines:
        read = parse_lines(islice(lines, A_PAIRS), str(path))
    if read.errors or len(read.items) != A_PAIRS:
        raise SystemExit(f"{path}: expected {A_PAIRS} readable pairs, got {read.errors[:1]}")
    return [
        {
            "id": item.id,
            "prompt": item.prompt,
            "responses": item.responses,
            "principle": item.principle.text if item.principle else None,
        }
        for item in read.items
    ]


def _pandalm_lists(seed: int, datasets: Path) -> list[Json]:
    """25 seeded prompts among those with the most distinct responses, each given 6."""
    rows = [orjson.loads(line) for line in (datasets / "pandalm.jsonl").read_bytes().splitlines()]
    answers: dict[str, list[str]] = {}
    first_id: dict[str, str] = {}
    for row in rows:
        first_id.setdefault(row["prompt"], row["id"])
        seen = answers.setdefault(row["prompt"], [])
        seen += [text for text in (row["chosen"], row["rejected"]) if text not in seen]
    counts = sorted((len(texts) for texts in answers.values()), reverse=True)
    fewest = min(counts[B_PROMPTS - 1], B_RESPONSES)
    eligible = [prompt for prompt, texts in answers.items() if len(texts) >= fewest]
    rng = random.Random(seed)
    chosen = set(rng.sample(eligible, B_PROMPTS))
    items = []
    for prompt in (p for p in eligible if p in chosen):
        texts = answers[prompt][:B_RESPONSES]
        others = [t for p, ts in answers.items() if p != prompt for t in ts if t not in texts]
        texts += rng.sample(others, B_RESPONSES - len(texts))
        responses = {f"response-{i}": text for i, text in enumerate(texts, start=1)}
        items.append(
            {"id": first_id[prompt], "prompt": prompt, "responses": responses, "principle": None}
        )
    return items
