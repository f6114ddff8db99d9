"""Score records (JSONL schema 1, see rajudge.output.schema) read back as the items a report shows.

Each line is checked as far as the page relies on it, so a hand-edited or foreign line becomes
one "file:line: what is wrong" error, never a broken page; the other lines are still shown.
Fields the report does not use are ignored, as are fields it does not know (schema 1 only
gains fields). A judgment's optional `consistency` (0..1, from presentation orders) is kept, and
so are its optional `orders` (each order's names as shown and its scores), which `rajudge
compare` counts its verdicts from.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TypeGuard

from rajudge.errors import InputError, shown
from rajudge.read import input_lines, json_objects

SCHEMA = 1
_SCORES = range(1, 6)

Obj = dict[str, Any]


@dataclass(frozen=True)
class Records:
    """The page items of the good lines, in input order, and one error per bad line."""

    items: list[Obj]
    errors: list[InputError]


class _Invalid(Exception):
    """What is wrong with the current record; the caller adds where it is."""


def read_records(path: str) -> Records:
    """The records of a `rajudge score` JSONL file, or of standard input for "-"."""
    with input_lines(path) as (lines, source):
        return parse_records(lines, source)


def parse_records(lines: Iterable[bytes], source: str) -> Records:
    items: list[Obj] = []
    errors: list[InputError] = []
    for where, obj in json_objects(lines, source):
        if isinstance(obj, InputError):
            errors.append(obj)
            continue
        try:
            items.append(page_item(obj))
        except _Invalid as exc:
            errors.append(InputError(where, str(exc)))
    return Records(items, errors)


def page_item(record: Obj) -> Obj:
    """One record as the page shows it: texts, scores per judgment, and the keys it sorts by.

    `score` is the top response's expected score (its composite under several principles),
    `margin` how far the second is behind it (None for a lone response), `consistency` the
    lowest among the judgments that carry one (None when none does).
    """
    _check_schema(record)
    texts = _texts(record)
    names = list(texts)
    judgments = [
        _judgment(judgment, names, f"judgment {number}: ")
        for number, judgment in enumerate(_nonempty_list(record, "judgments"), start=1)
    ]
    ranking = _ranking(record.get("ranking"), names, "")
    composite = _composite(record.get("composite"), names)
    values = composite or {n: judgments[0]["scores"][n]["expected"] for n in names}
    consistencies = [j["consistency"] for j in judgments if j["consistency"] is not None]
    return {
        "id": _id(record.get("id")),
        "prompt": _string(record, "prompt", ""),
        "responses": texts,
        "ranking": ranking,
        "composite": composite,
        "judgments": judgments,
        "model": _string(record, "model", ""),
        "mode": _string(record, "mode", ""),
        "score": values[ranking[0]],
        "margin": round(values[ranking[0]] - values[ranking[1]], 4) if len(ranking) > 1 else None,
        "consistency": min(consistencies) if consistencies else None,
    }


def _check_schema(record: Obj) -> None:
    schema = record.get("schema")
    if schema is None or "judgments" not in record:
        raise _Invalid("not a record of rajudge score (no 'schema' or 'judgments')")
    if schema != SCHEMA:
        raise _Invalid(f"schema {shown(schema)} is not one this rajudge reads (schema {SCHEMA})")
    if "prompt" not in record or "responses" not in record:
        raise _Invalid(
            "the record has no 'prompt' and 'responses' texts: it was written by an older "
            "rajudge score; score the items again to report on them"
        )


def _texts(record: Obj) -> dict[str, str]:
    responses = record["responses"]
    if not isinstance(responses, dict) or not responses:
        raise _Invalid("'responses' must be a non-empty object of name -> text")
    for name, text in responses.items():
        if not isinstance(text, str):
            raise _Invalid(f"response {shown(name)} must be a string")
    return responses


def _judgment(judgment: object, names: list[str], what: str) -> Obj:
    if not isinstance(judgment, dict):
        raise _Invalid(f"{what}must be an object")
    principle = judgment.get("principle")
    if not isinstance(principle, dict):
        raise _Invalid(f"{what}'principle' must be an object")
    scores = judgment.get("responses")
    if not isinstance(scores, dict) or set(scores) != set(names):
        raise _Invalid(f"{what}'responses' must score exactly the record's responses")
    consistency = judgment.get("consistency")
    if consistency is not None and not (_is_number(consistency) and 0 <= consistency <= 1):
        raise _Invalid(f"{what}'consistency' must be a number from 0 to 1")
    orders = judgment.get("orders")
    if orders is not None and not isinstance(orders, list):
        raise _Invalid(f"{what}'orders' must be a list")
    return {
        "principle": _string(principle, "name", what + "principle "),
        "text": principle.get("text") if isinstance(principle.get("text"), str) else "",
        "scores": {name: _score(scores[name], f"{what}response {shown(name)}: ") for name in names},
        "rationale": _string(judgment, "rationale", what),
        "consistency": consistency,
        "orders": None
        if orders is None
        else [
            _order(order, names, f"{what}order {number}: ")
            for number, order in enumerate(orders, start=1)
        ],
    }


def _order(order: object, names: list[str], what: str) -> Obj:
    """One presentation order: the names as shown (all the record's, or some of them) and the
    score each got in that order."""
    if not isinstance(order, dict):
        raise _Invalid(f"{what}must be an object")
    shown_names = order.get("shown")
    if not (
        isinstance(shown_names, list)
        and shown_names
        and all(isinstance(name, str) for name in shown_names)
        and len(set(shown_names)) == len(shown_names)
        and set(shown_names) <= set(names)
    ):
        raise _Invalid(f"{what}'shown' must list some of the record's response names, each once")
    scores = order.get("responses")
    if not isinstance(scores, dict) or not set(shown_names) <= set(scores) <= set(names):
        raise _Invalid(f"{what}'responses' must score the responses shown")
    return {
        "shown": shown_names,
        "scores": {n: _score(scores[n], f"{what}response {shown(n)}: ") for n in shown_names},
    }


def _score(value: object, what: str) -> Obj:
    if not isinstance(value, dict):
        raise _Invalid(f"{what}must be an object")
    rank, score, expected = value.get("rank"), value.get("score"), value.get("expected")
    distribution = value.get("distribution")
    if not (isinstance(rank, int) and not isinstance(rank, bool) and rank >= 1):
        raise _Invalid(f"{what}'rank' must be a whole number from 1")
    if not (isinstance(score, int) and not isinstance(score, bool) and score in _SCORES):
        raise _Invalid(f"{what}'score' must be a whole number from 1 to 5")
    if not (_is_number(expected) and 1 <= expected <= 5):
        raise _Invalid(f"{what}'expected' must be a number from 1 to 5")
    if not (
        isinstance(distribution, list)
        and len(distribution) == len(_SCORES)
        and all(_is_number(p) and 0 <= p <= 1 for p in distribution)
    ):
        raise _Invalid(f"{what}'distribution' must be 5 probabilities (of 1..5)")
    return {"rank": rank, "score": score, "expected": expected, "distribution": distribution}


def _ranking(value: object, names: list[str], what: str) -> list[str]:
    if not isinstance(value, list) or sorted(value, key=str) != sorted(names):
        raise _Invalid(f"{what}'ranking' must list each response name once")
    return value


def _composite(value: object, names: list[str]) -> dict[str, float] | None:
    if value is None:
        return None
    if (
        not isinstance(value, dict)
        or set(value) != set(names)
        or not all(_is_number(v) for v in value.values())
    ):
        raise _Invalid("'composite' must be null or a number for each response")
    return value


def _nonempty_list(record: Obj, key: str) -> list[object]:
    value = record.get(key)
    if not isinstance(value, list) or not value:
        raise _Invalid(f"{key!r} must be a non-empty list")
    return value


def _string(obj: Obj, key: str, what: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str):
        raise _Invalid(f"{what}{key!r} must be a string")
    return value


def _id(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise _Invalid("'id' must be a string or an integer")
    return str(value)


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
