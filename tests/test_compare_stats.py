"""rajudge.compare.stats and .summary: ratings, win rates, length control, bootstrap, ranks.

Checked against the anchors' own numbers: Chatbot Arena's toy (7 wins, 2 losses, 1 tie),
arena-hard-auto's one-baseline property (issue 84) and AlpacaEval's published win rates of
one model recomputed from its annotation file (tests/data/alpacaeval/README.md).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy.special import expit

from rajudge.compare import stats
from rajudge.compare.outcomes import OrderVerdict, PromptVerdicts, pair_outcomes
from rajudge.compare.record import summary_record
from rajudge.compare.summary import Summary, summarize

ALPACAEVAL = (
    Path(__file__).parent / "data" / "alpacaeval" / "fusechat-llama-3.2-1b-preferences.json"
)
SURE = {score: tuple(float(s == score) for s in range(1, 6)) for score in range(1, 6)}


def spread(score: int) -> tuple[float, ...]:
    """A judge's distribution around its integer score."""
    weights = np.exp(-np.abs(np.arange(1, 6) - score) * 1.5)
    return tuple(weights / weights.sum())


def judged(
    quality: Mapping[str, float],
    *,
    prompts: int = 60,
    seed: int = 0,
    orders: int = 2,
    principles: Sequence[tuple[str, float]] = (("helpful", 1.0),),
    length: Callable[[np.random.Generator, str], int] | None = None,
    length_pull: float = 0.0,
) -> list[PromptVerdicts]:
    """A noisy listwise judge: score = 3 + quality + length_pull * log-length + noise."""
    rng = np.random.default_rng(seed)
    length = length or (lambda rng, name: int(rng.integers(100, 1000)))
    verdicts = []
    for i in range(prompts):
        lengths = {name: length(rng, name) for name in quality}
        for principle, weight in principles:
            judged_orders = []
            for _ in range(orders):
                scores = {
                    name: int(
                        np.clip(
                            np.rint(
                                3
                                + q
                                + length_pull * math.log(lengths[name] / 400)
                                + rng.normal(0, 0.8)
                            ),
                            1,
                            5,
                        )
                    )
                    for name, q in quality.items()
                }
                judged_orders.append(
                    OrderVerdict(scores, {name: spread(s) for name, s in scores.items()})
                )
            verdicts.append(
                PromptVerdicts(f"p{i:03d}", principle, weight, tuple(judged_orders), lengths)
            )
    return verdicts


def rows(summary: Summary) -> dict[str, dict[str, Any]]:
    return {row["name"]: row for row in summary_record(summary)["systems"]}


# --- Bradley-Terry against the anchors -----------------------------------------------------


def test_chatbot_arena_toy_seven_wins_two_losses_one_tie() -> None:
    outcomes = np.array([1.0] * 7 + [0.0] * 2 + [0.5])
    ratings, _ = stats.fit_bradley_terry(np.zeros(10, int), np.ones(10, int), outcomes, 1.0, 2)
    elo = stats.to_elo(ratings, anchor=1)[0]
    assert elo[1] == stats.ANCHOR
    assert stats.win_probability(elo[0], elo[1]) == pytest.approx(0.75, abs=1e-6)
    assert round(elo[0] - elo[1], 2) == 190.85  # 400 log10(3)


def test_a_sweep_stays_finite_and_the_penalty_is_negligible_elsewhere() -> None:
    a, b = np.zeros(10, int), np.ones(10, int)
    sweep, _ = stats.fit_bradley_terry(a, b, np.ones(10), 1.0, 2)
    gap = np.diff(stats.to_elo(sweep, anchor=1)[0])[0]
    assert math.isfinite(gap) and -2500 < gap < -1500  # a far above b, not at infinity
    close, _ = stats.fit_bradley_terry(a, b, np.array([1.0] * 6 + [0.0] * 4), 1.0, 2)
    elo = stats.to_elo(close, anchor=1)[0]
    assert abs(stats.win_probability(elo[0], elo[1]) - 0.6) < 1e-5  # spec: under 1e-4


