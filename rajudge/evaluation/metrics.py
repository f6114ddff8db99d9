"""Agreement between a judge and labels, in the terms the field uses. Pure functions.

Pairwise verdicts are 1.0 (the labelled winner won), 0.0 (it lost) or 0.5 (a tie, which counts
half: a judge that cannot tell two responses apart is right half the time by chance).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping, Sequence
from itertools import combinations


def verdict(winner_value: float, loser_value: float) -> float:
    """1.0, 0.5 or 0.0 as the labelled winner's value beats, ties or trails the loser's."""
    if winner_value > loser_value:
        return 1.0
    return 0.5 if winner_value == loser_value else 0.0


def mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else math.nan


def bootstrap_ci(
    values: Sequence[float],
    statistic: Callable[[Sequence[float]], float] = mean,
    *,
    resamples: int = 1000,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile 95% confidence interval of `statistic`, resampling items with replacement."""
    if not values:
        return (math.nan, math.nan)
    rng = random.Random(seed)
    size = len(values)
    stats = sorted(statistic(rng.choices(values, k=size)) for _ in range(resamples))
    return stats[int(0.025 * resamples)], stats[min(resamples - 1, int(0.975 * resamples))]


def kendall_tau(gold: Mapping[str, float], predicted: Mapping[str, float]) -> float:
    """Kendall's tau-b between two scorings of the same names (ties allowed in both)."""
    concordant = discordant = gold_ties = predicted_ties = 0
    for a, b in combinations(gold, 2):
        g = _sign(gold[a] - gold[b])
        p = _sign(predicted[a] - predicted[b])
        if g == 0 and p == 0:
            continue
        if g == 0:
            gold_ties += 1
        elif p == 0:
            predicted_ties += 1
        elif g == p:
            concordant += 1
        else:
            discordant += 1
    denominator = math.sqrt(
        (concordant + discordant + gold_ties) * (concordant + discordant + predicted_ties)
    )
    return (concordant - discordant) / denominator if denominator else math.nan


def spearman(gold: Mapping[str, float], predicted: Mapping[str, float]) -> float:
    """Spearman's rho: Pearson correlation of average ranks."""
    names = list(gold)
    return _pearson(_ranks([gold[n] for n in names]), _ranks([predicted[n] for n in names]))


def ndcg(gold: Mapping[str, float], predicted: Mapping[str, float]) -> float:
    """NDCG of the predicted order, with the gold scores as gains (higher is better)."""
    order = sorted(gold, key=lambda n: -predicted[n])
    ideal = sorted(gold.values(), reverse=True)
    dcg = sum(gold[n] / math.log2(i + 2) for i, n in enumerate(order))
    best = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / best if best else math.nan


def pairwise_accuracy(gold: Mapping[str, float], predicted: Mapping[str, float]) -> float:
    """Mean verdict over the pairs the gold scores order (gold ties are not counted)."""
    verdicts = [
        verdict(predicted[a], predicted[b])
        if gold[a] > gold[b]
        else verdict(predicted[b], predicted[a])
        for a, b in combinations(gold, 2)
        if gold[a] != gold[b]
    ]
    return mean(verdicts)


def _sign(x: float) -> int:
    return (x > 0) - (x < 0)


def _ranks(values: Sequence[float]) -> list[float]:
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def _pearson(x: Sequence[float], y: Sequence[float]) -> float:
    mx, my = mean(x), mean(y)
    cov = sum((a - mx) * (b - my) for a, b in zip(x, y, strict=True))
    sx = math.sqrt(sum((a - mx) ** 2 for a in x))
    sy = math.sqrt(sum((b - my) ** 2 for b in y))
    return cov / (sx * sy) if sx and sy else math.nan
