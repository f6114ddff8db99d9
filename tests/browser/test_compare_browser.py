"""The comparison page (`rajudge report DIR` on `rajudge compare -o DIR`) in headless Chromium:
it loads with no console error, and the DOM holds the leaderboard, the chart and the prompts.

Run by `make test-browser`, not by `make test`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rajudge.report import comparison_model, find_comparison, render_page
from tests.browser.cdp import Page
from tests.report_records import HOSTILE_NAME, PWNED

pytestmark = pytest.mark.browser

DATA = Path(__file__).resolve().parents[1] / "data" / "compare"
SYSTEMS = ["dpo", "sft", "base"]  # best first
PROMPTS = ["capital-fr", "sort-list", "haiku", "explain-tcp", "greeting"]


def write_report(tmp_path: Path, rename: dict[str, str] | None = None, judged: bool = True) -> str:
    """The page of tests/data/compare, with systems renamed as asked; its file:// address."""
    folder = tmp_path / "out"
    folder.mkdir()
    for name in ("summary.json", "judged.jsonl") if judged else ("summary.json",):
        text = (DATA / name).read_text()
        for old, new in (rename or {}).items():
            text = text.replace(f'"{old}"', json.dumps(new))
        (folder / name).write_text(text)
    comparison = find_comparison(str(folder))
    assert comparison is not None and comparison.records.errors == []
    (tmp_path / "r.html").write_text(render_page(comparison_model(comparison)), encoding="utf-8")
    return (tmp_path / "r.html").as_uri()


def texts(page: Page, selector: str) -> list[str]:
    return page.evaluate(
        f"[...document.querySelectorAll({json.dumps(selector)})].map((e) => e.textContent)"
    )


def data(page: Page, selector: str, key: str) -> list[Any]:
    return page.evaluate(
        f"[...document.querySelectorAll({json.dumps(selector)})].map((e) => e.dataset.{key})"
    )


def test_leaderboard_chart_and_prompts_are_shown(page: Page, tmp_path: Path) -> None:
    page.open(write_report(tmp_path))
    assert page.evaluate("document.title") == "rajudge comparison"
    assert data(page, "table.systems tbody tr", "name") == SYSTEMS
    assert data(page, "table.systems tbody tr", "kind") == ["best", "best", "baseline"]
    first = texts(page, "table.systems tbody tr:first-child td")
    assert first[:6] == ["1", "dpo", "1287 [1104, 1623]", "1302 [1090, 1655]",
                         "0.80 [0.63, 0.93]", "0.81 [0.62, 0.95]"]  # fmt: skip
    assert first[6:] == ["4/1/0", "92", "0.67", "1233 · 0.80", "1343 · 0.80"]
    assert texts(page, "table.systems tbody tr:last-child td")[1] == "base (baseline)"
    assert texts(page, "table.pairs tbody tr td:first-child") == [
        "base vs dpo",
        "base vs sft",
        "dpo vs sft",
    ]
    assert data(page, "figure.ratings svg g.system", "name") == SYSTEMS
    assert page.evaluate('document.querySelectorAll("parsererror").length') == 0
    assert data(page, ".item", "id") == PROMPTS
    assert page.evaluate('document.querySelector("#status").dataset.matching') == "5"


def test_each_prompt_shows_the_systems_in_leaderboard_order_with_every_order(
    page: Page, tmp_path: Path
) -> None:
    page.open(write_report(tmp_path))
    for index in range(len(PROMPTS)):
        shown = page.evaluate(
            f'[...document.querySelectorAll(".item")[{index}].querySelectorAll(".response")]'
            ".map((e) => e.dataset.name)"
        )
        assert shown == SYSTEMS
    orders = texts(page, '.item[data-id="capital-fr"] .response[data-name="dpo"] .orders')
    # helpful then concise; dpo was shown 3rd, 2nd, then 1st
    assert orders == [
        "by order: 3rd 4 (3.93) · 2nd 4 (3.94) · 1st 4 (3.94)",
        "by order: 3rd 5 (4.72) · 2nd 5 (4.68) · 1st 5 (4.64)",
    ]
    assert len(texts(page, ".item .orders")) == len(PROMPTS) * len(SYSTEMS) * 2
    facts = texts(page, ".facts dd")
    assert facts[:3] == ["base", "5", "30 (3 presentation orders)"]


def test_a_summary_alone_shows_the_leaderboard(page: Page, tmp_path: Path) -> None:
    page.open(write_report(tmp_path, judged=False))
    assert data(page, "table.systems tbody tr", "name") == SYSTEMS
    assert data(page, ".item", "id") == []


def test_hostile_system_names_stay_text(page: Page, tmp_path: Path) -> None:
    page.open(write_report(tmp_path, rename={"dpo": HOSTILE_NAME, "sft": f"<b>{PWNED}</b>"}))
    assert page.evaluate("document.title") == "rajudge comparison"  # nothing ran
    assert page.evaluate('document.querySelectorAll("img, b, script:not([id])").length') == 1
    names = [HOSTILE_NAME, f"<b>{PWNED}</b>", "base"]
    assert data(page, "table.systems tbody tr", "name") == names
    assert texts(page, "table.systems tbody tr td:nth-child(2)")[:2] == names[:2]
    assert data(page, "figure.ratings svg g.system", "name") == names
    assert data(page, ".item:first-child .response", "name") == names
