"""The benchmark's own arithmetic, without a model: `.venv/bin/pytest bench -q`."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import orjson
import pytest

from bench import floor, naive, results_md, workloads
from bench.cli import _job, _rows_in_round, describe, main, parse, rows
from bench.jobs import Json, judgments, write_json
from bench.naive import answer_schema, scores_every_response
from bench.prompts import common_prefix, trie_size
from bench.spawn import _stopped, _wait
from bench.summary import latency_summary, summarize
from rajudge.config import load_config
from rajudge.models.catalog import demo_model_path, resolve_model


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


def test_speeds_are_quoted_against_the_tight_loop_and_floors_give_token_costs() -> None:
    floor_run = {**_run(8), "evaluated_tokens": 800}
    with_rationale = {**_run(10), "evaluated_tokens": 800, "decode_seconds": 2.0}
    with_rationale["generated_tokens"] = 100
    rajudge = {**_run(12.5), "generated_tokens": 50}
    record = {
        "workloads": {"A": {}},
        "rounds": [
            {
                "A": {
                    "naive-tight": _run(25),
                    "rajudge": rajudge,
                    "floor": floor_run,
                    "floor-rationale": with_rationale,
                }
            }
        ],
    }
    rows = summarize(record)["A"]
    assert rows["rajudge"]["vs_tight"] == 2.0 and rows["naive-tight"]["vs_tight"] == 1.0
    assert rows["rajudge"]["vs_floor_rationale"] == 1.25 and rows["rajudge"]["vs_floor"] == 12.5 / 8
    assert rows["rajudge"]["generated_per_judgment"] == 5.0
    assert rows["floor"]["prefill_tps"] == 100.0 and "decode_tps" not in rows["floor"]
    assert rows["floor-rationale"]["prefill_tps"] == 100.0
    assert rows["floor-rationale"]["decode_tps"] == 50.0


def test_rows_run_in_order_each_on_its_workloads() -> None:
    args = parse(["--reference-items", "2,5"])
    table = rows(args.contenders, args.reference_items)
    assert [(row.key, row.job.get("cap")) for row in table] == [
        ("naive-tight", None),
        ("naive", None),
        ("rajudge", None),
        ("rajudge-one", None),
        ("rajudge-scores", None),
        ("floor", None),
        ("floor-rationale", None),
        ("reference-512", 5),
        ("reference", 2),
    ]
    in_c = [row.key for row in _rows_in_round(table, "C", 0, args)]
    assert in_c == [
        "naive-tight",
        "naive",
        "rajudge",
        "rajudge-one",
        "floor",
        "floor-rationale",
    ]
    in_b = [row.key for row in _rows_in_round(table, "B", 1, args)]
    assert in_b == ["naive-tight", "naive", "rajudge", "floor", "floor-rationale"]
    lean = rows(parse(["--contenders", "naive-tight,floor"]).contenders, (0, 0))
    assert [row.key for row in lean] == ["naive-tight", "floor", "floor-rationale"]


def test_floor_rationale_decodes_what_rajudge_writes_at_most() -> None:
    floor_rationale = next(row for row in rows(["floor"], (0, 0)) if row.key == "floor-rationale")
    assert _job(floor_rationale, {"reasoning_budget": None})["generate"] == 48
    assert _job(floor_rationale, {"reasoning_budget": 64})["generate"] == 64
    assert floor_rationale.job["generate"] is None  # the row itself is left as it was


def test_the_tight_schema_allows_nothing_but_scores_and_an_exact_ranking() -> None:
    names = ["model-1", "model-2", "model-3"]
    tight = answer_schema(names, rationale=False)
    assert tight["required"] == ["scores", "best-to-worst"]
    assert set(tight["properties"]) == {"scores", "best-to-worst"}
    assert tight["additionalProperties"] is False
    scores = tight["properties"]["scores"]
    assert scores["required"] == names and scores["additionalProperties"] is False
    assert all(
        p == {"type": "integer", "enum": [1, 2, 3, 4, 5]} for p in scores["properties"].values()
    )
    ranking = tight["properties"]["best-to-worst"]
    assert ranking["minItems"] == ranking["maxItems"] == 3 and ranking["items"] == {"enum": names}
    assert "rationale" in answer_schema(names)["required"]


def test_the_model_option_resolves_as_rajudge_does_and_a_wrong_one_is_one_line(
    tmp_path: Path,
) -> None:
    model = describe(resolve_model("demo", load_config()))
    assert model["is_demo"] and model["name"] == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert model["parameters"] and model["bytes"] > 0
    with pytest.raises(SystemExit) as stopped:
        main(["--model", str(tmp_path / "missing.gguf")])
    assert str(stopped.value).startswith("bench: ") and "missing.gguf" in str(stopped.value)


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


def _record(model: str, started: str, *, demo: bool, finished: bool = True) -> Json:
    run = {"A": {"rajudge": _run(10), "floor": {**_run(8), "evaluated_tokens": 80}}}
    facts = {
        "cpu_model": "cpu",
        "cpus_online": 2,
        "cpus_usable": 2,
        "threads_used": 1,
        "load_average_at_start": [0.0, 0.0, 0.0],
        "python": "3",
        "llama_cpp_python": "0",
        "nvidia_smi": False,
        "git_commit": "abc",
        "git_dirty": False,
    }
    workload = {
        "mode": "fast",
        "reasoning_budget": None,
        "principles": ["each item's own"],
        "items": 10,
        "responses_per_item": [2],
        "judgments": 10,
        "prompt_tokens_total": 200,
        "prompt_tokens_unique": 80,
        "gpu_offload_supported": False,
    }
    record = {
        "started_utc": started,
        "command": ["python", "-m", "bench"],
        "args": {"rounds": 1, "reference_rounds": 1, "limit": {}},
        "machine": facts,
        "model": {"name": model, "bytes": 10**8, "is_demo": demo, "parameters": "1.5B"},
        "rows": {"rajudge": {"label": "rajudge", "contender": "rajudge"}},
        "workloads": {"A": workload},
        "rounds": [run],
        "sweep": [],
    }
    return {**record, "finished_utc": started} if finished else record


def _one_shot(warm: list[float], cold: list[float], floor: list[float], batch: float) -> Json:
    own = [100 * (i + 1) for i in range(len(warm))]
    times = {"warm_s": warm, "cold_s": cold, "floor_s": floor, "own_tokens": own}
    return {**times, "calls": len(warm), "sample": len(cold), "loop_s": sum(warm), "batch_s": batch}


def _with_latency(record: Json) -> Json:
    """`record` with workload L: two rounds measured, a third failed."""
    runs = [
        _one_shot([2.0, 3.0, 9.0], [4.0, 3.0], [1.0, 2.0], batch=7.0),  # loop 14 s
        _one_shot([1.0, 1.0, 2.0], [2.0, 2.0], [1.0, 0.5], batch=4.0),  # loop 4 s
        {"error": "['python', '-m', 'rajudge', 'score'] failed (1): boom"},
    ]
    rounds = [{**record["rounds"][0], "L": {"one-shot": run}} for run in runs]
    described = {"principle": "follows-instructions", "seed": 0, "calls": 3, "sample": 2}
    return {**record, "rounds": rounds, "latency": described}


def test_one_shot_ratios_are_per_call_within_a_round_then_medians_over_rounds() -> None:
    latency = latency_summary(_with_latency(_record("demo.gguf", "x", demo=True)))
    assert latency is not None
    assert latency["rounds"] == 2 and latency["failed"] == 1 and latency["calls"] == 3
    # round 1: warm / floor per call 2.0, 1.5 -> 1.75 (not 3.0 / 1.5 of the medians); round 2:
    # 1.0, 2.0 -> 1.5; cold / warm: 2.0, 1.0 -> 1.5 and 2.0, 2.0 -> 2.0; only sampled calls pair
    assert latency["warm_over_floor"] == 1.625 and latency["cold_over_warm"] == 1.75
    assert latency["warm_median_s"] == 2.0 and latency["cold_median_s"] == 2.75
    assert latency["floor_median_s"] == 1.125 and latency["own_tokens_median"] == 200
    # the table's warm column: the sampled calls only, as cold and floor (2.5 and 1.0)
    assert latency["warm_sample_median_s"] == 1.75 and latency["own_tokens_sample_median"] == 150
    assert latency["loop_s"] == 9.0 and latency["batch_s"] == 5.5
    assert latency["loop_over_batch"] == (2.0 + 1.0) / 2
    assert latency_summary(_record("demo.gguf", "x", demo=True)) is None  # runs before L


def test_one_shot_latency_has_its_section_and_targets_only_where_measured(
    tmp_path: Path,
) -> None:
    write_json(tmp_path / "20261201T000000Z.json", _record("old.gguf", "1", demo=False))
    latest = _with_latency(_record("demo.gguf", "2", demo=True))
    write_json(tmp_path / "20261202T000000Z.json", latest)
    text = results_md.markdown(tmp_path)
    old = text.index("## old.gguf")
    assert text.count("### One-shot latency") == 1 and text.index("### One-shot latency") < old
    row = "| 2 (1 failed) | 2.75 | 1.75 | 1.12 | 150 | 1.62x | 1.75x | 2.00 | 9.0 | 5.5 | 1.50x |"
    assert row in text
    assert "- L, warm one-shot within 1.25x of the floor: **1.62x**, missed by 30%" in text
    assert "- L, 3-call shell loop within 2x of one batch run: **1.50x**, met" in text
    assert "- L, " not in text[old:]
    failed = {**latest, "rounds": latest["rounds"][2:]}
    write_json(tmp_path / "20261202T000000Z.json", failed)
    text = results_md.markdown(tmp_path)
    assert "Workload L failed in each of its 1 round(s)" in text
    assert "- L, warm one-shot within 1.25x of the floor: not measured" in text


def test_workload_l_runs_by_default_and_limit_caps_its_calls() -> None:
    assert parse([]).workloads == ["A", "B", "C", "L"]
    assert parse(["--limit", "2"]).limit["L"] == 2
    assert parse(["--limit", "A=3,L=1"]).limit == {"A": 3, "L": 1}


def test_each_model_keeps_its_own_section_from_its_latest_finished_run(tmp_path: Path) -> None:
    for stem, model, demo, finished in (
        ("20261201T000000Z", "demo.gguf", True, True),
        ("20261202T000000Z", "demo.gguf", True, True),
        ("20261202T010000Z", "qwen.gguf", False, True),
        ("20261203T000000Z", "qwen.gguf", False, False),  # interrupted: not shown
    ):
        write_json(tmp_path / f"{stem}.json", _record(model, stem, demo=demo, finished=finished))
    write_json(tmp_path / "fidelity-20261204T000000Z.json", {"model": "other"})
    (tmp_path / "20261202T000000Z.md").write_text("- read by hand\n", encoding="utf-8")
    runs = results_md.latest_runs(tmp_path)
    assert [path.stem for path, _ in runs] == ["20261202T000000Z", "20261202T010000Z"]
    text = results_md.markdown(tmp_path)
    demo, qwen = text.index("## demo.gguf (the demo model)"), text.index("## qwen.gguf")
    assert demo < qwen and text.count("The demo model is tiny") == 1
    assert "- read by hand" in text[demo:qwen] and "1.5B" in text[qwen:]
    assert "| A | 10 | 100.0 |" in text  # prefill tokens/s and ms per prompt token


@pytest.mark.parametrize("budget", [None, 4])
def test_the_tight_loop_answers_validly_and_briefly_on_the_real_engine(
    tmp_path: Path, budget: int | None
) -> None:
    item = {"id": "x", "prompt": "2+2?", "responses": {"a": "4", "b": "5"}, "principle": "right"}
    workload = {"mode": "reasoning" if budget else "fast", "reasoning_budget": budget}
    workload |= {"principles": [], "items": [item]}
    job = {"model": str(demo_model_path()), "ctx": 2048, "threads": 1, "seed": 0}
    done = naive.run({**job, "schema": "tight"}, workload)
    assert done["judgments"] == 1 and done["valid"] == 1
    assert done["generated_tokens"] <= (budget or 0) + 60  # no rationale: scores and ranking


def test_the_floor_with_rationale_decodes_each_judgments_tokens(tmp_path: Path) -> None:
    prompts = tmp_path / "tokens.json"
    write_json(prompts, [[1, 2, 3, 4], [1, 2, 3, 4], [1, 2, 9]])  # a repeat still decodes
    job = {"model": str(demo_model_path()), "ctx": 512, "batch": 512, "threads": 1}
    plain = floor.run({**job, "tokens": str(prompts)}, {})
    assert plain["evaluated_tokens"] == 5 and plain["decode_seconds"] == 0
    decoded = floor.run({**job, "tokens": str(prompts), "generate": 3}, {})
    assert decoded["generated_tokens"] == 9 and decoded["decode_seconds"] > 0
    assert decoded["evaluated_tokens"] == 6  # the repeat's last token, again, for its logits
