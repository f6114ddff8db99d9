"""A picture of a comparison: each system's rating with its 95% interval, raw and
length-controlled side by side, best on top, the baseline marked, as a self-contained SVG.

Drawn from the summary JSON dict alone (the keys `rajudge compare -f json` writes), so that
`rajudge report` can draw it again from a saved summary.json.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from html import escape
from typing import Any

from rajudge.output import svg

_LABEL_WIDTH = 190
_PANEL_WIDTH = 300
_GAP = 36
_VALUES_WIDTH = 270
_ROW = 26
_TOP = 84
_NAME_CHARACTERS = 26  # longer names are cut in the label column (whole in the hover title)
_PANELS = (("rating", "rating_ci", "raw"), ("lc_rating", "lc_rating_ci", "length-controlled"))
_BASELINE_COLOUR = "#c33"
_MARK_COLOUR = "#4a7bb7"

Summary = Mapping[str, Any]


def ratings_chart(summary: Summary) -> str:
    """The SVG text: one row per system in the summary's order (best first), one dot and one
    interval per panel; a dashed line at the baseline's rating in each panel."""
    systems = summary["systems"]
    ticks = _ticks(_values(systems))
    bottom = _TOP + _ROW * len(systems)
    width = _LABEL_WIDTH + 2 * _PANEL_WIDTH + _GAP + _VALUES_WIDTH
    parts = [*_heading(summary)]
    for index, (_, _, title) in enumerate(_PANELS):
        x = _scale(index, ticks)
        parts += _panel_frame(x, title, ticks, bottom)
        parts += _baseline_line(x, summary, bottom)
    values_x = _scale(1, ticks)(ticks[-1]) + 14
    parts.append(svg.text(values_x, _TOP - 8, "raw  ·  length-controlled", font_weight="bold"))
    for row, system in enumerate(systems):
        parts += _row(system, row, summary["baseline"], ticks, values_x)
    parts.append(
        svg.text(
            _LABEL_WIDTH,
            bottom + 40,
            "Bradley-Terry rating, Elo scale (dot); 95% bootstrap interval over prompts (line); "
            "baseline (dashed)",
        )
    )
    return svg.document(width, bottom + 56, parts)


def _heading(summary: Summary) -> list[str]:
    judge = [summary["model"], summary["mode"] and f"{summary['mode']} mode"]  # null: not given
    facts = " · ".join(
        [f"{summary['prompts']} prompts, {summary['judgments']} judgments", *filter(None, judge)]
    )
    parts = [
        svg.text(
            12, 22, f"Ratings against {summary['baseline']}", font_size=15, font_weight="bold"
        ),
        svg.text(12, 40, facts, fill="#555"),
    ]
    if not summary["length_controllable"]:
        parts.append(
            svg.text(
                12,
                56,
                "answer lengths do not tell the systems apart: length-controlled = raw",
                fill="#a33",
            )
        )
    return parts


def _panel_frame(
    x: Callable[[float], float], title: str, ticks: Sequence[float], bottom: float
) -> list[str]:
    left, right = x(ticks[0]), x(ticks[-1])
    parts = [
        svg.text((left + right) / 2, _TOP - 8, title, text_anchor="middle", font_weight="bold"),
        svg.line(left, right, bottom, bottom),
    ]
    for tick in ticks:
        parts += [
            svg.line(x(tick), x(tick), _TOP, bottom, stroke="#e3e6eb"),
            svg.text(x(tick), bottom + 16, f"{tick:g}", text_anchor="middle", font_size=11),
        ]
    return parts


def _baseline_line(x: Callable[[float], float], summary: Summary, bottom: float) -> list[str]:
    rating = next(s["rating"] for s in summary["systems"] if s["name"] == summary["baseline"])
    if rating is None:
        return []
    return [
        svg.line(
            x(rating),
            x(rating),
            _TOP,
            bottom,
            stroke=_BASELINE_COLOUR,
            stroke_dasharray="4 3",
            class_="baseline",
        )
    ]


def _row(
    system: Mapping[str, Any], row: int, baseline: str, ticks: Sequence[float], values_x: float
) -> list[str]:
    name = system["name"]
    mid = _TOP + row * _ROW + _ROW / 2
    is_baseline = name == baseline
    label = _short(name) + (" (baseline)" if is_baseline else "")
    parts = [
        f'<g class="system" data-name="{escape(name)}">',
        f"<title>{escape(_described(system))}</title>",
        svg.text(
            _LABEL_WIDTH - 10,
            mid + 4,
            label,
            text_anchor="end",
            font_weight="bold" if is_baseline else "normal",
        ),
    ]
    values = []
    for index, (key, ci_key, _) in enumerate(_PANELS):
        x = _scale(index, ticks)
        kind = "raw" if index == 0 else "lc"
        colour = _BASELINE_COLOUR if is_baseline else _MARK_COLOUR
        if system[ci_key] is not None:
            low, high = system[ci_key]
            parts.append(
                svg.line(x(low), x(high), mid, mid, stroke=colour, stroke_width=2, class_=kind)
            )
        if system[key] is not None:
            parts.append(
                f'<circle class="{kind}" cx="{x(system[key]):.1f}" cy="{mid:.1f}" r="4.5" '
                f'fill="{colour}"/>'
            )
        values.append(_rating_text(system[key], system[ci_key]))
    parts += [svg.text(values_x, mid + 4, "  ·  ".join(values)), "</g>"]
    return parts


def _described(system: Mapping[str, Any]) -> str:
    """The hover title: the name whole and both ratings with their intervals."""
    raw = _rating_text(system["rating"], system["rating_ci"])
    controlled = _rating_text(system["lc_rating"], system["lc_rating_ci"])
    return f"{system['name']}: rating {raw}; length-controlled {controlled}"


def _rating_text(value: float | None, ci: Sequence[float] | None) -> str:
    if value is None:
        return "–"  # noqa: RUF001  (en dash)
    return f"{value:.0f}" + (f" [{ci[0]:.0f}, {ci[1]:.0f}]" if ci is not None else "")


def _short(name: str) -> str:
    return name if len(name) <= _NAME_CHARACTERS else name[: _NAME_CHARACTERS - 1] + "…"


def _values(systems: Sequence[Mapping[str, Any]]) -> list[float]:
    """Every rating and interval end the chart must show, raw and controlled."""
    found: list[float] = []
    for system in systems:
        for key, ci_key, _ in _PANELS:
            found += [v for v in (system[key], *(system[ci_key] or ())) if v is not None]
    return found


def _ticks(values: Sequence[float]) -> list[float]:
    """Round tick values (steps of 1, 2 or 5 times a power of ten) that span all the values;
    the first and last are the ends of both panels' shared axis."""
    low, high = min(values, default=1000.0), max(values, default=1000.0)
    if high - low < 1:  # one value only (the baseline alone): a narrow axis around it
        low, high = low - 5, high + 5
    rough = (high - low) / 5
    magnitude = 10 ** math.floor(math.log10(rough))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= rough)
    first, last = math.floor(low / step), math.ceil(high / step)
    return [i * step for i in range(first, last + 1)]


def _scale(panel: int, ticks: Sequence[float]) -> Callable[[float], float]:
    """Rating -> x in the given panel (0 raw, 1 length-controlled); both share one axis so the
    two sides compare at a glance."""
    left = _LABEL_WIDTH + panel * (_PANEL_WIDTH + _GAP)
    low, high = ticks[0], ticks[-1]
    return lambda value: left + (value - low) / (high - low) * _PANEL_WIDTH
