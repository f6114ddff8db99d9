"""A comparison judged through the run core, and read back from its records.

Each prompt is one item whose responses are the systems' answers, judged listwise under each
principle in `settings.permutations` presentation orders through the run core (rajudge.run), so
the result cache, `--resume`, `--parallel` and every backend work as for `score`. What comes
out are `score` records whose judgments keep each order's verdict; the statistics are always
computed from such records, whether they were just judged or read from a file (`compare
--from`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rajudge.compare.outcomes import PromptVerdicts
from rajudge.engine.base import Backend
from rajudge.errors import InputError
from rajudge.jsonl import input_lines, json_objects
from rajudge.output.files import NO_OUTPUT
from rajudge.output.judged import prompt_verdicts
from rajudge.output.schema import result_record
from rajudge.records import Item, ItemResult, Principle
from rajudge.run.cache import Fingerprint, ResultCache
from rajudge.run.core import Tally, score_file
from rajudge.run.schedule import Resumption

Record = dict[str, Any]


@dataclass(frozen=True)
class Judged:
    """The records of a comparison run: those an earlier run left (--resume), then the new."""

    records: list[Record]
    tally: Tally
    resumed: Resumption | None


@dataclass(frozen=True)
class Verdicts:
    """What the statistics need, read from records: systems, verdicts, model, and bad lines."""

    systems: tuple[str, ...]  # the first record's response names, in their order
    verdicts: list[PromptVerdicts]
    judgments: int  # single-order judgments behind them
    model: str
    mode: str
    errors: list[InputError]


def judge_systems(
    backend: Backend,
    items: Sequence[Item],
    principles: Sequence[Principle],
    *,
    judged: Path | None,
    resume_output: bool,
    fingerprint: Fingerprint,
    cache: ResultCache | None,
    on_error: Callable[[InputError], None],
    on_item: Callable[[], None],
) -> Judged:
    """Judge every prompt's answers; records go to `judged` as they finish (if given)."""
    records: list[Record] = []

    def keep(result: ItemResult) -> None:
        records.append(result_record(result))

    tally, resumed = score_file(
        backend,
        items,
        principles,
        judged,
        fmt=None if judged is not None else NO_OUTPUT,
        resume_output=resume_output,
        fingerprint=fingerprint,
        cache=cache,
        on_error=on_error,
        on_item=on_item,
        on_result=keep,
    )
    kept = [] if resumed is None else resumed.kept
    return Judged([*kept, *records], tally, resumed)


def read_verdicts(records: Iterable[tuple[str, object]]) -> Verdicts:
    """The verdicts in (where, record) pairs; a bad record is one error and is left out.

    A record whose systems differ from the first record's is an error too: the statistics
    compare the same systems on every prompt.
    """
    systems: tuple[str, ...] = ()
    verdicts: list[PromptVerdicts] = []
    errors: list[InputError] = []
    judgments = 0
    model = mode = ""
    for where, record in records:
        try:
            if isinstance(record, InputError):
                raise record
            found = prompt_verdicts(record, where)
            names = tuple(found[0].lengths)
            if systems and set(names) != set(systems):
                raise InputError(
                    where, f"its systems {list(names)} are not the first record's {list(systems)}"
                )
        except InputError as exc:
            errors.append(exc)
            continue
        assert isinstance(record, dict)
        systems = systems or names
        model, mode = model or str(record.get("model", "")), mode or str(record.get("mode", ""))
        verdicts += found
        judgments += sum(len(v.orders) for v in found)
    return Verdicts(systems, verdicts, judgments, model, mode, errors)


def read_judged_file(path: str) -> Verdicts:
    """The verdicts in a file of `score` records (`compare --judged`, or `score` output)."""
    with input_lines(path) as (lines, source):
        return read_verdicts(json_objects(lines, source))
