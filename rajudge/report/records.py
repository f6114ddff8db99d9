"""Score records (rajudge.output.schema) read back as the items a report shows.

Each line is checked by rajudge.output.parse, so a hand-edited or foreign line becomes one
"file:line: what is wrong" error, never a broken page; the other lines are still shown. A
judgment's optional `consistency` (0..1, from presentation orders) is kept, and so are its
optional `orders` (each order's names as shown and its scores), which `rajudge compare` counts
its verdicts from.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from rajudge.errors import InputError
from rajudge.jsonl import input_lines, json_objects
from rajudge.output.parse import RecordJudgment, RecordScore, parse_record

Obj = dict[str, Any]


@dataclass(frozen=True)
class Records:
    """The page items of the good lines, in input order, and one error per bad line."""

    items: list[Obj]
    errors: list[InputError]


def read_records(path: str) -> Records:
    """The records of a `rajudge score` JSONL file, or of standard input for "-"."""
    with input_lines(path) as (lines, source):
        return parse_records(lines, source)


def parse_records(lines: Iterable[bytes], source: str) -> Records:
    items: list[Obj] = []
    errors: list[InputError] = []
    for where, obj in json_objects(lines, source):
        try:
            if isinstance(obj, InputError):
                raise obj
            items.append(page_item(obj, where))
        except InputError as exc:
            errors.append(exc)
    return Records(items, errors)


def page_item(value: object, where: str = "") -> Obj:
    """One record as the page shows it: texts, scores per judgment, and the keys it sorts by.

    `score` is the top response's expected score (its composite under several principles),
    `margin` how far the second is behind it (None for a lone response), `consistency` the
    lowest among the judgments that carry one (None when none does). A record read at `where`
    that cannot be shown raises InputError.
    """
    record = parse_record(value, where)
    prompt, texts = record.texts()
    values, ranking = record.scores, record.ranking
    consistencies = [j.consistency for j in record.judgments if j.consistency is not None]
    return {
        "id": record.id,
        "prompt": prompt,
        "responses": texts,
        "ranking": ranking,
        "composite": record.composite,
        "judgments": [_judgment(judgment) for judgment in record.judgments],
        "model": record.model,
        "mode": record.mode,
        "score": values[ranking[0]],
        "margin": round(values[ranking[0]] - values[ranking[1]], 4) if len(ranking) > 1 else None,
        "consistency": min(consistencies) if consistencies else None,
    }


def _judgment(judgment: RecordJudgment) -> Obj:
    return {
        "principle": judgment.principle,
        "text": judgment.text,
        "scores": _scores(judgment.scores),
        "rationale": judgment.rationale,
        "consistency": judgment.consistency,
        "orders": None
        if judgment.orders is None
        else [{"shown": order.shown, "scores": _scores(order.scores)} for order in judgment.orders],
    }


def _scores(scores: dict[str, RecordScore]) -> dict[str, Obj]:
    return {name: asdict(score) for name, score in scores.items()}
