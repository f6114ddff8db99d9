"""Records of `rajudge score` read back, checked where they are used: by `pairs` and the
`--fail-under` gate, which must read a response's score the same way, and by `compare`.

A response's score is its composite where several principles judged the item (the record's
`composite`), else the one judgment's expected score.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeGuard

from rajudge.compare.outcomes import OrderVerdict, PromptVerdicts
from rajudge.errors import InputError
from rajudge.records import SCORE_LEVELS

_NOT_A_RECORD = "not a record of rajudge score"


@dataclass(frozen=True)
class JudgedItem:
    """One judged item: its texts, and each response's score."""

    id: str
    prompt: str
    responses: dict[str, str]  # text by name, in input order
    scores: dict[str, float]  # score by name, in input order


def response_scores(record: object, where: str) -> dict[str, float]:
    """Each response's score in a score record; a record that has none raises InputError."""
    record = _record(record, where)
    scores = record.get("composite")
    if scores is None:
        judgments = record["judgments"]
        first = judgments[0] if isinstance(judgments, list) and judgments else None
        responses = first.get("responses") if isinstance(first, dict) else None
        if not isinstance(responses, dict):
            raise InputError(where, f"{_NOT_A_RECORD}: its first judgment has no responses")
        scores = {name: _get(score, "expected") for name, score in responses.items()}
    if not isinstance(scores, dict) or not scores or not all(map(_is_number, scores.values())):
        raise InputError(where, f"{_NOT_A_RECORD}: its scores are not numbers by response name")
    return scores


def judged_item(record: object, where: str) -> JudgedItem:
    """The item a score record holds, with its texts; records written before they carried the
    texts (no `prompt` and `responses`) raise InputError."""
    record = _record(record, where)
    scores = response_scores(record, where)
    prompt, texts = record.get("prompt"), record.get("responses")
    if prompt is None or texts is None:
        raise InputError(
            where,
            "the record has no 'prompt' and 'responses' texts (written by an older rajudge); "
            "judge the items again with this version",
        )
    if not isinstance(prompt, str) or not _texts(texts) or set(texts) != set(scores):
        raise InputError(where, f"{_NOT_A_RECORD}: its prompt or response texts are malformed")
    return JudgedItem(str(record.get("id", "")), prompt, dict(texts), scores)


def _record(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict) or "schema" not in value or "judgments" not in value:
        raise InputError(where, _NOT_A_RECORD)
    return value


def _get(value: object, key: str) -> object:
    return value.get(key) if isinstance(value, Mapping) else None


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _texts(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(t, str) for t in value.values())


def prompt_verdicts(record: object, where: str) -> list[PromptVerdicts]:
    """What `compare` counts of a score record: per principle, each presentation order's
    scores and distributions (one order where the record has no `orders`), and the texts'
    lengths; a record that lacks them raises InputError."""
    item = judged_item(record, where)
    lengths = {name: len(text) for name, text in item.responses.items()}
    verdicts = []
    for judgment in _record(record, where)["judgments"]:
        principle = _get(judgment, "principle")
        name, weight = _get(principle, "name"), _get(principle, "weight")
        if not isinstance(name, str) or not _is_number(weight):
            raise InputError(where, f"{_NOT_A_RECORD}: a judgment's principle has no name/weight")
        orders = _get(judgment, "orders") or [judgment]
        if not isinstance(orders, list):
            raise InputError(where, f"{_NOT_A_RECORD}: a judgment's 'orders' is not a list")
        verdicts.append(
            PromptVerdicts(
                prompt_id=item.id,
                principle=name,
                weight=float(weight),
                orders=tuple(_order_verdict(order, lengths, where) for order in orders),
                lengths=lengths,
            )
        )
    return verdicts


def _order_verdict(order: object, names: Mapping[str, int], where: str) -> OrderVerdict:
    responses = _get(order, "responses")
    if not isinstance(responses, dict) or set(responses) != set(names):
        raise InputError(where, f"{_NOT_A_RECORD}: a judgment does not score every response")
    scores: dict[str, int] = {}
    distributions: dict[str, tuple[float, ...]] = {}
    for name, value in responses.items():
        score, dist = _get(value, "score"), _get(value, "distribution")
        if score not in SCORE_LEVELS or isinstance(score, bool):
            raise InputError(where, f"{_NOT_A_RECORD}: {name!r} has no score from 1 to 5")
        if not isinstance(dist, list) or len(dist) != 5 or not all(map(_is_number, dist)):
            raise InputError(where, f"{_NOT_A_RECORD}: {name!r} has no distribution over 1..5")
        scores[name] = int(score)
        distributions[name] = tuple(float(p) for p in dist)
    return OrderVerdict(scores=scores, distributions=distributions)
