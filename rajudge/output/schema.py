"""The output record: one judged item as plain data, the same in every machine format.

Its layout is a stable interface (bump `SCHEMA_VERSION` when it changes incompatibly):

    {"schema": 1,
     "id": "item-7",                           # the item's id
     "ranking": ["b", "a", "c"],               # response names, best first
     "composite": {"a": 3.41, "b": 4.2, ...},  # weighted mean expected score per response,
                                               # input order, 4 decimals; null for one principle
     "judgments": [                            # one per principle, in the order given
       {"principle": {"name": "concise", "text": "...", "weight": 1.0,
                      "source": "library"},    # "library", a YAML path, "inline" or "item"
        "ranking": ["b", "a", "c"],            # this principle's order, best first
        "responses": {                         # keyed by response name, in input order
          "a": {"rank": 2,                     # 1 is best
                "score": 4,                    # the judge's score, 1..5
                "expected": 3.8712,            # mean of the distribution, 4 decimals
                "distribution": [0.0, 0.0123, 0.1042, 0.8756, 0.0079]},  # P(1..5)
          ...},
        "distribution_source": "logprobs",     # "one-hot": the server gave no log-probabilities,
                                               # so distribution is 1 at the written score
        "rationale": "...",                    # the judge's reasoning ("" when it gave none)
        "timings": {"prompt_tokens": 812, "reused_tokens": 640,
                    "generated_tokens": 37, "seconds": 1.204,
                    "cached": false},          # true: taken from the result cache; the numbers
                                               # are those of the original judgment
        "consistency": 0.5,                    # only with --permutations K > 1: the share of
                                               # orders whose top response is the final top
        "orders": [                            # only with --permutations K > 1: each order's
          {"shown": ["c", "a", "b"],           # own judgment, names in the order shown
           "responses": {"a": {"rank": 2, "score": 4, ...}, ...}},
          ...]}],
     "model": "RewardAnything-8B-v1-Q4_K_M",
     "mode": "fast",                           # "fast" or "reasoning"
     "key": "3f9a0c1e27b4d865",                # hash of item, principles, weights, model file
                                               # and settings: what --resume matches on
     "prompt": "...",                          # the item's prompt and its responses' texts,
     "responses": {"a": "...", ...}}           # keyed by name in input order, so that `pairs`
                                               # and `report` need nothing beside the record

`--format jsonl` writes one record per line as each item finishes; `--format json` writes one
array of records when the run ends. Fields are only ever added within a schema version.
"""

from __future__ import annotations

from typing import Any

from rajudge.records import ItemResult, Judgment, Principle, ResponseScore, Timings

SCHEMA_VERSION = 1


def result_record(result: ItemResult) -> dict[str, Any]:
    """The JSON-ready record of one judged item (layout in the module docstring)."""
    first = result.judgments[0]
    composite = (
        {name: round(value, 4) for name, value in result.composite.items()}
        if len(result.judgments) > 1
        else None
    )
    return {
        "schema": SCHEMA_VERSION,
        "id": result.item.id,
        "ranking": list(result.ranking),
        "composite": composite,
        "judgments": [
            _judgment_record(judgment, list(result.item.responses)) for judgment in result.judgments
        ],
        "model": first.model,
        "mode": first.mode,
        "key": result.key,
        "prompt": result.item.prompt,
        "responses": dict(result.item.responses),
    }


def _judgment_record(judgment: Judgment, names: list[str]) -> dict[str, Any]:
    by_name = {score.name: score for score in judgment.responses}
    record: dict[str, Any] = {
        "principle": _principle_record(judgment.principle),
        "ranking": list(judgment.ranking),
        "responses": {name: _score_record(by_name[name]) for name in names},
        "distribution_source": judgment.distribution_source,
        "rationale": judgment.rationale,
        "timings": _timings_record(judgment.timings),
    }
    if judgment.consistency is not None:
        record["consistency"] = judgment.consistency
    if judgment.orders:
        record["orders"] = [_order_record(order, names) for order in judgment.orders]
    return record


def _order_record(judgment: Judgment, names: list[str]) -> dict[str, Any]:
    by_name = {score.name: score for score in judgment.responses}
    return {
        "shown": list(judgment.shown),
        "responses": {name: _score_record(by_name[name]) for name in names},
    }


def _principle_record(principle: Principle) -> dict[str, Any]:
    return {
        "name": principle.name,
        "text": principle.text,
        "weight": principle.weight,
        "source": principle.source,
    }


def _score_record(score: ResponseScore) -> dict[str, Any]:
    return {
        "rank": score.rank,
        "score": score.score,
        "expected": round(score.expected, 4),
        "distribution": [round(p, 4) for p in score.distribution],
    }


def _timings_record(timings: Timings) -> dict[str, Any]:
    return {
        "prompt_tokens": timings.prompt_tokens,
        "reused_tokens": timings.reused_tokens,
        "generated_tokens": timings.generated_tokens,
        "seconds": round(timings.seconds, 3),
        "cached": timings.cached,
    }
