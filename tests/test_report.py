"""`rajudge report`: score records read back line by line, the page model, escaping, the CLI.

The page's script is checked in a real browser by tests/browser (make test-browser).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from rajudge.errors import InputError
from rajudge.report import embedded_json, page_item, page_model, parse_records, render_page
from tests.report_records import HOSTILE, hostile_record, many_records, record, write_jsonl

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "tests" / "data" / "judged-sample.jsonl"  # real `rajudge score` output
SOURCE = "judged.jsonl"


def sample_records() -> list[dict[str, Any]]:
    return [json.loads(line) for line in SAMPLE.read_text().splitlines()]


def parse(*lines: dict[str, Any] | str) -> tuple[list[dict[str, Any]], list[InputError]]:
    raw = [(line if isinstance(line, str) else json.dumps(line)).encode() for line in lines]
    read = parse_records(raw, SOURCE)
    return read.items, read.errors


def test_real_score_output_becomes_page_items() -> None:
    records = sample_records()
    items, errors = parse(*records)
    assert errors == [] and len(items) == len(records) == 13
    first, record0 = items[0], records[0]
    assert first["id"] == record0["id"] and first["prompt"] == record0["prompt"]
    assert first["responses"] == record0["responses"]
    assert first["ranking"] == record0["ranking"]
    assert [j["principle"] for j in first["judgments"]] == ["concise", "helpful"]
    assert first["judgments"][0]["scores"] == record0["judgments"][0]["responses"]


def test_sort_keys_use_the_composite_under_several_principles() -> None:
    (item,), _ = parse(sample_records()[0])  # concise + helpful
    composite = sample_records()[0]["composite"]
    best, second = item["ranking"][:2]
    assert item["score"] == composite[best]
    assert item["margin"] == pytest.approx(composite[best] - composite[second])
    assert item["consistency"] is None


def test_sort_keys_of_one_principle_and_a_lone_response() -> None:
    items, _ = parse(
        record("two", "p", {"a": "x", "b": "y"}, {"a": 2.5, "b": 4.25}),
        record("one", "p", {"a": "x"}, {"a": 3.0}),
    )
    assert (items[0]["score"], items[0]["margin"]) == (4.25, 1.75)
    assert (items[1]["score"], items[1]["margin"]) == (3.0, None)


def test_consistency_is_shown_where_present_and_the_lowest_counts() -> None:
    two = record("c", "p", {"a": "x", "b": "y"}, {"a": 2, "b": 4}, consistency=0.75)
    second = dict(two["judgments"][0], consistency=0.5, principle={"name": "helpful"})
    two["judgments"].append(second)
    two["composite"] = {"a": 2.0, "b": 4.0}
    (item,), errors = parse(two)
    assert errors == []
    assert [j["consistency"] for j in item["judgments"]] == [0.75, 0.5]
    assert item["consistency"] == 0.5


def test_a_bad_line_is_one_located_error_and_the_others_are_kept() -> None:
    good = sample_records()[0]
    items, errors = parse(good, "{not json", "[1]", good)
    assert len(items) == 2
    assert [str(e) for e in errors] == [
        f"{SOURCE}:2: invalid JSON: unexpected character, expected a string key at column 2",
        f"{SOURCE}:3: expected a JSON object, got a list",
    ]


def test_a_record_without_texts_names_its_line_and_says_why() -> None:
    old = {k: v for k, v in sample_records()[0].items() if k not in ("prompt", "responses")}
    _, (error,) = parse(sample_records()[1], old)
    assert error.where == f"{SOURCE}:2"
    assert "no 'prompt' and 'responses'" in str(error) and "older rajudge score" in str(error)


def _broken(change: str) -> dict[str, Any]:
    """The first sample record with one thing wrong in it."""
    bad = sample_records()[0]
    judgment = bad["judgments"][0]
    scores = judgment["responses"]["short"]
    if change == "schema":
        bad["schema"] = 2
    elif change == "input":
        bad = {"prompt": "a candidates line", "responses": {"a": "x"}}
    elif change == "score":
        scores["score"] = 6
    elif change == "distribution":
        scores["distribution"] = [0.5, 0.5]
    elif change == "missing response":
        del judgment["responses"]["short"]
    elif change == "ranking":
        bad["ranking"] = ["short", "short", "long"]
    elif change == "consistency":
        judgment["consistency"] = 1.5
    elif change == "text":
        bad["responses"]["short"] = None
    return bad


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("schema", "schema 2 is not one this rajudge reads (schema 1)"),
        ("input", "not a record of rajudge score (no 'schema' or 'judgments')"),
        ("score", "judgment 1: response 'short': 'score' must be a whole number from 1 to 5"),
        (
            "distribution",
            "judgment 1: response 'short': 'distribution' must be 5 probabilities (of 1..5)",
        ),
        ("missing response", "judgment 1: 'responses' must score exactly the record's responses"),
        ("ranking", "'ranking' must list each response name once"),
        ("consistency", "judgment 1: 'consistency' must be a number from 0 to 1"),
        ("text", "response 'short' must be a string"),
    ],
)
def test_each_broken_field_is_named(change: str, message: str) -> None:
    items, (error,) = parse(sample_records()[1], _broken(change))
    assert len(items) == 1
    assert str(error) == f"{SOURCE}:2: {message}"


def test_summary_counts_scores_and_means_per_principle() -> None:
    items, _ = parse(*sample_records())
    summary = page_model(items, skipped=2)["summary"]
    assert (summary["items"], summary["judgments"], summary["skipped"]) == (13, 16, 2)
    assert summary["models"] == ["SmolLM2-135M-Instruct.Q4_1.gguf"]
    assert summary["modes"] == ["fast"]
    scored = [s for i in items for j in i["judgments"] for s in j["scores"].values()]
    assert sum(summary["histogram"]) == len(scored)
    assert summary["histogram"][1] == sum(s["score"] == 2 for s in scored)
    concise = next(p for p in summary["principles"] if p["name"] == "concise")
    mine = [
        s
        for i in items
        for j in i["judgments"]
        if j["principle"] == "concise"
        for s in j["scores"].values()
    ]
    assert concise["judgments"] == 3
    assert concise["mean_expected"] == pytest.approx(
        sum(s["expected"] for s in mine) / len(mine), abs=1e-4
    )


@pytest.mark.parametrize("text", ["</script>", "</SCRIPT >", "<!--", "<script>", "a<b"])
def test_embedded_json_has_no_angle_bracket_and_reads_back(text: str) -> None:
    value = {"t": text, "u": "\u2028\u2029"}
    embedded = embedded_json(value)
    assert "<" not in embedded
    assert json.loads(embedded) == value


def _page(*records: dict[str, Any]) -> str:
    items = [page_item(r) for r in records]
    return render_page(page_model(items, skipped=0))


def test_hostile_text_never_leaves_the_data_block() -> None:
    page = _page(hostile_record())
    assert len(page) > 1_000_000  # the megabyte line is in it
    # Only the page's own two scripts: the data block and the script; nothing a record holds
    # opens or closes an element, since every "<" of it is \u003c.
    assert len(re.findall(r"<script", page, re.IGNORECASE)) == 2
    assert len(re.findall(r"</script", page, re.IGNORECASE)) == 2
    assert "<img" not in page and "<a " not in page and "<!--" not in page
    data = re.search(
        r'<script id="rajudge-data" type="application/json">(.*?)</script>', page, re.S
    )
    assert data is not None
    (item,) = json.loads(data[1])["items"]
    assert item["prompt"] == HOSTILE["prompt"] and item["responses"] == HOSTILE["responses"]


def test_only_the_pages_own_script_and_style_may_run() -> None:
    page = _page(*sample_records())
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page)
    assert csp is not None and "default-src 'none'" in csp[1]
    for tag in ("script", "style"):
        body = re.search(rf"<{tag}>(.*?)</{tag}>", page, re.S)
        assert body is not None
        digest = base64.b64encode(hashlib.sha256(body[1].encode()).digest()).decode()
        assert f"{tag}-src 'sha256-{digest}'" in csp[1]
    assert "http://" not in page and "https://" not in page  # nothing fetched, no CDN


def test_the_pages_files_ship_in_the_wheel() -> None:
    """Every non-Python file of rajudge/report matches the package data in pyproject."""
    pyproject = (REPO / "pyproject.toml").read_text()
    packages = re.search(r"^packages = \[(.*?)\]", pyproject, re.M | re.S)
    data = re.search(r'^"rajudge.report" = \[(.*?)\]', pyproject, re.M | re.S)
    assert packages is not None and data is not None
    assert "rajudge.report" in re.findall(r'"([^"]+)"', packages[1])
    patterns = re.findall(r'"([^"]+)"', data[1])
    assets = [p for p in (REPO / "rajudge" / "report").iterdir() if p.suffix not in (".py", "")]
    assert {p.name for p in assets} >= {"page.html", "report.css", "report.js"}
    assert all(any(p.match(pattern) for pattern in patterns) for p in assets)


def rajudge(*args: str, cwd: Path, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rajudge", "report", *args],
        input=stdin,
        capture_output=True,
        cwd=cwd,
        timeout=120,
    )


def test_cli_writes_the_page(tmp_path: Path) -> None:
    done = rajudge(str(SAMPLE), "-o", "report.html", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr.decode().strip() == "report: 13 items -> report.html"
    page = (tmp_path / "report.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and '"id":"learn-python"' in page


def test_cli_reads_stdin_and_writes_stdout(tmp_path: Path) -> None:
    done = rajudge("-", cwd=tmp_path, stdin=SAMPLE.read_bytes())
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(b"<!DOCTYPE html>") and done.stderr == b""


def test_cli_reports_bad_lines_and_still_writes_the_rest(tmp_path: Path) -> None:
    records: list[dict[str, Any] | str] = [*sample_records()[:2], "[1]", _broken("text")]
    write_jsonl(tmp_path / "judged.jsonl", records)
    done = rajudge("judged.jsonl", "-o", "report.html", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.decode().splitlines() == [
        "error: judged.jsonl:3: expected a JSON object, got a list",
        "error: judged.jsonl:4: response 'short' must be a string",
        "report: 2 items -> report.html",
    ]
    page = (tmp_path / "report.html").read_text()
    assert '"skipped":2' in page


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("missing", "error: input file not found: judged.jsonl"),
        ("empty", "error: judged.jsonl: no record of rajudge score to report on"),
        ("folder", "error: report.html: cannot write: Is a directory"),
    ],
)
def test_cli_usage_errors_are_one_line_and_exit_2(tmp_path: Path, setup: str, message: str) -> None:
    if setup != "missing":
        write_jsonl(tmp_path / "judged.jsonl", [] if setup == "empty" else sample_records()[:1])
    if setup == "folder":
        (tmp_path / "report.html").mkdir()
    done = rajudge("judged.jsonl", "-o", "report.html", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.decode().strip() == message


def test_ten_thousand_items_make_one_page(tmp_path: Path) -> None:
    items = [page_item(r) for r in many_records(10_000)]
    page = render_page(page_model(items, skipped=0))
    assert page.count('"id":"item-') == 10_000
    assert (
        orjson.loads(re.search(r'application/json">(.*?)</script>', page, re.S)[1])["summary"][
            "items"
        ]
        == 10_000
    )
