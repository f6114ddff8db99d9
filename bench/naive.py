"""The loops a user would write with llama-cpp-python: one chat completion per judgment.

Same messages as rajudge (rajudge.judging.protocol, same masked order). Two flavours:
- tight (`job["schema"] == "tight"`), the strongest such loop: greedy, and in fast mode a schema
  that allows nothing but the scores and best-to-worst (no rationale); in reasoning mode it
  thinks in free text (greedy, up to the budget, stopped at `</think>`), then answers under the
  same schema in a second completion that has the thinking as an assistant turn.
- loose: llama-cpp-python's default sampling; fast mode constrains the answer with the
  protocol's full JSON schema (rationale included), reasoning mode generates free text and
  reads the JSON after it.
A judgment is valid when its JSON parses and scores every masked response 1-5.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

from bench.items import to_item
from bench.jobs import Json, judgments

if TYPE_CHECKING:
    from llama_cpp import Llama

Messages = list[dict[str, str]]
Answer = tuple[str, int]  # the answer's text, tokens generated for it

MAX_TOKENS = 512  # a user's cap: the default (none) lets a looping rationale fill the context
REASONING_ROOM = 256  # answer tokens allowed after the thinking budget in reasoning mode
SCORES = [1, 2, 3, 4, 5]


def answer_schema(names: list[str], *, rationale: bool = True) -> Json:
    """The protocol's answer: a 1-5 score per masked response, best-to-worst, and (unless
    `rationale` is False, the tight schema) a rationale; no other property anywhere."""
    properties: Json = {
        "scores": {
            "type": "object",
            "properties": {name: {"type": "integer", "enum": SCORES} for name in names},
            "required": names,
            "additionalProperties": False,
        },
        "best-to-worst": {
            "type": "array",
            "items": {"enum": names},
            "minItems": len(names),
            "maxItems": len(names),
        },
    }
    if rationale:
        properties["rationale"] = {"type": "string"}
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
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

    from rajudge.judging.protocol import judge_messages, masked_name, masked_order

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
    ask = _tight if job.get("schema") == "tight" else _loose
    valid = lenient = completion_tokens = 0
    todo = judgments(workload)
    for judgment in todo:
        item = to_item(judgment.item)
        names = [masked_name(i) for i in range(len(item.responses))]
        messages = judge_messages(judgment.principle_text, item, masked_order(item, job["seed"]))
        text, generated = ask(llm, messages, names, workload["reasoning_budget"])
        valid += scores_every_response(text, names)
        lenient += scores_every_response(text, names, strict=False)
        completion_tokens += generated
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


def _loose(llm: Llama, messages: Messages, names: list[str], budget: int | None) -> Answer:
    """Default sampling; the full schema in fast mode, free text in reasoning mode."""
    if budget is not None:
        reply = llm.create_chat_completion(messages, max_tokens=budget + REASONING_ROOM)
    else:
        schema = {"type": "json_object", "schema": answer_schema(names)}
        reply = llm.create_chat_completion(messages, response_format=schema, max_tokens=MAX_TOKENS)
    return reply["choices"][0]["message"]["content"] or "", reply["usage"]["completion_tokens"]


def _tight(llm: Llama, messages: Messages, names: list[str], budget: int | None) -> Answer:
    """Greedy under the tight schema, after free greedy thinking in reasoning mode."""
    thought = 0
    if budget is not None:
        thinking = llm.create_chat_completion(
            messages, max_tokens=budget, temperature=0.0, stop=["</think>"]
        )
        said = (thinking["choices"][0]["message"]["content"] or "").strip()
        messages = [*messages, {"role": "assistant", "content": said + "\n</think>"}]
        thought = thinking["usage"]["completion_tokens"]
    schema = {"type": "json_object", "schema": answer_schema(names, rationale=False)}
    reply = llm.create_chat_completion(
        messages, response_format=schema, max_tokens=MAX_TOKENS, temperature=0.0
    )
    text = reply["choices"][0]["message"]["content"] or ""
    return text, thought + reply["usage"]["completion_tokens"]
