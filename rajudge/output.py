"""Writing judged items out: a table for people, JSON Lines or a JSON array for programs.

Every machine format carries the same record per item, `result_record`, whose layout is a
stable interface (bump `SCHEMA_VERSION` when it changes incompatibly):

    {"schema": 1,
     "id": "item-7",                           # the item's id
     "ranking": ["b", "a", "c"],               # response names, best first
     "composite": {"a": 3.41, "b": 4.2, ...},  # weighted mean expected score per response,
                                               # input order, 4 decimals; null for one principle
     "judgments": [                            # one per principle, in the order given
       {"principle": {"name": "concise", "text": "...", "weight": 1.0,
                      "source": "library"},    # "library", a YAML path, "inline" or "item"
        "ranking": ["b", "a", "c"],            # this principle's order, best first
        "responses": {                         # keyed by response name, in input order
          "a": {"rank": 2,                     # 1 is best
                "score": 4,                    # the judge's score, 1..5
                "expected": 3.8712,            # mean of the distribution, 4 decimals
                "distribution": [0.0, 0.0123, 0.1042, 0.8756, 0.0079]},  # P(1..5)
          ...},
        "distribution_source": "logprobs",     # "one-hot": the server gave no log-probabilities,
                                               # so distribution is 1 at the written score
        "rationale": "...",                    # the judge's reasoning ("" when it gave none)
        "timings": {"prompt_tokens": 812, "reused_tokens": 640,
                    "generated_tokens": 37, "seconds": 1.204,
                    "cached": false},          # true: taken from the result cache; the numbers
                                               # are those of the original judgment
        "consistency": 0.5}],                  # only with --permutations K > 1: the share of
                                               # orders whose top response is the final top
     "model": "RewardAnything-8B-v1-Q4_K_M",
     "mode": "fast",                           # "fast" or "reasoning"
     "key": "3f9a0c1e27b4d865",                # hash of item, principles, weights, model file
                                               # and settings: what --resume matches on
     "prompt": "...",                          # the item's prompt and its responses' texts,
     "responses": {"a": "...", ...}}           # keyed by name in input order, so that `pairs`
                                               # and `report` need nothing beside the record

`--format jsonl` writes one record per line as each item finishes; `--format json` writes one
array of records when the run ends. Fields are only ever added within a schema version.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol

import orjson
from rich import box
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from rajudge.errors import UsageError
from rajudge.records import ItemResult, Judgment, Principle, ResponseScore, Timings

SCHEMA_VERSION = 1
FORMATS = ("table", "jsonl", "json")
_RECORD_START = b'{"schema":'  # how every JSONL line rajudge writes begins
HEADING_EXCERPT = 70  # characters of the prompt shown above an item's table
NAME_WIDTH = 32  # longer response names are ellipsised in the table


def result_record(result: ItemResult) -> dict[str, Any]:
    """The JSON-ready record of one judged item (layout in the module docstring)."""
    first = result.judgments[0]
    composite = (
        {name: round(value, 4) for name, value in result.composite.items()}
        if len(result.judgments) > 1
        else None
    )
    return {
        "schema": SCHEMA_VERSION,
        "id": result.item.id,
        "ranking": list(result.ranking),
        "composite": composite,
        "judgments": [
            _judgment_record(judgment, list(result.item.responses)) for judgment in result.judgments
        ],
        "model": first.model,
        "mode": first.mode,
        "key": result.key,
        "prompt": result.item.prompt,
        "responses": dict(result.item.responses),
    }


def _judgment_record(judgment: Judgment, names: list[str]) -> dict[str, Any]:
    by_name = {score.name: score for score in judgment.responses}
    record = {
        "principle": _principle_record(judgment.principle),
        "ranking": list(judgment.ranking),
        "responses": {name: _score_record(by_name[name]) for name in names},
        "distribution_source": judgment.distribution_source,
        "rationale": judgment.rationale,
        "timings": _timings_record(judgment.timings),
    }
    if judgment.consistency is not None:
        record["consistency"] = judgment.consistency
    return record


def _principle_record(principle: Principle) -> dict[str, Any]:
    return {
        "name": principle.name,
        "text": principle.text,
        "weight": principle.weight,
        "source": principle.source,
    }


def _score_record(score: ResponseScore) -> dict[str, Any]:
    return {
        "rank": score.rank,
        "score": score.score,
        "expected": round(score.expected, 4),
        "distribution": [round(p, 4) for p in score.distribution],
    }


def _timings_record(timings: Timings) -> dict[str, Any]:
    return {
        "prompt_tokens": timings.prompt_tokens,
        "reused_tokens": timings.reused_tokens,
        "generated_tokens": timings.generated_tokens,
        "seconds": round(timings.seconds, 3),
        "cached": timings.cached,
    }


class ResultWriter(Protocol):
    """Where judged items go, one at a time; `close` once after the last."""

    def write(self, result: ItemResult) -> None: ...

    def close(self) -> None: ...


class JsonlWriter:
    """One JSON record per line, flushed at once so a crash loses at most a torn last line.

    The stream belongs to the caller and stays open.
    """

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream

    def write(self, result: ItemResult) -> None:
        self._stream.write(orjson.dumps(result_record(result), option=orjson.OPT_APPEND_NEWLINE))
        self._stream.flush()

    def close(self) -> None:
        self._stream.flush()


class JsonWriter:
    """A single JSON array, written at close because an array is only valid once complete.

    The stream belongs to the caller and stays open.
    """

    def __init__(self, stream: BinaryIO, earlier: Sequence[dict[str, Any]] = ()) -> None:
        """`earlier`: records a resumed run keeps, which come first."""
        self._stream = stream
        self._records: list[dict[str, Any]] = list(earlier)

    def write(self, result: ItemResult) -> None:
        self._records.append(result_record(result))

    def close(self) -> None:
        option = orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE
        self._stream.write(orjson.dumps(self._records, option=option))
        self._stream.flush()


@dataclass(frozen=True)
class Earlier:
    """What an earlier run left in an output file, for --resume."""

    records: list[dict[str, Any]]
    torn: bool = False  # JSONL that ends in a half-written line (a crash mid-write)


def read_earlier(path: Path, fmt: str) -> Earlier:
    """The records in an output file of `fmt` ("jsonl" or "json"); none if there is no file.

    A JSONL file's last line is torn when it has no newline or is not valid JSON, and the file
    is rajudge's (records before it, or the line starts like one): it is left out and redone.
    Anything else that is not a record of rajudge score is a UsageError: --resume never
    rewrites a file it did not write.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return Earlier(records=[])
    except OSError as exc:
        raise UsageError(f"{path}: cannot read it to resume: {exc.strerror or exc}") from None
    if fmt == "json":
        return Earlier(records=_json_records(path, data))
    lines = data.removesuffix(b"\n").split(b"\n") if data else []
    records: list[dict[str, Any]] = []
    for number, line in enumerate(lines, start=1):
        if number == len(lines) and _torn(line, data.endswith(b"\n"), bool(records)):
            return Earlier(records=records, torn=True)
        try:
            records.append(_record(orjson.loads(line)))
        except ValueError as exc:
            raise _not_resumable(f"{path}:{number}", exc) from None
    return Earlier(records=records)


