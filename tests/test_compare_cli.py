"""`rajudge compare` end to end: the installed command, the real demo model, real files.

The demo model judges badly, so these tests check what compare does with its verdicts (orders,
records, statistics read back, resume, the cache, the gate), never which system is better.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cli_process import own_folders, run_rajudge
from test_cli import FAST, write_lines

QUESTIONS = [
    ("What is 2 + 2?", "4", "The answer is four, because two plus two makes four."),
    ("Name a primary colour.", "Red.", "Purple is a colour that many people like."),
    ("What is the capital of France?", "Paris.", "It might be Lyon, a big city in France."),
]
JUDGE = ["-p", "concise", *FAST, "--rationale-tokens", "0"]


def system_files(folder: Path, count: int = 3) -> tuple[str, str]:
    rows = list(enumerate(QUESTIONS[:count]))
    short = [{"id": i, "prompt": q, "response": a} for i, (q, a, _) in rows]
    long = [{"id": i, "prompt": q, "output": b} for i, (q, _, b) in rows]
    return str(write_lines(folder / "short.jsonl", short)), str(
        write_lines(folder / "long.jsonl", long)
    )


def compare(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`rajudge compare ARGS` run in `folder`, with its own config, data and cache folders."""
    env = {**own_folders(folder), "COLUMNS": "100"}
    return run_rajudge("compare", *args, cwd=folder, env=env, timeout=600)


