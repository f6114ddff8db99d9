"""Where a run's results go: the output format, the one writer factory, the records an
earlier run left in a file (for --resume).

`--format jsonl` writes one record per line as each item finishes; `--format json` writes one
array of records when the run ends; `--format table` prints Rich tables (rajudge.output.render).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol

import orjson

from rajudge.errors import InputError, UsageError
from rajudge.output.parse import parse_record
from rajudge.output.schema import result_record
from rajudge.records import ItemResult

if TYPE_CHECKING:
    from rich.console import Console

FORMATS = ("table", "jsonl", "json")
NO_OUTPUT = "none"  # a run whose caller keeps the results itself (on_result): nothing written
TABLE_WIDTH = 100  # columns of a table written to a file, whatever the terminal's width
_RECORD_START = b'{"schema":'  # how every JSONL line rajudge writes begins


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
    Anything else that is not a record of rajudge score (rajudge.output.parse) is a UsageError:
    --resume never rewrites a file it did not write.
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
        where = f"{path}:{number}"
        try:
            records.append(parse_record(orjson.loads(line), where).raw)
        except orjson.JSONDecodeError as exc:
            raise _not_resumable(InputError(where, str(exc))) from None
        except InputError as exc:
            raise _not_resumable(exc) from None
    return Earlier(records=records)


def output_format(fmt: str | None, output: Path | None, *, terminal: bool) -> str:
    """The format a run writes: `fmt` when given (refused here when unknown, before any model
    is loaded), else JSON for an output named *.json, JSON Lines for another file, a table on
    a `terminal`, JSON Lines in a pipeline."""
    if fmt:
        if fmt not in FORMATS:
            raise UsageError(f"unknown output format {fmt!r}; choose one of {', '.join(FORMATS)}")
        return fmt
    if output is not None:
        return "json" if output.suffix == ".json" else "jsonl"
    return "table" if terminal else "jsonl"


def open_writer(
    fmt: str,
    output: Path | None,
    stack: ExitStack,
    *,
    earlier: Earlier | None = None,
    kept: Sequence[dict[str, Any]] = (),
    console: Console | None = None,
) -> ResultWriter:
    """The writer of `fmt` into the file `output` (None: stdout, a table on `console`), open
    until `stack` closes.

    JSONL lines go out as items finish (after the `kept` records of a resumed `earlier` file);
    a JSON array is written when `stack` closes, replacing a file in one step.
    """
    if fmt == NO_OUTPUT:
        return _NoOutput()
    if fmt == "table":
        from rajudge.output.render import TableWriter, plain_console  # Rich: for tables only

        if output is not None:
            text = stack.enter_context(output.open("w", encoding="utf-8"))
            console = plain_console(file=text, width=TABLE_WIDTH, color_system=None)
        return TableWriter(console or plain_console())
    if output is None:
        stream = sys.stdout.buffer
        return JsonWriter(stream) if fmt == "json" else JsonlWriter(stream)
    if fmt == "json":
        return JsonWriter(stack.enter_context(atomic_replace(output)), kept)
    jsonl = output.open("wb") if earlier is None else reopen_jsonl(output, earlier, kept)
    return JsonlWriter(stack.enter_context(jsonl))


class _NoOutput:
    """The writer of a run whose results only go to its caller."""

    def write(self, result: ItemResult) -> None:
        pass

    def close(self) -> None:
        pass


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
    except orjson.JSONDecodeError as exc:
        raise _not_resumable(InputError(str(path), str(exc))) from None
    if not isinstance(records, list):
        raise _not_resumable(InputError(str(path), "not a JSON array"))
    try:
        return [parse_record(record, str(path)).raw for record in records]
    except InputError as exc:
        raise _not_resumable(exc) from None


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


def _not_resumable(error: InputError) -> UsageError:
    return UsageError(
        f"{error}; --resume only continues an output of rajudge score "
        "(drop --resume to overwrite the file)"
    )
