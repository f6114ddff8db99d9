"""JSON Lines read a line at a time: each non-blank line's JSON object, or what is wrong with it.

Every reader of JSON Lines (items to judge, records to report, systems to compare) starts here,
so a bad line reads the same everywhere: "file:line: what is wrong", and the others go on.
"""

from __future__ import annotations

import codecs
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import orjson

from rajudge.errors import InputError, UsageError

JsonObject = dict[str, object]


class LineError(Exception):
    """A problem with the current line; the caller adds where it is."""


def json_objects(
    lines: Iterable[bytes], source: str
) -> Iterator[tuple[str, JsonObject | InputError]]:
    """Each non-blank line's "source:line" with its JSON object, or the error that says why it
    is not one (bad UTF-8, bad JSON, not an object): for readers of other JSON Lines files."""
    for number, raw in enumerate(lines, start=1):
        where = f"{source}:{number}"
        try:
            obj = load_line(raw, first=number == 1)
        except LineError as exc:
            yield where, InputError(where, str(exc))
            continue
        if obj is not None:
            yield where, obj


@contextmanager
def input_lines(path: str) -> Iterator[tuple[Iterable[bytes], str]]:
    """The lines of a file, or of standard input for "-", and the name messages give them; a
    file that cannot be read is a usage error."""
    if path == "-":
        yield sys.stdin.buffer, "<stdin>"
        return
    try:
        with open(path, "rb") as lines:
            yield lines, path
    except FileNotFoundError:
        raise UsageError(f"input file not found: {path}") from None
    except IsADirectoryError:
        raise UsageError(f"input is a directory, not a JSON Lines file: {path}") from None
    except OSError as exc:
        raise UsageError(f"cannot read input file {path}: {exc.strerror or exc}") from None


def load_line(raw: bytes, first: bool) -> JsonObject | None:
    """The line's JSON object, or None for a blank line."""
    if first:
        raw = raw.removeprefix(codecs.BOM_UTF8)  # editors on Windows start files with one
    if not raw.strip():
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LineError(
            f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at position {exc.start + 1})"
        ) from None
    try:
        obj = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise LineError(f"invalid JSON: {exc.msg} at column {exc.colno}") from None
    if not isinstance(obj, dict):
        raise LineError(f"expected a JSON object, got {kind(obj)}")
    return obj


def kind(value: object) -> str:
    """The JSON name of a value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "a list" if isinstance(value, list) else "an object"
