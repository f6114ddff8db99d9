"""How far to trust a judge: run it over labelled data and measure agreement with the labels.

Preference pairs (`prompt`, `chosen`, `rejected`) are shown in a seeded random A/B order and,
with `swap`, in the other order too; ranked lists (`prompt`, `responses` plus gold `scores` or a
gold `ranking`) can be judged under several shuffles whose expected scores are averaged.
"""

from __future__ import annotations

import dataclasses
import random
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Any

import orjson

from rajudge.engine.base import Backend, Job
from rajudge.errors import InputError, UsageError
from rajudge.evaluation import metrics
from rajudge.judging import protocol
from rajudge.judging.scoring import combine
from rajudge.read import parse_lines
from rajudge.records import Item, Judgment, Principle
from rajudge.run.cache import Fingerprint, ResultCache
from rajudge.run.schedule import judge_groups


@dataclass(frozen=True)
class LabelledItem:
    item: Item
    subset: str
    gold: dict[str, float]  # higher is better; a pair is {"chosen": 1, "rejected": 0}

    @property
    def is_pair(self) -> bool:
        return set(self.item.responses) == {"chosen", "rejected"}


@dataclass(frozen=True)
class Prediction:
    """One labelled item judged under every presentation order asked for."""

    labelled: LabelledItem
    judgments: tuple[Judgment, ...]
    orders: tuple[tuple[str, ...], ...]  # the presentation order of each judgment

    def mean_of(self, field: Callable[[Any], float]) -> dict[str, float]:
        """Per response, the mean over presentations of a ResponseScore field."""
        totals: dict[str, float] = defaultdict(float)
        for judgment in self.judgments:
            for response in judgment.responses:
                totals[response.name] += field(response)
        return {name: total / len(self.judgments) for name, total in totals.items()}

    @property
    def expected(self) -> dict[str, float]:
        return self.mean_of(lambda r: r.expected)

    @property
    def scores(self) -> dict[str, float]:
        return self.mean_of(lambda r: r.score)

    @property
    def winners(self) -> list[str]:
        return [j.ranking[0] for j in self.judgments]

    @property
    def verdict(self) -> Judgment:
        """The one verdict over every order, as `rajudge score --permutations K` gives it."""
        return combine(self.judgments, self.orders[0])


def read_labelled(
    path: str, principle: Principle | None = None
) -> tuple[list[LabelledItem], list[InputError]]:
    """Labelled items from a JSONL file, each line checked like `rajudge score` input."""
    try:
        lines = Path(path).read_bytes().splitlines()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from exc
    read = parse_lines(lines, path)
    items, errors = [], list(read.errors)
    for item in read.items:
        raw = orjson.loads(lines[int(item.where.rsplit(":", 1)[1]) - 1])
        try:
            gold = _gold(item, raw)
        except InputError as exc:
            errors.append(exc)
            continue
        if principle is not None:
            item = dataclasses.replace(item, principle=principle)
        subset = str(raw.get("subset") or raw.get("source") or "all")
        items.append(LabelledItem(item=item, subset=subset, gold=gold))
    return items, errors


def sample(items: Sequence[LabelledItem], limit: int | None, seed: int) -> list[LabelledItem]:
    """A reproducible sample of `limit` items, kept in file order."""
    if limit is None or limit >= len(items):
        return list(items)
    chosen = set(random.Random(seed).sample(range(len(items)), limit))
    return [item for i, item in enumerate(items) if i in chosen]


def presentation_orders(
    labelled: LabelledItem, *, seed: int, swap: bool, permutations: int
) -> list[tuple[str, ...]]:
    """The orders to show the responses in: `permutations` balanced ones; a swapped pair both."""
    count = max(permutations, 2 if swap and labelled.is_pair else 1)
    return protocol.presentation_orders(labelled.item, seed, count)


def predict(
    backend: Backend,
    items: Iterable[LabelledItem],
    *,
    seed: int = 0,
    swap: bool = False,
    permutations: int = 1,
    cache: ResultCache | None = None,
    fingerprint: Fingerprint | None = None,
) -> Iterable[Prediction | InputError]:
    """Judge each labelled item under its presentation orders; an item fails as a whole.

    With a result cache, an evaluation that was interrupted or is run again only judges what
    it has not judged before.
    """
    fingerprint = fingerprint or Fingerprint.of(backend.model_name, backend.settings)

    def jobs(labelled: LabelledItem) -> list[Job]:
        item = labelled.item
        if item.principle is None:
            raise InputError(item.where, "no principle: pass --principle or add a 'principle'")
        return [Job(item, item.principle, order) for order in orders_of(labelled)]

    def orders_of(labelled: LabelledItem) -> list[tuple[str, ...]]:
        return presentation_orders(labelled, seed=seed, swap=swap, permutations=permutations)

    for labelled, outcome in judge_groups(
        backend, items, jobs, fingerprint=fingerprint, cache=cache
    ):
        if isinstance(outcome, InputError):
            yield outcome
        else:
            yield Prediction(labelled, outcome, tuple(orders_of(labelled)))


