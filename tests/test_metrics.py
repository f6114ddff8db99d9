"""Metrics against values computed by hand."""

from __future__ import annotations

import math

import pytest

from rajudge.evaluation import metrics

GOLD = {"a": 3.0, "b": 2.0, "c": 1.0}


def test_verdict_counts_ties_as_half() -> None:
    assert [metrics.verdict(2, 1), metrics.verdict(1, 1), metrics.verdict(0, 1)] == [1, 0.5, 0]


def test_kendall_tau() -> None:
    # pairs (a,b) and (a,c) concordant, (b,c) discordant: (2 - 1) / 3
    assert metrics.kendall_tau(GOLD, {"a": 3, "b": 1, "c": 2}) == pytest.approx(1 / 3)
    assert metrics.kendall_tau(GOLD, GOLD) == 1.0


def test_kendall_tau_b_with_ties() -> None:
    # two discordant pairs, one pair tied in gold only: -2 / sqrt(3 * 2)
    tau = metrics.kendall_tau({"a": 2, "b": 1, "c": 1}, {"a": 1, "b": 2, "c": 3})
    assert tau == pytest.approx(-2 / math.sqrt(6))


def test_spearman() -> None:
    # ranks (3, 2, 1) vs (3, 1, 2): 1 - 6 * 2 / (3 * 8)
    assert metrics.spearman(GOLD, {"a": 3, "b": 1, "c": 2}) == pytest.approx(0.5)
    assert metrics.spearman(GOLD, {"a": 1, "b": 1, "c": 1}) != metrics.spearman(GOLD, GOLD)


def test_ndcg() -> None:
    # order a, c, b: (3 + 1/log2(3) + 2/2) / (3 + 2/log2(3) + 1/2)
    expected = (3 + 1 / math.log2(3) + 1) / (3 + 2 / math.log2(3) + 0.5)
    assert metrics.ndcg(GOLD, {"a": 3, "b": 1, "c": 2}) == pytest.approx(expected)
    assert metrics.ndcg(GOLD, GOLD) == pytest.approx(1.0)


def test_pairwise_accuracy_counts_predicted_ties_as_half() -> None:
    assert metrics.pairwise_accuracy(GOLD, {"a": 3, "b": 1, "c": 1}) == pytest.approx(2.5 / 3)
    assert metrics.pairwise_accuracy({"a": 1, "b": 1}, {"a": 2, "b": 1}) != 1.0  # no gold pairs


def test_bootstrap_ci_is_seeded_and_brackets_the_mean() -> None:
    values = [1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.5, 1.0]
    low, high = metrics.bootstrap_ci(values, seed=3)
    assert low <= metrics.mean(values) <= high
    assert (low, high) == metrics.bootstrap_ci(values, seed=3)
    assert metrics.bootstrap_ci([0.5] * 10) == (0.5, 0.5)