def test_with_every_battle_against_one_baseline_bt_win_rate_is_the_plain_win_rate() -> None:
    rng = np.random.default_rng(3)
    systems, prompts = 5, 40  # system 0 is the baseline
    other = np.repeat(np.arange(1, systems), prompts)
    outcomes = rng.choice([0.0, 0.5, 1.0], p=[0.3, 0.2, 0.5], size=len(other))
    outcomes[other == 4] = 1.0  # a clean sweep, too
    base = np.zeros_like(other)
    # battles oriented both ways: the baseline is a in half of them
    flip = rng.random(len(other)) < 0.5
    a, b = np.where(flip, base, other), np.where(flip, other, base)
    y = np.where(flip, 1.0 - outcomes, outcomes)
    ratings, _ = stats.fit_bradley_terry(a, b, y, 1.0, systems)
    elo = stats.to_elo(ratings, anchor=0)[0]
    theta, gamma = stats.fit_against_baseline(other, outcomes, 1.0, systems)
    for m in range(1, systems - 1):
        plain = outcomes[other == m].mean()
        # exact but for the penalty: 8e-6 here, where the sweep's large rating pulls the
        # others' (the penalty centres all ratings); the design asks for under 1e-4
        assert stats.win_probability(elo[m], elo[0]) == pytest.approx(plain, abs=2e-5)
        assert expit(theta[0, m]) == pytest.approx(plain, abs=2e-5)
    # the sweep: only the penalty keeps it from 1 (and its rating finite)
    assert 0.9999 < stats.win_probability(elo[4], elo[0]) < 1.0
    assert gamma[0] == 0.0


def test_alpacaeval_weighted_and_discrete_win_rates_recomputed_from_its_annotations() -> None:
    """AlpacaEval 2, FuseChat-Llama-3.2-1B-Instruct vs its baseline (leaderboard csv row):
    win_rate 29.9219322658882, standard_error 1.3934584328741797, discrete_win_rate
    29.068322981366464 from 233 wins, 570 baseline wins, 2 draws."""
    preferences = json.loads(ALPACAEVAL.read_text())
    assert len(preferences) == 805
    verdicts = []
    for i, preference in enumerate(preferences):
        q = preference - 1.0  # P(the model's output is better): soft outcome
        model = 4 if q > 0.5 else 2 if q < 0.5 else 3  # AlpacaEval's discrete preference
        distributions = {"base": SURE[3], "model": (0.0, 1.0 - q, 0.0, q, 0.0)}
        verdicts.append(
            PromptVerdicts(
                f"{i:03d}",
                "alpaca",
                1.0,
                (OrderVerdict({"base": 3, "model": model}, distributions),),
                {"base": 1, "model": 1},
            )
        )
    summary = summarize(verdicts, ["base", "model"], "base", rounds=20)
    model = next(s for s in summary.systems if s.name == "model").overall
    assert 100 * model.soft_win_rate == pytest.approx(29.9219322658882, abs=1e-9)
    soft = [1.0 - o.soft for o in pair_outcomes(verdicts, ["base", "model"])["alpaca"]]
    assert 100 * stats.mean_and_se(np.array(soft))[1] == pytest.approx(1.3934584328741797, 1e-9)
    assert (model.wins, model.losses, model.ties) == (233, 570, 2)
    assert 100 * model.win_rate == pytest.approx(29.068322981366464, abs=1e-9)
    assert rows(summary)["model"]["soft_win_rate"] == 0.2992


# --- win rates, length control -----------------------------------------------------------