def evaluate(
    backend: Backend,
    items: Sequence[LabelledItem],
    *,
    data: str,
    principle: Principle | None = None,
    limit: int | None = None,
    swap: bool = False,
    contrast: Principle | None = None,
    is_demo: bool = False,
    unread: int = 0,
    fingerprint: Fingerprint | None = None,
    cache: ResultCache | None = None,
    on_start: Callable[[int], None] = lambda total: None,
    on_error: Callable[[InputError], None] = lambda error: None,
    on_item: Callable[[], None] = lambda: None,
) -> tuple[dict[str, Any], list[Prediction]]:
    """Judge the labelled `items` read from `data` and measure: the summary (`report`, how
    it was made, and with `contrast` the principle-flip check: the same items judged again
    under that principle) and the predictions. `principle` is the one every item was judged
    under (None: each its own), `limit` the sample size asked for, `unread` how many lines
    failed before judging; each judging pass is told to `on_start` with its item count."""
    settings = backend.settings

    def run(todo: Sequence[LabelledItem], permutations: int) -> tuple[list[Prediction], int]:
        on_start(len(todo))
        predictions: list[Prediction] = []
        failed = 0
        outcomes = predict(
            backend,
            todo,
            seed=settings.seed,
            swap=swap,
            permutations=permutations,
            cache=cache,
            fingerprint=fingerprint,
        )
        for outcome in outcomes:
            if isinstance(outcome, InputError):
                failed += 1
                on_error(outcome)
            else:
                predictions.append(outcome)
            on_item()
        return predictions, failed

    predictions, failed = run(items, settings.permutations)
    summary = report(predictions, failed=failed + unread, seed=settings.seed)
    summary["setup"] = {
        "data": data,
        "model": backend.model_name,
        "mode": settings.mode,
        "principle": principle.name if principle else "per item",
        "seed": settings.seed,
        "limit": limit,
        "swap": swap,
        "permutations": settings.permutations,
        "demo_model": is_demo,
    }
    if contrast is not None:
        again = [_with_principle(p.labelled, contrast) for p in predictions]
        flipped, _ = run(again, 1)
        summary["contrast"] = {
            "a": summary["setup"]["principle"],
            "b": contrast.name,
            **flip_report(predictions, flipped),
        }
    return summary, predictions


def _with_principle(labelled: LabelledItem, principle: Principle) -> LabelledItem:
    """The labelled item to be judged under `principle`."""
    return dataclasses.replace(
        labelled, item=dataclasses.replace(labelled.item, principle=principle)
    )


def item_record(prediction: Prediction) -> dict[str, Any]:
    """One line of the per-item predictions file, for error analysis."""
    labelled = prediction.labelled
    record: dict[str, Any] = {
        "id": labelled.item.id,
        "subset": labelled.subset,
        "gold": labelled.gold,
        "rankings": [list(j.ranking) for j in prediction.judgments],
        "expected": _rounded(prediction.expected),
        "scores": _rounded(prediction.scores),
        "rationales": [j.rationale for j in prediction.judgments],
    }
    record.update(_pair_measures(prediction) if labelled.is_pair else _list_measures(prediction))
    return record


def report(predictions: Sequence[Prediction], *, failed: int, seed: int = 0) -> dict[str, Any]:
    """Summary metrics with bootstrap 95% CIs, overall and by subset."""
    records = [item_record(p) for p in predictions]
    pairs = [r for r in records if "accuracy" in r]
    lists = [r for r in records if "kendall_tau" in r]
    by_subset: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in pairs:
        by_subset[record["subset"]].append(record)
    return {
        "items": len(records),
        "failed": failed,
        "pairs": _pair_summary(pairs, seed) if pairs else None,
        "lists": _list_summary(lists, seed) if lists else None,
        "subsets": {name: _pair_summary(rows, seed) for name, rows in sorted(by_subset.items())},
    }


def longer_response_pairs(items: Sequence[LabelledItem], min_ratio: float) -> list[LabelledItem]:
    """Pairs whose one response is at least `min_ratio` times longer than the other."""
    selected = []
    for labelled in items:
        lengths = sorted(len(text) for text in labelled.item.responses.values())
        if labelled.is_pair and lengths[0] and lengths[1] / lengths[0] >= min_ratio:
            selected.append(labelled)
    return selected