def reopen_jsonl(path: Path, earlier: Earlier, kept: Sequence[dict[str, Any]]) -> BinaryIO:
    """A resumed JSONL output, open for appending once it holds only the `kept` records.

    The file is rewritten (in one step) only when a torn line or a dropped record must go.
    """
    if earlier.torn or len(kept) < len(earlier.records):
        with atomic_replace(path) as stream:
            for record in kept:
                stream.write(orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE))
    return path.open("ab")


@contextmanager
def atomic_replace(path: Path) -> Iterator[BinaryIO]:
    """A stream whose bytes replace `path` in one step when the block ends without an error.

    Until then `path` keeps its old content, whatever happens to this process.
    """
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with temporary.open("wb") as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        temporary.replace(path)
    finally:
        temporary.unlink(missing_ok=True)


def _json_records(path: Path, data: bytes) -> list[dict[str, Any]]:
    if not data.strip():
        return []
    try:
        records = orjson.loads(data)
        if not isinstance(records, list):
            raise ValueError("not a JSON array")
        return [_record(record) for record in records]
    except ValueError as exc:
        raise _not_resumable(str(path), exc) from None


def _torn(line: bytes, newline: bool, after_records: bool) -> bool:
    """A last line cut short by a crash: no newline or invalid JSON, in a file of rajudge's."""
    if not (after_records or line.startswith(_RECORD_START)):
        return False
    if not newline:
        return True
    try:
        orjson.loads(line)
    except orjson.JSONDecodeError:
        return True
    return False


