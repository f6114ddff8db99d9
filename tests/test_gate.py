"""`rajudge score --fail-under`: the mean score of every judged response against a threshold."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from cli_process import run_rajudge
from judged_records import record

from rajudge.cli.errors import EXIT_BELOW_THRESHOLD
from rajudge.errors import UsageError
from rajudge.output.gate import ScoreGate

ITEMS = [
    {"id": "sum", "prompt": "2 + 2?", "responses": {"right": "4", "wrong": "22"}},
    {"id": "capital", "prompt": "Capital of France?", "responses": {"a": "Paris.", "b": "Rome."}},
]
FAST = ["-p", "concise", "--threads", "1", "--ctx", "2048", "--rationale-tokens", "0"]


def test_the_mean_counts_every_response_composite_where_several_principles() -> None:
    gate = ScoreGate(3.0)
    gate.add(record("one", {"a": 4.5, "b": 1.5}))
    gate.add(record("two", {"a": 4.0, "b": 2.0}, {"a": 2.0, "b": 4.0}))  # composite 2.5, 3.5
    assert (gate.responses, gate.below) == (4, 2)
    assert gate.mean == pytest.approx(3.0) and gate.passed
    assert gate.summary() == "mean score 3.000, 2 of 4 response(s) below 3: --fail-under passed"
    gate.add(record("three", {"c": 2.9}))
    assert not gate.passed and gate.summary().endswith(
        "3 of 5 response(s) below 3: --fail-under failed"
    )


def test_nothing_judged_never_passes() -> None:
    gate = ScoreGate(1.0)
    assert not gate.passed
    assert gate.summary() == "no responses judged, so --fail-under 1 fails"


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_a_threshold_must_be_a_number(value: float) -> None:
    with pytest.raises(UsageError, match="--fail-under must be a number"):
        ScoreGate(value)


def score(*args: str, cwd: Path) -> tuple[int, str]:
    done = run_rajudge("score", "in.jsonl", *FAST, *args, cwd=cwd)
    assert "Traceback" not in done.stderr
    return done.returncode, done.stderr.splitlines()[-1]


def mean_of(path: Path) -> float:
    records = [json.loads(line) for line in path.read_text().splitlines()]
    scores = [r["expected"] for rec in records for r in rec["judgments"][0]["responses"].values()]
    return sum(scores) / len(scores)


def test_the_gate_counts_judged_resumed_and_cached_records_alike(tmp_path: Path) -> None:
    """Expected scores lie in 1..5, and the demo model never puts all mass on 5: a threshold of
    5 fails and one of 1 passes, whatever the model's verdicts."""
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(item) + "\n" for item in ITEMS))
    code, judged = score("-o", "out.jsonl", "--fail-under", "5", cwd=tmp_path)
    mean = f"mean score {mean_of(tmp_path / 'out.jsonl'):.3f}"
    assert code == EXIT_BELOW_THRESHOLD == 4
    assert judged.startswith("judged 2 item(s)")
    assert judged.endswith(f"; {mean}, 4 of 4 response(s) below 5: --fail-under failed")

    code, resumed = score("-o", "out.jsonl", "--resume", "--fail-under", "1", cwd=tmp_path)
    assert code == 0 and resumed.startswith("judged 0 item(s)")  # both records kept
    assert resumed.endswith(f"; {mean}, 0 of 4 response(s) below 1: --fail-under passed")

    code, cached = score("-o", "again.jsonl", "--fail-under", "5", cwd=tmp_path)
    assert code == 4 and re.search(r"; 2 judgment\(s\) from the cache; ", cached)
    assert cached.endswith(f"; {mean}, 4 of 4 response(s) below 5: --fail-under failed")
