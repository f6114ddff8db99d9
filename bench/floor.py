"""The floor: a plain llama_cpp.Llama evaluating each unique prompt token of a workload once.

Prompts are sorted, so each one shares the longest possible prefix with the one before it and
only the rest is evaluated (one sequence, the cache cut back to the common prefix). No token is
generated: this is the prompt work any judge must do, and nothing else.
"""

from __future__ import annotations

import time

from bench.jobs import Json, read_json
from bench.prompts import common_prefix


def run(job: Json, workload: Json) -> Json:
    from llama_cpp import Llama

    prompts: list[list[int]] = read_json(job["tokens"])  # type: ignore[assignment]
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
    evaluated, previous = 0, []
    for prompt in sorted(prompts):
        common = common_prefix(previous, prompt)
        if common < len(prompt):
            llm.n_tokens = common
            llm.eval(prompt[common:])
            evaluated += len(prompt) - common
        previous = prompt
    done = time.perf_counter()
    llm.close()
    return {
        "load_seconds": loaded - started,
        "judge_seconds": done - loaded,
        "judgments": len(prompts),
        "valid": None,
        "evaluated_tokens": evaluated,
        "tokens_per_second": evaluated / (done - loaded),
        "batch": job["batch"],
    }
