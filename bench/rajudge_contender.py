"""rajudge in process, through the code path `rajudge score` uses: LlamaBackend + judge_items."""

from __future__ import annotations

import time
from pathlib import Path

from bench.items import to_item, to_principles
from bench.jobs import Json


def run(job: Json, workload: Json) -> Json:
    from rajudge.engine.llama import LlamaBackend
    from rajudge.records import ItemResult
    from rajudge.run.schedule import judge_items
    from rajudge.settings import EngineSettings

    budget = workload["reasoning_budget"]
    settings = EngineSettings(
        threads=job["threads"],
        mode=workload["mode"],
        seed=job["seed"],
        **{key: job[key] for key in ("parallel", "rationale_tokens") if key in job},
        **({"reasoning_budget": budget} if budget is not None else {}),
    )
    items = [to_item(item) for item in workload["items"]]
    principles = to_principles(workload)
    started = time.perf_counter()
    backend = LlamaBackend(Path(job["model"]), settings)
    loaded = time.perf_counter()
    results = list(judge_items(backend, items, principles))
    done = time.perf_counter()
    backend.close()

    per_item = len(principles) or 1
    valid, failures = 0, []
    prompt_tokens = reused_tokens = generated_tokens = 0
    for result in results:
        if not isinstance(result, ItemResult):
            failures.append(str(result))
            continue
        if all(len(j.responses) == len(result.item.responses) for j in result.judgments):
            valid += len(result.judgments)
        for j in result.judgments:
            prompt_tokens += j.timings.prompt_tokens
            reused_tokens += j.timings.reused_tokens
            generated_tokens += j.timings.generated_tokens
    return {
        "load_seconds": loaded - started,
        "judge_seconds": done - loaded,
        "judgments": len(items) * per_item,
        "valid": valid,
        "parallel": settings.parallel,
        "rationale_tokens": settings.rationale_tokens,
        "prompt_tokens": prompt_tokens,
        "reused_tokens": reused_tokens,
        "generated_tokens": generated_tokens,
        "failures": failures[:5],
    }