@pytest.fixture(scope="module")
def compared(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """One comparison of two systems on three prompts, written with -o."""
    folder = tmp_path_factory.mktemp("compare")
    short, long = system_files(folder)
    done = compare(folder, short, long, *JUDGE, "-o", "out", "-f", "json")
    assert done.returncode == 0, done.stderr
    return folder, json.loads(done.stdout)


def test_a_comparison_writes_its_summary_chart_and_records(
    compared: tuple[Path, dict[str, Any]],
) -> None:
    folder, summary = compared
    assert summary["baseline"] == "short"
    assert (summary["prompts"], summary["orders"], summary["judgments"]) == (3, 2, 6)
    assert [s["name"] for s in summary["systems"]] == sorted(
        ["short", "long"], key=[s["name"] for s in summary["systems"]].index
    )
    keys = {"name", "rating", "rating_ci", "win_rate", "win_rate_ci", "lc_win_rate"}
    keys |= {"lc_win_rate_ci", "wins", "ties", "losses", "mean_length", "position_consistency"}
    assert all(keys <= set(system) for system in summary["systems"])
    out = folder / "out"
    assert json.loads((out / "summary.json").read_text()) == summary
    assert (out / "ratings.svg").read_text().startswith("<svg")
    records = [json.loads(line) for line in (out / "judged.jsonl").read_text().splitlines()]
    assert [r["id"] for r in records] == ["0", "1", "2"]
    for record in records:
        (judgment,) = record["judgments"]
        assert len(judgment["orders"]) == 2  # both orders of the pair
        assert {tuple(o["shown"]) for o in judgment["orders"]} == {
            ("short", "long"),
            ("long", "short"),
        }


def test_statistics_from_the_records_equal_the_run(
    compared: tuple[Path, dict[str, Any]],
) -> None:
    folder, summary = compared
    again = compare(folder, "--from", str(folder / "out" / "judged.jsonl"), "-f", "json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout) == summary


def test_swapping_the_systems_mirrors_every_number(
    compared: tuple[Path, dict[str, Any]],
) -> None:
    folder, summary = compared
    swapped = compare(folder, "long.jsonl", "short.jsonl", *JUDGE, "-f", "json")
    assert swapped.returncode == 0, swapped.stderr
    mirror = json.loads(swapped.stdout)
    assert mirror["baseline"] == "long"
    forward = {s["name"]: s for s in summary["systems"]}["long"]
    backward = {s["name"]: s for s in mirror["systems"]}["short"]
    assert backward["rating"] - 1000 == pytest.approx(1000 - forward["rating"], abs=0.051)
    assert backward["win_rate"] == pytest.approx(1 - forward["win_rate"], abs=1e-9)
    low, high = forward["win_rate_ci"]
    assert backward["win_rate_ci"] == pytest.approx([1 - high, 1 - low], abs=1e-9)
    assert (backward["wins"], backward["losses"]) == (forward["losses"], forward["wins"])


def test_resume_judges_only_the_new_prompts(tmp_path: Path) -> None:
    short, long = system_files(tmp_path, count=2)
    first = compare(tmp_path, short, long, *JUDGE, "--no-cache", "--judged", "j.jsonl")
    assert first.returncode == 0, first.stderr
    short, long = system_files(tmp_path, count=3)
    judged = ["--no-cache", "--judged", "j.jsonl"]
    resumed = compare(tmp_path, short, long, *JUDGE, *judged, "--resume", "-f", "json")
    assert resumed.returncode == 0, resumed.stderr
    assert "2 prompt(s) kept from j.jsonl" in resumed.stderr
    assert json.loads(resumed.stdout)["prompts"] == 3
    assert len((tmp_path / "j.jsonl").read_text().splitlines()) == 3


def test_a_new_principle_judges_only_what_is_new(tmp_path: Path) -> None:
    short, long = system_files(tmp_path)
    assert compare(tmp_path, short, long, *JUDGE).returncode == 0
    both = compare(tmp_path, short, long, *JUDGE, "-p", "helpful", "-f", "json")
    assert both.returncode == 0, both.stderr
    assert "6 judgment(s) from the cache" in both.stderr  # concise: 3 prompts x 2 orders
    assert [p["name"] for p in json.loads(both.stdout)["principles"]] == ["concise", "helpful"]


def test_a_candidates_file_compares_the_systems_it_names(tmp_path: Path) -> None:
    rows = [
        {"id": i, "prompt": q, "responses": {"base": b, "tuned": a}}
        for i, (q, a, b) in enumerate(QUESTIONS)
    ]
    write_lines(tmp_path / "candidates.jsonl", rows)
    done = compare(tmp_path, "candidates.jsonl", *JUDGE, "--baseline", "tuned", "-f", "json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["baseline"] == "tuned"
    assert {s["name"] for s in summary["systems"]} == {"base", "tuned"}


def record(prompt_id: str, scores: list[dict[str, int]]) -> dict[str, Any]:
    """A score record of `base` and `tuned` judged in the given orders' integer scores."""

    def response(score: int) -> dict[str, Any]:
        dist = [0.0] * 5
        dist[score - 1] = 1.0
        return {"rank": 1, "score": score, "expected": float(score), "distribution": dist}

    orders = [
        {"shown": list(order), "responses": {n: response(s) for n, s in order.items()}}
        for order in scores
    ]
    return {
        "schema": 1,
        "id": prompt_id,
        "ranking": ["base", "tuned"],
        "composite": None,
        "judgments": [
            {
                "principle": {"name": "helpful", "text": "t", "weight": 1.0, "source": "library"},
                "ranking": ["base", "tuned"],
                "responses": orders[0]["responses"],
                "orders": orders,
            }
        ],
        "model": "m",
        "mode": "fast",
        "key": prompt_id,
        "prompt": f"question {prompt_id}",
        "responses": {"base": "an answer", "tuned": "another answer"},
    }


def test_the_gate_fails_a_system_worse_than_the_baseline_with_confidence(
    tmp_path: Path,
) -> None:
    losing = [record(str(i), [{"base": 5, "tuned": 2}, {"tuned": 2, "base": 4}]) for i in range(30)]
    write_lines(tmp_path / "judged.jsonl", losing)
    plain = compare(tmp_path, "--from", "judged.jsonl", "-f", "json")
    assert plain.returncode == 0, plain.stderr
    gated = compare(tmp_path, "--from", "judged.jsonl", "-f", "json", "--fail-if-worse")
    assert gated.returncode == 4
    assert "gate: tuned is worse than base: win rate 0.000" in gated.stderr


def test_the_gate_passes_a_system_that_cannot_be_told_apart(tmp_path: Path) -> None:
    mixed = [
        record(
            str(i),
            [{"base": 3 + i % 2, "tuned": 4 - i % 2}, {"tuned": 4 - i % 2, "base": 3 + i % 2}],
        )
        for i in range(20)
    ]
    write_lines(tmp_path / "judged.jsonl", mixed)
    gated = compare(tmp_path, "--from", "judged.jsonl", "--fail-if-worse", "--fail-if-worse-lc")
    assert gated.returncode == 0, gated.stderr
    assert "cannot be told from" in gated.stderr


def test_a_bad_record_is_one_error_and_the_rest_is_counted(tmp_path: Path) -> None:
    rows: list[dict | str] = [record(str(i), [{"base": 4, "tuned": 3}]) for i in range(3)]
    rows.insert(1, "{broken")
    write_lines(tmp_path / "judged.jsonl", rows)
    done = compare(tmp_path, "--from", "judged.jsonl", "-f", "json")
    assert done.returncode == 1
    assert "judged.jsonl:2: invalid JSON" in done.stderr
    assert json.loads(done.stdout)["prompts"] == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["short.jsonl"], "two or more systems"),
        (
            ["short.jsonl", "few.jsonl", "-p", "concise"],
            "few.jsonl lacks 2 of the 3 prompts: '1', '2'",
        ),
        (["short.jsonl", "long.jsonl"], "compare needs a principle"),
        (["--from", "x.jsonl", "short.jsonl"], "--from recomputes from records"),
        (["short.jsonl", "long.jsonl", "-p", "concise", "--baseline", "nope"], "is none of"),
        (["short.jsonl", "long.jsonl", "-p", "concise", "--resume"], "--resume needs"),
        (["short.jsonl", "long.jsonl", "-p", "concise", "--on-missing", "x"], "error or skip"),
    ],
)
def test_mistakes_are_one_line_and_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    system_files(tmp_path)
    write_lines(tmp_path / "few.jsonl", [{"id": 0, "prompt": QUESTIONS[0][0], "response": "4"}])
    done = compare(tmp_path, *args, *FAST)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_systems_that_do_not_fit_the_context_are_a_loud_error_with_the_numbers(
    tmp_path: Path,
) -> None:
    names = []
    for system in range(4):
        rows = [{"id": 0, "prompt": "Describe the sea.", "response": "wave " * 120}]
        names.append(str(write_lines(tmp_path / f"s{system}.jsonl", rows)))
    done = compare(tmp_path, *names, "-p", "concise", "--ctx", "512", "--rationale-tokens", "0")
    assert done.returncode == 1
    assert "s0.jsonl:1: needs" in done.stderr
    assert "but the context holds 512" in done.stderr
    assert "nothing to compare: no prompt was judged" in done.stderr


def test_records_that_do_not_make_one_comparison_are_one_line(tmp_path: Path) -> None:
    rows = [record(str(i), [{"base": 4, "tuned": 3}]) for i in range(2)]
    rows.append(record("0", [{"base": 2, "tuned": 3}]))  # the same prompt judged twice
    write_lines(tmp_path / "judged.jsonl", rows)
    done = compare(tmp_path, "--from", "judged.jsonl")
    assert done.returncode == 2
    assert "these records cannot be compared: prompt '0' under 'helpful': judged twice" in (
        done.stderr
    )
