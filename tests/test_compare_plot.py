"""The comparison's SVG: well-formed, one mark per system and side, intervals where they belong,
best on top, the baseline marked, names kept as text."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest

from rajudge.compare.plot import ratings_chart

DATA = Path(__file__).parent / "data" / "compare"
NS = {"svg": "http://www.w3.org/2000/svg"}
HOSTILE = '<script>alert("x")</script> & co'


@pytest.fixture
def summary() -> dict[str, Any]:
    """Three systems under two principles (tests/data/compare/summary.json)."""
    return json.loads((DATA / "summary.json").read_text())


def chart(summary: dict[str, Any]) -> ElementTree.Element:
    return ElementTree.fromstring(ratings_chart(summary))


def rows(root: ElementTree.Element) -> list[ElementTree.Element]:
    return root.findall("svg:g[@class='system']", NS)


def mark(row: ElementTree.Element, kind: str) -> tuple[float, float, float]:
    """(low, rating, high) as x positions, for kind "raw" or "lc"."""
    (dot,) = row.findall(f"svg:circle[@class='{kind}']", NS)
    (interval,) = row.findall(f"svg:line[@class='{kind}']", NS)
    return float(interval.get("x1")), float(dot.get("cx")), float(interval.get("x2"))


def test_one_row_per_system_best_on_top(summary: dict[str, Any]) -> None:
    found = rows(chart(summary))
    assert [r.get("data-name") for r in found] == [s["name"] for s in summary["systems"]]
    heights = [float(r.find("svg:circle", NS).get("cy")) for r in found]
    assert heights == sorted(heights)  # y grows downwards: the first system is on top


def test_each_system_has_one_dot_and_one_interval_per_side(summary: dict[str, Any]) -> None:
    root = chart(summary)
    for kind in ("raw", "lc"):
        assert len(root.findall(f".//svg:circle[@class='{kind}']", NS)) == 3
        assert len(root.findall(f".//svg:line[@class='{kind}']", NS)) == 3


def test_intervals_hold_their_ratings_and_follow_the_numbers(summary: dict[str, Any]) -> None:
    found = rows(chart(summary))
    for kind, key in (("raw", "rating"), ("lc", "lc_rating")):
        marks = [mark(row, kind) for row in found]
        assert all(low <= x <= high for low, x, high in marks)
        ratings = [system[key] for system in summary["systems"]]
        # x follows the rating: same order, and equal ratings fall on the same x
        by_rating = sorted(range(3), key=lambda i: ratings[i])
        assert [marks[i][1] for i in by_rating] == sorted(m[1] for m in marks)
    dpo, sft = (mark(row, "raw") for row in found[:2])
    assert dpo[1] > sft[1] and dpo[2] > sft[2]  # 1287 [1104, 1623] right of 1206 [1013, 1534]


def test_both_sides_share_one_axis(summary: dict[str, Any]) -> None:
    """A rating lands at the same place in both panels: the panels differ by one shift."""
    dpo, sft, base = rows(chart(summary))
    dpo_s, sft_s, _ = summary["systems"]
    shift = mark(base, "lc")[1] - mark(base, "raw")[1]  # base is 1000 on both sides
    per_point = (mark(dpo, "raw")[1] - mark(base, "raw")[1]) / (dpo_s["rating"] - 1000.0)
    for row, system in ((dpo, dpo_s), (sft, sft_s)):
        moved = (system["lc_rating"] - system["rating"]) * per_point
        assert mark(row, "lc")[1] - mark(row, "raw")[1] == pytest.approx(shift + moved, abs=0.2)


def test_the_baseline_is_marked(summary: dict[str, Any]) -> None:
    root = chart(summary)
    lines = root.findall("svg:line[@class='baseline']", NS)
    base = rows(root)[2]
    assert [float(line.get("x1")) for line in lines] == [mark(base, "raw")[1], mark(base, "lc")[1]]
    assert all(line.get("stroke-dasharray") for line in lines)
    labels = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "base (baseline)" in labels and "dpo" in labels


def test_names_stay_text(summary: dict[str, Any]) -> None:
    summary["systems"][0]["name"] = HOSTILE
    text = ratings_chart(summary)
    assert "<script>" not in text
    root = ElementTree.fromstring(text)
    first = rows(root)[0]
    assert first.get("data-name") == HOSTILE
    assert first.find("svg:title", NS).text.startswith(HOSTILE + ": rating 1287 [1104, 1623]")
    assert first.find("svg:text", NS).text == HOSTILE[:25] + "…"  # long: cut in the label


def test_a_missing_interval_draws_the_dot_alone(summary: dict[str, Any]) -> None:
    less = copy.deepcopy(summary)
    less["systems"][2]["rating_ci"] = None
    base = rows(chart(less))[2]
    assert len(base.findall("svg:circle", NS)) == 2
    assert len(base.findall("svg:line[@class='raw']", NS)) == 0


def test_lengths_that_cannot_be_controlled_are_said(summary: dict[str, Any]) -> None:
    assert "length-controlled = raw" not in ratings_chart(summary)
    summary["length_controllable"] = False
    assert "length-controlled = raw" in ratings_chart(summary)


def test_a_run_that_names_no_judge_leaves_it_out(summary: dict[str, Any]) -> None:
    summary |= {"model": None, "mode": None}
    assert ">5 prompts, 30 judgments</text>" in ratings_chart(summary)