def flip_report(a: Sequence[Prediction], b: Sequence[Prediction]) -> dict[str, Any]:
    """How often the verdict changes between two principles over the same pairs.

    `longer_wins_*` is the share of pairs where the longer response won: a concise principle
    should push it down and a detailed one up.
    """
    by_id = {p.labelled.item.id: p for p in b}
    both = [(p, by_id[p.labelled.item.id]) for p in a if p.labelled.item.id in by_id]

    def longer_won(prediction: Prediction) -> float:
        responses = prediction.labelled.item.responses
        longer = max(responses, key=lambda name: len(responses[name]))
        return metrics.mean([w == longer for w in prediction.winners])

    flips = [float(pa.winners[0] != pb.winners[0]) for pa, pb in both]
    return {
        "pairs": len(both),
        "flip_rate": metrics.mean(flips),
        "flip_rate_ci": metrics.bootstrap_ci(flips),
        "longer_wins_a": metrics.mean([longer_won(pa) for pa, _ in both]),
        "longer_wins_b": metrics.mean([longer_won(pb) for _, pb in both]),
    }


def _gold(item: Item, raw: dict[str, Any]) -> dict[str, float]:
    names = list(item.responses)
    if set(names) == {"chosen", "rejected"}:
        return {"chosen": 1.0, "rejected": 0.0}
    scores, ranking = raw.get("scores"), raw.get("ranking")
    if (
        isinstance(scores, dict)
        and set(scores) == set(names)
        and all(map(_is_number, scores.values()))
    ):
        return {name: float(scores[name]) for name in names}
    if isinstance(ranking, list) and sorted(map(str, ranking)) == sorted(names):
        return {name: float(len(ranking) - ranking.index(name)) for name in names}
    raise InputError(
        item.where,
        "a labelled list needs gold 'scores' (name -> number for every response) "
        "or a gold 'ranking' (every response name, best first)",
    )


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _pair_measures(prediction: Prediction) -> dict[str, Any]:
    expected, scores = prediction.expected, prediction.scores
    winners = prediction.winners
    measures: dict[str, Any] = {
        "accuracy": metrics.mean([float(w == "chosen") for w in winners]),
        "accuracy_score": metrics.verdict(scores["chosen"], scores["rejected"]),
        "accuracy_expected": metrics.verdict(expected["chosen"], expected["rejected"]),
    }
    if len(winners) > 1:
        measures["swap_consistent"] = float(len(set(winners)) == 1)
        measures["accuracy_averaged"] = float(prediction.verdict.ranking[0] == "chosen")
    return measures


def _list_measures(prediction: Prediction) -> dict[str, Any]:
    gold, expected = prediction.labelled.gold, prediction.expected
    per_order = [{r.name: r.expected for r in j.responses} for j in prediction.judgments]
    agreement = [metrics.kendall_tau(x, y) for x, y in combinations(per_order, 2)]
    return {
        "kendall_tau": metrics.kendall_tau(gold, expected),
        "spearman": metrics.spearman(gold, expected),
        "ndcg": metrics.ndcg(gold, expected),
        "pairwise_accuracy": metrics.pairwise_accuracy(gold, expected),
        "pairwise_accuracy_score": metrics.pairwise_accuracy(gold, prediction.scores),
        "shuffle_agreement": metrics.mean(agreement) if agreement else None,
    }


def _pair_summary(rows: Sequence[dict[str, Any]], seed: int) -> dict[str, Any]:
    summary: dict[str, Any] = {"n": len(rows)}
    keys = (
        "accuracy",
        "accuracy_score",
        "accuracy_expected",
        "swap_consistent",
        "accuracy_averaged",
    )
    for key in keys:
        values = [r[key] for r in rows if key in r]
        if values:
            summary[key] = metrics.mean(values)
            summary[f"{key}_ci"] = metrics.bootstrap_ci(values, seed=seed)
    return summary


def _list_summary(rows: Sequence[dict[str, Any]], seed: int) -> dict[str, Any]:
    summary: dict[str, Any] = {"n": len(rows)}
    keys = ("kendall_tau", "spearman", "ndcg", "pairwise_accuracy", "pairwise_accuracy_score")
    for key in (*keys, "shuffle_agreement"):
        values = [r[key] for r in rows if r.get(key) is not None and r[key] == r[key]]
        if values:
            summary[key] = metrics.mean(values)
            summary[f"{key}_ci"] = metrics.bootstrap_ci(values, seed=seed)
    return summary


def _rounded(values: dict[str, float]) -> dict[str, float]:
    return {name: round(value, 4) for name, value in values.items()}
