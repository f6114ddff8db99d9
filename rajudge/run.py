"""A batch run: every item under every principle, results in input order, failures per item.

It is also where a run meets earlier ones: the result cache answers judgments made before, and
`resume` decides which items an earlier run already wrote, by the `key` each record carries.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from rajudge.cache import Fingerprint, ResultCache, digest
from rajudge.engine.base import Backend
from rajudge.errors import InputError
from rajudge.output import SCHEMA_VERSION
from rajudge.records import Item, ItemResult, Principle

_KEY_LENGTH = 16  # hex digits of a record key: 64 bits, collision-free for any real file


def judge_items(
    backend: Backend,
    items: Iterable[Item],
    principles: Sequence[Principle] = (),
    *,
    fingerprint: Fingerprint | None = None,
    cache: ResultCache | None = None,
) -> Iterator[ItemResult | InputError]:
    """Judge each item under `principles` (or its own principle when none are given).

    Yields one ItemResult or one InputError per item, in input order; an item that fails under
    any principle is reported once and left out, never half-judged. `fingerprint` names the
    model's weights for cache and record keys (default: the backend's model name and settings).
    """
    fingerprint = fingerprint or Fingerprint.of(backend.model_name, backend.settings)

    def judge_or_fail(item: Item) -> ItemResult | InputError:
        try:
            return judge_item(backend, item, principles, fingerprint=fingerprint, cache=cache)
        except InputError as exc:
            return exc

    # A server backend judges several items at once, still yielding them in input order.
    judge_many = getattr(backend, "judge_many", None)
    if judge_many is None:
        yield from map(judge_or_fail, items)
    else:
        yield from judge_many(items, judge_or_fail)


def judge_item(
    backend: Backend,
    item: Item,
    principles: Sequence[Principle] = (),
    *,
    fingerprint: Fingerprint | None = None,
    cache: ResultCache | None = None,
) -> ItemResult:
    fingerprint = fingerprint or Fingerprint.of(backend.model_name, backend.settings)
    chosen = _chosen(item, principles)
    if cache is None:
        judgments = tuple(backend.judge(item, p) for p in chosen)
    else:
        judgments = tuple(cache.judgment(backend, fingerprint, item, p) for p in chosen)
    return ItemResult(item=item, judgments=judgments, key=result_key(item, chosen, fingerprint))


def result_key(item: Item, principles: Sequence[Principle], fingerprint: Fingerprint) -> str:
    """What an output record is the result of: item, principles, weights and settings."""
    material = [
        SCHEMA_VERSION,
        item.id,
        item.prompt,
        list(item.responses.items()),
        [[p.text, p.weight] for p in principles],
        asdict(fingerprint),
    ]
    return digest(material)[:_KEY_LENGTH]


@dataclass(frozen=True)
class Resumption:
    """What continuing an earlier output means: which items to judge, which records stay."""

    todo: list[Item]  # items without a matching record, input order
    kept: list[dict[str, Any]]  # earlier records that match an item, their order
    dropped: int  # earlier records that match none (other settings, other items, repeats)


def resume(
    items: Sequence[Item],
    principles: Sequence[Principle],
    earlier: Sequence[dict[str, Any]],
    fingerprint: Fingerprint,
) -> Resumption:
    """Match earlier records to items by key: each record stands for one item, once.

    Records made under other settings, for items no longer in the input, or repeated, match
    nothing and are dropped, so the finished output is exactly what one run would write.
    """
    present = Counter(record.get("key") for record in earlier)
    matched: Counter[str] = Counter()
    todo = []
    for item in items:
        try:
            key = result_key(item, _chosen(item, principles), fingerprint)
        except InputError:
            todo.append(item)  # judged again, to be reported again
            continue
        if matched[key] < present[key]:
            matched[key] += 1
        else:
            todo.append(item)
    kept = []
    for record in earlier:
        if matched[record.get("key")] > 0:
            matched[record.get("key")] -= 1
            kept.append(record)
    return Resumption(todo=todo, kept=kept, dropped=len(earlier) - len(kept))


def _chosen(item: Item, principles: Sequence[Principle]) -> tuple[Principle, ...]:
    chosen = tuple(principles) or ((item.principle,) if item.principle else ())
    if not chosen:
        raise InputError(
            item.where or item.id, "no principle: pass -p/--principle or add a 'principle' field"
        )
    return chosen
