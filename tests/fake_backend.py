"""A deterministic backend without a model, for what happens above the engine.

Scheduling, ordering, the result cache, resume and interrupts depend only on the Backend
contract (rajudge.engine.base), so they are tested on this in milliseconds; what the engine
itself does (prefix reuse, batching identity, tokens, templates, scores) is tested on the real
demo model. Each response's score distribution comes from a hash of the principle and the
response's text, so the same job always gets the same judgment, whichever batch it is in.
"""

from __future__ import annotations

import hashlib
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rajudge.engine.base import Job
from rajudge.errors import ContextOverflowError, InputError
from rajudge.judging.principles import resolve
from rajudge.judging.protocol import masked_order
from rajudge.judging.scoring import rank
from rajudge.read import read_items
from rajudge.records import Item, Judgment, Principle, Timings
from rajudge.run.core import score_file
from rajudge.settings import EngineSettings


@dataclass
class FakeBackend:
    """Judges by hashing; records each batch it is given; fails items longer than `max_chars`.

    `before_job` runs before each job is judged (a test may raise KeyboardInterrupt there).
    """

    settings: EngineSettings = field(default_factory=EngineSettings)
    model_name: str = "fake-judge"
    max_chars: int = 10_000
    before_job: Callable[[Job], None] | None = None
    batches: list[list[Job]] = field(default_factory=list)
    closed: bool = False

    @property
    def batch_size(self) -> int:
        return self.settings.parallel

    @property
    def jobs(self) -> list[Job]:
        """Every job judged so far, in the order the backend got them."""
        return [job for batch in self.batches for job in batch]

    def judge_jobs(self, jobs: Sequence[Job]) -> list[Judgment | InputError]:
        assert not self.closed, "judging with a closed backend"
        self.batches.append(list(jobs))
        return [self._judge_one(job) for job in jobs]

    def too_long(self, item: Item, principle: Principle) -> InputError | None:
        size = len(principle.text) + len(item.prompt) + sum(map(len, item.responses.values()))
        if size <= self.max_chars:
            return None
        return ContextOverflowError(item.where or item.id, size, self.max_chars)

    def close(self) -> None:
        self.closed = True

    def _judge_one(self, job: Job) -> Judgment | InputError:
        if self.before_job is not None:
            self.before_job(job)
        item, principle = job.item, job.principle
        failure = self.too_long(item, principle)
        if failure is not None:
            return failure
        order = list(job.order) if job.order else masked_order(item, self.settings.seed)
        dists = [distribution(principle.text, item.responses[name]) for name in order]
        return Judgment(
            item_id=item.id,
            principle=principle,
            responses=rank(order, dists),
            rationale=f"{order[0]} was read first." if self.settings.rationale_tokens else "",
            model=self.model_name,
            mode=self.settings.mode,
            timings=Timings(
                prompt_tokens=len(item.prompt), reused_tokens=0, generated_tokens=5, seconds=0.001
            ),
        )


def distribution(principle: str, text: str) -> tuple[float, ...]:
    """A probability over the scores 1..5, fixed by the principle and the response text."""
    digest = hashlib.sha256(f"{principle}\0{text}".encode()).digest()
    weights = [1 + byte for byte in digest[:5]]
    return tuple(weight / sum(weights) for weight in weights)


def slow(seconds: float) -> Callable[[Job], None]:
    """A `before_job` that takes `seconds` per job, as a model would."""
    return lambda job: time.sleep(seconds)


def main() -> None:
    """`python tests/fake_backend.py IN OUT [--resume]`: score IN's items into OUT under the
    library's `concise`, a job at a time, 250 ms each: slow enough to be killed midway."""
    source, output, *flags = sys.argv[1:]
    backend = FakeBackend(before_job=slow(0.25))
    score_file(
        backend,
        read_items(source).items,
        resolve("concise"),
        Path(output),
        resume_output="--resume" in flags,
    )


if __name__ == "__main__":
    main()
