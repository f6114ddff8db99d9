"""Principles from the shipped library, user YAML files and `-p` flags, validated strictly.

A principle is the judge's whole instruction, so a typo in a file must stop the run with a message
naming the file and key rather than quietly judge against the wrong criterion.
"""

from __future__ import annotations

import difflib
import math
import os
from dataclasses import replace
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml

from rajudge.errors import PrincipleError, shown
from rajudge.records import Principle

_LIBRARY_PACKAGE = "rajudge.library"  # pyproject maps this package to the top-level principles/
_YAML_SUFFIXES = (".yaml", ".yml")
_FIELDS = ("name", "text", "description", "tags", "weight")
_USE_FIELDS = ("use", "weight")


def library() -> dict[str, Principle]:
    """The shipped principles by name; a fresh dict, so callers cannot alter the cached one."""
    return dict(_library())


def load_file(path: str | Path) -> list[Principle]:
    """Principles in a user YAML file, in file order.

    The file holds one principle mapping, a list of them, or a mapping whose only key is
    `principles:` (a principle set). An entry is either `name` + `text` (optional `description`,
    `tags`, `weight`) or `use: <library name>` with an optional `weight`. List indexes in messages
    count from 0.
    """
    label = str(path)
    data = _read_yaml(Path(path), label)
    if isinstance(data, dict) and "principles" in data:
        extra = [key for key in data if key != "principles"]
        if extra:
            raise _error(label, "", f"unknown key {shown(extra[0])}; a set holds only 'principles'")
        entries, prefix = data["principles"], "principles"
        if not isinstance(entries, list):
            raise _error(label, prefix, f"must be a list of principles, got {_kind(entries)}")
    elif isinstance(data, list):
        entries, prefix = data, ""
    elif isinstance(data, dict):
        return [_entry(data, label, "")]
    else:
        raise _error(label, "", f"expected a principle or a list of principles, got {_kind(data)}")
    if not entries:
        raise _error(label, prefix, "holds no principles")

    principles: list[Principle] = []
    first_at: dict[str, str] = {}
    for index, entry in enumerate(entries):
        at = f"{prefix}[{index}]"
        principle = _entry(entry, label, at)
        if principle.name in first_at:
            key = _key(at, "use" if isinstance(entry, dict) and "use" in entry else "name")
            raise _error(
                label,
                key,
                f"duplicate name {shown(principle.name)} (also {first_at[principle.name]})",
            )
        first_at[principle.name] = at
        principles.append(principle)
    return principles


def resolve(spec: str) -> list[Principle]:
    """The principles one `-p/--principle` value names: library name, YAML file or literal text."""
    text = spec.strip()
    if not text:
        raise PrincipleError("empty principle: give a library name, a .yaml file or a sentence")
    shipped = _library()
    if text in shipped:
        return [shipped[text]]
    if Path(text).suffix.lower() in _YAML_SUFFIXES:
        if not os.path.isfile(text):  # unlike Path.is_file, False for a name too long
            raise PrincipleError(f"{text}: no such principle file")
        return load_file(text)
    if len(text.split()) > 1:
        if not _is_unicode(text):
            raise PrincipleError(f"principle text is not valid UTF-8: {shown(text)}")
        return [Principle(name="inline", text=text, source="inline")]
    raise PrincipleError(
        f"unknown principle {shown(text)}{_suggestion(text, shipped)}; "
        "see `rajudge principles list`, "
        "or give a .yaml file or a whole sentence"
    )


