"""What the trunk (rajudge.engine.sequences) holds before a batch: the prefix its judgments
share, kept from the batch before, restored from a saved state, or computed and saved.

A prompt's shared prefixes end at its stages (after the template and instructions; after the
principle). Each stage is computed from the one before it, never together with what follows, so
the engine state after a stage is the same whatever came before and can be saved and restored
by a later process (rajudge.engine.prefix_state keeps the bytes).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rajudge.engine.prefix_state import PrefixStates, debug
from rajudge.engine.sequences import Sequences, common_length
from rajudge.engine.state_key import stream_key


@dataclass(frozen=True)
class SavedPrefixes:
    """A state store and the key of the engine whose states it gives and takes (with the
    number of streams of the context at hand, which llama.cpp checks on restoring)."""

    store: PrefixStates
    engine: str

    def restore(self, seqs: Sequences, prefix: Sequence[int]) -> bool:
        """Put the saved state of `prefix` into the trunk, if there is one llama.cpp takes."""
        state = self.store.load(stream_key(self.engine, seqs.count), prefix)
        if state is None:
            return False
        if seqs.restore_trunk(prefix, state):
            return True
        debug(f"llama.cpp refused the saved state of {len(prefix)} tokens; computing it")
        return False

    def save(self, seqs: Sequences, prefix: Sequence[int]) -> None:
        """Keep the trunk's state, which holds just `prefix`."""
        self.store.save(stream_key(self.engine, seqs.count), prefix, seqs.trunk_state())


def fill_trunk(
    seqs: Sequences, tokens: Sequence[int], stages: Sequence[int], saved: SavedPrefixes | None
) -> int | None:
    """Make the trunk hold the last of `stages` (prefix lengths of `tokens`): the longest one
    it holds or can restore from `saved`, then each later one computed from the one before it
    (as a fresh process computes it) and saved.

    Returns how many of `tokens` the trunk kept or restored when a stage was computed, else
    None (all that the trunk holds of `tokens` came from earlier work).
    """
    stages = [stop for stop in stages if stop <= len(tokens)]
    kept = common_length(seqs.tokens(0), tokens)
    ready = 0  # stages the trunk holds
    for index in range(len(stages), 0, -1):
        prefix = tokens[: stages[index - 1]]
        if kept >= len(prefix) or (saved is not None and saved.restore(seqs, prefix)):
            kept, ready = max(kept, len(prefix)), index
            break
    if ready == len(stages):
        return None
    before = stages[ready - 1] if ready else 0
    kept = min(kept, before)
    seqs.cut(0, kept)
    for stop in stages[ready:]:
        seqs.set_trunk(tokens[:stop])
        if saved is not None:
            saved.save(seqs, tokens[:stop])
    return kept


def shared_prefix(prompts: Sequence[Sequence[int]]) -> int:
    """Length of the prefix all prompts share, leaving each a tail of two tokens or more."""
    first = prompts[0]
    shared = min(len(p) for p in prompts) - 2
    for prompt in prompts[1:]:
        shared = min(shared, common_length(first, prompt))
    return max(shared, 0)
