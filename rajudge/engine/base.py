"""What every backend promises: judge one item under one principle, or fail per item."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from rajudge.errors import UsageError
from rajudge.protocol import unmask
from rajudge.records import Item, Judgment, Mode, Principle

DEFAULT_MAX_CTX = 8192  # default context cap: enough for listwise items, modest KV memory
MAX_PARALLEL = 64  # most judgments in one llama.cpp batch (one KV stream each)


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
    parallel: int = 1  # judgments decoded together in one batch, each in its own KV stream;
    # 1 by default: its gain depends on the CPU, its memory grows with it (bench/RESULTS.md)
    permutations: int = 1  # presentation orders averaged into each verdict (scoring.combine)


@dataclass(frozen=True)
class Job:
    """One judgment to make: an item under a principle, responses in `order` (None: shuffled)."""

    item: Item
    principle: Principle
    order: tuple[str, ...] | None = None


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


def check_settings(settings: EngineSettings) -> None:
    """Refuse settings llama.cpp cannot run with, before the model is loaded."""
    limits = (
        ("--seed", settings.seed, 0, 2**32 - 1),
        ("--threads", settings.threads, 1, None),
        ("--ctx", settings.ctx, 1, None),
        ("--n-gpu-layers", settings.n_gpu_layers, -1, None),
        ("--reasoning-budget", settings.reasoning_budget, 0, None),
        ("--rationale-tokens", settings.rationale_tokens, 0, None),
        ("batch", settings.batch, 1, None),
        ("--parallel", settings.parallel, 1, MAX_PARALLEL),
        ("--permutations", settings.permutations, 1, None),
    )
    for flag, value, low, high in limits:
        if value is not None and (value < low or (high is not None and value > high)):
            wanted = f"between {low} and {high}" if high is not None else f"at least {low}"
            raise UsageError(f"{flag} must be {wanted}, not {value}")
    if not math.isfinite(settings.temperature) or settings.temperature < 0:
        raise UsageError(f"--temperature must be 0 or more, not {settings.temperature}")


def readable_rationale(text: str, order: Sequence[str]) -> str:
    """The judge's rationale or thinking as the user reads it: whole sentences, and the real
    names of responses presented in `order` where the judge wrote their masked names."""
    return unmask(_whole_sentences(text), order)


def _whole_sentences(text: str) -> str:
    """Drop a sentence that a token budget cut off, so a rationale never ends mid-word."""
    text = text.strip()
    if not text or text[-1] in ".!?)]\"'`":
        return text
    cut = max(text.rfind(end) for end in (". ", "! ", "? ", "\n"))
    return text[: cut + 1].strip() if cut > 0 else text + "…"
