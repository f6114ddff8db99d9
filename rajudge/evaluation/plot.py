"""A picture of an evaluation: accuracy by subset with 95% CIs, as a self-contained SVG."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rajudge.output import svg

_ROW = 28
_LABEL_WIDTH = 220
_BAR_WIDTH = 420
_TOP = 58
_TICKS = (0.0, 0.25, 0.5, 0.75, 1.0)


@dataclass(frozen=True)
class Bar:
    label: str
    value: float  # 0..1
    low: float
    high: float
    count: int


def accuracy_chart(bars: Sequence[Bar], title: str, note: str = "") -> str:
    """Horizontal bars of accuracy with CI whiskers and a dashed line at chance (0.5)."""
    height = _TOP + _ROW * len(bars) + 40
    width = _LABEL_WIDTH + _BAR_WIDTH + 170

    def x(value: float) -> float:
        return _LABEL_WIDTH + value * _BAR_WIDTH

    parts = [
        svg.text(12, 22, title, font_size=15, font_weight="bold"),
        svg.text(12, 40, note, fill="#a33") if note else "",
    ]
    for i, bar in enumerate(bars):
        y = _TOP + i * _ROW
        mid = y + _ROW / 2
        parts += [
            svg.text(_LABEL_WIDTH - 8, mid + 4, f"{bar.label} (n={bar.count})", text_anchor="end"),
            f'<rect x="{x(0)}" y="{y + 5}" width="{bar.value * _BAR_WIDTH:.1f}" '
            f'height="{_ROW - 10}" fill="#4a7bb7"/>',
            svg.line(x(bar.low), x(bar.high), mid, mid, stroke_width=1.5),
            svg.text(x(1) + 8, mid + 4, f"{bar.value:.3f} [{bar.low:.2f}, {bar.high:.2f}]"),
        ]
    bottom = _TOP + _ROW * len(bars)
    parts += [
        svg.line(x(0.5), x(0.5), _TOP, bottom, stroke="#c33", stroke_dasharray="4 3"),
        svg.line(x(0), x(1), bottom, bottom),
    ]
    parts += [svg.text(x(t), bottom + 16, f"{t:g}", text_anchor="middle") for t in _TICKS]
    parts.append(
        svg.text(
            x(0.5),
            bottom + 34,
            "pairwise accuracy (bars), 95% bootstrap CI (whiskers), chance (dashed)",
            text_anchor="middle",
        )
    )
    return svg.document(width, height, parts)
