"""`rajudge report` on a comparison: finding it, checking its summary, each order's scores kept,
bad lines located, the page model, the CLI.

The page's script is checked in a real browser by tests/browser (make test-browser).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import orjson
import pytest
from cli_process import run_rajudge

from rajudge.errors import InputError, UsageError
from rajudge.report import (
    check_summary,
    comparison_model,
    find_comparison,
    page_item,
    render_page,
)
from tests.report_records import record, write_jsonl

DATA = Path(__file__).parent / "data" / "compare"
JUDGED_SAMPLE = Path(__file__).parent / "data" / "judged-sample.jsonl"
SYSTEMS = ["dpo", "sft", "base"]  # best first


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """What `rajudge compare -o out` writes (the chart is drawn again; it is left out)."""
    out = tmp_path / "out"
    out.mkdir()
    for name in ("summary.json", "judged.jsonl"):
        shutil.copy(DATA / name, out / name)
    return out


def summary() -> dict[str, Any]:
    return json.loads((DATA / "summary.json").read_text())


def judged() -> list[dict[str, Any]]:
    return [json.loads(line) for line in (DATA / "judged.jsonl").read_text().splitlines()]


def test_a_folder_and_its_summary_are_the_same_comparison(folder: Path) -> None:
    by_folder = find_comparison(str(folder))
    by_file = find_comparison(str(folder / "summary.json"))
    assert by_folder is not None and by_file is not None
    assert by_folder.summary == by_file.summary == summary()
    assert [item["id"] for item in by_folder.records.items] == [r["id"] for r in judged()]
    assert by_folder.records.errors == []


@pytest.mark.parametrize("path", ["-", str(JUDGED_SAMPLE)])
def test_score_records_are_not_a_comparison(path: str) -> None:
    assert find_comparison(path) is None


def test_a_json_file_that_is_not_a_summary_is_left_to_the_records_reader(tmp_path: Path) -> None:
    (tmp_path / "scores.json").write_text(json.dumps([record("a", "p", {"x": "y"}, {"x": 3})]))
    assert find_comparison(str(tmp_path / "scores.json")) is None


def test_a_summary_alone_is_a_leaderboard_without_prompts(tmp_path: Path) -> None:
    """`rajudge compare -f json > run.json` keeps no judged records: none are looked for."""
    (tmp_path / "run.json").write_text((DATA / "summary.json").read_text())
    shutil.copy(DATA / "judged.jsonl", tmp_path / "judged.jsonl")  # not this run's
    comparison = find_comparison(str(tmp_path / "run.json"))
    assert comparison is not None and comparison.records.items == []


def test_a_folder_without_a_summary_is_one_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"no summary\.json in this folder"):
        find_comparison(str(tmp_path))
    (tmp_path / "summary.json").write_text("[]")
    with pytest.raises(
        UsageError, match=r"summary\.json: not a summary written by rajudge compare"
    ):
        find_comparison(str(tmp_path))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: s.pop("prompts"), "'prompts' is missing or not what rajudge compare writes"),
        (lambda s: s.update(systems=[]), "'systems' must be a non-empty list"),
        (
            lambda s: s["systems"][1].update(rating_ci=[1000]),
            "system 2: 'rating_ci' is missing or not what rajudge compare writes",
        ),
        (
            lambda s: s["systems"][0]["principles"].pop("concise"),
            "system 1: principle 'concise': must be an object",
        ),
        (
            lambda s: s["pairs"][0].update(a_wins=True),
            "pair 1: 'a_wins' is missing or not what rajudge compare writes",
        ),
        (lambda s: s.update(baseline="gpt"), "the baseline 'gpt' is not among the systems"),
    ],
)
def test_a_wrong_summary_is_one_error_naming_the_file(change: Any, message: str) -> None:
    wrong = summary()
    change(wrong)
    with pytest.raises(InputError) as caught:
        check_summary(wrong, "out/summary.json")
    assert str(caught.value) == f"out/summary.json: {message}"


def test_the_baselines_empty_win_rates_and_an_unnamed_judge_are_accepted() -> None:
    base = summary()["systems"][2]
    assert base["win_rate"] is None and base["lc_win_rate_ci"] is None
    unnamed = summary() | {"model": None, "mode": None}
    assert check_summary(unnamed, "summary.json") == unnamed


def test_each_orders_scores_are_kept() -> None:
    first = judged()[0]
    item = page_item(first)
    (helpful, _) = item["judgments"]
    assert [order["shown"] for order in helpful["orders"]] == [
        ["base", "sft", "dpo"],
        ["sft", "dpo", "base"],
        ["dpo", "base", "sft"],
    ]
    written = first["judgments"][0]["orders"][1]["responses"]["dpo"]
    assert helpful["orders"][1]["scores"]["dpo"] == written


def test_records_without_orders_have_none() -> None:
    item = page_item(record("a", "p", {"x": "y", "z": "w"}, {"x": 3, "z": 2}))
    assert item["judgments"][0]["orders"] is None


@pytest.mark.parametrize(
    ("orders", "message"),
    [
        ({"shown": ["base"]}, "judgment 1: 'orders' must be a list"),
        ([["base"]], "judgment 1: order 1: must be an object"),
        (
            [{"shown": ["base", "base"], "responses": {}}],
            "judgment 1: order 1: 'shown' must list some of the record's response names, each once",
        ),
        (
            [{"shown": ["gpt"], "responses": {}}],
            "judgment 1: order 1: 'shown' must list some of the record's response names, each once",
        ),
        (
            [{"shown": ["base", "sft"], "responses": {"base": {}}}],
            "judgment 1: order 1: 'responses' must score the responses shown",
        ),
        (
            [{"shown": ["base"], "responses": {"base": {"rank": 1, "score": 6}}}],
            "judgment 1: order 1: response 'base': 'score' must be a whole number from 1 to 5",
        ),
    ],
)
def test_a_bad_order_is_a_located_error(orders: object, message: str, folder: Path) -> None:
    records: list[dict[str, Any] | str] = judged()
    records[1]["judgments"][0]["orders"] = orders
    write_jsonl(folder / "judged.jsonl", records)
    comparison = find_comparison(str(folder))
    assert comparison is not None
    assert [str(e) for e in comparison.records.errors] == [f"{folder}/judged.jsonl:2: {message}"]
    assert len(comparison.records.items) == 4  # the other prompts are shown


def test_the_page_model_holds_the_summary_its_chart_and_the_prompts(folder: Path) -> None:
    comparison = find_comparison(str(folder))
    assert comparison is not None
    model = comparison_model(comparison)
    assert model["comparison"]["summary"] == summary()
    chart = ElementTree.fromstring(model["comparison"]["figure"])
    assert len(chart.findall("{http://www.w3.org/2000/svg}g")) == 3
    assert model["summary"]["items"] == 5 and model["summary"]["judgments"] == 10
    assert [item["id"] for item in model["items"]] == [r["id"] for r in judged()]


def test_the_page_embeds_the_comparison_as_data(folder: Path) -> None:
    comparison = find_comparison(str(folder))
    assert comparison is not None
    page = render_page(comparison_model(comparison))
    (data,) = re.findall(r'<script id="rajudge-data" type="application/json">(.*?)</script>', page)
    embedded = orjson.loads(data)
    assert [s["name"] for s in embedded["comparison"]["summary"]["systems"]] == SYSTEMS
    assert "<svg" not in data  # the chart's markup is escaped inside the JSON
    assert embedded["comparison"]["figure"].startswith("<svg")


def rajudge(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_rajudge("report", *args, cwd=cwd, timeout=120)


def test_cli_reports_a_comparison_folder(folder: Path) -> None:
    done = rajudge("out", "-o", "report.html", cwd=folder.parent)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == "report: 3 systems, 5 prompts -> report.html"
    page = (folder.parent / "report.html").read_text()
    assert '"comparison":{"summary":{"baseline":"base"' in page


def test_cli_shows_the_rest_when_a_judged_line_is_bad(folder: Path) -> None:
    lines = (folder / "judged.jsonl").read_text().splitlines()
    lines[2] = "{not json"
    (folder / "judged.jsonl").write_text("\n".join(lines) + "\n")
    done = rajudge("out/summary.json", "-o", "report.html", cwd=folder.parent)
    assert done.returncode == 1
    errors = done.stderr.splitlines()
    assert len(errors) == 2 and errors[0].startswith("error: out/judged.jsonl:3: ")
    assert errors[1] == "report: 3 systems, 4 prompts -> report.html"
    assert '"skipped":1' in (folder.parent / "report.html").read_text()


def test_cli_a_wrong_summary_is_one_line(folder: Path) -> None:
    wrong = summary()
    del wrong["systems"][0]["mean_length"]
    (folder / "summary.json").write_text(json.dumps(wrong))
    done = rajudge("out", "-o", "report.html", cwd=folder.parent)
    assert done.returncode != 0
    assert done.stderr.splitlines() == [
        "error: out/summary.json: system 1: 'mean_length' is missing or not what rajudge "
        "compare writes"
    ]
    assert not (folder.parent / "report.html").exists()
