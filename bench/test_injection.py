"""The injection harness: flips and score moves counted right, and a real run on the demo model."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from bench.injection import (
    NOTES,
    clean_cost,
    clean_verdicts,
    consistent_pairs,
    judge_prompt,
    measure,
    render,
    summarize,
)
from rajudge.engine import llama
from rajudge.engine.llama import LlamaBackend
from rajudge.judging.protocol import judge_messages
from rajudge.models.catalog import demo_model_path
from rajudge.records import Item, Principle
from rajudge.settings import EngineSettings


def _row(flips: list[bool], averaged: bool, deltas: list[float], consistent: bool) -> dict:
    case = {
        "flips_per_order": flips,
        "flips_averaged": averaged,
        "loser_expected_delta_per_order": deltas,
        "loser_expected_delta_averaged": sum(deltas) / 2,
    }
    return {"id": "p", "consistent": consistent, "injected": {key: case for key in NOTES}}


def test_flips_are_counted_per_order_and_averaged_over_all_and_consistent_pairs() -> None:
    rows = [
        _row([True, False], False, [1.0, 0.2], consistent=True),
        _row([True, True], True, [2.0, 1.0], consistent=True),
        _row([False, False], False, [0.0, 0.0], consistent=False),
    ]
    summary = summarize(rows)
    assert (summary["pairs"], summary["consistent"]) == (3, 2)
    every, consistent = summary["notes"]["note"]["all"], summary["notes"]["note"]["consistent"]
    assert every["flips_per_order"] == (3, 6) and every["flips_averaged"] == (1, 3)
    assert consistent["flips_per_order"] == (3, 4) and consistent["flips_averaged"] == (1, 2)
    assert consistent["median_delta_per_order"] == pytest.approx(0.6 + 0.4)
    page = render(
        {"model": "m", "started": "now", "command": "c", "settings": {}, "summary": summary}
    )
    assert "| note | consistent only (2) | 3/4 (75%) | 1/2 (50%) | +1.00 | +1.05 |" in page


@pytest.fixture(scope="module")
def backend() -> Iterator[LlamaBackend]:
    """The demo model, scores only, as the harness runs its judge."""
    model = demo_model_path()
    assert model is not None, "run `make setup`: the demo model is missing"
    engine = LlamaBackend(model, EngineSettings(rationale_tokens=0))
    yield engine
    engine.close()


def test_a_real_run_on_the_demo_model(backend: LlamaBackend) -> None:
    principle = Principle(name="p", text="Prefer the correct answer.", source="inline")
    item = Item("i", "2 + 2?", {"four": "4", "five": "5"}, principle)
    (row,) = measure(backend, [item])
    assert isinstance(row["consistent"], bool)  # the demo model mostly answers by position
    assert set(row["injected"]) == set(NOTES)
    for case in row["injected"].values():  # every pair is measured, consistent or not
        assert len(case["flips_per_order"]) == len(case["loser_expected_delta_per_order"]) == 2
        assert isinstance(case["flips_averaged"], bool)


def test_consistent_pairs_come_from_an_eval_run_that_kept_its_verdict(tmp_path: Path) -> None:
    data = tmp_path / "pairs.jsonl"
    rows = [{"id": f"p{n}", "prompt": "?", "chosen": "a", "rejected": "b"} for n in range(6)]
    data.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in rows))
    (tmp_path / "report.json").write_bytes(orjson.dumps({"setup": {"data": str(data)}}))
    predictions = tmp_path / "predictions.jsonl"
    kept = [{"id": f"p{n}", "swap_consistent": float(n % 2)} for n in range(6)]
    predictions.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in kept))
    assert {i.id for i in consistent_pairs(predictions, 10, seed=0)} == {"p1", "p3", "p5"}
    assert len(consistent_pairs(predictions, 2, seed=0)) == 2


def test_a_defence_changes_the_engines_prompt_only_inside_its_block(backend: LlamaBackend) -> None:
    principle = Principle(name="p", text="Prefer the correct answer.", source="inline")
    item = Item("i", "2 + 2?", {"chosen": "4", "rejected": "5"}, principle)
    with judge_prompt("restate"):
        (defended,) = clean_verdicts(backend, [item])
        seen = backend._llm.detokenize(backend._seqs.tokens(0)).decode()
    assert '"rejected"' not in seen  # masked names only
    assert seen.index('"responses"') < seen.index(
        '"reminder": "Judge the responses by this principle: Prefer the correct answer."'
    )
    assert llama.judge_messages is judge_messages
    (plain,) = clean_verdicts(backend, [item])
    assert "reminder" not in backend._llm.detokenize(backend._seqs.tokens(0)).decode()
    for row in (defended, plain):
        assert set(row["per_order"]) <= {0.0, 0.5, 1.0} and len(row["per_order"]) == 2


def test_the_clean_cost_counts_accuracy_consistency_and_changed_verdicts() -> None:
    plain = [
        {"id": "a", "per_order": [1.0, 1.0], "averaged": 1.0},
        {"id": "b", "per_order": [1.0, 0.0], "averaged": 0.0},
    ]
    defended = [
        {"id": "a", "per_order": [1.0, 0.0], "averaged": 1.0},
        {"id": "b", "per_order": [1.0, 1.0], "averaged": 1.0},
    ]
    cost = clean_cost(defended, plain)
    assert cost == {
        "pairs": 2,
        "accuracy_per_order": 0.75,
        "accuracy_averaged": 1.0,
        "swap_consistent": 1,
        "same_as_plain": 1,
    }
    summary = summarize([_row([True, False], True, [1.0, 0.0], consistent=True)])
    page = render(
        {
            "model": "m",
            "started": "now",
            "command": "c",
            "settings": {},
            "summary": summary,
            "defences": {
                "plain": {"cost": clean_cost(plain, plain)},
                "restate": {"summary": summary, "cost": cost},
            },
        }
    )
    assert "| restate | 1/2 (50%) / 1/1 (100%) |" in page
    assert "| 75.0% | 100.0% | 1/2 | 1/2 |" in page
