"""Workload items as rajudge's own records, so every contender judges the same values."""

from __future__ import annotations

from bench.jobs import Json
from rajudge.records import Item, Principle


def to_item(item: Json) -> Item:
    own = item["principle"]
    principle = Principle(name="item", text=own, source="item") if own is not None else None
    return Item(item["id"], item["prompt"], dict(item["responses"]), principle, item["id"])


def to_principles(workload: Json) -> list[Principle]:
    """The principles given for every item; empty when each item brings its own."""
    return [Principle(name=p["name"], text=p["text"]) for p in workload["principles"]]
