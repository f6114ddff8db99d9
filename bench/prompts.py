"""rajudge's exact prompt tokens for every judgment of a workload, and their prefix-trie size.

The floor evaluates these tokens; their counts show how much of a workload is shared prefix.
"""

from __future__ import annotations

from pathlib import Path

from bench.items import to_item
from bench.jobs import Json, judgments, write_json


def run(job: Json, workload: Json) -> Json:
    import llama_cpp

    from rajudge.engine.llama import LlamaBackend
    from rajudge.judging.protocol import judge_messages, masked_order
    from rajudge.settings import EngineSettings

    settings = EngineSettings(threads=job["threads"], mode=workload["mode"], seed=job["seed"])
    backend = LlamaBackend(Path(job["model"]), settings)
    thinking = workload["mode"] == "reasoning"
    tokens = []
    try:
        for judgment in judgments(workload):
            item = to_item(judgment.item)
            order = masked_order(item, settings.seed)
            messages = judge_messages(judgment.principle_text, item, order)
            system, user = (m["content"] for m in messages)
            tokens.append(backend._tokens.prompt(system, user, thinking=thinking))
    finally:
        backend.close()
    write_json(job["tokens"], tokens)
    return {
        "judgments": len(tokens),
        "total_tokens": sum(map(len, tokens)),
        "unique_tokens": trie_size(tokens),
        "longest_prompt": max(map(len, tokens)),
        "gpu_offload_supported": bool(llama_cpp.llama_supports_gpu_offload()),
    }


def common_prefix(a: list[int], b: list[int]) -> int:
    size = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        size += 1
    return size


def trie_size(prompts: list[list[int]]) -> int:
    """Nodes of the prefix trie: in sorted order each prompt adds what its predecessor lacks."""
    ordered = sorted(prompts)
    return sum(len(p) - common_prefix(q, p) for q, p in zip([[], *ordered], ordered, strict=False))
