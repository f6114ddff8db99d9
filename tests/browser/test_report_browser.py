"""The report page in a real browser: headless Chromium loads it, runs its script with no
console error, and the DOM it builds is checked (counts, sort order, filters, hostile text).

Run by `make test-browser` (which installs Debian's chromium if missing), not by `make test`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rajudge.report import page_item, page_model, render_page
from tests.browser.cdp import Page
from tests.report_records import (
    HOSTILE_ID,
    HOSTILE_NAME,
    SCRIPT_RESPONSE,
    hostile_record,
    many_records,
    record,
)

pytestmark = pytest.mark.browser

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "judged-sample.jsonl"
TITLE = "rajudge report"
PAGE_SIZE = 50  # items the page renders at a time (report.js)


def sample() -> list[dict[str, Any]]:
    return [json.loads(line) for line in SAMPLE.read_text().splitlines()]


def write_report(path: Path, records: list[dict[str, Any]]) -> str:
    items = [page_item(record) for record in records]
    path.write_text(render_page(page_model(items, skipped=0)), encoding="utf-8")
    return path.as_uri()


def shown_ids(page: Page) -> list[str]:
    return page.evaluate('[...document.querySelectorAll(".item")].map((e) => e.dataset.id)')


def test_every_item_and_the_summary_are_shown(page: Page, tmp_path: Path) -> None:
    records = sample()
    page.open(write_report(tmp_path / "r.html", records))
    assert shown_ids(page) == [r["id"] for r in records]
    assert page.evaluate('document.querySelector("#status").dataset.matching') == "13"
    facts = page.evaluate('[...document.querySelectorAll(".facts dd")].map((e) => e.textContent)')
    assert facts[:2] == ["13", "16"]
    histogram = page.evaluate(
        '[...document.querySelectorAll(".histogram .column span:first-child")]'
        ".map((e) => Number(e.textContent))"
    )
    assert sum(histogram) == sum(len(j["responses"]) for r in records for j in r["judgments"])
    first = page.evaluate(
        '[...document.querySelector(".item").querySelectorAll(".response h3")]'
        ".map((e) => e.textContent)"
    )
    assert first == [f"#{rank} {name}" for rank, name in enumerate(records[0]["ranking"], 1)]
    bars = page.evaluate(
        'document.querySelector(".item").querySelectorAll(".distribution .fill").length'
    )
    assert bars == 5 * len(records[0]["responses"]) * len(records[0]["judgments"])
    assert page.evaluate("document.title") == TITLE
    assert page.evaluate('document.querySelectorAll(".consistency").length') == 0  # none given


def _keys(records: list[dict[str, Any]]) -> dict[str, tuple[float, float]]:
    """Each item's (score, margin), the page's sort keys, from the records."""
    keys = {}
    for item in map(page_item, records):
        keys[item["id"]] = (item["score"], item["margin"])
    return keys


def test_sorting_from_the_address_and_from_the_control(page: Page, tmp_path: Path) -> None:
    records = [*sample(), record("lone", "p", {"a": "x"}, {"a": 1.5})]  # it has no margin
    url = write_report(tmp_path / "r.html", records)
    keys = _keys(records)
    page.open(url + "#sort=score-asc")
    assert shown_ids(page) == sorted(keys, key=lambda i: keys[i][0])
    page.evaluate(
        'const s = document.querySelector("#controls select");'
        's.value = "margin-desc"; s.dispatchEvent(new Event("change")); 1'
    )
    with_margin = [i for i in keys if keys[i][1] is not None]
    assert shown_ids(page) == [*sorted(with_margin, key=lambda i: -keys[i][1]), "lone"]
    assert page.evaluate("location.hash") == "#sort=margin-desc"
    page.evaluate('location.hash = "sort=constructor"; new Promise((r) => setTimeout(r, 50))')
    assert shown_ids(page) == list(keys)  # not a sort: input order


def test_pages_of_fifty(page: Page, tmp_path: Path) -> None:
    page.open(write_report(tmp_path / "r.html", many_records(120)) + "#page=3")
    assert shown_ids(page) == [f"item-{i}" for i in range(100, 120)]
    page.evaluate('document.querySelector("#pager button").click(); 1')  # previous
    assert shown_ids(page) == [f"item-{i}" for i in range(50, 100)]
    assert page.evaluate("location.hash") == "#page=2"
    shown = page.evaluate('document.querySelector(".item .consistency").textContent')
    assert shown == f"consistency {many_records(120)[50]['judgments'][0]['consistency']:.2f}"


def test_filters_and_search(page: Page, tmp_path: Path) -> None:
    records = sample()
    keys = _keys(records)
    page.open(write_report(tmp_path / "r.html", records) + "#principle=helpful")
    assert shown_ids(page) == [r["id"] for r in records[:3]]  # the items judged on helpful
    page.evaluate('location.hash = "maxMargin=0.5"; new Promise((r) => setTimeout(r, 50))')
    assert shown_ids(page) == [i for i in keys if keys[i][1] <= 0.5]
    page.evaluate('location.hash = "q=SNAKE"; new Promise((r) => setTimeout(r, 50))')
    assert shown_ids(page) == ["learn-python"]  # case-insensitive, in a response's text
    page.evaluate('location.hash = "q=no such words"; new Promise((r) => setTimeout(r, 50))')
    assert shown_ids(page) == []
    assert page.evaluate('document.querySelector("#status").textContent') == (
        "no item of 13 matches"
    )


def test_hostile_text_stays_text(page: Page, tmp_path: Path) -> None:
    page.open(write_report(tmp_path / "r.html", [hostile_record(), *sample()[:2]]))
    assert page.evaluate("document.title") == TITLE  # no record's script ran
    assert page.evaluate("document.scripts.length") == 2  # the data block and the page's own
    assert page.evaluate('document.querySelectorAll("img, a, textarea, b, i, iframe").length') == 0
    assert shown_ids(page)[0] == HOSTILE_ID
    texts = page.evaluate(
        "Object.fromEntries([...document.querySelectorAll('.item')[0]"
        ".querySelectorAll('.response')].map((e) => [e.dataset.name, "
        "e.querySelector('.response-text').textContent]))"
    )
    assert texts["script"] == SCRIPT_RESPONSE
    assert texts[HOSTILE_NAME].endswith("…") and len(texts[HOSTILE_NAME]) < 5000
    shown = page.evaluate(
        "const box = document.querySelectorAll('.response')[3];"
        "box.querySelector('button.more').click();"
        "box.querySelector('.response-text').textContent.length"
    )
    assert shown == 1_000_000 + len("<b>end of a megabyte line</b>")
    assert page.evaluate("document.title") == TITLE


def test_the_policy_stops_any_other_script(page: Page, tmp_path: Path) -> None:
    """Defence in depth: a script element added to the page is refused by the CSP."""
    page.open(write_report(tmp_path / "r.html", sample()[:1]))
    page.evaluate(
        "const s = document.createElement('script'); s.textContent = 'document.title = 1';"
        "document.body.append(s); new Promise((r) => setTimeout(r, 50))"
    )
    assert page.evaluate("document.title") == TITLE
    assert any("Content Security Policy" in error for error in page.errors)
    page.errors.clear()


def test_ten_thousand_items_load_and_stay_responsive(page: Page, tmp_path: Path) -> None:
    url = write_report(tmp_path / "r.html", many_records(10_000))
    megabytes = (tmp_path / "r.html").stat().st_size / 1e6
    seconds = page.open(url)
    ready_ms = int(page.evaluate("document.body.dataset.readyMs"))
    assert len(shown_ids(page)) == PAGE_SIZE
    assert page.evaluate('document.querySelector("#status").dataset.matching') == "10000"
    timings = {
        "sort": _timed(page, "sort=score-asc"),
        "filter": _timed(page, "sort=score-asc&principle=helpful&maxMargin=0.5"),
        "search": _timed(page, "q=item-9999"),
    }
    assert shown_ids(page) == ["item-9999"]
    print(
        f"\n10,000 items, {megabytes:.1f} MB: loaded in {seconds:.2f} s (script done at "
        f"{ready_ms} ms); " + ", ".join(f"{k} {v:.0f} ms" for k, v in timings.items())
    )
    assert seconds < 10 and max(timings.values()) < 1000


def _timed(page: Page, fragment: str) -> float:
    """Milliseconds from setting the address's fragment to the page having redrawn."""
    return page.evaluate(
        "new Promise((resolve) => { const t = performance.now();"
        "addEventListener('hashchange', () => resolve(performance.now() - t), {once: true});"
        f"location.hash = {json.dumps(fragment)}; }})"
    )
