"""A comparison's numbers: per system and principle, and per pair (rajudge.compare.record
writes them as the JSON object).

`summarize` turns judged prompts into a `Summary` at full precision; rajudge.compare.stats
does the fitting.

Everything is fitted in a canonical frame (systems sorted by name, battles oriented so that a
sorts before b, prompts sorted by id before the bootstrap draws them) and only then anchored on
the baseline, so `compare A B` and `compare B A` fit the same problems and their numbers mirror.

Hard outcomes of the composite can be fractional (a weighted mean over principles); counting
wins, ties and losses, an outcome above 0.5 is a win, below a loss, and 0.5 (within 1e-9) a
tie. A pair is undecided on a prompt when its outcome is a tie; a prompt is undecided when
every pair is.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np
from scipy.special import expit

from rajudge.compare import stats
from rajudge.compare.outcomes import COMPOSITE, PairOutcome, PromptVerdicts, pair_outcomes

_TIE = 1e-9  # how close to 0.5 a (weighted) outcome counts as a tie

Interval = tuple[float, float]


@dataclass(frozen=True)
class Standing:
    """One system under one principle (or the composite). Rates are against the baseline and
    None in the baseline's own standing (its ratings are `stats.ANCHOR` by construction)."""

    rank: int  # 1 + systems whose rating interval lies wholly above this one's
    rating: float  # Bradley-Terry, Elo scale, baseline at 1000
    rating_ci: Interval
    lc_rating: float  # the same with the length covariate (equal lengths)
    lc_rating_ci: Interval
    win_rate: float | None  # mean hard outcome against the baseline, ties 0.5
    win_rate_ci: Interval | None
    win_rate_se: float | None  # standard error of that mean (ddof 1; None on one prompt)
    soft_win_rate: float | None  # mean soft outcome against the baseline
    soft_win_rate_ci: Interval | None
    lc_win_rate: float | None  # length-controlled win rate against the baseline
    lc_win_rate_ci: Interval | None
    wins: int  # hard outcomes against the baseline
    ties: int
    losses: int


@dataclass(frozen=True)
class SystemSummary:
    """A system's standing on the composite and under each principle."""

    name: str
    overall: Standing  # the composite (equal to the principle's where there is one)
    principles: Mapping[str, Standing]
    mean_length: float  # characters
    position_consistency: float  # mean `consistent` over this system's pairs and prompts


@dataclass(frozen=True)
class PairSummary:
    """Two systems head to head on the composite; a before b in the systems' given order."""

    a: str
    b: str
    prompts: int
    a_wins: int
    b_wins: int
    ties: int
    position_consistency: float

    @property
    def undecided(self) -> int:
        """Prompts on which the pair's verdict was a tie."""
        return self.ties


@dataclass(frozen=True)
class Summary:
    """What a comparison found, full precision; `summary_record` rounds it for output."""

    baseline: str
    prompts: int
    judgments: int  # judged orders: prompts x principles x orders
    orders: int  # presentation orders per judgment (the most any prompt had)
    principles: tuple[tuple[str, float], ...]  # (name, weight)
    rounds: int
    seed: int
    level: float
    length_controllable: bool
    undecided_prompts: int
    systems: tuple[SystemSummary, ...]  # best first (composite rating)
    pairs: tuple[PairSummary, ...]


