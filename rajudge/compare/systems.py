"""Systems' outputs in, one item per prompt out: every system's answer to it, joined.

Three input shapes, all common in practice:

per-system JSON Lines
    one file per system, rows ``{"id"?, "prompt" | "instruction", "response" | "output" |
    "completion"}`` (a prompt may be chat messages, as `score` reads them); the system is named
    by the file's stem, or by ``NAME=PATH``.
AlpacaEval outputs
    a JSON array (``model_outputs.json``) of ``{"instruction", "output", "generator"}``; named by
    ``NAME=``, else by its one generator, else by the file's stem.
one candidates file
    what `score` reads, each item's ``responses`` keyed by system name.

Prompts are joined by id when every row of every file has one, else by exact prompt text. A
system that lacks a prompt, a repeated id, or files that share no prompt are one usage error
naming the file and the ids, before anything is judged: a comparison over misaligned files
would quietly compare different questions. `on_missing="skip"` keeps the prompts every system
answered instead and says how many were left out.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import orjson

from rajudge.errors import InputError, UsageError, shown
from rajudge.jsonl import input_lines, json_objects
from rajudge.read import read_items, system_output
from rajudge.records import Item

OnMissing = Literal["error", "skip"]
_LISTED = 5  # ids named in a message before "and N more"


@dataclass(frozen=True)
class Systems:
    """The prompts to judge, each holding every system's answer, and what could not be read."""

    names: tuple[str, ...]  # in the order given; the first is the default baseline
    items: list[Item]  # one per prompt, responses keyed by system in `names` order
    errors: list[InputError]  # unreadable rows, file:line
    left_out: tuple[str, ...] = ()  # prompt ids some system lacks, skipped on request


@dataclass(frozen=True)
class _Row:
    id: str | None
    prompt: str
    answer: str
    where: str


@dataclass(frozen=True)
class _Source:
    name: str
    path: str
    rows: list[_Row]


def read_systems(specs: Sequence[str], *, on_missing: OnMissing = "error") -> Systems:
    """Read the systems `specs` name (``PATH`` or ``NAME=PATH``) and join their prompts."""
    if len(specs) == 1:
        return _candidates(specs[0], on_missing)
    errors: list[InputError] = []
    sources = [_read_source(spec, errors) for spec in specs]
    names = [source.name for source in sources]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise UsageError(
            f"two inputs are both named {shown(repeated[0])}: name them with NAME=PATH"
        )
    by_id = all(row.id is not None for source in sources for row in source.rows)
    keyed = [_keyed(source, by_id) for source in sources]
    _check_overlap(sources, keyed, by_id)
    items, left_out = _join(sources, keyed, by_id, on_missing)
    return Systems(tuple(names), items, errors, left_out)


def _candidates(spec: str, on_missing: OnMissing) -> Systems:
    """One candidates file: each item's responses are the systems' answers."""
    name, path = _split(spec)
    if name is not None:
        raise UsageError("NAME=PATH names one system's file; a candidates file names its own")
    read = read_items(path)
    names: list[str] = []
    for item in read.items:
        names += [n for n in item.responses if n not in names]
    if len(names) < 2:
        raise UsageError(
            f"{path}: compare needs two or more systems: one file per system, or one "
            "candidates file whose 'responses' are keyed by system name"
        )
    lacking = {n: [i.id for i in read.items if n not in i.responses] for n in names}
    _check_missing({n: (path, ids) for n, ids in lacking.items()}, len(read.items), on_missing)
    left_out = tuple(i.id for i in read.items if len(i.responses) < len(names))
    items = [
        Item(i.id, i.prompt, {n: i.responses[n] for n in names}, i.principle, i.where)
        for i in read.items
        if len(i.responses) == len(names)
    ]
    return Systems(tuple(names), items, read.errors, left_out)


def _split(spec: str) -> tuple[str | None, str]:
    """NAME=PATH into its parts; a spec that is an existing path is a path, `=` or not."""
    name, sep, path = spec.partition("=")
    if sep and name and "/" not in name and not Path(spec).exists():
        return name, path
    return None, spec


def _read_source(spec: str, errors: list[InputError]) -> _Source:
    name, path = _split(spec)
    if _is_json_array(path):
        rows, generators = _alpaca_rows(path, errors)
        if name is None and len(generators) == 1:
            name = generators.pop()
    else:
        rows = _jsonl_rows(path, errors)
    return _Source(name or Path(path).stem, path, rows)


def _is_json_array(path: str) -> bool:
    """Whether the file is one JSON array (AlpacaEval's layout) rather than JSON Lines."""
    if path == "-":
        return False
    with input_lines(path) as (lines, _):
        for line in lines:
            if line.strip():
                return line.lstrip().startswith(b"[")
    return False


