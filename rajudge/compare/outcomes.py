"""Per-order verdicts of listwise judgments -> pairwise outcomes per prompt (pure).

A listwise judgment gives every system's answer to a prompt an integer score (1..5) and a
distribution over those scores. For each pair of systems (a, b) and each presentation order:
a wins when its integer score is higher, b when lower, a tie when equal. Over the orders, as
MT-Bench counts its two orders: a wins the prompt only if EVERY order says a wins, likewise b;
every other combination (all ties, or orders that disagree) is a tie (outcome 0.5). A pair is
`consistent` when every order gave the same verdict (win, loss or tie), so a tie in every order
is consistent and a verdict that flips with the order is not. A pair is decided when its
outcome is not 0.5.

The soft outcome is P(a's score > b's) + 0.5 P(equal) with the two distributions taken as
independent (each normalised to sum to 1), averaged over the orders: it keeps what the integer
scores round away, as AlpacaEval's logprob-weighted preference does.

The composite (key `COMPOSITE`) is, per prompt and pair, the mean of outcome, soft and
consistency over the principles, weighted by each principle's weight as `score` weighs its
composite; with one principle it equals that principle's outcomes. Composite outcomes can be
fractional (a win under one principle and a loss under another of equal weight is 0.5).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations

COMPOSITE = "composite"


@dataclass(frozen=True)
class OrderVerdict:
    """One presentation order of one prompt under one principle: what the judge gave each system."""

    scores: Mapping[str, int]  # system -> integer score 1..5
    distributions: Mapping[str, tuple[float, ...]]  # system -> P(score = 1..5)


@dataclass(frozen=True)
class PromptVerdicts:
    """Every order in which one prompt's answers were judged under one principle."""

    prompt_id: str
    principle: str  # principle name
    weight: float  # the principle's weight (composite = weighted as `score` weighs principles)
    orders: tuple[OrderVerdict, ...]  # >= 1
    lengths: Mapping[str, int]  # system -> answer length in characters


@dataclass(frozen=True)
class PairOutcome:
    """Systems a and b on one prompt: who won, how surely, and whether the order mattered."""

    prompt_id: str
    a: str
    b: str
    outcome: float  # 1: a wins, 0: b wins, 0.5: tie; composite: weighted mean over principles
    soft: float  # P(a > b) + 0.5 P(a = b), independent distributions, mean over orders
    consistent: float  # 1.0 when every order gave the same verdict, else 0.0 (composite: mean)
    length_a: int
    length_b: int


def pair_outcomes(
    verdicts: Sequence[PromptVerdicts], systems: Sequence[str]
) -> dict[str, list[PairOutcome]]:
    """Outcomes per principle name, plus `COMPOSITE`; pairs (a, b) with a before b in `systems`.

    Lists follow the verdicts' prompt order. Raises ValueError on input the statistics cannot
    read honestly: fewer than two systems, a system missing from a verdict, a prompt judged
    twice under one principle, a principle missing for some prompt, a principle whose weight
    changes, or a principle named "composite" beside others.
    """
    _check(verdicts, systems)
    pairs = list(combinations(systems, 2))
    by_principle: dict[str, list[PairOutcome]] = {}
    weights: dict[str, float] = {}
    for verdict in verdicts:
        weights[verdict.principle] = verdict.weight
        outcomes = by_principle.setdefault(verdict.principle, [])
        outcomes.extend(_pair_outcome(verdict, a, b) for a, b in pairs)
    if len(by_principle) == 1:
        return {**by_principle, COMPOSITE: next(iter(by_principle.values()))}
    return {**by_principle, COMPOSITE: _composite(by_principle, weights)}


def _pair_outcome(verdict: PromptVerdicts, a: str, b: str) -> PairOutcome:
    calls = [_call(order.scores[a], order.scores[b]) for order in verdict.orders]
    if all(call == 1.0 for call in calls):
        outcome = 1.0
    elif all(call == 0.0 for call in calls):
        outcome = 0.0
    else:
        outcome = 0.5
    soft = sum(
        _soft(order.distributions[a], order.distributions[b]) for order in verdict.orders
    ) / len(verdict.orders)
    return PairOutcome(
        prompt_id=verdict.prompt_id,
        a=a,
        b=b,
        outcome=outcome,
        soft=soft,
        consistent=float(len(set(calls)) == 1),
        length_a=verdict.lengths[a],
        length_b=verdict.lengths[b],
    )


def _call(score_a: int, score_b: int) -> float:
    """One order's verdict for a: 1 win, 0 loss, 0.5 tie."""
    return 1.0 if score_a > score_b else 0.0 if score_a < score_b else 0.5


def _soft(dist_a: Sequence[float], dist_b: Sequence[float]) -> float:
    """P(A > B) + 0.5 P(A = B) for independent scores A ~ dist_a, B ~ dist_b."""
    total_a, total_b = sum(dist_a), sum(dist_b)
    below = 0.0  # P(B < current score)
    result = 0.0
    for p_a, p_b in zip(dist_a, dist_b, strict=True):
        p_a, p_b = p_a / total_a, p_b / total_b
        result += p_a * (below + 0.5 * p_b)
        below += p_b
    return result


def _composite(
    by_principle: Mapping[str, list[PairOutcome]], weights: Mapping[str, float]
) -> list[PairOutcome]:
    total = sum(weights.values())
    keyed = {
        name: {(o.prompt_id, o.a, o.b): o for o in outcomes}
        for name, outcomes in by_principle.items()
    }
    composite = []
    for first in next(iter(by_principle.values())):
        row = [
            (weights[name], outcomes[first.prompt_id, first.a, first.b])
            for name, outcomes in keyed.items()
        ]
        composite.append(
            PairOutcome(
                prompt_id=first.prompt_id,
                a=first.a,
                b=first.b,
                outcome=sum(w * o.outcome for w, o in row) / total,
                soft=sum(w * o.soft for w, o in row) / total,
                consistent=sum(w * o.consistent for w, o in row) / total,
                length_a=first.length_a,
                length_b=first.length_b,
            )
        )
    return composite


def _check(verdicts: Sequence[PromptVerdicts], systems: Sequence[str]) -> None:
    if len(systems) < 2 or len(set(systems)) != len(systems):
        raise ValueError(f"need two or more distinct systems, got {list(systems)}")
    prompts: dict[str, set[str]] = {}
    weights: dict[str, float] = {}
    for verdict in verdicts:
        where = f"prompt {verdict.prompt_id!r} under {verdict.principle!r}"
        if not verdict.orders:
            raise ValueError(f"{where}: no judged order")
        if weights.setdefault(verdict.principle, verdict.weight) != verdict.weight:
            raise ValueError(f"{where}: weight {verdict.weight} after {weights[verdict.principle]}")
        seen = prompts.setdefault(verdict.principle, set())
        if verdict.prompt_id in seen:
            raise ValueError(f"{where}: judged twice")
        seen.add(verdict.prompt_id)
        for given in (
            verdict.lengths,
            *(o.scores for o in verdict.orders),
            *(o.distributions for o in verdict.orders),
        ):
            missing = [s for s in systems if s not in given]
            if missing:
                raise ValueError(f"{where}: no verdict or length for {missing}")
    if not prompts:
        raise ValueError("no judged prompts")
    if len(prompts) > 1 and COMPOSITE in prompts:
        raise ValueError(
            f"a principle named {COMPOSITE!r} beside others would shadow the composite"
        )
    every = set().union(*prompts.values())
    for name, ids in prompts.items():
        if ids != every:
            raise ValueError(
                f"principle {name!r} has no verdict for prompts {sorted(every - ids)[:5]}"
            )
