"""The in-process llama.cpp backend: one loaded GGUF, the judge prompt, the scoring decode.

Per judgment: render the model's chat template around the RewardAnything messages, reuse the
prefix already in the KV cache, optionally think within a token budget, then decode the answer
skeleton (rajudge.judging.scoring; rajudge.engine.answer walks it) reading the score-token
probabilities at each slot. Up to `parallel` judgments run together, one sequence each
(rajudge.engine.sequences).
"""

from __future__ import annotations

import os
import time
import warnings
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from rajudge.engine.answer import Work, decode_scores
from rajudge.engine.base import Backend, Job, readable_rationale
from rajudge.engine.chat import THINK_CLOSE
from rajudge.engine.free_text import FreeText, generate
from rajudge.engine.load_log import load_failure, load_log
from rajudge.engine.prefix_state import PrefixStates
from rajudge.engine.prompt_tokens import PromptTokenizer
from rajudge.engine.sequences import Sequences, common_length
from rajudge.engine.state_key import engine_key
from rajudge.engine.trunk import SavedPrefixes, fill_trunk, shared_prefix
from rajudge.errors import (
    BackendError,
    ContextOverflowError,
    InputError,
    ModelError,
    UsageError,
)
from rajudge.interrupts import interrupts_held
from rajudge.judging.protocol import judge_messages, masked_order, user_message_start
from rajudge.judging.scoring import ScoreSkeleton, plan_skeleton, rank
from rajudge.models.gguf import read_metadata
from rajudge.records import Item, Judgment, Principle, Timings
from rajudge.settings import DEFAULT_MAX_CTX, EngineSettings, check_settings, default_threads

_RATIONALE_TAIL = ',\n  "rationale": "'
_FIRST_CELLS = 1024  # KV cells per sequence until an item needs more
_DEBUG_ENV = "RAJUDGE_DEBUG"  # also shows llama.cpp's own log