def summarize(
    verdicts: Sequence[PromptVerdicts],
    systems: Sequence[str],
    baseline: str,
    *,
    rounds: int = 200,
    seed: int = 0,
    level: float = 0.95,
) -> Summary:
    """Ratings, win rates (raw, soft, length-controlled) with bootstrap intervals, and ranks.

    `systems` in the user's order (pairs follow it; ties in rating keep it), `baseline` one of
    them. `rounds` bootstrap rounds resample prompts with numpy's default_rng(`seed`); `level`
    is the intervals' coverage. Raises ValueError where pair_outcomes does, for a baseline
    that is not a system, or for fewer than one round.
    """
    if baseline not in systems:
        raise ValueError(f"baseline {baseline!r} is not one of the systems {list(systems)}")
    if rounds < 1 or not 0.0 < level < 1.0:
        raise ValueError(f"need rounds >= 1 and 0 < level < 1, got {rounds} and {level}")
    outcomes = pair_outcomes(verdicts, systems)
    principles = _principles(verdicts)
    frame = _Frame.build(outcomes, systems, baseline)
    counts = stats.resample_counts(frame.n_prompts, rounds, seed)
    weights = np.vstack([np.ones(frame.n_prompts), counts])
    fitted = principles if len(principles) > 1 else ()  # one principle: it is the composite
    sets = [COMPOSITE, *(name for name, _ in fitted)]
    standings = _standings(frame, outcomes, sets, weights[:, frame.prompt], level)
    by_name = {name: standings[COMPOSITE][name] for name in systems}
    order = sorted(systems, key=lambda name: (-by_name[name].rating, systems.index(name)))
    composite = outcomes[COMPOSITE]
    return Summary(
        baseline=baseline,
        prompts=frame.n_prompts,
        judgments=sum(len(v.orders) for v in verdicts),
        orders=max(len(v.orders) for v in verdicts),
        principles=principles,
        rounds=rounds,
        seed=seed,
        level=level,
        length_controllable=frame.controllable,
        undecided_prompts=_undecided_prompts(composite),
        systems=tuple(
            SystemSummary(
                name=name,
                overall=by_name[name],
                principles={p: standings[p if fitted else COMPOSITE][name] for p, _ in principles},
                mean_length=_mean_length(composite, name),
                position_consistency=_mean([o.consistent for o in composite if name in (o.a, o.b)]),
            )
            for name in order
        ),
        pairs=tuple(_pair(composite, a, b) for a, b in combinations(systems, 2)),
    )


