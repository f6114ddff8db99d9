"""Preference pairs from judged items, in the shape TRL's DPOTrainer and RewardTrainer read.

Each pair row holds the item's `prompt`, the `chosen` and `rejected` response texts, their
scores (`score_chosen`, `score_rejected`: rajudge.judged's score), their `margin` (RewardTrainer
reads a `margin` column), the item `id` and the two response names. By default an item gives
its best response against its worst; with `every`, each response against every one scored
lower. A pair whose margin is below `min_margin` (above 0: a tie is no preference) is left out
and counted: a judge's near-tie is a weak preference to train on.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import Any

from rajudge.errors import UsageError
from rajudge.judged import JudgedItem

DEFAULT_MIN_MARGIN = 0.5


@dataclass
class Pairing:
    """Turns judged items into pair rows, counting what it leaves out."""

    every: bool = False
    min_margin: float = DEFAULT_MIN_MARGIN
    items: int = 0
    pairs: int = 0
    below_margin: int = 0

    def __post_init__(self) -> None:
        if not self.min_margin > 0:
            raise UsageError(
                f"--min-margin must be above 0 (a tie is no preference), not {self.min_margin}"
            )

    def rows(self, item: JudgedItem) -> list[dict[str, Any]]:
        """The pair rows of one item, best pairs first."""
        self.items += 1
        order = sorted(item.scores, key=lambda name: -item.scores[name])  # stable: input order
        candidates = combinations(order, 2) if self.every else [(order[0], order[-1])]
        rows = []
        for chosen, rejected in candidates:
            if chosen == rejected:
                continue  # one response: no pair
            margin = round(item.scores[chosen] - item.scores[rejected], 4)
            if margin < self.min_margin:
                self.below_margin += 1
                continue
            rows.append(_row(item, chosen, rejected, margin))
        self.pairs += len(rows)
        return rows

    def summary(self) -> str:
        """What was written and left out, for stderr."""
        line = f"wrote {self.pairs} pair(s) from {self.items} item(s)"
        if self.below_margin:
            line += (
                f"; {self.below_margin} pair(s) with a margin below {self.min_margin:g} "
                "(--min-margin) left out"
            )
        return line


def _row(item: JudgedItem, chosen: str, rejected: str, margin: float) -> dict[str, Any]:
    return {
        "id": item.id,
        "prompt": item.prompt,
        "chosen": item.responses[chosen],
        "rejected": item.responses[rejected],
        "score_chosen": item.scores[chosen],
        "score_rejected": item.scores[rejected],
        "margin": margin,
        "chosen_name": chosen,
        "rejected_name": rejected,
    }
