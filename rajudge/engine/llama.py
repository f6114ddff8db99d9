"""The in-process llama.cpp backend: one loaded GGUF, the judge prompt, the scoring decode.

Per judgment: render the model's chat template around the RewardAnything messages, reuse the
longest prefix already in the KV cache, optionally think within a token budget, then decode the
answer skeleton (rajudge.scoring) reading the score-token probabilities at each slot.
"""

from __future__ import annotations

import ctypes
import os
import re
import time
import warnings
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from itertools import pairwise
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np

from rajudge.config import default_threads
from rajudge.engine.base import DEFAULT_MAX_CTX, EngineSettings, check_settings, whole_sentences
from rajudge.engine.chat import ChatTemplate
from rajudge.errors import BackendError, ContextOverflowError, ModelError, UsageError
from rajudge.gguf import read_metadata
from rajudge.protocol import judge_messages, masked_order
from rajudge.records import Item, Judgment, Principle, Timings
from rajudge.scoring import ScoreSkeleton, distribution, plan_skeleton, rank

if TYPE_CHECKING:
    from llama_cpp import Llama

_RATIONALE_TAIL = ', "rationale": "'
_THINK_OPEN = "<think>"
_THINK_CLOSE = "</think>"
_DEBUG_ENV = "RAJUDGE_DEBUG"  # also shows llama.cpp's own log
_GGML_LOG_ERROR = 4  # enum ggml_log_level
_USER_DEFINED = 1 << 4  # enum llama_token_attr: LLAMA_TOKEN_ATTR_USER_DEFINED
_TAG = re.compile(r"<[^<>\s]+>|\[[^\[\]\s]+\]")  # how template markers look: <think>, [INST]