def _record(value: object) -> dict[str, Any]:
    if not isinstance(value, dict) or "schema" not in value or "id" not in value:
        raise ValueError("not a record of rajudge score")
    return value


def _not_resumable(where: str, exc: ValueError) -> UsageError:
    return UsageError(
        f"{where}: {exc}; --resume only continues an output of rajudge score "
        "(drop --resume to overwrite the file)"
    )


class TableWriter:
    """A Rich table per item, printed as soon as the item is judged."""

    def __init__(self, console: Console) -> None:
        self._console = console

    def write(self, result: ItemResult) -> None:
        self._console.print(render_result(result))
        self._console.print()

    def close(self) -> None:
        """Nothing is buffered."""


def make_writer(fmt: str, stream: BinaryIO, console: Console) -> ResultWriter:
    """The writer for an output format name (one of `FORMATS`)."""
    if fmt == "table":
        return TableWriter(console)
    if fmt == "jsonl":
        return JsonlWriter(stream)
    if fmt == "json":
        return JsonWriter(stream)
    raise UsageError(f"unknown output format {fmt!r}; choose one of {', '.join(FORMATS)}")


def render_result(result: ItemResult) -> RenderableType:
    """One item as people read it: heading, ranking table, rationales, then how it was run."""
    return Group(_heading(result), _table(result), *_rationales(result), _footer(result))


def _heading(result: ItemResult) -> Text:
    """The item id and the start of its prompt, always on one line."""
    return Text.assemble(
        (result.item.id, "bold"),
        "  ",
        _excerpt(result.item.prompt),
        no_wrap=True,
        overflow="ellipsis",
    )


def _table(result: ItemResult) -> Table:
    principles = [judgment.principle for judgment in result.judgments]
    several = len(principles) > 1
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, header_style="bold")
    table.add_column("rank", justify="right")
    table.add_column("response", max_width=NAME_WIDTH)
    for header in _score_headers(principles):
        table.add_column(header, justify="right")
    if several:
        table.add_column("composite", justify="right")

    for rank, name in enumerate(result.ranking, start=1):
        cells = [_cell(str(rank)), _cell(name)]
        cells += [_score_cell(_score_of(judgment, name)) for judgment in result.judgments]
        if several:
            cells.append(_cell(f"{result.composite[name]:.2f}"))
        table.add_row(*cells, style="green" if rank == 1 else None)
    return table


def _score_headers(principles: list[Principle]) -> list[str]:
    """Column heads: "score" for a lone principle, else names, with weights if they differ."""
    if len(principles) == 1:
        return ["score"]
    if len({p.weight for p in principles}) == 1:
        return [p.name for p in principles]
    return [f"{p.name} ×{p.weight:g}" for p in principles]  # noqa: RUF001  (times sign)


def _excerpt(prompt: str) -> str:
    """The prompt on one line, cut to `HEADING_EXCERPT` characters."""
    line = " ".join(prompt.split())
    if len(line) <= HEADING_EXCERPT:
        return line
    return line[: HEADING_EXCERPT - 1].rstrip() + "…"


def _score_of(judgment: Judgment, name: str) -> ResponseScore:
    return next(score for score in judgment.responses if score.name == name)


def _score_cell(score: ResponseScore) -> Text:
    return _cell(f"{score.score}  ({score.expected:.2f})")


def _cell(value: str) -> Text:
    """One line, ellipsised when squeezed; columns stay wrappable so Rich narrows them first."""
    return Text(value, no_wrap=True, overflow="ellipsis")


def _rationales(result: ItemResult) -> list[Text]:
    several = len(result.judgments) > 1
    return [
        Text.assemble(
            (f"rationale ({j.principle.name}):" if several else "rationale:", "bold"),
            " ",
            j.rationale.strip(),
        )
        for j in result.judgments
        if j.rationale.strip()
    ]


def _footer(result: ItemResult) -> Text:
    first = result.judgments[0]
    seconds = sum(j.timings.seconds for j in result.judgments)
    cached = sum(j.timings.cached for j in result.judgments)
    if cached == len(result.judgments):
        source = " · from the cache"
    elif cached:
        source = f" · {cached} of {len(result.judgments)} from the cache"
    else:
        source = ""
    return Text(f"{first.model} · {first.mode} · {seconds:.2f} s{source}", style="dim")