@dataclass(frozen=True)
class _Frame:
    """The canonical battle table: one row per prompt and pair, systems sorted by name, a < b.

    `other`/`sign` view each battle against the baseline: other = the non-baseline side
    (-1 for battles without the baseline), sign = +1 where it is a, -1 where it is b."""

    names: tuple[str, ...]  # sorted
    base: int
    prompt_ids: tuple[str, ...]  # sorted
    keys: tuple[tuple[str, str, str], ...]  # (prompt id, a, b) per battle
    a: stats.Ints
    b: stats.Ints
    prompt: stats.Ints
    feature: stats.Floats  # standardised length feature, a minus b; zeros if not controllable
    controllable: bool
    other: stats.Ints
    sign: stats.Floats

    @property
    def n_prompts(self) -> int:
        return len(self.prompt_ids)

    @classmethod
    def build(
        cls, outcomes: Mapping[str, list[PairOutcome]], systems: Sequence[str], baseline: str
    ) -> _Frame:
        names = tuple(sorted(systems))
        index = {name: i for i, name in enumerate(names)}
        lengths = {}
        for o in outcomes[COMPOSITE]:
            lengths[o.prompt_id, o.a] = o.length_a
            lengths[o.prompt_id, o.b] = o.length_b
        prompt_ids = tuple(sorted({o.prompt_id for o in outcomes[COMPOSITE]}))
        keys = tuple((p, a, b) for p in prompt_ids for a, b in combinations(names, 2))
        a = np.array([index[k[1]] for k in keys], dtype=np.intp)
        b = np.array([index[k[2]] for k in keys], dtype=np.intp)
        raw = stats.length_feature(
            np.array([lengths[p, x] for p, x, _ in keys]),
            np.array([lengths[p, y] for p, _, y in keys]),
        )
        base = index[baseline]
        other = np.where(a == base, b, np.where(b == base, a, -1))
        sign = np.where(a == base, -1.0, 1.0)
        against = other >= 0
        controllable = stats.identifiable(raw[against] * sign[against], other[against], len(names))
        return cls(
            names=names,
            base=base,
            prompt_ids=prompt_ids,
            keys=keys,
            a=a,
            b=b,
            prompt=np.repeat(np.arange(len(prompt_ids)), len(keys) // len(prompt_ids)),
            feature=stats.standardised(raw) if controllable else np.zeros_like(raw),
            controllable=controllable,
            other=other,
            sign=sign,
        )

    def canonical(self, outcomes: list[PairOutcome], field: str) -> stats.Floats:
        """One outcome field per battle, as the probability that a (by name) wins."""
        keyed = {}
        for o in outcomes:
            value = getattr(o, field)
            keyed[o.prompt_id, o.a, o.b] = value
            keyed[o.prompt_id, o.b, o.a] = 1.0 - value
        return np.array([keyed[key] for key in self.keys])


def _standings(
    frame: _Frame,
    outcomes: Mapping[str, list[PairOutcome]],
    sets: Sequence[str],
    weights: stats.Floats,
    level: float,
) -> dict[str, dict[str, Standing]]:
    """Every outcome set's standings. `weights` is (1 + rounds, battles): row 0 the data as
    judged, then one row per bootstrap round. The estimates are fitted apart from the rounds,
    so that they do not move (even in the last digits) with `rounds` or `seed`."""
    hard = np.array([frame.canonical(outcomes[s], "outcome") for s in sets])
    soft = np.array([frame.canonical(outcomes[s], "soft") for s in sets])
    estimates = _estimates(frame, hard, soft, weights[:1])
    rounds = _estimates(frame, hard, soft, weights[1:])
    every = [np.concatenate(pair, axis=1) for pair in zip(estimates, rounds, strict=True)]
    against = frame.other >= 0
    hard_vs = _versus(hard[:, against], frame.sign[against])
    return {
        name: _set_standings(
            frame, level, [values[i] for values in every], hard_vs[i], frame.other[against]
        )
        for i, name in enumerate(sets)
    }


def _estimates(
    frame: _Frame, hard: stats.Floats, soft: stats.Floats, weights: stats.Floats
) -> tuple[stats.Floats, ...]:
    """Ratings, lc ratings, win rates, soft win rates, lc win rates: each (sets, rows, systems)
    for outcome sets (sets, battles) under weights (rows, battles), all fitted at once."""
    n, sets, rows = len(frame.names), len(hard), len(weights)
    tiled = np.tile(weights, (sets, 1))  # (sets x rows, battles), set-major

    def elo(feature: stats.Floats | None) -> stats.Floats:
        fit, _ = stats.fit_bradley_terry(
            frame.a, frame.b, np.repeat(hard, rows, axis=0), tiled, n, feature
        )
        return stats.to_elo(fit, frame.base).reshape(sets, rows, n)

    ratings = elo(None)
    against = frame.other >= 0
    other, sign = frame.other[against], frame.sign[against]
    hard_vs = _versus(hard[:, against], sign)
    rates = _rates(hard_vs, weights[:, against], other, n)
    soft_rates = _rates(_versus(soft[:, against], sign), weights[:, against], other, n)
    if not frame.controllable:
        return ratings, ratings, rates, soft_rates, rates
    theta, _ = stats.fit_against_baseline(
        other, np.repeat(hard_vs, rows, axis=0), tiled[:, against], n, frame.feature[against] * sign
    )
    lc_rates = expit(theta).reshape(sets, rows, n)
    return ratings, elo(frame.feature), rates, soft_rates, lc_rates


def _versus(canonical: stats.Floats, sign: stats.Floats) -> stats.Floats:
    """Outcomes a-wins -> the non-baseline side's, for battles against the baseline."""
    return np.where(sign > 0, canonical, 1.0 - canonical)


def _rates(values: stats.Floats, weights: stats.Floats, other: stats.Ints, n: int) -> stats.Floats:
    """Weighted mean outcome per system: (sets, rows, n); NaN for the baseline's column."""
    onehot = np.zeros((len(other), n))
    onehot[np.arange(len(other)), other] = 1.0
    totals = np.einsum("rb,sb,bn->srn", weights, values, onehot)
    counts = weights @ onehot
    with np.errstate(invalid="ignore", divide="ignore"):
        rates: stats.Floats = totals / counts
    return rates


def _set_standings(
    frame: _Frame,
    level: float,
    estimates: Sequence[stats.Floats],
    hard_vs: stats.Floats,
    other: stats.Ints,
) -> dict[str, Standing]:
    """One outcome set: `estimates` (ratings, length-controlled ratings, win rates, soft win
    rates, length-controlled win rates) are arrays (1 + rounds, systems), row 0 the point
    estimate."""
    ratings, lc_ratings, rates, soft_rates, lc_rates = estimates
    low, high = stats.interval(ratings[1:], level)
    rank = stats.ranks(low, high)
    lc = stats.interval(lc_ratings[1:], level)
    standings = {}
    for i, name in enumerate(frame.names):
        mine = hard_vs[other == i]
        is_base = i == frame.base
        standings[name] = Standing(
            rank=rank[i],
            rating=float(ratings[0, i]),
            rating_ci=(float(low[i]), float(high[i])),
            lc_rating=float(lc_ratings[0, i]),
            lc_rating_ci=(float(lc[0][i]), float(lc[1][i])),
            win_rate=None if is_base else float(rates[0, i]),
            win_rate_ci=None if is_base else _ci(rates[1:, i], level),
            win_rate_se=None if is_base else stats.mean_and_se(mine)[1],
            soft_win_rate=None if is_base else float(soft_rates[0, i]),
            soft_win_rate_ci=None if is_base else _ci(soft_rates[1:, i], level),
            lc_win_rate=None if is_base else float(lc_rates[0, i]),
            lc_win_rate_ci=None if is_base else _ci(lc_rates[1:, i], level),
            wins=int(np.sum(mine > 0.5 + _TIE)),
            ties=int(np.sum(np.abs(mine - 0.5) <= _TIE)),
            losses=int(np.sum(mine < 0.5 - _TIE)),
        )
    return standings


def _ci(samples: stats.Floats, level: float) -> Interval:
    low, high = stats.interval(samples, level)
    return float(low), float(high)


def _principles(verdicts: Sequence[PromptVerdicts]) -> tuple[tuple[str, float], ...]:
    seen: dict[str, float] = {}
    for verdict in verdicts:
        seen.setdefault(verdict.principle, verdict.weight)
    return tuple(seen.items())


def _pair(composite: list[PairOutcome], a: str, b: str) -> PairSummary:
    mine = [o.outcome for o in composite if (o.a, o.b) == (a, b)]
    return PairSummary(
        a=a,
        b=b,
        prompts=len(mine),
        a_wins=sum(x > 0.5 + _TIE for x in mine),
        b_wins=sum(x < 0.5 - _TIE for x in mine),
        ties=sum(abs(x - 0.5) <= _TIE for x in mine),
        position_consistency=_mean([o.consistent for o in composite if (o.a, o.b) == (a, b)]),
    )


def _undecided_prompts(composite: list[PairOutcome]) -> int:
    decided = {o.prompt_id for o in composite if abs(o.outcome - 0.5) > _TIE}
    return len({o.prompt_id for o in composite} - decided)


def _mean_length(composite: list[PairOutcome], name: str) -> float:
    lengths = {o.prompt_id: o.length_a for o in composite if o.a == name}
    lengths.update({o.prompt_id: o.length_b for o in composite if o.b == name})
    return _mean(list(lengths.values()))


def _mean(values: Sequence[float]) -> float:
    """fsum: the same mean whatever order the systems were given in."""
    return math.fsum(values) / len(values)
