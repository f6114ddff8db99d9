"""Several judgments in one llama.cpp context: a shared trunk and one sequence per judgment.

llama.cpp decodes tokens of several sequences in one pass, which on a CPU costs little more
than decoding one: the weights are read once per pass either way. The trunk (sequence 0) holds
the prefix every judgment of a batch shares (the judge's instructions, the principle) and keeps
it for the next batch; each judgment's sequence starts as a copy of the trunk's cache (a memory
copy, nothing is recomputed) and holds the judgment's own tokens. A batch of one has nothing to
share and runs in the trunk itself.

Every sequence has a KV stream of its own, laid out as if it were alone: no judgment attends to
another's tokens. Whether its arithmetic is also the same bit for bit depends on llama.cpp's CPU
kernels. For the demo model's Q4_1 weights it is, whichever judgments share the batch and
whatever the trunk held before (tested), as long as prompt material is never decoded one token
alone (a pass of one token takes another kernel). Q4_K weights, repacked for AVX2, are computed
a few tokens at a time, so how tokens fall into passes moves the digit probabilities at the
rounding level (bench/RESULTS.md measures how much).
"""

from __future__ import annotations

import ctypes
from collections.abc import Mapping, Sequence
from itertools import pairwise
from types import ModuleType
from typing import Any

import numpy as np

from rajudge.interrupts import interrupts_held

_TRUNK = 0


