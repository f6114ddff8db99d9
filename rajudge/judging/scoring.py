"""Scores from the judge's own probabilities, through an answer skeleton that cannot fail to parse.

The judge's answer is JSON of a fixed shape, laid out as the system prompt's example shows it
(`{\n  "scores": {"model-1": 4, "model-2": 2}`): a model that follows its instructions writes
exactly this, and the digit probabilities are those of the answer it would give. rajudge
writes every token of it except the score digits; at each digit it reads the model's
probabilities for the five score tokens. So every response gets a score (the most likely digit),
a distribution over 1..5 and an expected score, and there is nothing to repair or lose.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from itertools import pairwise

from rajudge.errors import ModelError
from rajudge.judging.protocol import masked_name
from rajudge.records import SCORE_LEVELS, Judgment, ResponseScore, Timings


@dataclass(frozen=True)
class ScoreSkeleton:
    """Token plan of the scores object for N responses.

    `forced[i]` is decoded before slot i (forced[N] after the last one); `choices[i]` holds the
    token id meaning score 1..5 at slot i.
    """

    forced: tuple[tuple[int, ...], ...]
    choices: tuple[tuple[int, ...], ...]

    @property
    def length(self) -> int:
        """Tokens of the whole answer: forced ones and one per score."""
        return sum(map(len, self.forced)) + len(self.choices)


def skeleton_text(count: int, digit: str, tail: str) -> str:
    """The answer text with every score set to `digit`."""
    scores = ", ".join(f'"{masked_name(i)}": {digit}' for i in range(count))
    return f'{{\n  "scores": {{{scores}}}{tail}'


def plan_skeleton(tokenize: Callable[[str], list[int]], count: int, tail: str) -> ScoreSkeleton:
    """Find the score slots by tokenizing the answer once per digit and comparing.

    Works for any tokenizer that gives each digit its own token, alone or merged with a
    neighbour (" 4", "4,"): the slots are the positions where the five tokenizations differ.
    """
    variants = [tokenize(skeleton_text(count, str(level), tail)) for level in SCORE_LEVELS]
    length = len(variants[0])
    if any(len(v) != length for v in variants):
        raise ModelError("the model's tokenizer does not give score digits tokens of their own")
    slots = [i for i in range(length) if len({v[i] for v in variants}) > 1]
    if len(slots) != count or any(len({v[i] for v in variants}) != 5 for i in slots):
        raise ModelError("the model's tokenizer does not give score digits tokens of their own")
    base = variants[0]
    bounds = [-1, *slots, length]
    forced = tuple(tuple(base[a + 1 : b]) for a, b in pairwise(bounds))
    choices = tuple(tuple(v[i] for v in variants) for i in slots)
    return ScoreSkeleton(forced=forced, choices=choices)


def distribution(logits: Sequence[float]) -> tuple[float, ...]:
    """Softmax over the five score tokens' logits: P(score = 1..5)."""
    top = max(logits)
    weights = [math.exp(x - top) for x in logits]
    total = sum(weights)
    return tuple(w / total for w in weights)


def score_response(dist: Sequence[float]) -> tuple[int, float]:
    """The chosen score (most likely; lower on an exact tie) and the expected score."""
    best = max(range(len(dist)), key=lambda i: (dist[i], -i))
    expected = sum(level * p for level, p in zip(SCORE_LEVELS, dist, strict=True))
    return SCORE_LEVELS[best], expected


def rank(names: Sequence[str], dists: Sequence[Sequence[float]]) -> tuple[ResponseScore, ...]:
    """Responses best first, in the order the judge saw them (`names` = masked order).

    Higher score first; equal scores by expected score; then by presentation order. The ranking
    is therefore always a permutation consistent with the scores.
    """
    rows = []
    for position, (name, dist) in enumerate(zip(names, dists, strict=True)):
        score, expected = score_response(dist)
        rows.append((-score, -expected, position, name, score, expected, tuple(dist)))
    rows.sort()
    return tuple(
        ResponseScore(name=name, score=score, expected=expected, distribution=dist, rank=i + 1)
        for i, (_, _, _, name, score, expected, dist) in enumerate(rows)
    )


def combine(judgments: Sequence[Judgment], names: Sequence[str]) -> Judgment:
    """One verdict from the same item judged in several presentation orders.

    Each response's distribution is the mean over the orders and its score the most likely
    digit of that mean; the ranking follows as for one order, `names` (the first order)
    breaking exact ties. `consistency` is the share of orders whose top response is the
    combined top. The rationale is the first order's; timings add up; `orders` keeps each
    order's own judgment.
    """
    if len(judgments) == 1:
        return judgments[0]
    seen = [{r.name: r.distribution for r in judgment.responses} for judgment in judgments]
    mean = [
        tuple(sum(dists[name][level] for dists in seen) / len(seen) for level in range(5))
        for name in names
    ]
    responses = rank(names, mean)
    top = responses[0].name
    agreeing = sum(judgment.ranking[0] == top for judgment in judgments)
    timings = Timings(
        prompt_tokens=sum(j.timings.prompt_tokens for j in judgments),
        reused_tokens=sum(j.timings.reused_tokens for j in judgments),
        generated_tokens=sum(j.timings.generated_tokens for j in judgments),
        seconds=sum(j.timings.seconds for j in judgments),
        cached=all(j.timings.cached for j in judgments),
    )
    return replace(
        judgments[0],
        responses=responses,
        timings=timings,
        consistency=round(agreeing / len(judgments), 4),
        orders=tuple(judgments),
    )
