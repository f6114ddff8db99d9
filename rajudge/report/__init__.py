"""`rajudge report`: the verdicts of `rajudge score` as one self-contained HTML page.

records (read the JSONL back, line by line, errors located) -> page (summary, the data as
embedded JSON, the template with its stylesheet and script inlined).
"""

from __future__ import annotations

from rajudge.report.page import embedded_json, page_model, render_page
from rajudge.report.records import Records, page_item, parse_records, read_records

__all__ = [
    "Records",
    "embedded_json",
    "page_item",
    "page_model",
    "parse_records",
    "read_records",
    "render_page",
]