class Sequences:
    """A llama.cpp context with `count` judgment sequences beside the trunk, `cells` tokens each."""

    def __init__(
        self, llama_cpp: ModuleType, model: Any, params: Any, count: int, cells: int, n_vocab: int
    ) -> None:
        from llama_cpp._internals import LlamaContext

        params = type(params).from_buffer_copy(params)
        params.n_seq_max = count + 1
        params.kv_unified = False  # a stream per sequence: see the module docstring
        params.n_ctx = cells * (count + 1)
        with interrupts_held():  # llama.cpp logs through Python: see rajudge.interrupts
            self._context = LlamaContext(model=model, params=params, verbose=False)
        self._llama_cpp = llama_cpp
        self._ctx = self._context.ctx
        self._memory = llama_cpp.llama_get_memory(self._ctx)
        self._batch_size = params.n_batch
        self._batch = llama_cpp.llama_batch_init(self._batch_size, 0, 1)
        self._n_vocab = n_vocab
        self.count = count
        self.n_ctx = llama_cpp.llama_n_ctx_seq(self._ctx)
        self._tokens: list[list[int]] = [[] for _ in range(count + 1)]  # what each one holds

    def set_trunk(self, tokens: Sequence[int]) -> int:
        """Make the trunk hold `tokens`, decoding only what differs; how many tokens it reused."""
        reuse = common_length(self._tokens[_TRUNK], tokens)
        if len(tokens) - reuse == 1 and reuse > 0:
            reuse -= 1  # never a lone token: see the module docstring
        self._drop(_TRUNK, reuse)
        self._decode({_TRUNK: tokens[reuse:]}, logits=False)
        return reuse

    def judge_in_trunk(self, tokens: Sequence[int]) -> tuple[int, np.ndarray]:
        """Make the trunk hold `tokens` (two or more) as a judgment's own sequence.

        A batch of one has nothing to share, so it runs in the trunk itself: what differs from
        the trunk's tokens is decoded in one pass (and stays cached for the next judgment)
        instead of a trunk pass and a short one of its own. Returns how many tokens it reused
        and the logits after the last one.
        """
        reuse = min(common_length(self._tokens[_TRUNK], tokens), len(tokens) - 2)
        self._drop(_TRUNK, reuse)
        return reuse, self._decode({_TRUNK: tokens[reuse:]})[_TRUNK]

    def start(self, tails: Sequence[Sequence[int]]) -> list[np.ndarray]:
        """Open sequences 1..len(tails), each the trunk followed by its tail (two tokens or more).

        Returns the logits after each tail. Sequences of the batch before are dropped here,
        not when it ends, so what a judgment saw stays readable until the next batch.
        """
        trunk = self._tokens[_TRUNK]
        for seq in range(1, self.count + 1):
            self._drop(seq, 0)
        for seq in range(1, len(tails) + 1):
            if trunk:  # across streams llama.cpp copies whole streams only
                self._llama_cpp.llama_memory_seq_cp(self._memory, _TRUNK, seq, -1, -1)
            self._tokens[seq] = list(trunk)
        logits = self._decode({seq: tail for seq, tail in enumerate(tails, 1)})
        return [logits[seq] for seq in range(1, len(tails) + 1)]

    def feed(self, feeds: Mapping[int, Sequence[int]]) -> dict[int, np.ndarray]:
        """Append tokens to sequences, all in one pass; the logits after each one's last token."""
        return self._decode(feeds)

    def tokens(self, seq: int) -> list[int]:
        """The tokens sequence `seq` holds (0: the trunk)."""
        return list(self._tokens[seq])

    def length(self, seq: int) -> int:
        return len(self._tokens[seq])

    def cut(self, seq: int, length: int) -> None:
        """Forget a sequence's tokens from position `length` on."""
        self._drop(seq, length)

    def trunk_state(self) -> bytes:
        """The trunk's state as llama.cpp writes it for one sequence: its KV cells only."""
        size = self._llama_cpp.llama_state_seq_get_size(self._ctx, _TRUNK)
        buffer = (ctypes.c_uint8 * size)()
        written = self._llama_cpp.llama_state_seq_get_data(self._ctx, buffer, size, _TRUNK)
        return ctypes.string_at(buffer, written)

    def restore_trunk(self, tokens: Sequence[int], state: bytes) -> bool:
        """Make the trunk hold `tokens` from `state` (trunk_state() of them), computing nothing.

        False when llama.cpp refuses the state or it holds another number of tokens; the trunk
        is empty then.
        """
        self._llama_cpp.llama_memory_seq_rm(self._memory, _TRUNK, 0, -1)
        self._tokens[_TRUNK] = []
        source = (ctypes.c_uint8 * len(state)).from_buffer_copy(state)
        with interrupts_held():
            read = self._llama_cpp.llama_state_seq_set_data(self._ctx, source, len(state), _TRUNK)
        last = self._llama_cpp.llama_memory_seq_pos_max(self._memory, _TRUNK)
        if read != len(state) or last != len(tokens) - 1:
            self._llama_cpp.llama_memory_seq_rm(self._memory, _TRUNK, 0, -1)
            return False
        self._tokens[_TRUNK] = list(tokens)
        return True

    def reset(self) -> None:
        """Forget everything, trunk included (recurrent models cannot cut a sequence short)."""
        self._llama_cpp.llama_memory_clear(self._memory, True)
        self._tokens = [[] for _ in range(self.count + 1)]

    def close(self) -> None:
        if self._batch is not None:
            self._llama_cpp.llama_batch_free(self._batch)
            self._batch = None
        self._context.close()  # type: ignore[no-untyped-call]  # llama_cpp's is untyped

    def _drop(self, seq: int, start: int) -> None:
        if len(self._tokens[seq]) > start:
            self._llama_cpp.llama_memory_seq_rm(self._memory, seq, start, -1)
            del self._tokens[seq][start:]

    def _decode(
        self, feeds: Mapping[int, Sequence[int]], *, logits: bool = True
    ) -> dict[int, np.ndarray]:
        """Decode every sequence's tokens in passes of at most one batch.

        A pass never ends one token into a sequence's feed when more follows, so no token of a
        feed longer than one is decoded alone.
        """
        entries = [
            (seq, len(self._tokens[seq]) + offset, token, logits and offset == len(tokens) - 1)
            for seq, tokens in feeds.items()
            for offset, token in enumerate(tokens)
        ]
        bounds = [*range(0, len(entries), self._batch_size), len(entries)]
        if len(bounds) > 2 and bounds[-1] - bounds[-2] == 1:
            bounds[-2] -= 1
        results: dict[int, np.ndarray] = {}
        for start, end in pairwise(bounds):
            results.update(self._pass(entries[start:end]))
        for seq, tokens in feeds.items():
            self._tokens[seq] += tokens
        return results

    def _pass(self, entries: Sequence[tuple[int, int, int, bool]]) -> dict[int, np.ndarray]:
        batch = self._batch
        batch.n_tokens = len(entries)
        for i, (seq, position, token, wanted) in enumerate(entries):
            batch.token[i] = token
            batch.pos[i] = position
            batch.n_seq_id[i] = 1
            batch.seq_id[i][0] = seq
            batch.logits[i] = wanted
        with interrupts_held():
            status = self._llama_cpp.llama_decode(self._ctx, batch)
        if status != 0:
            raise RuntimeError(f"llama_decode returned {status}")
        results = {}
        for i, (seq, _, _, wanted) in enumerate(entries):
            if wanted:
                pointer = self._llama_cpp.llama_get_logits_ith(self._ctx, i)
                results[seq] = np.ctypeslib.as_array(pointer, shape=(self._n_vocab,)).copy()
        return results


def common_length(a: Sequence[int], b: Sequence[int]) -> int:
    common = min(len(a), len(b))
    mismatch = np.flatnonzero(np.asarray(a[:common]) != np.asarray(b[:common]))
    return int(mismatch[0]) if mismatch.size else common
