"""The values that travel through rajudge: what is judged and what comes out.

All frozen: a record made by one stage is never changed by the next.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Mode = Literal["fast", "reasoning"]
# Where a judgment's score distributions come from: the model's probabilities of the five score
# tokens, or, from a server that gives no log-probabilities, all mass on the score it returned.
DistributionSource = Literal["logprobs", "one-hot"]
SCORE_LEVELS = (1, 2, 3, 4, 5)


@dataclass(frozen=True)
class Principle:
    """A natural-language judging criterion, with its weight in a composite score."""

    name: str
    text: str
    description: str = ""
    tags: tuple[str, ...] = ()
    weight: float = 1.0
    source: str = "library"  # "library", a YAML path, "inline" (literal -p text) or "item"


@dataclass(frozen=True)
class Item:
    """One prompt with named candidate responses (insertion order kept)."""

    id: str
    prompt: str
    responses: dict[str, str]
    principle: Principle | None = None  # the item's own principle, used when no -p is given
    where: str = ""  # "file:line" for messages about this item


@dataclass(frozen=True)
class ResponseScore:
    """How one response fared: the chosen score and the model's full belief over 1..5."""

    name: str
    score: int
    expected: float
    distribution: tuple[float, ...]  # P(score = 1..5), sums to 1
    rank: int  # 1 is best


@dataclass(frozen=True)
class Timings:
    prompt_tokens: int  # tokens in the judge prompt
    reused_tokens: int  # of those, found already in the KV cache
    generated_tokens: int  # tokens decoded after the prompt (forced and free)
    seconds: float
    cached: bool = False  # taken from the result cache: the numbers are the original judgment's


@dataclass(frozen=True)
class Judgment:
    """One item judged under one principle; `responses` is best first."""

    item_id: str
    principle: Principle
    responses: tuple[ResponseScore, ...]
    rationale: str
    model: str
    mode: Mode
    timings: Timings
    distribution_source: DistributionSource = "logprobs"
    # Judged in several presentation orders: the share of orders whose top response is the
    # combined verdict's top (rajudge.judging.scoring.combine). None for one order.
    consistency: float | None = None
    # The responses' names in the order the judge saw them; set where a run chose the order.
    shown: tuple[str, ...] = ()
    # Judged in several orders: each order's own judgment, as shown (what `compare` counts).
    orders: tuple[Judgment, ...] = ()

    @property
    def ranking(self) -> tuple[str, ...]:
        return tuple(r.name for r in self.responses)


@dataclass(frozen=True)
class ItemResult:
    """Every principle's judgment of one item, combined into a weighted composite."""

    item: Item
    judgments: tuple[Judgment, ...]
    key: str = ""  # item + principles + settings, which --resume matches on (rajudge.run.schedule)
    composite: dict[str, float] = field(init=False)

    def __post_init__(self) -> None:
        total = sum(j.principle.weight for j in self.judgments)
        composite = {
            name: sum(
                j.principle.weight * next(r.expected for r in j.responses if r.name == name)
                for j in self.judgments
            )
            / total
            for name in self.item.responses
        }
        object.__setattr__(self, "composite", composite)

    @property
    def ranking(self) -> tuple[str, ...]:
        """Best first: the judgment's own ranking for one principle, else by composite score."""
        if len(self.judgments) == 1:
            return self.judgments[0].ranking
        order = list(self.item.responses)
        return tuple(sorted(order, key=lambda n: (-self.composite[n], order.index(n))))
