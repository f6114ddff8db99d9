"""A judgment on its way through the in-process engine, and the walk of its answer skeleton:
a score read at each slot, the forced tokens between two slots fed in one pass for the batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from rajudge.engine.base import Job
from rajudge.engine.sequences import Sequences
from rajudge.judging.scoring import ScoreSkeleton, distribution


@dataclass
class Work:
    """A job on its way through a batch: its prompt, its answer plan, what it has produced."""

    job: Job
    order: list[str]
    prompt: list[int]
    skeleton: ScoreSkeleton
    cells: int  # KV cells it needs beyond the shared prefix, answer and free text included
    rng: np.random.Generator
    stages: tuple[int, ...]  # where the prefixes every item shares end in `prompt`
    seq: int = 0
    rationale: str = ""
    generated: int = 0
    dists: list[tuple[float, ...]] = field(default_factory=list)


def decode_scores(
    seqs: Sequences, works: Sequence[Work], logits: dict[int, np.ndarray]
) -> dict[int, list[int]]:
    """Walk each answer skeleton from its first slot (`logits`: after the opening), a
    score at each slot, the forced tokens between two slots in one pass.

    Fills each work's score distributions (presentation order) and returns, per sequence,
    the tokens after its last slot, which are not yet decoded.
    """
    pending: dict[int, list[int]] = {w.seq: [] for w in works}  # the opening: fed already
    for slot in range(max(len(w.skeleton.choices) for w in works)):
        active = [w for w in works if slot < len(w.skeleton.choices)]
        feeds = {w.seq: pending[w.seq] for w in active if pending[w.seq]}
        if feeds:
            logits.update(seqs.feed(feeds))
        for work in active:
            choices = work.skeleton.choices[slot]
            dist = distribution(logits[work.seq][list(choices)].tolist())
            work.dists.append(dist)
            chosen = choices[int(np.argmax(dist))]
            pending[work.seq] = [chosen, *work.skeleton.forced[slot + 1]]
    return pending
