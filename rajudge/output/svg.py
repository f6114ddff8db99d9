"""Hand-written SVG for the few charts rajudge draws: keeps a plotting library out of the install.

Every text and attribute value goes through `html.escape`, so a subset or system name holding
markup stays text and the file stays well-formed XML.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape

Attribute = str | float | int


def document(width: float, height: float, parts: Iterable[str]) -> str:
    """A standalone SVG file: white background, the given elements (empty ones dropped); the
    viewBox lets a page scale it down to fit."""
    head = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:g}" height="{height:g}" '
        f'viewBox="0 0 {width:g} {height:g}" font-family="sans-serif" font-size="13">',
        f'<rect width="{width:g}" height="{height:g}" fill="white"/>',
    ]
    return "\n".join([*head, *(p for p in parts if p), "</svg>"]) + "\n"


def text(x: float, y: float, content: str, **attributes: Attribute) -> str:
    """A <text> element; attribute names are written with hyphens (text_anchor=...)."""
    return f'<text x="{x:.1f}" y="{y:.1f}"{_attributes(attributes)}>{escape(content)}</text>'


def line(x1: float, x2: float, y1: float, y2: float, **attributes: Attribute) -> str:
    """A <line> element; black unless a stroke is given."""
    attributes.setdefault("stroke", "black")
    return (
        f'<line x1="{x1:.1f}" x2="{x2:.1f}" y1="{y1:.1f}" y2="{y2:.1f}"{_attributes(attributes)}/>'
    )


def _attributes(attributes: dict[str, Attribute]) -> str:
    return "".join(
        f' {name.rstrip("_").replace("_", "-")}="{escape(str(value))}"'
        for name, value in attributes.items()
    )
