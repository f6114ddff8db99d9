"""What every backend promises: judge a batch of jobs, each judged or failed on its own."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol

from rajudge.errors import InputError
from rajudge.judging.protocol import unmask
from rajudge.records import Item, Judgment, Principle
from rajudge.settings import EngineSettings


@dataclass(frozen=True)
class Job:
    """One judgment to make: an item under a principle, responses in `order` (None: shuffled)."""

    item: Item
    principle: Principle
    order: tuple[str, ...] | None = None


class Backend(Protocol):
    """A loaded judge model: everything a run asks of one (rajudge.run.schedule).

    Item problems are InputError subclasses, returned per job by `judge_jobs`; anything else
    (a broken model, a server gone) is raised and ends the run. A backend is a context
    manager: leaving the block closes it.
    """

    model_name: str
    settings: EngineSettings

    @property
    def batch_size(self) -> int:
        """How many jobs `judge_jobs` runs at once: a run hands it batches of this size."""
        ...

    def judge_jobs(self, jobs: Sequence[Job]) -> list[Judgment | InputError]:
        """Each job's judgment, or its InputError, in job order.

        Jobs next to each other that share a prefix (principle, prompt) may share its cost.
        """
        ...

    def too_long(self, item: Item, principle: Principle) -> InputError | None:
        """The error `item` surely meets for its length, told without judging; None: it may fit."""
        ...

    def close(self) -> None: ...

    def __enter__(self) -> Backend:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()


def judge_one(
    backend: Backend, item: Item, principle: Principle, order: Sequence[str] | None = None
) -> Judgment:
    """One job judged on its own, its InputError raised: for harnesses that study one judgment
    (runs go through rajudge.run.schedule, which batches)."""
    (outcome,) = backend.judge_jobs([Job(item, principle, tuple(order) if order else None)])
    if isinstance(outcome, InputError):
        raise outcome
    return outcome


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
