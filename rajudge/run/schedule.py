"""The scheduler: every item under every principle, results in input order, failures per item.

Judgments are scheduled so that those sharing a prefix (principle, prompt) run together, up to
the backend's `batch_size` at once (`parallel` in llama.cpp, `concurrency` requests to a
server); output order never depends on that schedule.

It is also where a run meets earlier ones: the result cache answers judgments made before, and
`resume` decides which items an earlier run already wrote, by the `key` each record carries.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from itertools import islice
from typing import Any, TypeVar

from rajudge.engine.base import Backend, Job
from rajudge.errors import InputError
from rajudge.judging.protocol import presentation_orders
from rajudge.judging.scoring import combine
from rajudge.output.schema import SCHEMA_VERSION
from rajudge.records import Item, ItemResult, Judgment, Principle
from rajudge.run.cache import Fingerprint, ResultCache, digest
from rajudge.settings import EngineSettings

_KEY_LENGTH = 16  # hex digits of a record key: 64 bits, collision-free for any real file
_WINDOW_BATCHES = 4  # items read ahead: this many batches of `parallel` judgments

T = TypeVar("T")


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

    def jobs(item: Item) -> list[Job]:
        orders = _orders(item, backend.settings)
        return [Job(item, p, order) for p in _chosen(item, principles) for order in orders]

    for item, outcome in judge_groups(backend, items, jobs, fingerprint=fingerprint, cache=cache):
        if isinstance(outcome, InputError):
            yield outcome
        else:
            judgments = _combined(outcome, _orders(item, backend.settings))
            chosen = tuple(j.principle for j in judgments)
            key = result_key(item, chosen, fingerprint)
            yield ItemResult(item=item, judgments=judgments, key=key)


def _orders(item: Item, settings: EngineSettings) -> list[tuple[str, ...] | None]:
    """Each judgment's presentation orders: the backend's seeded one, or K balanced ones."""
    if settings.permutations == 1:
        return [None]
    return list(presentation_orders(item, settings.seed, settings.permutations))


def _combined(
    judgments: Sequence[Judgment], orders: Sequence[tuple[str, ...] | None]
) -> tuple[Judgment, ...]:
    """One verdict per principle from its judgments in `orders` (consecutive, job order)."""
    count = len(orders)
    names = orders[0] or ()
    if count > 1:
        judgments = [
            replace(judgment, shown=orders[index % count] or ())
            for index, judgment in enumerate(judgments)
        ]
    return tuple(
        combine(judgments[start : start + count], names)
        for start in range(0, len(judgments), count)
    )


def judge_groups(
    backend: Backend,
    owners: Iterable[T],
    jobs_of: Callable[[T], Sequence[Job]],
    *,
    fingerprint: Fingerprint,
    cache: ResultCache | None = None,
) -> Iterator[tuple[T, tuple[Judgment, ...] | InputError]]:
    """Judge every owner's jobs; yield each owner with its judgments (or its first failure).

    Owners are read a window at a time. Within a window, jobs the cache knows are answered from
    it and the rest go to the backend grouped by principle, then by prompt, so that jobs sharing
    a prefix run next to each other; owners still come out in input order, each as soon as it
    and every owner before it are done. `jobs_of` may raise InputError for an owner.
    """
    window = max(1, backend.batch_size) * _WINDOW_BATCHES
    iterator = iter(owners)
    while chunk := list(islice(iterator, window)):
        yield from _judge_window(backend, chunk, jobs_of, fingerprint, cache)


def _judge_window(
    backend: Backend,
    owners: Sequence[T],
    jobs_of: Callable[[T], Sequence[Job]],
    fingerprint: Fingerprint,
    cache: ResultCache | None,
) -> Iterator[tuple[T, tuple[Judgment, ...] | InputError]]:
    jobs: list[Job] = []
    owner_of: list[int] = []
    failed: dict[int, InputError] = {}
    expected: list[int] = []
    for index, owner in enumerate(owners):
        try:
            own = jobs_of(owner)
        except InputError as exc:
            failed[index] = exc
            own = []
        jobs += own
        owner_of += [index] * len(own)
        expected.append(len(own))
    done: list[dict[int, Judgment]] = [{} for _ in owners]
    emitted = 0
    for job_index, outcome in _outcomes(backend, jobs, fingerprint, cache):
        at = owner_of[job_index]
        if isinstance(outcome, InputError):
            failed.setdefault(at, outcome)
        else:
            done[at][job_index] = outcome
        while emitted < len(owners) and (
            emitted in failed or len(done[emitted]) == expected[emitted]
        ):
            yield owners[emitted], _result(done[emitted], failed.get(emitted))
            emitted += 1
    for index in range(emitted, len(owners)):
        yield owners[index], _result(done[index], failed.get(index))


def _outcomes(
    backend: Backend, jobs: Sequence[Job], fingerprint: Fingerprint, cache: ResultCache | None
) -> Iterator[tuple[int, Judgment | InputError]]:
    """Each job's outcome by index: cached ones first, then the backend's in prefix order."""
    todo = []
    for index, job in enumerate(jobs):
        found = None
        if cache is not None:
            found = cache.find(
                fingerprint, job.item, job.principle, job.order, model=backend.model_name
            )
        if found is None:
            todo.append(index)
        else:
            yield index, found
    todo.sort(key=_prefix_order(jobs))
    size = max(1, backend.batch_size)
    for start in range(0, len(todo), size):
        batch = todo[start : start + size]
        outcomes = backend.judge_jobs([jobs[index] for index in batch])
        for index, outcome in zip(batch, outcomes, strict=True):
            if cache is not None and isinstance(outcome, Judgment):
                job = jobs[index]
                cache.store(fingerprint, job.item, job.principle, job.order, outcome)
            yield index, outcome


def _prefix_order(jobs: Sequence[Job]) -> Callable[[int], tuple[int, int, int]]:
    """Sort key: principle, then prompt, each by first appearance; else input order."""
    principles: dict[str, int] = {}
    prompts: dict[str, int] = {}
    for job in jobs:
        principles.setdefault(job.principle.text, len(principles))
        prompts.setdefault(job.item.prompt, len(prompts))
    return lambda i: (principles[jobs[i].principle.text], prompts[jobs[i].item.prompt], i)


def _result(
    judgments: dict[int, Judgment], failure: InputError | None
) -> tuple[Judgment, ...] | InputError:
    if failure is not None:
        return failure
    return tuple(judgments[index] for index in sorted(judgments))


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
    present: Counter[object] = Counter(record.get("key") for record in earlier)
    matched: Counter[object] = Counter()
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
