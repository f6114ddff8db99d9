"""A batch run: every item under every principle, results in input order, failures per item."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from rajudge.engine.base import Backend
from rajudge.errors import InputError
from rajudge.records import Item, ItemResult, Principle


def judge_items(
    backend: Backend, items: Iterable[Item], principles: Sequence[Principle] = ()
) -> Iterator[ItemResult | InputError]:
    """Judge each item under `principles` (or its own principle when none are given).

    Yields one ItemResult or one InputError per item, in input order; an item that fails under
    any principle is reported once and left out, never half-judged.
    """
    for item in items:
        try:
            yield judge_item(backend, item, principles)
        except InputError as exc:
            yield exc


def judge_item(backend: Backend, item: Item, principles: Sequence[Principle] = ()) -> ItemResult:
    chosen = tuple(principles) or ((item.principle,) if item.principle else ())
    if not chosen:
        raise InputError(
            item.where or item.id, "no principle: pass -p/--principle or add a 'principle' field"
        )
    return ItemResult(item=item, judgments=tuple(backend.judge(item, p) for p in chosen))
