"""The floors: a plain llama_cpp.Llama evaluating each unique prompt token of a workload once.

Prompts are sorted, so each one shares the longest possible prefix with the one before it and
only the rest is evaluated (one sequence, the cache cut back to the common prefix). The plain
floor generates nothing: this is the prompt work any judge must do, and nothing else. With
`job["generate"]` = N it then also decodes N greedy tokens after every prompt, one llama.cpp
pass per token (end of text or not): the free text a judge writes, at llama.cpp's own speed.
Prefill and decode are timed apart, so the run tells what a prompt and a generated token cost.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from bench.jobs import Json, read_json
from bench.prompts import common_prefix

if TYPE_CHECKING:
    from llama_cpp import Llama


def run(job: Json, workload: Json) -> Json:
    from llama_cpp import Llama

    prompts: list[list[int]] = read_json(job["tokens"])  # type: ignore[assignment]
    generate = job.get("generate", 0)
    started = time.perf_counter()
    llm = Llama(
        model_path=job["model"],
        n_ctx=job["ctx"],
        n_batch=job["batch"],
        n_ubatch=job["batch"],
        n_threads=job["threads"],
        n_threads_batch=job["threads"],
        verbose=False,
    )
    loaded = time.perf_counter()
    evaluated, previous, decoding = 0, [], 0.0
    for prompt in sorted(prompts):
        common = common_prefix(previous, prompt)
        if generate and common == len(prompt):
            common -= 1  # the same prompt again: its last token gives the logits to decode from
        if common < len(prompt):
            llm.n_tokens = common
            llm.eval(prompt[common:])
            evaluated += len(prompt) - common
        if generate:
            decoding += _decode(llm, generate)
        previous = prompt
    done = time.perf_counter()
    llm.close()
    prefill = done - loaded - decoding
    return {
        "load_seconds": loaded - started,
        "judge_seconds": done - loaded,
        "judgments": len(prompts),
        "valid": None,
        "evaluated_tokens": evaluated,
        "tokens_per_second": evaluated / prefill,
        "generated_tokens": generate * len(prompts),
        "decode_seconds": decoding,
        "batch": job["batch"],
    }


def _decode(llm: Llama, count: int) -> float:
    """Seconds to decode `count` greedy tokens after what the context holds."""
    import numpy as np

    vocabulary = llm.n_vocab()
    started = time.perf_counter()
    for _ in range(count):  # eval keeps no logits here (logits_all off): read the last pass's
        logits = np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(vocabulary,))
        llm.eval([int(np.argmax(logits))])
    return time.perf_counter() - started
