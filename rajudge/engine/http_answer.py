"""What a judge server answered: the answer's schema, the check against it, and score
distributions lined up with the token log-probabilities.

An answer outside the schema raises BadAnswer; it never becomes a guessed score.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from rajudge.engine.chat import THINK_CLOSE, THINK_OPEN
from rajudge.judging.protocol import masked_name
from rajudge.judging.scoring import distribution
from rajudge.records import SCORE_LEVELS, DistributionSource


class BadAnswer(Exception):
    """The server answered, but not with JSON that fits the answer schema."""


@dataclass(frozen=True)
class ServerAnswer:
    """One checked completion: P(score = 1..5) per masked response, in masked order."""

    distributions: list[tuple[float, ...]]
    source: DistributionSource  # "one-hot" when the server gave no usable log-probabilities
    rationale: str  # the answer's own rationale
    thinking: str  # the reasoning before the answer, from the server's field or <think> tags
    prompt_tokens: int
    reused_tokens: int
    generated_tokens: int


def answer_schema(count: int, rationale_chars: int) -> dict[str, Any]:
    """JSON schema of the answer: each masked name scored 1..5, then a rationale of at most
    `rationale_chars` characters (none when 0)."""
    names = [masked_name(i) for i in range(count)]
    score = {"type": "integer", "enum": list(SCORE_LEVELS)}
    properties: dict[str, Any] = {
        "scores": {
            "type": "object",
            "properties": {name: score for name in names},
            "required": names,
            "additionalProperties": False,
        }
    }
    if rationale_chars:
        properties["rationale"] = {"type": "string", "maxLength": rationale_chars}
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def read_answer(body: dict[str, Any], count: int) -> ServerAnswer:
    """The checked answer in a chat completion `body` that scores `count` masked responses."""
    choice = _first_choice(body)
    message = choice.get("message") or {}
    content = message.get("content")
    if not isinstance(content, str):
        raise BadAnswer("the answer has no text content")
    reasoning = message.get("reasoning_content") or message.get("reasoning") or ""
    thought, answer = _split_thinking(content)
    scores, rationale = _parse_answer(answer, count, choice.get("finish_reason"))
    tokens = (choice.get("logprobs") or {}).get("content")
    dists = _logprob_distributions(tokens, answer, count)
    source: DistributionSource = "logprobs"
    if dists is None:
        source = "one-hot"
        dists = [tuple(float(level == s) for level in SCORE_LEVELS) for s in scores]
    usage = body.get("usage") or {}
    cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0
    return ServerAnswer(
        distributions=dists,
        source=source,
        rationale=rationale,
        thinking=str(reasoning) or thought,
        prompt_tokens=int(usage.get("prompt_tokens") or 0),
        reused_tokens=int(cached),
        generated_tokens=int(usage.get("completion_tokens") or 0),
    )


def _first_choice(body: dict[str, Any]) -> dict[str, Any]:
    choices = body.get("choices") if isinstance(body, dict) else None
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise BadAnswer("the response has no choices")
    return choices[0]


def _split_thinking(content: str) -> tuple[str, str]:
    """The thinking written before the answer, and the answer.

    The opening tag may be missing (a template that opens the block in the prompt); a
    `</think>` after the answer has begun belongs to its rationale.
    """
    head, closed, tail = content.partition(THINK_CLOSE)
    if not closed or head.lstrip().startswith("{"):
        return "", content
    return head.strip().removeprefix(THINK_OPEN).strip(), tail.lstrip()


def _parse_answer(text: str, count: int, finish_reason: object) -> tuple[list[int], str]:
    """Scores in masked order and the rationale, if `text` fits the answer schema.

    A server without structured output lets the judge answer as the protocol's prompt asks, so
    "best-to-worst" is accepted and ignored, and a missing rationale is an empty one; the
    scores must be exactly right.
    """
    cut = " (cut off by max_tokens)" if finish_reason == "length" else ""
    try:
        answer = json.loads(text, object_pairs_hook=_unique_keys)
    except ValueError:
        raise BadAnswer(f"not JSON{cut}: {text[:80]!r}") from None
    if not isinstance(answer, dict) or not isinstance(answer.get("scores"), dict):
        raise BadAnswer(f"no 'scores' object: {text[:80]!r}")
    extra = set(answer) - {"scores", "rationale", "best-to-worst"}
    if extra:
        raise BadAnswer(f"unexpected keys {sorted(extra)}")
    names = [masked_name(i) for i in range(count)]
    scores = answer["scores"]
    if sorted(scores) != sorted(names):
        raise BadAnswer(f"scores for {sorted(scores)}, expected {names}")
    values = [scores[name] for name in names]
    if any(type(v) is not int or v not in SCORE_LEVELS for v in values):
        raise BadAnswer(f"scores must be integers 1..5, got {values}")
    rationale = answer.get("rationale", "")
    if not isinstance(rationale, str):
        raise BadAnswer("'rationale' is not a string")
    return values, rationale


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object, refusing a repeated key (which would leave two scores for one name)."""
    keys = [key for key, _ in pairs]
    repeated = sorted({key for key in keys if keys.count(key) > 1})
    if repeated:
        raise BadAnswer(f"repeated keys {repeated}")
    return dict(pairs)


def _logprob_distributions(
    tokens: object, answer: str, count: int
) -> list[tuple[float, ...]] | None:
    """P(score = 1..5) per masked response from the log-probabilities at each score digit.

    At the token holding a score digit, the five alternatives are that token with the digit
    replaced (`4` -> `1`..`5`, ` 4,` -> ` 1,`..` 5,`), as the local engine reads the five score
    tokens at a slot. An alternative outside the server's top log-probabilities gets
    probability 0. None when the tokens cannot be lined up with the answer.
    """
    if not isinstance(tokens, list) or not tokens:
        return None
    try:
        texts = [str(t["token"]) for t in tokens]
        generated = "".join(texts)
        digits = [_digit_offset(answer, i) for i in range(count)]
        base = generated.rfind(answer[: max(digits) + 1])
        if base < 0:
            return None
        starts = [0]
        for text in texts:
            starts.append(starts[-1] + len(text))
        dists = []
        for offset in digits:
            at = base + offset
            index = next(i for i in range(len(texts)) if starts[i] <= at < starts[i + 1])
            token = tokens[index]
            top: dict[str, float] = {}
            for alternative in token.get("top_logprobs") or []:
                top.setdefault(str(alternative["token"]), float(alternative["logprob"]))
            top[texts[index]] = float(token["logprob"])
            position = at - starts[index]
            head, tail = texts[index][:position], texts[index][position + 1 :]
            logits = [top.get(f"{head}{level}{tail}", -math.inf) for level in SCORE_LEVELS]
            dists.append(distribution(logits))
        return dists
    except (KeyError, TypeError, ValueError, StopIteration):
        return None


def _digit_offset(answer: str, index: int) -> int:
    """Where the score of masked response `index` is written in a valid answer."""
    # A key inside a JSON string would have escaped quotes, so the first match is the score.
    found = re.search(rf'"{re.escape(masked_name(index))}"\s*:\s*([1-5])', answer)
    if found is None:
        raise ValueError(masked_name(index))
    return found.start(1)