def test_win_rate_and_its_standard_error_count_ties_as_half() -> None:
    hard = [(4, 2)] * 5 + [(2, 4)] * 2 + [(3, 3)] * 3  # 5 wins, 2 losses, 3 ties
    verdicts = [
        PromptVerdicts(
            f"p{i}",
            "helpful",
            1.0,
            (OrderVerdict({"m": m, "base": b}, {"m": SURE[m], "base": SURE[b]}),),
            {"m": 10, "base": 10},
        )
        for i, (m, b) in enumerate(hard)
    ]
    summary = summarize(verdicts, ["base", "m"], "base", rounds=50)
    m = next(s for s in summary.systems if s.name == "m").overall
    values = np.array([1.0] * 5 + [0.0] * 2 + [0.5] * 3)
    assert m.win_rate == pytest.approx(0.65)
    assert m.win_rate_se == pytest.approx(values.std(ddof=1) / math.sqrt(10))
    assert (m.wins, m.ties, m.losses) == (5, 3, 2)
    assert not summary.length_controllable  # every answer 10 characters
    assert m.lc_win_rate == m.win_rate and m.lc_rating == m.rating


def _length_biased(prompts: int, seed: int) -> list[PromptVerdicts]:
    """Two systems of equal quality; the judge prefers the longer answer, s(6 f) of the time,
    and `verbose` is usually (not always) the longer one."""
    rng = np.random.default_rng(seed)
    verdicts = []
    for i in range(prompts):
        lengths = {"base": 400, "verbose": int(400 * math.exp(rng.normal(0.6, 0.6)))}
        f = (lengths["verbose"] - 400) / (lengths["verbose"] + 400)
        wins = rng.random() < 1 / (1 + math.exp(-6 * f))
        scores = {"base": 2, "verbose": 4} if wins else {"base": 4, "verbose": 2}
        order = OrderVerdict(scores, {n: SURE[s] for n, s in scores.items()})
        verdicts.append(PromptVerdicts(f"p{i:03d}", "helpful", 1.0, (order, order), lengths))
    return verdicts


def test_length_control_recovers_a_judge_that_prefers_longer_answers() -> None:
    summary = summarize(_length_biased(400, seed=5), ["base", "verbose"], "base", rounds=50)
    verbose = next(s for s in summary.systems if s.name == "verbose").overall
    assert summary.length_controllable
    assert verbose.win_rate > 0.75  # raw: length wins
    assert abs(verbose.lc_win_rate - 0.5) < 0.06  # controlled: equal quality
    assert verbose.rating > 1180 and abs(verbose.lc_rating - 1000) < 45
    low, high = verbose.lc_win_rate_ci
    assert low < 0.5 < high and verbose.win_rate_ci[0] > 0.7


def test_length_cannot_be_controlled_when_it_does_not_vary_within_a_system() -> None:
    constant = judged(
        {"base": 0.0, "long": 0.5},
        prompts=30,
        length=lambda rng, name: 800 if name == "long" else 400,  # always twice as long
    )
    summary = summarize(constant, ["base", "long"], "base", rounds=30)
    long = next(s for s in summary.systems if s.name == "long").overall
    assert not summary.length_controllable
    assert (long.lc_win_rate, long.lc_win_rate_ci) == (long.win_rate, long.win_rate_ci)
    assert (long.lc_rating, long.lc_rating_ci) == (long.rating, long.rating_ci)
    assert summary_record(summary)["length_controllable"] is False
    assert not stats.identifiable(np.zeros(4), np.array([1, 1, 2, 2]), 3)
    assert stats.identifiable(np.array([0.1, 0.2, 0.3, 0.3]), np.array([1, 1, 2, 2]), 3)


# --- the summary: mirror, bootstrap, ranks, composite ----------------------------------------


