"""What every backend promises: judge one item under one principle, or fail per item."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from rajudge.records import Item, Judgment, Mode, Principle

DEFAULT_MAX_CTX = 8192  # default context cap: enough for listwise items, modest KV memory


@dataclass(frozen=True)
class EngineSettings:
    """How to run the judge. The defaults make the same input give the same output."""

    mode: Mode = "fast"
    threads: int | None = None  # None: usable CPUs (affinity and cgroup quota)
    n_gpu_layers: int = 0  # -1: offload every layer
    ctx: int | None = None  # None: the model's training context, capped at DEFAULT_MAX_CTX
    batch: int = 512
    seed: int = 0  # drives the response shuffle and any sampling
    temperature: float = 0.0  # for free text only (reasoning, rationale); scores use argmax
    reasoning_budget: int = 384  # most tokens of thinking in reasoning mode
    rationale_tokens: int = 48  # most tokens of the short rationale in fast mode


class Backend(Protocol):
    """A loaded judge model. Raises InputError subclasses for item problems, ModelError else."""

    model_name: str
    settings: EngineSettings

    def judge(
        self, item: Item, principle: Principle, order: Sequence[str] | None = None
    ) -> Judgment:
        """Judge `item`; `order` overrides the seeded shuffle (for swap and permutation tests)."""
        ...

    def close(self) -> None: ...