class LlamaBackend(Backend):
    """Judges items with a GGUF model loaded in this process.

    With `states`, the engine state after each shared prefix (template and instructions; those
    and the principle) is restored from there instead of computed, and saved when computed.
    """

    def __init__(
        self,
        path: Path,
        settings: EngineSettings,
        *,
        name: str | None = None,
        states: PrefixStates | None = None,
    ) -> None:
        import llama_cpp  # deferred: loading the native library is slow

        check_settings(settings)
        self.settings = settings
        self.model_name = name or path.name
        info = read_metadata(path)
        arch = info.metadata.get("general.architecture", "")
        trained_ctx = int(info.metadata.get(f"{arch}.context_length", DEFAULT_MAX_CTX))
        # llama.cpp pads the context to a multiple of 256; asking for that size keeps rajudge's
        # count of cells and the real context the same
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
            with interrupts_held(), load_log(llama_cpp, errors):
                # the Llama object lends its weights and tokenizer; judging runs in the
                # multi-sequence context below, so its own context is kept minimal
                self._llm = llama_cpp.Llama(
                    model_path=str(path),
                    n_ctx=256,
                    n_batch=256,
                    n_threads=threads,
                    n_threads_batch=threads,
                    n_gpu_layers=settings.n_gpu_layers,
                    seed=settings.seed,
                    swa_full=True,  # sliding-window models: whole KV, so prefix reuse is exact
                    verbose=bool(os.environ.get(_DEBUG_ENV)),
                )
                self._llama_cpp = llama_cpp
                self.n_ctx = n_ctx
                self._n_vocab = self._llm.n_vocab()
                self._seqs = self._sequences(min(_FIRST_CELLS, n_ctx), 0)
        except (ValueError, RuntimeError) as exc:
            if hasattr(self, "_llm"):
                self._llm.close()
            raise ModelError(load_failure(path, errors)) from exc
        self._skeletons: dict[tuple[int, str], ScoreSkeleton] = {}
        self._starts: dict[tuple[str, bool], list[int]] = {}
        self._saved: SavedPrefixes | None = None  # a recurrent state is not a KV prefix
        if states is not None and not self._recurrent:
            params, gpu = self._llm.context_params, settings.n_gpu_layers  # as _sequences set
            self._saved = SavedPrefixes(states, engine_key(llama_cpp, path, params, n_ctx, gpu))
        try:
            template = self._llm.metadata.get("tokenizer.chat_template")
            if not template:
                raise ModelError(f"{path}: the model has no chat template, so it cannot be a judge")
            self._tokens = PromptTokenizer(self._llm, template)
            self._check_room()
        except (ModelError, UsageError):
            self.close()
            raise

    @property
    def batch_size(self) -> int:
        return self.settings.parallel

    def judge_jobs(self, jobs: Sequence[Job]) -> list[Judgment | InputError]:
        """Judge `jobs`, up to `parallel` at a time in one batch; outcomes in job order.

        Consecutive jobs share a batch, so callers that put jobs with a common prefix (same
        principle, same prompt) next to each other pay for that prefix once. A job that cannot
        fit the context fails alone. Scores do not depend on how jobs are batched.
        """
        outcomes: list[Judgment | InputError | None] = [None] * len(jobs)
        batch: list[tuple[int, Work]] = []
        for index, job in enumerate(jobs):
            try:
                batch.append((index, self._prepare(job)))
            except InputError as exc:
                outcomes[index] = exc
            if len(batch) == self._count:
                self._finish(batch, outcomes)
                batch = []
        if batch:
            self._finish(batch, outcomes)
        return [outcome for outcome in outcomes if outcome is not None]

    def too_long(self, item: Item, principle: Principle) -> ContextOverflowError | None:
        """The error `item` surely meets for its length, told cheaply (PromptTokenizer.exceeds)
        and without the context, so safe beside a judgment in progress. None: it may fit."""
        order = list(item.responses)
        system, user = (m["content"] for m in judge_messages(principle.text, item, order))
        frame = self._tokens.prompt(system, "", thinking=self.settings.mode == "reasoning")
        answer = self._skeleton(len(order), self._tail).length + self._free_tokens
        if not self._tokens.exceeds(user, self.n_ctx - len(frame) - answer):
            return None
        return ContextOverflowError(
            item.where or item.id, self.n_ctx + 1, self.n_ctx, at_least=True
        )

    def close(self) -> None:
        if hasattr(self, "_seqs"):
            self._seqs.close()
        self._llm.close()

    def _prepare(self, job: Job) -> Work:
        settings = self.settings
        item = job.item
        order = list(job.order) if job.order is not None else masked_order(item, settings.seed)
        system, user = (m["content"] for m in judge_messages(job.principle.text, item, order))
        prompt = self._tokens.prompt(system, user, thinking=settings.mode == "reasoning")
        skeleton = self._skeleton(len(order), self._tail)
        needed = len(prompt) + skeleton.length + self._free_tokens
        if needed > self.n_ctx:
            raise ContextOverflowError(item.where or item.id, needed, self.n_ctx)
        rng = np.random.default_rng([settings.seed, zlib.crc32(item.id.encode())])
        stages = self._stages(prompt, system, job.principle.text)
        return Work(job, order, prompt, skeleton, needed, rng, stages)

    def _stages(self, prompt: list[int], system: str, principle: str) -> tuple[int, ...]:
        """Where the prefixes that items share end in `prompt`: after the template and the
        instructions (every item), and after the principle (every item under it).

        The trunk computes them one after the other, each from the one before, so the engine
        state after each one is the same whatever came before it, and can be saved and restored.
        """
        thinking = self.settings.mode == "reasoning"
        stages: list[int] = []
        for user_start in ("", user_message_start(principle)):
            key = (user_start, thinking)
            if key not in self._starts:
                self._starts[key] = self._tokens.start(system, user_start, thinking=thinking)
            start = self._starts[key]
            if len(start) > len(prompt) - 2 or common_length(start, prompt) < len(start):
                break
            if len(start) > (stages[-1] if stages else 0) + 1:  # never a lone token's pass
                stages.append(len(start))
        return tuple(stages)

    @property
    def _explains(self) -> bool:
        return self.settings.mode == "fast" and self.settings.rationale_tokens > 0

    @property
    def _tail(self) -> str:
        """What the answer skeleton ends with."""
        return "}" + _RATIONALE_TAIL if self._explains else "}"

    @property
    def _free_tokens(self) -> int:
        """Most free-text tokens a judgment generates: thinking (and its closing) or rationale."""
        settings = self.settings
        if settings.mode == "reasoning":
            return settings.reasoning_budget + 8
        return settings.rationale_tokens

    @property
    def _recurrent(self) -> bool:
        """A recurrent (or hybrid) model keeps one state, not KV cells per token."""
        return bool(self._llm._is_recurrent or self._llm._is_hybrid)

    @property
    def _count(self) -> int:
        """Judgments per batch: recurrent models keep one state, so they judge one at a time."""
        return 1 if self._recurrent else self.settings.parallel

    def _sequences(self, cells: int, count: int) -> Sequences:
        """A context with `count` judgment streams beside the trunk, each holding `cells` tokens
        (rounded up to a power of two, at most the context size), so memory follows the items
        and batches judged: a process that judges one item at a time has the trunk alone, which
        is also faster (a one-shot call measured 13% slower with four idle streams beside it)."""
        settings = self.settings
        params = self._llm.context_params
        params.n_batch = params.n_ubatch = settings.batch
        params.flash_attn_type = (
            self._llama_cpp.LLAMA_FLASH_ATTN_TYPE_AUTO
            if settings.n_gpu_layers
            else self._llama_cpp.LLAMA_FLASH_ATTN_TYPE_DISABLED
        )
        size = min(max(256, 1 << (cells - 1).bit_length()), self.n_ctx)
        return Sequences(self._llama_cpp, self._llm._model, params, count, size, self._n_vocab)

    def _finish(
        self, batch: Sequence[tuple[int, Work]], outcomes: list[Judgment | InputError | None]
    ) -> None:
        started = time.perf_counter()
        works = [work for _, work in batch]
        try:
            cells = max(self._seqs.n_ctx, *(work.cells for work in works))
            count = max(self._seqs.count, 0 if len(works) == 1 else self._count)
            if (cells, count) != (self._seqs.n_ctx, self._seqs.count):
                self._seqs.close()
                self._seqs = self._sequences(cells, count)
            reused = self._run(works)
        except RuntimeError as exc:
            names = ", ".join(w.job.item.id for w in works)
            raise BackendError(f"llama.cpp failed while judging {names}: {exc}") from exc
        share = (time.perf_counter() - started) / len(works)
        for (index, work), prefix in zip(batch, reused, strict=True):
            outcomes[index] = Judgment(
                item_id=work.job.item.id,
                principle=work.job.principle,
                responses=rank(work.order, work.dists),
                rationale=readable_rationale(work.rationale, work.order),
                model=self.model_name,
                mode=self.settings.mode,
                timings=Timings(
                    prompt_tokens=len(work.prompt),
                    reused_tokens=prefix,
                    generated_tokens=work.generated,
                    seconds=share,
                ),
            )

    def _run(self, works: Sequence[Work]) -> list[int]:
        """Decode a batch: shared prefix, each prompt's tail, thinking, scores, rationale.

        The answer's opening (the skeleton up to the first score) rides in the same pass as
        the tokens before it, the prompt's or the thinking's close: on a CPU a pass of a few
        tokens costs nearly what a pass of many does. Returns how many prompt tokens each
        judgment took from earlier work instead of computing them.
        """
        seqs = self._seqs
        reasoning = self.settings.mode == "reasoning"
        opened = [w.prompt + ([] if reasoning else list(w.skeleton.forced[0])) for w in works]
        reused, logits = self._open(works, opened)
        if reasoning:
            budget = self.settings.reasoning_budget
            thoughts = self._free_text(works, logits, budget, (THINK_CLOSE,), keep_stop=True)
            closing = self._tokens.tokenize("\n" + THINK_CLOSE + "\n\n", special=True)
            feeds = {}
            for work in works:
                thought = thoughts[work.seq]
                ours = [] if thought.closed else closing  # else the model wrote its own
                work.rationale = thought.text
                work.generated += thought.tokens + len(ours)
                feeds[work.seq] = ours + list(work.skeleton.forced[0])
            logits = seqs.feed(feeds)
        tails = decode_scores(self._seqs, works, logits)
        for work in works:
            work.generated += work.skeleton.length - len(tails[work.seq])
        if self._explains:
            logits = seqs.feed({w.seq: tails[w.seq] for w in works})
            said = self._free_text(works, logits, self.settings.rationale_tokens, ('"', "\n"))
            for work in works:
                work.rationale = said[work.seq].text
                work.generated += len(tails[work.seq]) + said[work.seq].tokens
        return reused

    def _open(
        self, works: Sequence[Work], tokens: Sequence[list[int]]
    ) -> tuple[list[int], dict[int, np.ndarray]]:
        """Give each work a sequence holding its `tokens`: the prompt reused, and the logits
        after the last token. A batch shares its common prefix in the trunk, computed once; a
        batch of one runs in the trunk itself."""
        seqs = self._seqs
        if self._recurrent:
            seqs.reset()  # a recurrent state cannot be cut back to a shared prefix
        if len(works) == 1:
            works[0].seq = 0  # the trunk
            kept = fill_trunk(seqs, works[0].prompt, works[0].stages, self._saved)
            reuse, last = seqs.judge_in_trunk(tokens[0])
            return [min(reuse if kept is None else kept, len(works[0].prompt))], {0: last}
        shared = shared_prefix([w.prompt for w in works])
        kept = fill_trunk(seqs, works[0].prompt[:shared], works[0].stages, self._saved)
        reused = seqs.set_trunk(works[0].prompt[:shared])
        reused = reused if kept is None else kept
        starts = seqs.start([t[shared:] for t in tokens])
        for seq, work in enumerate(works, 1):
            work.seq = seq
        logits = {w.seq: first for w, first in zip(works, starts, strict=True)}
        return [reused, *[shared] * (len(works) - 1)], logits

    def _check_room(self) -> None:
        """Fail before judging when the judge's instructions alone overflow the context."""
        empty = Item(id="", prompt="", responses={"": ""})
        system, user = (m["content"] for m in judge_messages("", empty, [""]))
        floor = len(self._tokens.prompt(system, user, thinking=self.settings.mode == "reasoning"))
        if floor >= self.n_ctx:
            raise UsageError(
                f"a context of {self.n_ctx} tokens cannot hold the judge's instructions, which "
                f"take {floor} tokens before any item; raise --ctx (2048 or more)"
            )

    def _skeleton(self, count: int, tail: str) -> ScoreSkeleton:
        key = (count, tail)
        if key not in self._skeletons:
            tokenize = lambda text: self._tokens.tokenize(text, special=False)  # noqa: E731
            self._skeletons[key] = plan_skeleton(tokenize, count, tail)
        return self._skeletons[key]

    def _free_text(
        self,
        works: Sequence[Work],
        logits: dict[int, np.ndarray],
        limit: int,
        stops: tuple[str, ...],
        *,
        keep_stop: bool = False,
    ) -> dict[int, FreeText]:
        rngs = {w.seq: w.rng for w in works}
        temperature = self.settings.temperature
        return generate(
            self._seqs, self._llm, logits, rngs, limit, stops, temperature, keep_stop=keep_stop
        )