class LlamaBackend:
    """Judges items with a GGUF model loaded in this process."""

    def __init__(self, path: Path, settings: EngineSettings, *, name: str | None = None) -> None:
        import llama_cpp  # deferred: loading the native library is slow

        check_settings(settings)
        self.settings = settings
        self.model_name = name or path.name
        info = read_metadata(path)
        arch = info.metadata.get("general.architecture", "")
        trained_ctx = int(info.metadata.get(f"{arch}.context_length", DEFAULT_MAX_CTX))
        # llama.cpp pads the context to a multiple of 256; asking for that size keeps the
        # Python-side token buffer and the real context the same length
        n_ctx = -(-(settings.ctx or min(trained_ctx, DEFAULT_MAX_CTX)) // 256) * 256
        if settings.n_gpu_layers and not llama_cpp.llama_supports_gpu_offload():
            warnings.warn(
                "--n-gpu-layers was given but this llama.cpp build cannot offload to a GPU; "
                "running on the CPU (see README: GPU builds)",
                stacklevel=2,
            )
        threads = settings.threads or default_threads()
        errors: list[str] = []
        try:
            with _load_log(llama_cpp, errors):
                self._llm = llama_cpp.Llama(
                    model_path=str(path),
                    n_ctx=n_ctx,
                    n_batch=settings.batch,
                    n_ubatch=settings.batch,
                    n_threads=threads,
                    n_threads_batch=threads,
                    n_gpu_layers=settings.n_gpu_layers,
                    seed=settings.seed,
                    swa_full=True,  # sliding-window models: whole KV, so prefix reuse is exact
                    verbose=bool(os.environ.get(_DEBUG_ENV)),
                )
        except (ValueError, RuntimeError) as exc:
            raise ModelError(_load_failure(path, errors)) from exc
        self._llama_cpp = llama_cpp
        self.n_ctx = self._llm.n_ctx()
        self._n_vocab = self._llm.n_vocab()
        self._skeletons: dict[tuple[int, str], ScoreSkeleton] = {}
        try:
            template = self._llm.metadata.get("tokenizer.chat_template")
            if not template:
                raise ModelError(f"{path}: the model has no chat template, so it cannot be a judge")
            self._tokens = PromptTokenizer(self._llm, template)
            self._check_room()
        except (ModelError, UsageError):
            self._llm.close()
            raise

    def judge(
        self, item: Item, principle: Principle, order: Sequence[str] | None = None
    ) -> Judgment:
        started = time.perf_counter()
        settings = self.settings
        thinking = settings.mode == "reasoning"
        explain = not thinking and settings.rationale_tokens > 0
        order = list(order) if order is not None else masked_order(item, settings.seed)
        system, user = (m["content"] for m in judge_messages(principle.text, item, order))
        prompt = self._prompt_tokens(system, user, thinking)
        skeleton = self._skeleton(len(order), "}" + _RATIONALE_TAIL if explain else "}")
        answer_tokens = sum(map(len, skeleton.forced)) + len(skeleton.choices)
        free_tokens = settings.reasoning_budget + 8 if thinking else settings.rationale_tokens
        needed = len(prompt) + answer_tokens + free_tokens
        if needed > self.n_ctx:
            raise ContextOverflowError(item.where or item.id, needed, self.n_ctx)

        rng = np.random.default_rng([settings.seed, zlib.crc32(item.id.encode())])
        rationale, generated = "", 0
        try:
            reused, logits = self._load_prompt(prompt)
            if thinking:
                rationale, logits, generated = self._think(logits, rng)
            dists, tail = self._decode_scores(skeleton, logits)
            generated += answer_tokens - len(tail)
            if explain:
                limit = settings.rationale_tokens
                rationale, count = self._generate(self._eval(tail), limit, ('"', "\n"), rng)
                generated += len(tail) + count
        except RuntimeError as exc:
            raise BackendError(f"llama.cpp failed while judging {item.id}: {exc}") from exc

        return Judgment(
            item_id=item.id,
            principle=principle,
            responses=rank(order, dists),
            rationale=whole_sentences(rationale),
            model=self.model_name,
            mode=settings.mode,
            timings=Timings(
                prompt_tokens=len(prompt),
                reused_tokens=reused,
                generated_tokens=generated,
                seconds=time.perf_counter() - started,
            ),
        )

    def close(self) -> None:
        self._llm.close()

    def _check_room(self) -> None:
        """Fail before judging when the judge's instructions alone overflow the context."""
        empty = Item(id="", prompt="", responses={"": ""})
        system, user = (m["content"] for m in judge_messages("", empty, [""]))
        floor = len(self._prompt_tokens(system, user, self.settings.mode == "reasoning"))
        if floor >= self.n_ctx:
            raise UsageError(
                f"a context of {self.n_ctx} tokens cannot hold the judge's instructions, which "
                f"take {floor} tokens before any item; raise --ctx (2048 or more)"
            )

    def _prompt_tokens(self, system: str, user: str, thinking: bool) -> list[int]:
        return self._tokens.prompt(system, user, thinking=thinking)

    def _skeleton(self, count: int, tail: str) -> ScoreSkeleton:
        key = (count, tail)
        if key not in self._skeletons:
            tokenize = lambda text: self._tokenize(text, special=False)  # noqa: E731
            self._skeletons[key] = plan_skeleton(tokenize, count, tail)
        return self._skeletons[key]

    def _load_prompt(self, prompt: list[int]) -> tuple[int, np.ndarray]:
        """Evaluate the prompt, reusing the longest prefix already in the cache.

        llama.cpp computes a batch of one token with another kernel than a batch of several,
        and the rounding differs; so the prompt's last tokens are always evaluated at least two
        at a time, and a judgment never depends on what happened to be cached before it.
        """
        llm = self._llm
        cached = llm.input_ids[: llm.n_tokens]
        common = min(len(cached), len(prompt))
        mismatch = np.flatnonzero(cached[:common] != np.asarray(prompt[:common]))
        reuse = int(mismatch[0]) if mismatch.size else common
        reuse = max(0, min(reuse, len(prompt) - 2))
        if llm._is_recurrent or llm._is_hybrid:
            reuse = 0
            llm.reset()
        llm.n_tokens = reuse
        rest = prompt[reuse:]
        bounds = [*range(0, len(rest), self.settings.batch), len(rest)]
        if len(bounds) > 2 and bounds[-1] - bounds[-2] == 1:
            bounds[-2] -= 1
        for start, end in pairwise(bounds[:-1]):
            llm.eval(rest[start:end])
        return reuse, self._eval(rest[bounds[-2] :])

    def _decode_scores(
        self, skeleton: ScoreSkeleton, logits: np.ndarray
    ) -> tuple[list[tuple[float, ...]], list[int]]:
        """Walk the answer skeleton: forced tokens in one batch per gap, a score at each slot.

        Returns the score distributions in presentation order and the tokens after the last
        slot, which are not yet decoded.
        """
        dists = []
        pending = list(skeleton.forced[0])
        for slot, choices in enumerate(skeleton.choices):
            if pending:
                logits = self._eval(pending)
            dist = distribution(logits[list(choices)].tolist())
            dists.append(dist)
            pending = [choices[int(np.argmax(dist))], *skeleton.forced[slot + 1]]
        return dists, pending

    def _think(self, logits: np.ndarray, rng: np.random.Generator) -> tuple[str, np.ndarray, int]:
        budget = self.settings.reasoning_budget
        text, count = self._generate(logits, budget, (_THINK_CLOSE,), rng)
        closing = self._tokenize("\n" + _THINK_CLOSE + "\n\n", special=True)
        return text, self._eval(closing), count + len(closing)

    def _generate(
        self, logits: np.ndarray, limit: int, stops: tuple[str, ...], rng: np.random.Generator
    ) -> tuple[str, int]:
        """Decode free text until a stop string, an end-of-generation token or `limit` tokens.

        Returns the text before the stop string and how many tokens stay in the cache; tokens
        that belong to the stop string are removed from the cache again.
        """
        llm = self._llm
        start = llm.n_tokens
        pieces: list[bytes] = []
        for _ in range(limit):
            token = self._pick(logits, rng)
            if self._llama_cpp.llama_vocab_is_eog(llm._model.vocab, token):
                break
            pieces.append(llm.detokenize([token]))
            text = b"".join(pieces).decode("utf-8", "ignore")
            hit = min((text.find(s) for s in stops if s in text), default=-1)
            if hit >= 0:
                kept = _tokens_within(pieces, len(text[:hit].encode("utf-8")))
                llm.n_tokens = start + kept
                return text[:hit], kept
            logits = self._eval([token])
        return b"".join(pieces).decode("utf-8", "ignore"), len(pieces)

    def _pick(self, logits: np.ndarray, rng: np.random.Generator) -> int:
        temperature = self.settings.temperature
        if temperature <= 0:
            return int(np.argmax(logits))
        scaled = (logits - logits.max()) / temperature
        probs = np.exp(scaled)
        return int(rng.choice(self._n_vocab, p=probs / probs.sum()))

    def _eval(self, tokens: list[int]) -> np.ndarray:
        """Decode `tokens` after what is cached; the logits of the last one."""
        self._llm.eval(tokens)
        pointer = self._llama_cpp.llama_get_logits_ith(self._llm.ctx, -1)
        return np.ctypeslib.as_array(pointer, shape=(self._n_vocab,)).copy()

    def _tokenize(self, text: str, *, special: bool) -> list[int]:
        return self._tokens.tokenize(text, special=special)


class PromptTokenizer:
    """Tokens of judge prompts in one vocabulary: control tokens only where the template puts them.

    Template text is tokenized with special tokens parsed; untrusted text (every message
    content) with them disabled. llama.cpp still matches USER_DEFINED added tokens in untrusted
    text, and some of those are structure: Qwen3's `<think>` and `</think>`, Gemma 4's
    `<|channel>`. So each occurrence of a marker the template writes (or rajudge's own
    `<think>`) is cut after its first character and the pieces are tokenized apart: the model
    reads the same characters, never the marker token. Works on vocabulary-only models too.
    """

    def __init__(self, llm: Llama, template: str) -> None:
        self._llm = llm
        self.template = ChatTemplate(
            template,
            bos_token=self.piece(llm.token_bos()),
            eos_token=self.piece(llm.token_eos()),
        )
        rendered = [
            segment.text
            for thinking in (False, True)
            for segment in self.template.render("", "", thinking=thinking)
            if segment.trusted
        ]
        self.markers = self._markers(" ".join([template, *rendered, _THINK_OPEN, _THINK_CLOSE]))
        alternatives = "|".join(re.escape(m) for m in sorted(self.markers.values(), key=len))
        self._marker_at = re.compile(f"(?=({alternatives}))") if self.markers else None

    def prompt(self, system: str, user: str, *, thinking: bool) -> list[int]:
        """The whole prompt, ending where the assistant's answer begins."""
        tokens: list[int] = []
        for segment in self.template.render(system, user, thinking=thinking):
            if segment.trusted:
                tokens += self.tokenize(segment.text, special=True)
            else:
                tokens += self.untrusted(segment.text)
        bos = self._llm.token_bos()
        if self._llm._model.add_bos_token() and bos >= 0 and tokens[:1] != [bos]:
            tokens.insert(0, bos)
        return tokens

    def untrusted(self, text: str) -> list[int]:
        """Tokens of `text` in which neither a control token nor a template marker can occur."""
        if self._marker_at is None or self._marker_at.search(text) is None:
            return self.tokenize(text, special=False)
        cuts = sorted({hit.start() + 1 for hit in self._marker_at.finditer(text)})
        pieces = [text[start:end] for start, end in pairwise([0, *cuts, len(text)])]
        return [token for piece in pieces for token in self.tokenize(piece, special=False)]

    def tokenize(self, text: str, *, special: bool) -> list[int]:
        return self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=special)

    def piece(self, token: int) -> str:
        if token < 0:
            return ""
        return self._llm.detokenize([token], special=True).decode("utf-8", "ignore")

    def _markers(self, source: str) -> dict[int, str]:
        """Tag-shaped USER_DEFINED tokens in `source`, found by llama.cpp's own matcher.

        Whitespace runs and HTML tags that some vocabularies add (Gemma's) are ordinary text
        unless the template writes them, so only what the template text holds counts.
        """
        import llama_cpp

        vocab = self._llm._model.vocab
        found = {}
        for token in set(self.tokenize(source, special=False)):
            if llama_cpp.llama_vocab_get_attr(vocab, token) & _USER_DEFINED:
                text = self.piece(token)
                if _TAG.fullmatch(text):
                    found[token] = text
        return found


