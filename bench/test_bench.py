"""The benchmark's own arithmetic, without a model: `.venv/bin/pytest bench -q`."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import orjson
import pytest

from bench import workloads
from bench.cli import _rows_in_round, parse, rows
from bench.jobs import Json, judgments, write_json
from bench.naive import scores_every_response
from bench.prompts import common_prefix, trie_size
from bench.spawn import _stopped, _wait
from bench.summary import summarize


def test_trie_size_counts_each_shared_prefix_once() -> None:
    prompts = [[1, 2, 3, 4], [1, 2, 3, 5], [1, 2, 9], [1, 2, 3, 4], [7]]
    assert trie_size(prompts) == 4 + 1 + 1 + 0 + 1
    assert common_prefix([1, 2, 3], [1, 2]) == 2


@pytest.fixture
def datasets(tmp_path: Path) -> Path:
    """Stand-ins for ../shared/datasets, shaped like it: LLMBar pairs, PandaLM pairs by prompt."""
    pair = {"principle": "follow it", "chosen": "yes", "rejected": "no"}
    llmbar = [{**pair, "id": f"llmbar-{i}", "prompt": f"q{i}"} for i in range(60)]
    pandalm = [
        {"id": f"pl-{p}.{k}", "prompt": f"p{p}", "chosen": f"a{p}.{k}", "rejected": f"b{p}.{k}"}
        for p in range(40)
        for k in range(1 + p % 3)
    ]
    for name, lines in (("llmbar", llmbar), ("pandalm", pandalm)):
        (tmp_path / f"{name}.jsonl").write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in lines))
    return tmp_path


def test_workloads_are_deterministic_and_shaped_as_the_issue_says(datasets: Path) -> None:
    def build(name: str, seed: int = 0, limit: int | None = None) -> Json:
        return workloads.build(name, seed, limit, datasets)

    a, b = build("A"), build("B")
    assert len(judgments(a)) == 50 and all(len(i["responses"]) == 2 for i in a["items"])
    assert len(b["items"]) == 25 and len(judgments(b)) == 75
    assert all(len(set(i["responses"].values())) == 6 for i in b["items"])
    assert b == build("B") and b != build("B", seed=1)
    assert build("C", limit=3)["mode"] == "reasoning"


def test_naive_validity_needs_every_score() -> None:
    names = ["model-1", "model-2"]
    good = '{"scores": {"model-1": 2, "model-2": 5}, "best-to-worst": [], "rationale": "a\\nb"}'
    assert scores_every_response(good, names)
    assert not scores_every_response(good.replace('"model-2": 5', '"model-2": 6'), names)
    raw_newline = good.replace("\\n", "\n")
    assert not scores_every_response(raw_newline, names)
    assert scores_every_response(raw_newline, names, strict=False)
    assert scores_every_response("<think>{x}</think>" + good, names)


def _run(seconds: float, judgments: int = 10) -> dict[str, object]:
    return {
        "rc": 0,
        "judge_seconds": seconds,
        "load_seconds": 1.0,
        "judgments": judgments,
        "valid": judgments,
        "peak_rss_mib": 100.0,
    }


def test_ratios_are_taken_within_a_round() -> None:
    record = {
        "workloads": {"A": {}},
        "rounds": [
            {"A": {"rajudge": _run(10), "naive": _run(40), "floor": _run(8)}},
            {"A": {"rajudge": _run(20), "naive": _run(80), "floor": _run(16)}},
        ],
    }
    rows = summarize(record)["A"]
    assert rows["naive"]["speedup"] == 4.0
    assert rows["rajudge"]["vs_floor"] == 1.25
    assert rows["rajudge"]["judge_seconds"] == 15.0 and rows["rajudge"]["valid_share"] == 1.0


def test_rows_run_in_order_each_on_its_workloads() -> None:
    args = parse(["--reference-items", "2,5"])
    table = rows(args.contenders, args.reference_items)
    assert [(row.key, row.job.get("cap")) for row in table] == [
        ("naive", None),
        ("rajudge", None),
        ("rajudge-batched", None),
        ("rajudge-scores", None),
        ("floor", None),
        ("reference-512", 5),
        ("reference", 2),
    ]
    in_c = [row.key for row in _rows_in_round(table, "C", 0, args)]
    assert in_c == ["naive", "rajudge", "rajudge-batched", "floor"]
    in_b = [row.key for row in _rows_in_round(table, "B", 1, args)]
    assert in_b == ["naive", "rajudge", "floor"]


def test_a_run_stopped_at_its_limit_bounds_the_ratios() -> None:
    stopped = {**_run(300, judgments=0), "rc": -15, "stopped_at_limit": 300.0, "of_judgments": 50}
    record = {
        "workloads": {"A": {}},
        "rounds": [{"A": {"rajudge": _run(25), "floor": _run(20), "reference": stopped}}],
    }
    row = summarize(record)["A"]["reference"]
    assert "rate" not in row and "speedup" not in row
    assert row["rate_below"] == 1 / 300  # the judgment it was on needed more than 300 s
    assert row["speedup_above"] == 0.4 * 300 and row["stopped"] == 1 and row["failed"] == 0
    assert row["valid_share"] is None  # nothing finished, so nothing to call valid


def test_a_worker_past_its_limit_is_stopped_and_keeps_its_progress(tmp_path: Path) -> None:
    started = time.perf_counter()
    child = subprocess.Popen(["sleep", "30"])
    status, _, stopped_at = _wait(child.pid, started, limit=0.2)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGTERM
    assert stopped_at is not None and time.perf_counter() - started < 10
    progress = tmp_path / "progress.json"
    write_json(progress, {"judgments": 1, "loaded_at": stopped_at - 42.0})
    kept = _stopped(progress, stopped_at, 0.2)
    assert kept["judgments"] == 1 and abs(kept["judge_seconds"] - 42.0) < 1e-6
    assert "error" in _stopped(tmp_path / "missing.json", stopped_at, 0.2)
