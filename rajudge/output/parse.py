"""A score record read back (layout in rajudge.output.schema): the one check every reader uses.

`pairs`, `report`, `--resume`, the `--fail-under` gate and `compare --from` all read records
through `parse_record`, so a hand-edited or foreign record gets the same "what is wrong" from
each of them. Fields no reader uses (timings, distribution_source, a principle's source) are
not checked, nor are fields this rajudge does not know (schema 1 only gains fields). Records
written before they carried their texts (no `prompt` and `responses`) still parse: --resume
and the gate need no texts; `Record.texts` refuses them for the readers that do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeGuard

from rajudge.errors import InputError, shown
from rajudge.output.schema import SCHEMA_VERSION

_SCORES = range(1, 6)


class _Invalid(Exception):
    """What is wrong with the record being parsed; parse_record adds where it is."""


@dataclass(frozen=True)
class RecordScore:
    """One response's score under one judgment (or one presentation order)."""

    rank: int
    score: int
    expected: int | float
    distribution: list[int | float]  # P(1..5)


@dataclass(frozen=True)
class RecordOrder:
    """One presentation order: the names as shown (some or all) and the score each got."""

    shown: list[str]
    scores: dict[str, RecordScore]  # by name, as shown


@dataclass(frozen=True)
class RecordJudgment:
    """The verdict under one principle."""

    principle: str
    text: str  # "" when the record gives none
    weight: int | float | None  # None when the record gives none
    scores: dict[str, RecordScore]  # by name, in the record's order
    rationale: str  # "" when the record gives none
    consistency: int | float | None  # only with several presentation orders
    orders: list[RecordOrder] | None  # only with several presentation orders


@dataclass(frozen=True)
class Record:
    """One judged item, checked; `raw` is the record as read (what --resume keeps)."""

    where: str  # where it was read ("file:line"), for the errors its readers raise
    raw: dict[str, Any]
    id: str
    names: list[str]  # the response names, in input order
    prompt: str | None  # None, and responses too: written before records carried the texts
    responses: dict[str, str] | None
    ranking: list[str]
    composite: dict[str, int | float] | None
    judgments: list[RecordJudgment]
    model: str
    mode: str

    @property
    def scores(self) -> dict[str, int | float]:
        """Each response's score: its composite where several principles judged the item,
        else the one judgment's expected score; in input order."""
        if self.composite is not None:
            return {name: self.composite[name] for name in self.names}
        first = self.judgments[0].scores
        return {name: first[name].expected for name in self.names}

    def texts(self) -> tuple[str, dict[str, str]]:
        """The prompt and the response texts by name, for the readers that show or train on
        them; a record older than its texts raises InputError."""
        if self.prompt is None or self.responses is None:
            raise InputError(
                self.where,
                "the record has no 'prompt' and 'responses' texts: it was written by an older "
                "rajudge score; score the items again with this version",
            )
        return self.prompt, self.responses


def parse_record(value: object, where: str) -> Record:
    """`value` (a parsed JSON line or array element) read at `where`, as a Record; a value that
    is not a well-formed record raises InputError."""
    try:
        return _record(value, where)
    except _Invalid as exc:
        raise InputError(where, str(exc)) from None


def _record(value: object, where: str) -> Record:
    if not isinstance(value, dict) or "schema" not in value or "judgments" not in value:
        raise _Invalid("not a record of rajudge score (no 'schema' or 'judgments')")
    schema = value["schema"]
    if schema != SCHEMA_VERSION:
        raise _Invalid(
            f"schema {shown(schema)} is not one this rajudge reads (schema {SCHEMA_VERSION})"
        )
    prompt, responses = _texts(value)
    names = list(responses) if responses is not None else _older_names(value)
    judgments = [
        _judgment(judgment, names, f"judgment {number}: ")
        for number, judgment in enumerate(_nonempty_list(value, "judgments"), start=1)
    ]
    return Record(
        where=where,
        raw=value,
        id=_id(value.get("id")),
        names=names,
        prompt=prompt,
        responses=responses,
        ranking=_ranking(value.get("ranking"), names),
        composite=_composite(value.get("composite"), names),
        judgments=judgments,
        model=_string(value, "model", ""),
        mode=_string(value, "mode", ""),
    )