def _jsonl_rows(path: str, errors: list[InputError]) -> list[_Row]:
    rows = []
    with input_lines(path) as (lines, source):
        for where, obj in json_objects(lines, source):
            row = obj if isinstance(obj, InputError) else _row(obj, where)
            if isinstance(row, InputError):
                errors.append(row)
            else:
                rows.append(row)
    return rows


def _alpaca_rows(path: str, errors: list[InputError]) -> tuple[list[_Row], set[str]]:
    """Rows of a JSON array of outputs, and the generator names they carry."""
    try:
        data = orjson.loads(Path(path).read_bytes())
    except orjson.JSONDecodeError as exc:
        raise UsageError(f"{path}: invalid JSON: {exc.msg} at line {exc.lineno}") from None
    except OSError as exc:
        raise UsageError(f"cannot read input file {path}: {exc.strerror or exc}") from None
    rows: list[_Row] = []
    generators: set[str] = set()
    for index, obj in enumerate(data, start=1):
        where = f"{path}: entry {index}"
        if not isinstance(obj, dict):
            errors.append(InputError(where, "expected a JSON object"))
            continue
        if isinstance(obj.get("generator"), str):
            generators.add(obj["generator"])
        row = _row(obj, where)
        if isinstance(row, InputError):
            errors.append(row)
        else:
            rows.append(row)
    return rows, generators


def _row(obj: dict[str, object], where: str) -> _Row | InputError:
    try:
        row_id, prompt, answer = system_output(obj)
    except ValueError as exc:
        return InputError(where, str(exc))
    return _Row(row_id, prompt, answer, where)


def _keyed(source: _Source, by_id: bool) -> dict[str, _Row]:
    """The source's rows by join key; a key seen twice is an error naming both rows."""
    keyed: dict[str, _Row] = {}
    for row in source.rows:
        key = row.id if by_id and row.id is not None else row.prompt
        if key in keyed:
            what = f"id {shown(key)}" if by_id else f"prompt {_excerpt(key)}"
            raise UsageError(
                f"{what} appears twice, at {keyed[key].where} and {row.where}; "
                "each system answers each prompt once"
            )
        keyed[key] = row
    return keyed


def _check_overlap(sources: list[_Source], keyed: list[dict[str, _Row]], by_id: bool) -> None:
    first = keyed[0]
    for source, rows in zip(sources[1:], keyed[1:], strict=True):
        if not first.keys() & rows.keys():
            joined = "id" if by_id else "exact prompt text"
            raise UsageError(
                f"{sources[0].path} and {source.path} share no prompt (joined by {joined}): "
                "are they outputs on the same prompts?"
            )
        if by_id:
            for key in first.keys() & rows.keys():
                if first[key].prompt != rows[key].prompt:
                    raise UsageError(
                        f"id {shown(key)} has one prompt at {first[key].where} and another at "
                        f"{rows[key].where}: the files do not hold the same prompts"
                    )


def _join(
    sources: list[_Source], keyed: list[dict[str, _Row]], by_id: bool, on_missing: OnMissing
) -> tuple[list[Item], tuple[str, ...]]:
    """One item per prompt that every system answered, in the first file's order."""
    order = list(dict.fromkeys(key for rows in keyed for key in rows))
    ids = {key: key if by_id else _text_id(key) for key in order}
    lacking = {
        source.name: (source.path, [ids[k] for k in order if k not in rows])
        for source, rows in zip(sources, keyed, strict=True)
    }
    _check_missing(lacking, len(order), on_missing)
    items = []
    left_out = []
    for key in order:
        answered = [rows[key] for rows in keyed if key in rows]
        if len(answered) < len(keyed):
            left_out.append(ids[key])
            continue
        responses = {s.name: row.answer for s, row in zip(sources, answered, strict=True)}
        items.append(Item(ids[key], answered[0].prompt, responses, where=answered[0].where))
    return items, tuple(left_out)


def _check_missing(
    lacking: dict[str, tuple[str, list[str]]], prompts: int, on_missing: OnMissing
) -> None:
    if on_missing == "skip":
        return
    for path, ids in lacking.values():
        if ids:
            listed = ", ".join(map(shown, ids[:_LISTED]))
            more = f" and {len(ids) - _LISTED} more" if len(ids) > _LISTED else ""
            every = prompts - len({i for _, missing in lacking.values() for i in missing})
            raise UsageError(
                f"{path} lacks {len(ids)} of the {prompts} prompts: {listed}{more}; "
                f"--on-missing skip compares on the {every} that every system answered"
            )


def _text_id(prompt: str) -> str:
    """A prompt's id when files are joined by text: the same whichever file comes first."""
    return "p-" + hashlib.sha256(prompt.encode()).hexdigest()[:10]


def _excerpt(text: str, width: int = 40) -> str:
    flat = " ".join(text.split())
    return shown(flat if len(flat) <= width else flat[: width - 1] + "…")
