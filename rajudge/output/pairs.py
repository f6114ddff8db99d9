"""Preference pairs from judged items, in the shape TRL's DPOTrainer and RewardTrainer read.

Each pair row holds the item's `prompt`, the `chosen` and `rejected` response texts, their
scores (`score_chosen`, `score_rejected`: rajudge.output.parse's `Record.scores`), their `margin`
(RewardTrainer reads a `margin` column), the item `id` and the two response names. By default
an item gives its best response against its worst; with `every`, each response against every
one scored lower. A pair whose margin is below `min_margin` (above 0: a tie is no preference) is
left out and counted: a judge's near-tie is a weak preference to train on.

With `conversational`, rows take TRL's conversational shape: `prompt` is a list of chat
messages and `chosen` and `rejected` are each one assistant message, so that the trainer
applies the policy's own chat template. The messages are those the record's prompt was rendered
from (rajudge.read); a prompt that was text is one user message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import combinations
from typing import Any

from rajudge.errors import UsageError
from rajudge.output.parse import Record

DEFAULT_MIN_MARGIN = 0.5
# The roles whose "{role}: " opens a message in a rendered conversation (rajudge.read._prompt).
_TURN = re.compile(r"(system|developer|user|assistant|tool): ")

Message = dict[str, str]


@dataclass
class Pairing:
    """Turns judged items into pair rows, counting what it leaves out."""

    every: bool = False
    min_margin: float = DEFAULT_MIN_MARGIN
    conversational: bool = False
    items: int = 0
    pairs: int = 0
    below_margin: int = 0

    def __post_init__(self) -> None:
        if not self.min_margin > 0:
            raise UsageError(
                f"--min-margin must be above 0 (a tie is no preference), not {self.min_margin}"
            )

    def rows(self, record: Record) -> list[dict[str, Any]]:
        """The pair rows of one record, best pairs first; a record without its texts raises
        InputError."""
        record.texts()  # refused before it is counted
        scores = record.scores
        self.items += 1
        order = sorted(scores, key=lambda name: -scores[name])  # stable: input order
        candidates = combinations(order, 2) if self.every else [(order[0], order[-1])]
        rows = []
        for chosen, rejected in candidates:
            if chosen == rejected:
                continue  # one response: no pair
            margin = round(scores[chosen] - scores[rejected], 4)
            if margin < self.min_margin:
                self.below_margin += 1
                continue
            rows.append(_row(record, chosen, rejected, margin, self.conversational))
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


def _row(
    record: Record, chosen: str, rejected: str, margin: float, conversational: bool
) -> dict[str, Any]:
    prompt, responses = record.texts()
    scores = record.scores
    texts: tuple[Any, Any, Any] = (prompt, responses[chosen], responses[rejected])
    if conversational:
        texts = (prompt_messages(prompt), _reply(texts[1]), _reply(texts[2]))
    return {
        "id": record.id,
        "prompt": texts[0],
        "chosen": texts[1],
        "rejected": texts[2],
        "score_chosen": scores[chosen],
        "score_rejected": scores[rejected],
        "margin": margin,
        "chosen_name": chosen,
        "rejected_name": rejected,
    }


def prompt_messages(prompt: str) -> list[Message]:
    """The chat messages a record's prompt was rendered from.

    rajudge.read writes a lone user message (or a text prompt) as its content, and any other
    conversation as "{role}: {content}" blocks joined by blank lines; this reads that back, a
    blank-line block that opens with no role going on with the message before it. Rendering
    the messages again gives `prompt` exactly, so the trainer sees what the judge saw. Text
    that does not open with a role is one user message.
    """
    turns: list[list[str]] = []
    for block in prompt.split("\n\n"):
        opened = _TURN.match(block)
        if opened:
            turns.append([opened[1], block[opened.end() :]])
        elif turns:
            turns[-1][1] += "\n\n" + block
        else:
            return [_message("user", prompt)]
    if len(turns) == 1 and turns[0][0] == "user":  # a lone user message is rendered bare,
        return [_message("user", prompt)]  # so this one's own text opens with "user: "
    return [_message(role, content) for role, content in turns]


def _reply(text: str) -> list[Message]:
    return [_message("assistant", text)]


def _message(role: str, content: str) -> Message:
    return {"role": role, "content": content}