def _texts(record: dict[str, Any]) -> tuple[str | None, dict[str, str] | None]:
    """The prompt and response texts; both None in a record older than its texts."""
    if "prompt" not in record or "responses" not in record:
        return None, None
    prompt, responses = record["prompt"], record["responses"]
    if not isinstance(prompt, str):
        raise _Invalid("'prompt' must be a string")
    if not isinstance(responses, dict) or not responses:
        raise _Invalid("'responses' must be a non-empty object of name -> text")
    for name, text in responses.items():
        if not isinstance(text, str):
            raise _Invalid(f"response {shown(name)} must be a string")
    return prompt, responses


def _older_names(record: dict[str, Any]) -> list[str]:
    """The response names of a record without texts: those its first judgment scores."""
    first = _nonempty_list(record, "judgments")[0]
    scores = first.get("responses") if isinstance(first, dict) else None
    return list(scores) if isinstance(scores, dict) else []


def _judgment(judgment: object, names: list[str], what: str) -> RecordJudgment:
    if not isinstance(judgment, dict):
        raise _Invalid(f"{what}must be an object")
    principle = judgment.get("principle")
    if not isinstance(principle, dict):
        raise _Invalid(f"{what}'principle' must be an object")
    scores = judgment.get("responses")
    if not isinstance(scores, dict) or not scores or set(scores) != set(names):
        raise _Invalid(f"{what}'responses' must score exactly the record's responses")
    consistency = judgment.get("consistency")
    if consistency is not None and not (_is_number(consistency) and 0 <= consistency <= 1):
        raise _Invalid(f"{what}'consistency' must be a number from 0 to 1")
    orders = judgment.get("orders")
    if orders is not None and not isinstance(orders, list):
        raise _Invalid(f"{what}'orders' must be a list")
    weight = principle.get("weight")
    if weight is not None and not _is_number(weight):
        raise _Invalid(f"{what}principle 'weight' must be a number")
    rationale = judgment.get("rationale", "")
    if not isinstance(rationale, str):
        raise _Invalid(f"{what}'rationale' must be a string")
    text = principle.get("text")
    return RecordJudgment(
        principle=_string(principle, "name", what + "principle "),
        text=text if isinstance(text, str) else "",
        weight=weight,
        scores={name: _score(scores[name], f"{what}response {shown(name)}: ") for name in names},
        rationale=rationale,
        consistency=consistency,
        orders=None
        if orders is None
        else [
            _order(order, names, f"{what}order {number}: ")
            for number, order in enumerate(orders, start=1)
        ],
    )


def _order(order: object, names: list[str], what: str) -> RecordOrder:
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
    return RecordOrder(
        shown=shown_names,
        scores={n: _score(scores[n], f"{what}response {shown(n)}: ") for n in shown_names},
    )


def _score(value: object, what: str) -> RecordScore:
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
    return RecordScore(rank=rank, score=score, expected=expected, distribution=distribution)


def _ranking(value: object, names: list[str]) -> list[str]:
    if not isinstance(value, list) or sorted(value, key=str) != sorted(names):
        raise _Invalid("'ranking' must list each response name once")
    return value


def _composite(value: object, names: list[str]) -> dict[str, int | float] | None:
    if value is None:
        return None
    if (
        not isinstance(value, dict)
        or set(value) != set(names)
        or not all(_is_number(v) for v in value.values())
    ):
        raise _Invalid("'composite' must be null or a number for each response")
    return value


def _nonempty_list(record: dict[str, Any], key: str) -> list[object]:
    value = record.get(key)
    if not isinstance(value, list) or not value:
        raise _Invalid(f"{key!r} must be a non-empty list")
    return value


def _string(obj: dict[str, Any], key: str, what: str) -> str:
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
