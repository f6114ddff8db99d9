"""The `rajudge compare -f json` object: a Summary rounded, with what only the run knows.

Ratings and lengths to 1 decimal, rates and consistencies to 4. Ratings and rates round a half
toward the baseline's value (1000, 0.5), so that a value and its mirror image (2000 - x, 1 - x)
round to mirror images even when float noise puts them on either side of a half (a bootstrap
interval's end often lands on one: 0.66875 is 214 of 320).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from rajudge.compare.stats import ANCHOR
from rajudge.compare.summary import Interval, Standing, Summary


def summary_record(
    summary: Summary,
    *,
    model: str | None = None,
    mode: str | None = None,
    judgments: int | None = None,
    orders: int | None = None,
    left_out: int = 0,
) -> dict[str, Any]:
    """The `-f json` object: the summary rounded, with what only the run knows.

    `model` and `mode` name the judge and its mode (null when not given); `judgments` and
    `orders` override the counts the summary took from its verdicts (say, judgments the run
    made, cache hits included); `left_out` is how many prompts `--on-missing skip` left out.
    """
    return {
        "baseline": summary.baseline,
        "prompts": summary.prompts,
        "judgments": summary.judgments if judgments is None else judgments,
        "orders": summary.orders if orders is None else orders,
        "model": model,
        "mode": mode,
        "principles": [{"name": name, "weight": weight} for name, weight in summary.principles],
        "bootstrap": {"rounds": summary.rounds, "seed": summary.seed, "level": summary.level},
        "length_controllable": summary.length_controllable,
        "undecided_prompts": summary.undecided_prompts,
        "left_out": {"prompts": left_out},
        "systems": [
            {
                "name": system.name,
                **_standing_record(system.overall),
                "mean_length": _round(system.mean_length, 1),
                "position_consistency": _round(system.position_consistency, 4),
                "principles": {
                    name: _standing_record(standing) for name, standing in system.principles.items()
                },
            }
            for system in summary.systems
        ],
        "pairs": [
            {
                "a": pair.a,
                "b": pair.b,
                "prompts": pair.prompts,
                "a_wins": pair.a_wins,
                "b_wins": pair.b_wins,
                "ties": pair.ties,
                "position_consistency": _round(pair.position_consistency, 4),
                "undecided": pair.undecided,
            }
            for pair in summary.pairs
        ],
    }


def _standing_record(standing: Standing) -> dict[str, Any]:
    return {
        "rank": standing.rank,
        "rating": _rating(standing.rating),
        "rating_ci": _pair_of(standing.rating_ci, _rating),
        "lc_rating": _rating(standing.lc_rating),
        "lc_rating_ci": _pair_of(standing.lc_rating_ci, _rating),
        "win_rate": _rate(standing.win_rate),
        "win_rate_ci": _pair_of(standing.win_rate_ci, _rate),
        "win_rate_se": _round(standing.win_rate_se, 4),
        "soft_win_rate": _rate(standing.soft_win_rate),
        "soft_win_rate_ci": _pair_of(standing.soft_win_rate_ci, _rate),
        "lc_win_rate": _rate(standing.lc_win_rate),
        "lc_win_rate_ci": _pair_of(standing.lc_win_rate_ci, _rate),
        "wins": standing.wins,
        "ties": standing.ties,
        "losses": standing.losses,
    }


def _round(value: float | None, digits: int, toward: float | None = None) -> float | None:
    """`value` to `digits` decimals; with `toward`, a half (within 1e-9 of the last place)
    goes toward it."""
    if value is None:
        return None
    if toward is not None:
        value += math.copysign(1e-9 * 10.0**-digits, toward - value)
    return round(value, digits) + 0.0  # + 0.0: no "-0.0"


def _rating(value: float) -> float | None:
    return _round(value, 1, toward=ANCHOR)


def _rate(value: float | None) -> float | None:
    return _round(value, 4, toward=0.5)


def _pair_of(
    pair: Interval | None, rounding: Callable[[float], float | None]
) -> list[float | None] | None:
    return None if pair is None else [rounding(pair[0]), rounding(pair[1])]