@pytest.mark.parametrize(
    ("prompts", "seed", "principles"),
    [
        (50, 7, (("helpful", 1.0),)),
        # composite outcomes in eighths: an interval end lands on a half (0.66875 = 214/320)
        (40, 10, (("helpful", 1.0), ("safe", 3.0))),
    ],
)
def test_compare_a_b_and_compare_b_a_give_mirrored_numbers(
    prompts: int, seed: int, principles: tuple[tuple[str, float], ...]
) -> None:
    verdicts = judged(
        {"alpha": 0.0, "beta": 0.4},
        prompts=prompts,
        seed=seed,
        length_pull=0.8,
        principles=principles,
    )
    first = summary_record(summarize(verdicts, ["alpha", "beta"], "alpha"))
    second = summary_record(summarize(verdicts, ["beta", "alpha"], "beta"))
    one = {row["name"]: row for row in first["systems"]}
    two = {row["name"]: row for row in second["systems"]}
    # each against the other as baseline, composite and per principle
    standings = [(one["beta"], two["alpha"])] + [
        (one["beta"]["principles"][name], two["alpha"]["principles"][name])
        for name, _ in principles
    ]
    for beta, alpha in standings:
        for key in ("rating", "lc_rating"):
            assert beta[key] - 1000 == pytest.approx(1000 - alpha[key], abs=1e-9)
            assert [x - 1000 for x in beta[f"{key}_ci"]] == pytest.approx(
                [1000 - x for x in reversed(alpha[f"{key}_ci"])], abs=1e-9
            )
        for key in ("win_rate", "soft_win_rate", "lc_win_rate"):
            assert beta[key] == pytest.approx(1 - alpha[key], abs=1e-9)
            assert beta[f"{key}_ci"] == pytest.approx(
                [1 - x for x in reversed(alpha[f"{key}_ci"])], abs=1e-9
            )
        assert beta["win_rate_se"] == alpha["win_rate_se"]
        assert (beta["wins"], beta["ties"], beta["losses"]) == (
            alpha["losses"],
            alpha["ties"],
            alpha["wins"],
        )
    for name in ("alpha", "beta"):
        for key in ("rank", "mean_length", "position_consistency"):
            assert one[name][key] == two[name][key]
    (pair_one,), (pair_two,) = first["pairs"], second["pairs"]
    assert (pair_one["a"], pair_one["a_wins"], pair_one["b_wins"]) == (
        pair_two["b"],
        pair_two["b_wins"],
        pair_two["a_wins"],
    )
    assert first["undecided_prompts"] == second["undecided_prompts"]
    assert first["length_controllable"] and second["length_controllable"]


def test_the_order_systems_are_given_in_changes_nothing_but_the_pairs() -> None:
    """Exactly, not only at the summary's rounding: the fits run in one canonical frame."""
    verdicts = judged({"a": 0.0, "b": 0.3, "c": 0.6}, prompts=30, seed=2, length_pull=0.5)
    first = summarize(verdicts, ["a", "b", "c"], "a", rounds=60)
    second = summarize(verdicts, ["a", "c", "b"], "a", rounds=60)
    assert first.systems == second.systems
    assert [(p.a, p.b) for p in second.pairs] == [("a", "c"), ("a", "b"), ("c", "b")]


def test_bootstrap_intervals_hold_the_estimate_and_repeat_with_the_seed() -> None:
    verdicts = judged({"base": 0.0, "x": 0.3, "y": -0.3, "z": 0.8}, prompts=50, seed=4)
    summary = summarize(verdicts, ["base", "x", "y", "z"], "base", rounds=100, seed=1)
    for system in summary.systems:
        s = system.overall
        for value, (low, high) in [(s.rating, s.rating_ci), (s.lc_rating, s.lc_rating_ci)]:
            assert low - 1e-9 <= value <= high + 1e-9
        if system.name == "base":
            assert s.rating_ci == (1000.0, 1000.0) and s.win_rate is None
            continue
        for value, (low, high) in [
            (s.win_rate, s.win_rate_ci),
            (s.soft_win_rate, s.soft_win_rate_ci),
            (s.lc_win_rate, s.lc_win_rate_ci),
        ]:
            assert low <= value <= high and high - low > 0.01
    assert summarize(verdicts, ["base", "x", "y", "z"], "base", rounds=100, seed=1) == summary
    other = summarize(verdicts, ["base", "x", "y", "z"], "base", rounds=100, seed=2)
    assert other.systems[0].overall.rating == summary.systems[0].overall.rating
    assert other.systems[0].overall.rating_ci != summary.systems[0].overall.rating_ci