class _StrictLoader(yaml.SafeLoader):
    """A safe loader that rejects duplicate keys, where PyYAML would keep the last one silently."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[object] = set()
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag.endswith(":merge"):
                continue
            key = self.construct_object(key_node)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {shown(key)}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep)


@cache
def _library() -> dict[str, Principle]:
    folder = files(_LIBRARY_PACKAGE)
    found: dict[str, Principle] = {}
    for resource in sorted(folder.iterdir(), key=lambda r: r.name):
        if resource.name.endswith(_YAML_SUFFIXES):
            label = f"{_LIBRARY_PACKAGE}/{resource.name}"
            data = _parse_yaml(resource.read_text(encoding="utf-8"), label)
            principle = _principle(data, label, "")
            found[principle.name] = replace(principle, source="library")
    return found


def _read_yaml(path: Path, label: str) -> object:
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise PrincipleError(f"{label}: cannot read: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise PrincipleError(f"{label}: not UTF-8 text (byte {exc.start})") from exc
    return _parse_yaml(text, label)


def _parse_yaml(text: str, label: str) -> object:
    try:
        return yaml.load(text, Loader=_StrictLoader)
    except yaml.MarkedYAMLError as exc:
        mark, start = exc.problem_mark, exc.context_mark
        where = f"{label}:{mark.line + 1}" if mark is not None else label
        detail = exc.problem or "syntax error"
        if exc.context and start is not None:
            detail += f" ({exc.context} started on line {start.line + 1})"
        raise PrincipleError(f"{where}: invalid YAML: {detail}") from exc
    except yaml.YAMLError as exc:
        raise PrincipleError(f"{label}: invalid YAML: {' '.join(str(exc).split())}") from exc
    except RecursionError:  # PyYAML composes nested collections recursively
        raise PrincipleError(f"{label}: invalid YAML: collections nested too deeply") from None


def _entry(entry: object, label: str, at: str) -> Principle:
    """One file entry: a `use:` reference to the library, or a principle written out."""
    if isinstance(entry, dict) and "use" in entry:
        return _use(entry, label, at)
    if isinstance(entry, str) and entry in _library():
        raise _error(label, at, f"got the bare name {entry!r}; write `use: {entry}`")
    return replace(_principle(entry, label, at), source=label)


def _use(entry: dict[Any, Any], label: str, at: str) -> Principle:
    _check_keys(entry, _USE_FIELDS, label, at)
    name = entry["use"]
    shipped = _library()
    if not isinstance(name, str) or name not in shipped:
        raise _error(
            label,
            _key(at, "use"),
            f"no library principle {shown(name)}{_suggestion(str(name), shipped)}; "
            "see `rajudge principles list`",
        )
    if "weight" not in entry:
        return shipped[name]
    return replace(shipped[name], weight=_weight(entry["weight"], label, at))


def _principle(entry: object, label: str, at: str) -> Principle:
    if not isinstance(entry, dict):
        raise _error(label, at, f"expected a mapping with name and text, got {_kind(entry)}")
    _check_keys(entry, _FIELDS, label, at)
    for required in ("name", "text"):
        if required not in entry:
            raise _error(label, at, f"missing key {required!r}")
    name = _string(entry["name"], label, _key(at, "name"))
    if "\n" in name:
        raise _error(label, _key(at, "name"), "must be a single line")
    return Principle(
        name=name,
        text=_string(entry["text"], label, _key(at, "text")),
        description=_string(
            entry.get("description", ""), label, _key(at, "description"), empty_ok=True
        ),
        tags=_tags(entry.get("tags", []), label, _key(at, "tags")),
        weight=_weight(entry.get("weight", 1.0), label, at),
    )


def _check_keys(entry: dict[Any, Any], allowed: tuple[str, ...], label: str, at: str) -> None:
    for key in entry:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"allowed: {', '.join(allowed)}"
            raise _error(label, at, f"unknown key {shown(key)} ({hint})")


def _string(value: object, label: str, at: str, empty_ok: bool = False) -> str:
    if not isinstance(value, str):
        raise _error(label, at, f"must be a string, got {_kind(value)}")
    text = value.strip()
    if not text and not empty_ok:
        raise _error(label, at, "must not be empty")
    if not _is_unicode(text):
        raise _error(label, at, f"must be valid Unicode text, got {shown(text)}")
    return text


def _is_unicode(text: str) -> bool:
    """False for lone surrogates: YAML escapes like "\\ud800", undecodable bytes in argv."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _tags(value: object, label: str, at: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise _error(label, at, f"must be a list of strings, got {_kind(value)}")
    return tuple(_string(tag, label, f"{at}[{i}]") for i, tag in enumerate(value))


def _weight(value: object, label: str, at: str) -> float:
    number = value if isinstance(value, int | float) and not isinstance(value, bool) else None
    if number is None or not math.isfinite(number) or number <= 0:
        raise _error(label, _key(at, "weight"), f"must be a positive number, got {shown(value)}")
    return float(number)


def _suggestion(name: str, shipped: dict[str, Principle]) -> str:
    close = difflib.get_close_matches(name, shipped, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _kind(value: object) -> str:
    """How a wrong value reads in a message: scalars as written, containers by type."""
    if isinstance(value, dict | list):
        return f"a {'mapping' if isinstance(value, dict) else 'list'}"
    return "nothing" if value is None else shown(value)


def _key(at: str, key: str) -> str:
    return f"{at}.{key}" if at else key


def _error(label: str, at: str, message: str) -> PrincipleError:
    return PrincipleError(f"{label}: {at}: {message}" if at else f"{label}: {message}")
