"""Records of `rajudge score` read back, checked where they are used: by `pairs` and the
`--fail-under` gate, which must read a response's score the same way.

A response's score is its composite where several principles judged the item (the record's
`composite`), else the one judgment's expected score.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rajudge.errors import InputError

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


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _texts(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(t, str) for t in value.values())