def test_resampling_draws_prompts_with_replacement() -> None:
    counts = stats.resample_counts(7, rounds=500, seed=0)
    assert counts.shape == (500, 7) and (counts.sum(axis=1) == 7).all()
    assert counts.max() > 1 and (counts == 0).any()  # some drawn twice, some not at all
    assert (stats.resample_counts(7, rounds=500, seed=0) == counts).all()


def test_rank_only_separates_intervals_that_do_not_overlap() -> None:
    # c lies wholly above a and b; a and b overlap, so they share rank 2
    assert stats.ranks(np.array([10.0, 15.0, 30.0]), np.array([20.0, 25.0, 40.0])) == [2, 2, 1]
    assert stats.ranks(np.array([0.0, 0.0]), np.array([1.0, 1.0])) == [1, 1]
    verdicts = judged({"base": 0.0, "twin": 0.0, "best": 2.0}, prompts=60, seed=10)
    summary = summarize(verdicts, ["base", "twin", "best"], "base", rounds=100)
    ranks = {s.name: s.overall.rank for s in summary.systems}
    assert ranks == {"best": 1, "base": 2, "twin": 2}
    assert summary.systems[0].name == "best"


def test_composite_and_principles_each_get_their_standing() -> None:
    """`m` always wins under helpful (weight 1), always loses under safe (weight 3)."""
    verdicts = []
    for i in range(12):
        for principle, weight, scores in [
            ("helpful", 1.0, {"base": 2, "m": 4}),
            ("safe", 3.0, {"base": 4, "m": 2}),
        ]:
            order = OrderVerdict(scores, {n: SURE[s] for n, s in scores.items()})
            verdicts.append(
                PromptVerdicts(f"p{i}", principle, weight, (order, order), {"base": 5, "m": 9})
            )
    summary = summarize(verdicts, ["base", "m"], "base", rounds=30)
    m = next(s for s in summary.systems if s.name == "m")
    assert (m.principles["helpful"].wins, m.principles["safe"].losses) == (12, 12)
    assert m.principles["helpful"].win_rate == 1.0 and m.principles["safe"].win_rate == 0.0
    assert m.overall.win_rate == pytest.approx(0.25)  # (1 * 1 + 3 * 0) / 4, as `score` weighs
    assert (m.overall.wins, m.overall.ties, m.overall.losses) == (0, 0, 12)
    assert m.principles["helpful"].rating > 1500 > 1000 > m.overall.rating
    assert summary.principles == (("helpful", 1.0), ("safe", 3.0))
    assert summary.judgments == 12 * 2 * 2 and summary.orders == 2
    assert summary.systems[0].name == "base"
    assert m.mean_length == 9 and m.position_consistency == 1.0


def test_one_principle_is_listed_and_equals_the_composite() -> None:
    summary = summarize(judged({"base": 0.0, "m": 0.5}, prompts=20), ["base", "m"], "base")
    for system in summary.systems:
        assert system.principles == {"helpful": system.overall}


