"""A picture of an evaluation: accuracy by subset with 95% CIs, as a self-contained SVG.

Hand-written SVG keeps a plotting library out of the install for one chart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

_ROW = 28
_LABEL_WIDTH = 220
_BAR_WIDTH = 420
_TOP = 58


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
    x = lambda v: _LABEL_WIDTH + v * _BAR_WIDTH  # noqa: E731
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'font-family="sans-serif" font-size="13">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="12" y="22" font-size="15" font-weight="bold">{escape(title)}</text>',
        f'<text x="12" y="40" fill="#a33">{escape(note)}</text>' if note else "",
    ]
    for i, bar in enumerate(bars):
        y = _TOP + i * _ROW
        mid = y + _ROW / 2
        parts += [
            f'<text x="{_LABEL_WIDTH - 8}" y="{mid + 4}" text-anchor="end">'
            f"{escape(bar.label)} (n={bar.count})</text>",
            f'<rect x="{x(0)}" y="{y + 5}" width="{bar.value * _BAR_WIDTH:.1f}" '
            f'height="{_ROW - 10}" fill="#4a7bb7"/>',
            f'<line x1="{x(bar.low):.1f}" x2="{x(bar.high):.1f}" y1="{mid}" y2="{mid}" '
            'stroke="black" stroke-width="1.5"/>',
            f'<text x="{x(1) + 8}" y="{mid + 4}">{bar.value:.3f} '
            f"[{bar.low:.2f}, {bar.high:.2f}]</text>",
        ]
    bottom = _TOP + _ROW * len(bars)
    parts += [
        f'<line x1="{x(0.5)}" x2="{x(0.5)}" y1="{_TOP}" y2="{bottom}" stroke="#c33" '
        'stroke-dasharray="4 3"/>',
        f'<line x1="{x(0)}" x2="{x(1)}" y1="{bottom}" y2="{bottom}" stroke="black"/>',
    ]
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        parts.append(f'<text x="{x(tick)}" y="{bottom + 16}" text-anchor="middle">{tick:g}</text>')
    parts.append(
        f'<text x="{x(0.5)}" y="{bottom + 34}" text-anchor="middle">pairwise accuracy '
        "(bars), 95% bootstrap CI (whiskers), chance (dashed)</text>"
    )
    parts.append("</svg>")
    return "\n".join(p for p in parts if p) + "\n"
