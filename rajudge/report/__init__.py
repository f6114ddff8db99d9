"""`rajudge report`: the verdicts of `rajudge score` as one self-contained HTML page.

records (read the JSONL back, line by line, errors located) -> page (summary, the data as
embedded JSON, the template with its stylesheet and script inlined). A comparison (what
`rajudge compare -o DIR` writes) is the same page with its leaderboard and chart on top.
"""

from __future__ import annotations

from rajudge.report.comparison import (
    Comparison,
    check_summary,
    comparison_model,
    find_comparison,
)
from rajudge.report.page import embedded_json, page_model, render_page
from rajudge.report.records import Records, page_item, parse_records, read_records

__all__ = [
    "Comparison",
    "Records",
    "check_summary",
    "comparison_model",
    "embedded_json",
    "find_comparison",
    "page_item",
    "page_model",
    "parse_records",
    "read_records",
    "render_page",
]
