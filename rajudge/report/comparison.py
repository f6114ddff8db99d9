"""A comparison on the report page: what `rajudge compare -o DIR` wrote, read back.

DIR holds summary.json (the leaderboard), ratings.svg and judged.jsonl (the judged prompts,
`rajudge score` records with each order's scores). The page shows the leaderboard and the
chart on top, drawn again from the summary, then each prompt's answers side by side. The
summary is checked as far as the page relies on it (one error naming the file if not); a bad
line in judged.jsonl is one file:line error and the other prompts are still shown.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import orjson

from rajudge.compare.plot import ratings_chart
from rajudge.errors import InputError, UsageError, shown
from rajudge.report.page import page_model
from rajudge.report.records import Obj, Records, read_records

SUMMARY = "summary.json"
JUDGED = "judged.jsonl"


@dataclass(frozen=True)
class Comparison:
    """The summary, and the judged prompts when judged.jsonl sits beside it."""

    summary: Obj
    records: Records


def find_comparison(path: str) -> Comparison | None:
    """The comparison that `path` names (DIR, DIR/summary.json, or any summary JSON file),
    read and checked; None when `path` is something else (score records, stdin)."""
    where = Path(path)
    folder = path != "-" and where.is_dir()
    if folder:
        where = where / SUMMARY
        if not where.is_file():
            raise UsageError(
                f"{path}: no {SUMMARY} in this folder (what rajudge compare -o writes)"
            )
    elif path == "-" or where.suffix != ".json" or not where.is_file():
        return None
    summary = _load(where)
    if summary is None:
        if folder:
            raise UsageError(f"{where}: not a summary written by rajudge compare")
        return None
    judged = where.parent / JUDGED
    records = (
        read_records(str(judged))
        if where.name == SUMMARY and judged.is_file()
        else Records(items=[], errors=[])
    )
    return Comparison(check_summary(summary, str(where)), records)


def comparison_model(comparison: Comparison) -> Obj:
    """The item page's model for the judged prompts, plus the summary and its chart."""
    records = comparison.records
    model = page_model(records.items, skipped=len(records.errors))
    model["comparison"] = {
        "summary": comparison.summary,
        "figure": ratings_chart(comparison.summary),
    }
    return model


def _load(path: Path) -> Obj | None:
    """The file's JSON object if it looks like a comparison summary, else None."""
    try:
        value = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError:
        return None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if isinstance(value, dict) and "systems" in value and "baseline" in value:
        return value
    return None


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _optional(check: Callable[[object], bool]) -> Callable[[object], bool]:
    return lambda value: value is None or check(value)


def _interval(value: object) -> bool:
    return isinstance(value, list) and len(value) == 2 and all(map(_number, value))


_TOP = {
    "baseline": lambda v: isinstance(v, str),
    "prompts": _count,
    "judgments": _count,
    "orders": _count,
    "model": _optional(lambda v: isinstance(v, str)),  # null when the run did not say
    "mode": _optional(lambda v: isinstance(v, str)),
    "length_controllable": lambda v: isinstance(v, bool),
    "undecided_prompts": _count,
    "left_out": lambda v: isinstance(v, dict) and _count(v.get("prompts")),
    "bootstrap": lambda v: (
        isinstance(v, dict) and _count(v.get("rounds")) and _number(v.get("level"))
    ),
}
_SYSTEM = {
    "name": lambda v: isinstance(v, str),
    "rank": _count,
    "rating": _optional(_number),
    "rating_ci": _optional(_interval),
    "lc_rating": _optional(_number),
    "lc_rating_ci": _optional(_interval),
    "win_rate": _optional(_number),
    "win_rate_ci": _optional(_interval),
    "lc_win_rate": _optional(_number),
    "lc_win_rate_ci": _optional(_interval),
    "wins": _count,
    "ties": _count,
    "losses": _count,
    "mean_length": _number,
    "position_consistency": _optional(_number),
}
_PRINCIPLE_VERDICT = {
    key: _SYSTEM[key] for key in ("rating", "rating_ci", "win_rate", "win_rate_ci")
}
_PAIR = {
    "a": lambda v: isinstance(v, str),
    "b": lambda v: isinstance(v, str),
    "prompts": _count,
    "a_wins": _count,
    "b_wins": _count,
    "ties": _count,
    "position_consistency": _optional(_number),
}


def check_summary(summary: Obj, source: str) -> Obj:
    """The summary unchanged when it has every field the page and chart read, of the right
    kind; else one InputError naming the file and the first wrong field."""
    try:
        _fields(summary, _TOP, "")
        for key in ("principles", "systems", "pairs"):
            if not isinstance(summary.get(key), list) or not summary[key]:
                raise _Wrong(f"{key!r} must be a non-empty list")
        for number, principle in enumerate(summary["principles"], start=1):
            _fields(
                principle, {"name": _SYSTEM["name"], "weight": _number}, f"principle {number}: "
            )
        for number, system in enumerate(summary["systems"], start=1):
            what = f"system {number}: "
            _fields(system, _SYSTEM, what)
            verdicts = system.get("principles")
            if not isinstance(verdicts, dict):
                raise _Wrong(f"{what}'principles' must be an object")
            for principle in summary["principles"]:
                verdict = verdicts.get(principle["name"])
                _fields(
                    verdict, _PRINCIPLE_VERDICT, f"{what}principle {shown(principle['name'])}: "
                )
        for number, pair in enumerate(summary["pairs"], start=1):
            _fields(pair, _PAIR, f"pair {number}: ")
        if summary["baseline"] not in {s["name"] for s in summary["systems"]}:
            raise _Wrong(f"the baseline {shown(summary['baseline'])} is not among the systems")
    except _Wrong as exc:
        raise InputError(source, str(exc)) from None
    return summary


class _Wrong(Exception):
    """What is wrong in the summary; the caller adds which file."""


def _fields(obj: object, checks: dict[str, Callable[[object], bool]], what: str) -> None:
    if not isinstance(obj, dict):
        raise _Wrong(f"{what}must be an object")
    for key, check in checks.items():
        if not check(obj.get(key)):
            raise _Wrong(f"{what}{key!r} is missing or not what rajudge compare writes")
