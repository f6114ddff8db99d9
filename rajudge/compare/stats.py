"""Bradley-Terry ratings, win rates, length control, bootstrap intervals and ranks (pure).

Conventions, each from the tool that set it:
- Bradley-Terry as Chatbot Arena's fastchat/serve/monitor/rating_systems.py: battles (a, b, y)
  with weights, y in [0, 1] (a tie is 0.5: half a win and half a loss), minimise the weighted
  log loss of P(a beats b) = s(r_a - r_b) with L-BFGS-B and its analytic gradient; ratings on
  the Elo scale (400 points per factor 10 in odds, so `ELO` points per natural-log unit),
  anchored so that one system (the baseline) is at `ANCHOR`.
- Unlike Arena, every fit adds `PENALTY / 2 * sum(coefficient ** 2)` to the loss, which is
  normalised per fit to the mean over its battle weight: a system that wins every battle (a
  sweep, common on a few prompts or in a bootstrap round) then gets a large finite rating
  (about 2,100 Elo above the system it swept) instead of one that runs off to infinity. It
  moves a non-separated fit's win probabilities by about PENALTY * |log-odds| (~1e-6), far
  below what the summary rounds to.
- Style (length) control as Arena-Hard-Auto's: per battle the feature (L_a - L_b) / (L_a + L_b)
  (0 when both are empty), divided by its standard deviation over the battles and appended to
  the design with one shared coefficient; the controlled ratings are the system coefficients
  (the feature set to 0, answers of equal length). Unlike Arena-Hard the feature is not
  centred: centring would make "controlled" mean "at the mean length difference" and tie the
  result to how battles happen to be oriented.
- Win rate against a baseline as AlpacaEval's: the mean outcome (ties 0.5), standard error the
  standard error of that mean (ddof 1). The length-controlled win rate is a joint fit over the
  battles against the baseline, logit P(m beats baseline) = theta_m + gamma * feature with
  gamma shared, reported as s(theta_m); with no feature it is the plain win rate.
- Confidence intervals from a bootstrap over prompts (not battles), as percentiles; a rank is
  1 + the number of systems whose interval lies wholly above this one's (Chatbot Arena).

Every fit is vectorised: one call fits many problems (principles x bootstrap rounds) that
share a design and differ in outcomes and weights, as one L-BFGS-B problem whose objective is
the sum of the independent ones.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import minimize
from scipy.special import expit

ELO = 400.0 / math.log(10.0)  # Elo points per natural-log unit of odds
ANCHOR = 1000.0  # the baseline's rating
PENALTY = 1e-6  # L2 strength per unit of (normalised) battle weight
_GTOL = 1e-10
_MAX_ITER = 15_000

Floats = NDArray[np.float64]
Ints = NDArray[np.intp]


def length_feature(length_a: ArrayLike, length_b: ArrayLike) -> Floats:
    """(L_a - L_b) / (L_a + L_b) per battle, 0 where both answers are empty."""
    la, lb = np.asarray(length_a, dtype=float), np.asarray(length_b, dtype=float)
    total = la + lb
    feature: Floats = np.divide(la - lb, total, out=np.zeros_like(total), where=total > 0)
    return feature


def standardised(feature: Floats) -> Floats:
    """The feature divided by its standard deviation (ddof 0); all zeros if it has none."""
    std = float(np.std(feature))
    return feature / std if std > 0 else np.zeros_like(feature)


def identifiable(feature: Floats, system: Ints, n_systems: int) -> bool:
    """Whether a shared coefficient on `feature` can be told apart from per-system ones.

    True when the feature varies within some system's battles (`system[i]` = the system of
    battle i, as in `fit_against_baseline`): if it is constant per system, its effect and the
    systems' own strengths cannot be separated, and length cannot be controlled.
    """
    totals = np.bincount(system, weights=feature, minlength=n_systems)
    counts = np.bincount(system, minlength=n_systems)
    means = np.divide(totals, counts, out=np.zeros(n_systems), where=counts > 0)
    return bool(np.max(np.abs(feature - means[system]), initial=0.0) > 1e-9)


def fit_bradley_terry(
    a: Ints,
    b: Ints,
    outcomes: Floats,
    weights: Floats,
    n_systems: int,
    feature: Floats | None = None,
) -> tuple[Floats, Floats]:
    """Bradley-Terry ratings on the natural-log scale: P(a beats b) = s(r_a - r_b [+ g f]).

    `outcomes` and `weights` are (problems, battles) or (battles,); returns ratings
    (problems, n_systems) and the feature's coefficient per problem (0 without a feature).
    Ratings are identified only up to a shift (the penalty centres them): compare them through
    `to_elo`.
    """
    pairs, group = np.unique(np.column_stack([a, b]), axis=0, return_inverse=True)
    design = np.zeros((len(pairs), n_systems))
    design[np.arange(len(pairs)), pairs[:, 0]] += 1.0
    design[np.arange(len(pairs)), pairs[:, 1]] -= 1.0
    return _fit_logistic(group.ravel(), design, feature, outcomes, weights)


def fit_against_baseline(
    system: Ints,
    outcomes: Floats,
    weights: Floats,
    n_systems: int,
    feature: Floats | None = None,
) -> tuple[Floats, Floats]:
    """theta per system from battles against one baseline: P(system wins) = s(theta [+ g f]).

    `system[i]` is the non-baseline side of battle i, `outcomes` that system's (1 win, 0.5
    tie), `feature` oriented the same way (system minus baseline); gamma is shared by all
    systems. Returns theta (problems, n_systems), 0 for systems without battles, and gamma.
    s(theta) is the length-controlled win rate; without a feature it is the plain win rate.
    """
    present, group = np.unique(system, return_inverse=True)
    return _fit_logistic(group.ravel(), np.eye(n_systems)[present], feature, outcomes, weights)


def to_elo(ratings: Floats, anchor: int) -> Floats:
    """Natural-log ratings (..., n_systems) -> Elo scale with system `anchor` at `ANCHOR`."""
    return ANCHOR + ELO * (ratings - ratings[..., [anchor]])


def win_probability(elo_a: Floats | float, elo_b: Floats | float) -> Floats:
    """P(a beats b) from two Elo ratings."""
    probability: Floats = expit((np.asarray(elo_a) - np.asarray(elo_b)) / ELO)
    return probability


def mean_and_se(values: Floats) -> tuple[float, float | None]:
    """Mean and its standard error (ddof 1; None for fewer than two values)."""
    values = np.asarray(values, dtype=float)
    se = float(np.std(values, ddof=1) / math.sqrt(len(values))) if len(values) > 1 else None
    return float(np.mean(values)), se


def resample_counts(n_prompts: int, rounds: int, seed: int) -> Floats:
    """How often each prompt is drawn in each bootstrap round: (rounds, n_prompts).

    Each round draws n_prompts prompts with replacement (numpy default_rng(seed)); give the
    prompts in a canonical order (sorted ids) so that the same data gives the same rounds.
    """
    draws = np.random.default_rng(seed).integers(0, n_prompts, size=(rounds, n_prompts))
    counts = np.zeros((rounds, n_prompts))
    np.add.at(counts, (np.arange(rounds)[:, None], draws), 1.0)
    return counts


def interval(samples: Floats, level: float = 0.95) -> tuple[Floats, Floats]:
    """Percentile interval over axis 0 (bootstrap rounds): 2.5 and 97.5 for level 0.95."""
    tail = 100.0 * (1.0 - level) / 2.0
    low, high = np.percentile(samples, [tail, 100.0 - tail], axis=0)
    return low, high


def ranks(low: Floats, high: Floats) -> list[int]:
    """1 + how many systems' lower bounds lie above this system's upper bound."""
    low, high = np.asarray(low), np.asarray(high)
    return [1 + int(np.sum(low > top)) for top in high]


def _fit_logistic(
    group: Ints, design: Floats, feature: Floats | None, outcomes: Floats, weights: Floats
) -> tuple[Floats, Floats]:
    """Penalised weighted logistic regressions that share a design, fitted together.

    Battle i has the design row `design[group[i]]` (plus `feature[i]` where there is one);
    each row of outcomes/weights (problems, battles) is one regression. The sum of the
    independent objectives is minimised where each of them is, so one L-BFGS-B run fits all.
    Battles are sorted by group once, so that logits and gradients work on the few distinct
    design rows (np.repeat, np.add.reduceat) instead of a dense (battles x systems) matrix.
    Returns the design's coefficients (problems, systems) and the feature's (problems,).
    """
    outcomes, weights = np.broadcast_arrays(np.atleast_2d(outcomes), np.atleast_2d(weights))
    order = np.argsort(group, kind="stable")
    counts = np.bincount(group, minlength=len(design))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    weights = weights[:, order] / weights.sum(axis=1, keepdims=True)
    won = weights * outcomes[:, order]
    values = None if feature is None else np.asarray(feature, dtype=float)[order]
    n_problems, k = len(weights), design.shape[1]
    width = k + (values is not None)

    def loss_and_grad(flat: Floats) -> tuple[float, Floats]:
        coefficients = flat.reshape(n_problems, width)
        logits = np.repeat(coefficients[:, :k] @ design.T, counts, axis=1)
        if values is not None:
            logits += coefficients[:, k:] * values
        loss = np.sum(weights * np.logaddexp(0.0, logits)) - np.sum(won * logits)
        error = expit(logits, out=logits)  # logits are not needed again
        error *= weights
        error -= won
        grad = np.empty_like(coefficients)
        grad[:, :k] = np.add.reduceat(error, starts, axis=1) @ design
        if values is not None:
            grad[:, k] = error @ values
        grad += PENALTY * coefficients
        return float(loss + PENALTY / 2 * np.sum(coefficients**2)), grad.ravel()

    result = minimize(
        loss_and_grad,
        np.zeros(n_problems * width),
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": _MAX_ITER, "gtol": _GTOL, "ftol": 0.0, "maxcor": 20},
    )
    coefficients = result.x.reshape(n_problems, width)
    gamma = coefficients[:, k] if values is not None else np.zeros(n_problems)
    return coefficients[:, :k], gamma
