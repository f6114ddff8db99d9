"""Free text beside the scores (a judgment's thinking, its rationale), for a whole batch at once."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from rajudge.engine.sequences import Sequences

if TYPE_CHECKING:
    from llama_cpp import Llama


def generate(
    seqs: Sequences,
    llm: Llama,
    logits: dict[int, np.ndarray],
    rngs: dict[int, np.random.Generator],
    limit: int,
    stops: tuple[str, ...],
    temperature: float,
) -> dict[int, tuple[str, int]]:
    """Decode free text for every sequence at once, each until a stop string, an
    end-of-generation token or `limit` tokens; `logits` are each sequence's latest.

    Returns per sequence the text before the stop string and how many tokens stay in the
    cache; tokens that belong to a stop string are removed from the cache again.
    """
    import llama_cpp

    vocab, n_vocab = llm._model.vocab, llm.n_vocab()
    start = {seq: seqs.length(seq) for seq in logits}
    pieces: dict[int, list[bytes]] = {seq: [] for seq in logits}
    done: dict[int, tuple[str, int]] = {}
    for _ in range(limit):
        feeds = {}
        for seq, scores in logits.items():
            token = _pick(scores, rngs[seq], temperature, n_vocab)
            if llama_cpp.llama_vocab_is_eog(vocab, token):
                done[seq] = (_text(pieces[seq]), len(pieces[seq]))
                continue
            pieces[seq].append(llm.detokenize([token]))
            text = _text(pieces[seq])
            hit = min((text.find(s) for s in stops if s in text), default=-1)
            if hit >= 0:
                kept = _tokens_within(pieces[seq], len(text[:hit].encode("utf-8")))
                seqs.cut(seq, start[seq] + kept)
                done[seq] = (text[:hit], kept)
                continue
            feeds[seq] = [token]
        if not feeds:
            return done
        logits = seqs.feed(feeds)
    for seq in logits:
        done[seq] = (_text(pieces[seq]), len(pieces[seq]))
    return done


def _pick(logits: np.ndarray, rng: np.random.Generator, temperature: float, n_vocab: int) -> int:
    if temperature <= 0:
        return int(np.argmax(logits))
    scaled = (logits - logits.max()) / temperature
    probs = np.exp(scaled)
    return int(rng.choice(n_vocab, p=probs / probs.sum()))


def _text(pieces: list[bytes]) -> str:
    return b"".join(pieces).decode("utf-8", "ignore")


def _tokens_within(pieces: list[bytes], size: int) -> int:
    """How many leading tokens fit entirely in the first `size` bytes of their text."""
    end = 0
    for count, piece in enumerate(pieces):
        end += len(piece)
        if end > size:
            return count
    return len(pieces)
