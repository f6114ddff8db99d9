"""The comparison's leaderboard and one-line summary, from the summary JSON dict.

The tables are checked against goldens; regenerate them after a deliberate change with
`RAJUDGE_UPDATE_GOLDEN=1 pytest tests/test_leaderboard.py`, then read the diff.
"""

from __future__ import annotations

import copy
import io
import json
import os
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from rajudge.output.leaderboard import render_leaderboard, summary_line

DATA = Path(__file__).parent / "data" / "compare"
GOLDEN = Path(__file__).parent / "golden"
UPDATE_GOLDEN = os.environ.get("RAJUDGE_UPDATE_GOLDEN") == "1"
WIDTH = 100


@pytest.fixture
def three() -> dict[str, Any]:
    """Three systems under two principles (tests/data/compare/summary.json)."""
    return json.loads((DATA / "summary.json").read_text())


@pytest.fixture
def two(three: dict[str, Any]) -> dict[str, Any]:
    """Two systems under one principle: what `rajudge compare base.jsonl tuned.jsonl` gives."""
    summary = copy.deepcopy(three)
    summary["principles"] = [{"name": "helpful", "weight": 1.0}]
    summary["systems"] = [s for s in summary["systems"] if s["name"] != "dpo"]
    for system in summary["systems"]:
        system["principles"] = {"helpful": system["principles"]["helpful"]}
    summary["pairs"] = [p for p in summary["pairs"] if {p["a"], p["b"]} == {"base", "sft"}]
    summary["systems"][1]["rank"] = 2
    summary |= {"judgments": 10, "orders": 2, "undecided_prompts": 0}
    return summary


def render(summary: dict[str, Any], width: int = WIDTH) -> str:
    console = Console(
        width=width, record=True, color_system=None, force_terminal=False, file=io.StringIO()
    )
    console.print(render_leaderboard(summary))
    # Rich pads lines to the table width; trailing blanks are dropped so editors cannot break it.
    return "".join(line.rstrip() + "\n" for line in console.export_text().splitlines())


@pytest.mark.parametrize("case", ["three", "two"])
def test_leaderboard_golden(case: str, request: pytest.FixtureRequest) -> None:
    text = render(request.getfixturevalue(case))
    golden = GOLDEN / f"leaderboard_{case}.txt"
    if UPDATE_GOLDEN:
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8")


def test_every_cell_fits_100_columns_whole(three: dict[str, Any]) -> None:
    text = render(three)
    assert all(len(line) <= WIDTH for line in text.splitlines())
    assert "…" not in text  # no cell was cut
    dpo = next(line for line in text.splitlines() if line.split()[1:2] == ["dpo"])
    assert "1287 [1104, 1623]" in dpo and "0.80 [0.63, 0.93]" in dpo and "4/1/0" in dpo


def test_one_principle_has_no_principle_table(two: dict[str, Any]) -> None:
    text = render(two)
    assert "per principle" not in text and "helpful" not in text
    assert "base vs sft" in text


def test_the_baseline_row_has_no_win_rates(three: dict[str, Any]) -> None:
    (row,) = [line for line in render(three).splitlines() if "(baseline)" in line]
    assert row.split()[:2] == ["3", "base"] and row.count("–") == 3  # noqa: RUF001


def test_notes_for_left_out_prompts_and_lengths_that_cannot_be_controlled(
    two: dict[str, Any],
) -> None:
    two |= {"left_out": {"prompts": 3}, "length_controllable": False}
    text = render(two)
    assert "3 prompts left out" in text
    assert "length-controlled = raw" in text


def test_summary_line_of_two_systems(two: dict[str, Any]) -> None:
    assert summary_line(two) == (
        "sft beats base: win rate 0.73 [0.53, 0.90], length-controlled 0.69 [0.47, 0.88]; "
        "5 prompts, 10 judgments; position consistency 0.80"
    )


def test_summary_line_names_the_best_candidate_of_several(three: dict[str, Any]) -> None:
    line = summary_line(three)
    assert line.startswith("3 systems, best candidate dpo beats base: win rate 0.80 [0.63, 0.93]")
    # the pairs' consistencies (0.93, 0.80, 0.40) weighted by their prompts (5 each)
    assert line.endswith("5 prompts, 30 judgments; position consistency 0.71")


@pytest.mark.parametrize(
    ("ci", "verdict"),
    [([0.2, 0.45], "is worse than"), ([0.45, 0.62], "cannot be told from")],
)
def test_summary_line_claims_a_winner_only_when_the_interval_allows(
    two: dict[str, Any], ci: list[float], verdict: str
) -> None:
    two["systems"][0]["win_rate_ci"] = ci
    assert summary_line(two).startswith(f"sft {verdict} base: ")


def test_summary_line_counts_left_out_prompts(two: dict[str, Any]) -> None:
    two["left_out"] = {"prompts": 2}
    assert "; 5 prompts (2 left out), 10 judgments;" in summary_line(two)


def test_the_best_system_is_green_unless_it_is_the_baseline(three: dict[str, Any]) -> None:
    console = Console(width=WIDTH, color_system="standard", force_terminal=True, file=io.StringIO())
    console.print(render_leaderboard(three))
    lines = console.file.getvalue().splitlines()
    assert "\x1b[32m" in next(line for line in lines if "1287" in line)
    assert "\x1b[32m" not in next(line for line in lines if "(baseline)" in line)


def test_a_run_that_names_no_judge_leaves_it_out(two: dict[str, Any]) -> None:
    two |= {"model": None, "mode": None}
    footer = render(two).splitlines()[-4]
    assert footer == "5 prompts, 10 judgments in 2 presentation orders"


def test_a_narrow_terminal_wraps_intervals_instead_of_cutting_them(two: dict[str, Any]) -> None:
    console = Console(file=io.StringIO(), width=60, color_system=None)
    console.print(render_leaderboard(two))
    text = console.file.getvalue()  # type: ignore[attr-defined]
    for system in two["systems"]:  # every bound of every interval is there, whole
        low, high = system["rating_ci"]
        assert f"[{low:.0f}," in text and f"{high:.0f}]" in text
        if system["win_rate_ci"]:
            low, high = system["win_rate_ci"]
            assert f"[{low:.2f}," in text and f"{high:.2f}]" in text
