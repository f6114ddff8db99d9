"""The loop a user would write with llama-cpp-python: one chat completion per judgment.

Same messages as rajudge (rajudge.protocol, same masked order), llama-cpp-python's default
sampling. Fast mode constrains the answer with the protocol's JSON schema (response_format);
reasoning mode lets the model think in free text and reads the JSON after it. A judgment is
valid when its JSON parses and scores every masked response 1-5.
"""

from __future__ import annotations

import json
import time

from bench.items import to_item
from bench.jobs import Json, judgments

MAX_TOKENS = 512  # a user's cap: the default (none) lets a looping rationale fill the context
REASONING_ROOM = 256  # answer tokens allowed after the thinking budget in reasoning mode
SCORES = [1, 2, 3, 4, 5]


def answer_schema(names: list[str]) -> Json:
    """The protocol's answer: a 1-5 score per masked response, best-to-worst, a rationale."""
    return {
        "type": "object",
        "properties": {
            "scores": {
                "type": "object",
                "properties": {name: {"enum": SCORES} for name in names},
                "required": names,
                "additionalProperties": False,
            },
            "best-to-worst": {
                "type": "array",
                "items": {"enum": names},
                "minItems": len(names),
                "maxItems": len(names),
            },
            "rationale": {"type": "string"},
        },
        "required": ["scores", "best-to-worst", "rationale"],
        "additionalProperties": False,
    }


def scores_every_response(text: str, names: list[str], *, strict: bool = True) -> bool:
    """Whether the answer's JSON (after any thinking) parses and scores each name 1-5.

    `strict=False` also accepts raw control characters inside strings, which json.loads (and
    so a user's parser) refuses but llama-cpp-python's schema grammar lets the model write.
    """
    text = text.rsplit("</think>", 1)[-1]
    start, end = text.find("{"), text.rfind("}")
    try:
        answer = json.loads(text[start : end + 1], strict=strict) if 0 <= start < end else None
    except json.JSONDecodeError:
        return False
    scores = answer.get("scores") if isinstance(answer, dict) else None
    return isinstance(scores, dict) and all(scores.get(name) in SCORES for name in names)


def run(job: Json, workload: Json) -> Json:
    from llama_cpp import Llama

    from rajudge.protocol import judge_messages, masked_name, masked_order

    reasoning = workload["mode"] == "reasoning"
    started = time.perf_counter()
    llm = Llama(
        model_path=job["model"],
        n_ctx=job["ctx"],
        n_threads=job["threads"],
        n_threads_batch=job["threads"],
        seed=job["seed"],
        verbose=False,
    )
    loaded = time.perf_counter()
    valid = lenient = completion_tokens = 0
    todo = judgments(workload)
    for judgment in todo:
        item = to_item(judgment.item)
        names = [masked_name(i) for i in range(len(item.responses))]
        messages = judge_messages(judgment.principle_text, item, masked_order(item, job["seed"]))
        if reasoning:
            limit = workload["reasoning_budget"] + REASONING_ROOM
            reply = llm.create_chat_completion(messages, max_tokens=limit)
        else:
            schema = {"type": "json_object", "schema": answer_schema(names)}
            reply = llm.create_chat_completion(
                messages, response_format=schema, max_tokens=MAX_TOKENS
            )
        text = reply["choices"][0]["message"]["content"] or ""
        valid += scores_every_response(text, names)
        lenient += scores_every_response(text, names, strict=False)
        completion_tokens += reply["usage"]["completion_tokens"]
    done = time.perf_counter()
    llm.close()
    return {
        "load_seconds": loaded - started,
        "judge_seconds": done - loaded,
        "judgments": len(todo),
        "valid": valid,
        "valid_with_control_characters": lenient,
        "generated_tokens": completion_tokens,
    }
