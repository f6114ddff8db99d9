"""rajudge.compare.outcomes: per-order listwise verdicts -> pairwise outcomes per prompt."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from rajudge.compare.outcomes import (
    COMPOSITE,
    OrderVerdict,
    PairOutcome,
    PromptVerdicts,
    pair_outcomes,
)

SURE = {score: tuple(float(s == score) for s in range(1, 6)) for score in range(1, 6)}


def order(scores: Mapping[str, int], distributions: Mapping | None = None) -> OrderVerdict:
    """An order whose distributions are certain of the integer scores unless given."""
    return OrderVerdict(
        scores=scores, distributions=distributions or {n: SURE[s] for n, s in scores.items()}
    )


def prompt(
    *orders: OrderVerdict,
    id: str = "p1",
    principle: str = "helpful",
    weight: float = 1.0,
    lengths: Mapping[str, int] | None = None,
) -> PromptVerdicts:
    names = orders[0].scores
    return PromptVerdicts(id, principle, weight, orders, lengths or dict.fromkeys(names, 10))


def one(*orders: OrderVerdict) -> PairOutcome:
    """The single (a, b) outcome of one prompt judged in these orders."""
    (outcome,) = pair_outcomes([prompt(*orders)], ["a", "b"])["helpful"]
    return outcome


@pytest.mark.parametrize(
    ("scores", "outcome", "consistent"),
    [
        ([(4, 2), (5, 3)], 1.0, 1.0),  # every order says a: a wins
        ([(2, 4), (1, 3)], 0.0, 1.0),  # every order says b: b wins
        ([(3, 3), (4, 4)], 0.5, 1.0),  # tie in every order: a consistent tie
        ([(4, 2), (2, 4)], 0.5, 0.0),  # the verdict follows the position: tie, inconsistent
        ([(4, 2), (3, 3)], 0.5, 0.0),  # a win and a tie: not a win
        ([(4, 2)], 1.0, 1.0),  # one order decides alone
        ([(4, 2), (4, 2), (3, 4)], 0.5, 0.0),  # one dissenting order of three is enough
    ],
)
def test_a_win_needs_every_order(
    scores: list[tuple[int, int]], outcome: float, consistent: float
) -> None:
    result = one(*(order({"a": x, "b": y}) for x, y in scores))
    assert (result.outcome, result.consistent) == (outcome, consistent)


def test_soft_outcome_from_independent_distributions_averaged_over_orders() -> None:
    assert one(order({"a": 4, "b": 2})).soft == 1.0
    assert one(order({"a": 3, "b": 3})).soft == 0.5
    even = (0.2,) * 5
    assert one(order({"a": 3, "b": 3}, {"a": even, "b": even})).soft == pytest.approx(0.5)
    # a: 4 or 2 evenly; b: surely 3 -> P(a > b) = 0.5, never equal
    split = (0.0, 0.5, 0.0, 0.5, 0.0)
    assert one(order({"a": 4, "b": 3}, {"a": split, "b": SURE[3]})).soft == pytest.approx(0.5)
    # a: 3 (0.5) or 4 (0.5); b: surely 3 -> 0.5 + 0.5 * 0.5
    upper = (0.0, 0.0, 0.5, 0.5, 0.0)
    assert one(order({"a": 4, "b": 3}, {"a": upper, "b": SURE[3]})).soft == pytest.approx(0.75)
    # unnormalised distributions (rounded in a judged file) are normalised
    assert one(order({"a": 4, "b": 3}, {"a": (0, 0, 1, 1, 0), "b": SURE[3]})).soft == 0.75
    # averaged over orders: 1.0 in the first, 0.75 in the second
    both = one(order({"a": 4, "b": 2}), order({"a": 4, "b": 3}, {"a": upper, "b": SURE[3]}))
    assert both.soft == pytest.approx(0.875)


def test_pairs_follow_the_systems_order_with_lengths() -> None:
    verdict = prompt(order({"x": 5, "y": 1, "z": 3}), lengths={"x": 7, "y": 8, "z": 9})
    outcomes = pair_outcomes([verdict], ["z", "x", "y"])["helpful"]
    assert [(o.a, o.b, o.outcome) for o in outcomes] == [
        ("z", "x", 0.0),
        ("z", "y", 1.0),
        ("x", "y", 1.0),
    ]
    assert [(o.length_a, o.length_b) for o in outcomes] == [(9, 7), (9, 8), (7, 8)]


def test_one_principle_is_the_composite() -> None:
    outcomes = pair_outcomes([prompt(order({"a": 4, "b": 2}))], ["a", "b"])
    assert set(outcomes) == {"helpful", COMPOSITE}
    assert outcomes[COMPOSITE] == outcomes["helpful"]


def test_composite_is_weighted_as_score_weighs_principles() -> None:
    verdicts = [
        prompt(order({"a": 4, "b": 2}), order({"a": 4, "b": 2}), principle="helpful"),
        prompt(order({"a": 1, "b": 5}), order({"a": 4, "b": 2}), principle="safe", weight=3.0),
        prompt(order({"a": 3, "b": 3}), id="p2", principle="helpful"),
        prompt(order({"a": 2, "b": 3}), id="p2", principle="safe", weight=3.0),
    ]
    outcomes = pair_outcomes(verdicts, ["a", "b"])
    first, second = outcomes[COMPOSITE]
    # p1: helpful a wins (1), safe flips with the order (tie 0.5, inconsistent)
    assert first.outcome == pytest.approx((1 * 1.0 + 3 * 0.5) / 4)
    assert first.consistent == pytest.approx((1 * 1.0 + 3 * 0.0) / 4)
    assert first.soft == pytest.approx((1 * 1.0 + 3 * 0.5) / 4)
    # p2: helpful tie, safe b wins
    assert (second.prompt_id, second.outcome) == ("p2", pytest.approx(0.5 * 1 / 4))
    assert [o.outcome for o in outcomes["safe"]] == [0.5, 0.0]


def test_composite_matches_prompts_across_principles_in_any_order() -> None:
    verdicts = [
        prompt(order({"a": 5, "b": 1}), id="p1", principle="helpful"),
        prompt(order({"a": 1, "b": 5}), id="p2", principle="helpful"),
        prompt(order({"a": 1, "b": 5}), id="p2", principle="safe"),
        prompt(order({"a": 5, "b": 1}), id="p1", principle="safe"),
    ]
    composite = pair_outcomes(verdicts, ["a", "b"])[COMPOSITE]
    assert [(o.prompt_id, o.outcome) for o in composite] == [("p1", 1.0), ("p2", 0.0)]


@pytest.mark.parametrize(
    ("verdicts", "systems", "message"),
    [
        ([prompt(order({"a": 4, "b": 2}))], ["a"], "two or more distinct systems"),
        ([prompt(order({"a": 4, "b": 2}))], ["a", "a"], "two or more distinct systems"),
        ([prompt(order({"a": 4, "b": 2}))], ["a", "c"], "no verdict or length for ['c']"),
        ([prompt(order({"a": 4, "b": 2}))] * 2, ["a", "b"], "judged twice"),
        (
            [prompt(order({"a": 4, "b": 2})), prompt(order({"a": 4, "b": 2}), id="p2", weight=2)],
            ["a", "b"],
            "weight 2",
        ),
        (
            [
                prompt(order({"a": 4, "b": 2})),
                prompt(order({"a": 4, "b": 2}), principle="safe"),
                prompt(order({"a": 4, "b": 2}), id="p2"),
            ],
            ["a", "b"],
            "principle 'safe' has no verdict for prompts ['p2']",
        ),
        ([], ["a", "b"], "no judged prompts"),
        ([PromptVerdicts("p1", "helpful", 1.0, (), {"a": 1, "b": 1})], ["a", "b"], "no judged"),
    ],
)
def test_input_the_statistics_cannot_read_is_refused(
    verdicts: list[PromptVerdicts], systems: list[str], message: str
) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        pair_outcomes(verdicts, systems)