def test_pairs_undecided_prompts_and_position_consistency() -> None:
    def verdict(i: int, *orders: dict[str, int]) -> PromptVerdicts:
        judged_orders = tuple(OrderVerdict(o, {n: SURE[s] for n, s in o.items()}) for o in orders)
        return PromptVerdicts(f"p{i}", "helpful", 1.0, judged_orders, {"a": 1, "b": 2, "c": 3})

    verdicts = [
        verdict(0, {"a": 5, "b": 3, "c": 1}, {"a": 5, "b": 3, "c": 1}),  # a > b > c
        verdict(1, {"a": 3, "b": 3, "c": 3}, {"a": 3, "b": 3, "c": 3}),  # all tie: undecided
        verdict(2, {"a": 5, "b": 1, "c": 3}, {"a": 1, "b": 5, "c": 3}),  # all flip: undecided
        verdict(3, {"a": 1, "b": 4, "c": 4}, {"a": 1, "b": 4, "c": 4}),
    ]
    record = summary_record(summarize(verdicts, ["a", "b", "c"], "a", rounds=20))
    assert record["undecided_prompts"] == 2
    assert record["pairs"] == [
        {"a": "a", "b": "b", "prompts": 4, "a_wins": 1, "b_wins": 1, "ties": 2,
         "position_consistency": 0.75, "undecided": 2},
        {"a": "a", "b": "c", "prompts": 4, "a_wins": 1, "b_wins": 1, "ties": 2,
         "position_consistency": 0.75, "undecided": 2},
        {"a": "b", "b": "c", "prompts": 4, "a_wins": 1, "b_wins": 0, "ties": 3,
         "position_consistency": 0.75, "undecided": 3},
    ]  # fmt: skip
    # a: 8 of its pair-prompts, the flipping prompt's 2 inconsistent -> 6/8
    assert {r["name"]: r["position_consistency"] for r in record["systems"]} == {
        "a": 0.75,
        "b": 0.75,
        "c": 0.75,
    }
    assert {r["name"]: r["mean_length"] for r in record["systems"]} == {"a": 1, "b": 2, "c": 3}


def test_summary_record_has_the_spec_keys_best_first_and_the_run_context() -> None:
    verdicts = judged({"base": 0.0, "tuned": 0.6, "worse": -0.6}, prompts=25, seed=1)
    summary = summarize(verdicts, ["base", "tuned", "worse"], "base", rounds=40, seed=3)
    record = summary_record(summary, model="demo.gguf", mode="fast", left_out=2)
    assert list(record) == [
        "baseline", "prompts", "judgments", "orders", "model", "mode", "principles",
        "bootstrap", "length_controllable", "undecided_prompts", "left_out", "systems", "pairs",
    ]  # fmt: skip
    assert record["baseline"] == "base" and record["prompts"] == 25
    assert (record["judgments"], record["orders"]) == (50, 2)
    assert (record["model"], record["mode"], record["left_out"]) == (
        "demo.gguf",
        "fast",
        {"prompts": 2},
    )
    assert record["principles"] == [{"name": "helpful", "weight": 1.0}]
    assert record["bootstrap"] == {"rounds": 40, "seed": 3, "level": 0.95}
    assert [r["name"] for r in record["systems"]] == ["tuned", "base", "worse"]
    standing = [
        "rank", "rating", "rating_ci", "lc_rating", "lc_rating_ci", "win_rate", "win_rate_ci",
        "win_rate_se", "soft_win_rate", "soft_win_rate_ci", "lc_win_rate", "lc_win_rate_ci",
        "wins", "ties", "losses",
    ]  # fmt: skip
    for row in record["systems"]:
        assert list(row) == ["name", *standing, "mean_length", "position_consistency", "principles"]
        assert list(row["principles"]["helpful"]) == standing
    base = record["systems"][1]
    assert base["rating"] == 1000.0 and base["rating_ci"] == [1000.0, 1000.0]
    assert base["win_rate"] is None and base["win_rate_ci"] is None and base["lc_win_rate"] is None
    assert (base["wins"], base["ties"], base["losses"]) == (0, 0, 0)
    tuned = record["systems"][0]
    assert tuned["win_rate"] == round(tuned["win_rate"], 4) and tuned["rating"] == round(
        tuned["rating"], 1
    )
    assert tuned["wins"] + tuned["ties"] + tuned["losses"] == 25
    assert summary_record(summary, judgments=99, orders=3)["judgments"] == 99
    json.dumps(record, allow_nan=False)


@pytest.mark.parametrize(
    ("systems", "baseline", "rounds", "message"),
    [
        (["a", "b"], "c", 10, "baseline 'c' is not one of the systems"),
        (["a", "b"], "a", 0, "rounds >= 1"),
    ],
)
def test_summarize_refuses_what_it_cannot_compute(
    systems: list[str], baseline: str, rounds: int, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        summarize(judged({"a": 0.0, "b": 0.0}, prompts=3), systems, baseline, rounds=rounds)
