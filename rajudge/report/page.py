"""The report page: a summary of the items, and one self-contained HTML file that shows them.

The page is the template `page.html` with its stylesheet and script inlined and the data
embedded as JSON; the script builds every element from that data with textContent, so no text
from a record is ever parsed as HTML. A Content-Security-Policy lets only this script and this
stylesheet run and the page reach nothing, whether opened from file:// or served.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Sequence
from importlib import resources
from typing import Any

import orjson

from rajudge.report.records import Obj

_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")


def page_model(items: Sequence[Obj], skipped: int) -> Obj:
    """What the page shows: `summary` above, `items` (from `page_item`) below.

    `skipped`: input lines that could not be read, so that the page says it is not the whole
    file.
    """
    histogram = [0] * 5
    principles: dict[str, list[Obj]] = {}
    for item in items:
        for judgment in item["judgments"]:
            principles.setdefault(judgment["principle"], []).append(judgment)
            for score in judgment["scores"].values():
                histogram[score["score"] - 1] += 1
    return {
        "summary": {
            "items": len(items),
            "judgments": sum(len(item["judgments"]) for item in items),
            "skipped": skipped,
            "models": sorted({item["model"] for item in items}),
            "modes": sorted({item["mode"] for item in items}),
            "principles": [_principle_summary(n, js) for n, js in principles.items()],
            "histogram": histogram,
        },
        "items": list(items),
    }


def _principle_summary(name: str, judgments: list[Obj]) -> Obj:
    scores = [score for judgment in judgments for score in judgment["scores"].values()]
    return {
        "name": name,
        "judgments": len(judgments),
        "mean_score": round(sum(s["score"] for s in scores) / len(scores), 4),
        "mean_expected": round(sum(s["expected"] for s in scores) / len(scores), 4),
    }


def render_page(model: Obj) -> str:
    """The HTML file: template, inline stylesheet and script, the model as embedded JSON."""
    style, script = _asset("report.css"), _asset("report.js")
    parts = {
        "csp": (
            "default-src 'none'; base-uri 'none'; form-action 'none'; "
            f"style-src {_source_hash(style)}; script-src {_source_hash(script)}"
        ),
        "style": style,
        "script": script,
        "data": embedded_json(model),
    }
    return _PLACEHOLDER.sub(lambda match: parts[match[1]], _asset("page.html"))


def embedded_json(value: Any) -> str:
    """JSON to sit inside <script type="application/json">: `<` is written as \\u003c, so no
    text in it can end the element (`</script`) or start a comment (`<!--`)."""
    return orjson.dumps(value).decode().replace("<", "\\u003c")


def _source_hash(text: str) -> str:
    """The CSP source that allows exactly this inline script or stylesheet."""
    digest = hashlib.sha256(text.encode()).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"


def _asset(name: str) -> str:
    return resources.files("rajudge.report").joinpath(name).read_text(encoding="utf-8")
