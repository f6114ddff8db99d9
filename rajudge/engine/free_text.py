"""Free text beside the scores (a judgment's thinking, its rationale), for a whole batch at once."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from rajudge.engine.sequences import Sequences

if TYPE_CHECKING:
    from llama_cpp import Llama


class FreeText(NamedTuple):
    """What one sequence wrote: the text before its stop string, how many tokens stay in the
    cache, and whether those include the stop string the model wrote itself."""

    text: str
    tokens: int
    closed: bool = False


def generate(
    seqs: Sequences,
    llm: Llama,
    logits: dict[int, np.ndarray],
    rngs: dict[int, np.random.Generator],
    limit: int,
    stops: tuple[str, ...],
    temperature: float,
    *,
    keep_stop: bool = False,
) -> dict[int, FreeText]:
    """Decode free text for every sequence at once, each until a stop string, an
    end-of-generation token or `limit` tokens; `logits` are each sequence's latest.

    Tokens that belong to a stop string are removed from the cache again, unless `keep_stop`:
    then the stop string and the whitespace the model writes after it stay, as the model wrote
    them (a thinking's own `</think>\\n`), and the first token past them is removed.
    """
    import llama_cpp

    vocab, n_vocab = llm._model.vocab, llm.n_vocab()
    start = {seq: seqs.length(seq) for seq in logits}
    pieces: dict[int, list[bytes]] = {seq: [] for seq in logits}
    done: dict[int, FreeText] = {}
    for _ in range(limit):
        feeds = {}
        for seq, scores in logits.items():
            token = _pick(scores, rngs[seq], temperature, n_vocab)
            if llama_cpp.llama_vocab_is_eog(vocab, token):
                done[seq] = _written(pieces[seq], stops, keep_stop)
                continue
            pieces[seq].append(llm.detokenize([token]))
            ended = _ended(pieces[seq], stops, keep_stop)
            if ended is not None:
                seqs.cut(seq, start[seq] + ended.tokens)
                done[seq] = ended
                continue
            feeds[seq] = [token]
        if not feeds:
            return done
        logits = seqs.feed(feeds)
    for seq in logits:
        done[seq] = _written(pieces[seq], stops, keep_stop)
    return done


def _ended(pieces: list[bytes], stops: tuple[str, ...], keep_stop: bool) -> FreeText | None:
    """The free text once its last token has ended it, else None (writing goes on)."""
    text = _text(pieces)
    found = _find_stop(text, stops)
    if found is None:
        return None
    hit, end = found
    if not keep_stop:
        return FreeText(text[:hit], _tokens_within(pieces, text[:hit]))
    after = text[end:]
    if not after.strip():
        return None  # still in the stop or the whitespace after it
    close = text[: len(text) - len(after.lstrip())]
    kept = _tokens_within(pieces, close)
    if len(b"".join(pieces[:kept])) >= len(text[:end].encode("utf-8")):
        return FreeText(text[:hit], kept, closed=True)
    # the stop's last token also began what follows: keep only the text before the stop
    return FreeText(text[:hit], _tokens_within(pieces, text[:hit]))


def _written(pieces: list[bytes], stops: tuple[str, ...], keep_stop: bool) -> FreeText:
    """The free text when generation ended with every token still in the cache."""
    text = _text(pieces)
    found = _find_stop(text, stops) if keep_stop else None
    if found is None:
        return FreeText(text, len(pieces))
    return FreeText(text[: found[0]], len(pieces), closed=True)


def _find_stop(text: str, stops: tuple[str, ...]) -> tuple[int, int] | None:
    """Where the first stop string in `text` starts and ends."""
    hits = [(text.find(stop), stop) for stop in stops if stop in text]
    if not hits:
        return None
    hit, stop = min(hits)
    return hit, hit + len(stop)


def _pick(logits: np.ndarray, rng: np.random.Generator, temperature: float, n_vocab: int) -> int:
    if temperature <= 0:
        return int(np.argmax(logits))
    scaled = (logits - logits.max()) / temperature
    probs = np.exp(scaled)
    return int(rng.choice(n_vocab, p=probs / probs.sum()))


def _text(pieces: list[bytes]) -> str:
    return b"".join(pieces).decode("utf-8", "ignore")


def _tokens_within(pieces: list[bytes], text: str) -> int:
    """How many leading tokens fit entirely in the bytes of `text`, a prefix of theirs."""
    size = len(text.encode("utf-8"))
    end = 0
    for count, piece in enumerate(pieces):
        end += len(piece)
        if end > size:
            return count
    return len(pieces)