@contextmanager
def _load_log(llama_cpp: ModuleType, errors: list[str]) -> Iterator[None]:
    """Collect llama.cpp's error messages while a model loads; its log goes on as before.

    llama.cpp says why a load failed only in its log, which llama-cpp-python mutes; the reason
    belongs in rajudge's one line. The log callback is global, so the previous one is restored.
    """
    previous, data = llama_cpp.llama_log_callback(), ctypes.c_void_p()
    llama_cpp.llama_log_get(ctypes.byref(previous), ctypes.byref(data))

    def record(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
        if level == _GGML_LOG_ERROR:
            errors.append(text.decode("utf-8", "replace").strip())
        if previous:
            previous(level, text, user_data)

    callback = llama_cpp.llama_log_callback(record)
    llama_cpp.llama_log_set(callback, data)
    try:
        yield
    finally:
        llama_cpp.llama_log_set(previous, data)


def _load_failure(path: Path, errors: list[str]) -> str:
    """One line for a model llama.cpp refused, with the reason it logged."""
    marker = "error loading model: "
    reasons = [e.split(marker, 1)[1] for e in errors if marker in e] or errors[-1:]
    message = f"{path}: llama.cpp could not load this model"
    if not reasons:
        return message
    reason = reasons[-1].removeprefix("llama_model_loader: ")
    if "unknown model architecture" in reason:
        reason += " (this llama.cpp build does not support it; a newer llama-cpp-python may)"
    return f"{message}: {reason}"


def _tokens_within(pieces: list[bytes], size: int) -> int:
    """How many leading tokens fit entirely in the first `size` bytes of their text."""
    end = 0
    for count, piece in enumerate(pieces):
        end += len(piece)
        if end > size:
            return count
    return len(pieces)
