"""Fuzzed input: the JSONL reader, the principle YAML reader and `rajudge score` itself.

Each test counts the cases it generated and asserts its floor:
- JSONL reader: at least 10,000 generated non-blank lines (400 files of 20 to 40 lines, each
  with valid sentinel lines of every shape placed among the fuzzed ones);
- principle YAML reader: at least 10,000 generated files (640 batches of 16);
- CLI: 300 in-process combinations of arguments, principle files, config files and input that
  fail before the model loads (a tripwire model that llama.cpp refuses ends any case that gets
  that far), and 4 runs that reach the real demo model.

Cases: random bytes, invalid UTF-8, truncated and deeply nested JSON and YAML, wrong types,
missing and extra fields, empty and enormous (1 MB) strings, zero, one and a hundred responses,
duplicate ids and names, lone surrogates. Every case ends in items (or a judgment) or a clear
located error: never a traceback, and the valid lines around a bad one are read and judged.

Hypothesis draws one seed per line or file and a small generator builds the case from it: one
draw per case keeps 10,000 cases within seconds, and a failure still shrinks to the fewest
lines or files. tests/test_read.py holds the reader's examples and its smaller property test.
"""

from __future__ import annotations

import datetime
import io
import json
import math
import os
import random
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import orjson
import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_gguf import STRING, U32, gguf_bytes

from rajudge.cli import main
from rajudge.errors import InputError, PrincipleError
from rajudge.judging.principles import library, load_file
from rajudge.read import ReadResult, parse_lines
from rajudge.records import Item, Principle

SOURCE = "fuzz.jsonl"
SENTINEL = "sentinel-"
MAX_MESSAGE = 1000  # an error line quotes at most a short cut of any value
FUZZ = settings(
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
T = TypeVar("T")
Rng = random.Random


def seeded(build: Callable[[Rng], T]) -> st.SearchStrategy[T]:
    """Cases that `build` makes from one drawn seed."""
    return st.integers(0, 2**64 - 1).map(lambda seed: build(random.Random(seed)))


def _dumps(value: Any) -> bytes:
    """JSON as another program would write it (the standard library takes any integer)."""
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")


# --- values ------------------------------------------------------------------------------------

_ODD = ["", " ", "\t\n", "\u2028", "é", "🙂", '"}', "\\", "<|im_end|>", "\x00", "a", "b"]
_ODD += ["model-1", "response-1", "line-1", "concise"]
_RANGES = [(0x20, 0x7F), (0x20, 0x7F), (0x80, 0x800), (0x800, 0xD800), (0xE000, 0x1F700), (0, 0x20)]
_JUNK = [b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x00", b'"', b"\\u12", b"\n", b"}", b"\t"]


def _text(rng: Rng, max_size: int = 12, huge: bool = True) -> str:
    """Mostly short and odd; one in 80 enormous (10 kB or 1 MB) unless `huge` is False."""
    roll = rng.randrange(80)
    if roll == 0 and huge:
        return "x" * rng.choice([10_000, 1_000_000])
    if roll < 30:
        return rng.choice(_ODD)
    low, high = rng.choice(_RANGES)
    return "".join(chr(rng.randrange(low, high)) for _ in range(rng.randrange(max_size + 1)))


def _word(rng: Rng) -> str:
    """A short text that is not blank and has no surrounding space."""
    return _text(rng, 10, huge=False).strip() or rng.choice("abcxyz")


def _value(rng: Rng, depth: int = 0) -> Any:
    """Any JSON value: the wrong type for whatever field it lands in."""
    kind = rng.randrange(9 if depth < 3 else 7)
    if kind == 0:
        return None
    if kind == 1:
        return rng.random() < 0.5
    if kind == 2:
        return rng.choice([0, 1, -1, 2**63, -(2**70), rng.randrange(-(2**70), 2**70)])
    if kind == 3:
        return rng.choice([0.0, 1.5, -2.5e300, rng.uniform(-1e6, 1e6)])
    if kind in (4, 5, 6):
        return _text(rng)
    if kind == 7:
        return [_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {_text(rng): _value(rng, depth + 1) for _ in range(rng.randrange(4))}


def _maybe(rng: Rng, good: Callable[[Rng], Any]) -> Any:
    """A value of the right kind, or (one time in four) a value of any kind."""
    return _value(rng) if rng.random() < 0.25 else good(rng)


# --- JSONL lines -------------------------------------------------------------------------------

_KEYS = ["prompt", "responses", "response", "chosen", "rejected", "id", "prompt_id", "principle"]
_KEYS += ["name", "model", "text", "content", "role"]


def _id(rng: Rng) -> Any:
    return rng.choice(["a", "b", "1", "line-1", "line-2", 0, 1, 3, -2, ""])


def _name(rng: Rng) -> Any:
    return rng.choice(["a", "b", "response-1", "model-1", "", " ", _text(rng)])


def _responses(rng: Rng) -> Any:
    """An object, a list of strings or a list of entries with 0, 1, 2, 3 or 100 responses."""
    count = rng.choice([0, 1, 2, 3, 100])
    texts = [_maybe(rng, _text) if i < 3 else f"answer {i}" for i in range(count)]
    form = rng.randrange(3)
    if form == 0:
        return {(_text(rng) if i < 3 else f"r{i}"): text for i, text in enumerate(texts)}
    if form == 1:
        return texts
    entries = []
    for text in texts:
        entry = {rng.choice(["text", "response", "content", "body"]): text}
        if rng.random() < 0.6:
            entry[rng.choice(["name", "model"])] = _maybe(rng, _name)
        entries.append(entry)
    return entries


def _prompt(rng: Rng) -> Any:
    if rng.random() < 0.7:
        return _text(rng)
    messages: list[Any] = []
    for _ in range(rng.randrange(4)):
        message = {"role": rng.choice(["user", "system", "assistant"]), "content": _text(rng)}
        if rng.random() < 0.2:
            message.pop(rng.choice(["role", "content"]))
        messages.append(message if rng.random() < 0.75 else _value(rng))
    return messages


def _object(rng: Rng) -> dict[str, Any]:
    """One of the three shapes, or a mix of their keys; optional fields, a key or two missing."""
    shape = rng.randrange(4)
    obj: dict[str, Any] = {"prompt": _maybe(rng, _prompt)}
    if shape == 0:
        obj["responses"] = _maybe(rng, _responses)
    elif shape == 1:
        obj["response"] = _maybe(rng, _text)
        for key in ("prompt_id", "name", "model"):
            if rng.random() < 0.4:
                obj[key] = _id(rng) if key == "prompt_id" else _maybe(rng, _name)
    elif shape == 2:
        obj.update(chosen=_maybe(rng, _text), rejected=_maybe(rng, _text))
    else:
        obj = {rng.choice(_KEYS): _value(rng) for _ in range(rng.randrange(5))}
    for key, make in (("id", _id), ("principle", _text), (_text(rng), _value)):
        if rng.random() < 0.3:
            obj[key] = _maybe(rng, make)
    if obj and rng.random() < 0.1:
        obj.pop(rng.choice(list(obj)))
    return obj


def _nested(rng: Rng) -> bytes:
    depth = rng.randrange(1, 3000)
    body = rng.choice([b"[" * depth + b"]" * depth, b'{"a":' * depth + b"1" + b"}" * depth])
    return b'{"prompt": "p", "responses": ' + body + b"}" if rng.random() < 0.5 else body


def _line(rng: Rng) -> bytes:
    """One line of a JSONL file, as a program, an editor or a broken disk might leave it."""
    kind = rng.randrange(12)
    if kind < 6:
        return _dumps(_object(rng))
    if kind == 6:
        return _dumps(_value(rng))
    if kind == 7:
        return rng.randbytes(rng.randrange(40))
    if kind == 8:
        return rng.choice([b"", b"  ", b"\t", b"\r"])
    if kind == 9:
        line = _dumps(_object(rng))
        at = rng.randrange(len(line) + 1)
        return line[:at] + rng.choice(_JUNK) + line[at:]
    if kind == 10:
        line = _dumps(_object(rng))
        return line[: rng.randrange(len(line) + 1)]
    return _nested(rng)


# --- sentinels: valid lines of every shape, and the item each must become -----------------------


@dataclass(frozen=True)
class Sentinel:
    lines: list[bytes]  # one line, or the lines of one flat item
    item: Item  # what the lines must become; `where` is set once they are placed


def _sentinel_text(rng: Rng) -> str:
    return "y" * 200_000 if rng.randrange(60) == 0 else _text(rng, 16, huge=False)


def sentinel(rng: Rng, sid: str) -> Sentinel:
    prompt = _word(rng)
    principle = _word(rng) if rng.random() < 0.5 else None
    own = Principle(name="item", text=principle, source="item") if principle else None
    extra = {"principle": principle} if principle else {}
    responses = {_word(rng): _sentinel_text(rng) for _ in range(rng.randrange(1, 5))}
    shape = rng.choice(["object", "strings", "entries", "pair", "chat", "flat"])
    if shape == "flat":
        lines = [
            _dumps({"prompt_id": sid, "prompt": prompt, "response": text, "model": name, **extra})
            for name, text in responses.items()
        ]
        return Sentinel(lines, Item(sid, prompt, responses, own))
    line: dict[str, Any] = {"id": sid, "prompt": prompt, **extra}
    if shape == "pair":
        line.update(chosen=_sentinel_text(rng), rejected=_sentinel_text(rng))
        responses = {"chosen": line["chosen"], "rejected": line["rejected"]}
    elif shape == "strings":
        line["responses"] = list(responses.values())
        responses = {f"response-{i}": t for i, t in enumerate(line["responses"], start=1)}
    elif shape == "entries":
        line["responses"] = [{"text": t, "name": n} for n, t in responses.items()]
    else:
        line["responses"] = responses
    if shape == "chat":
        line["prompt"] = [
            {"role": "system", "content": "Be kind."},
            {"role": "user", "content": prompt},
        ]
        prompt = f"system: Be kind.\n\nuser: {prompt}"
    return Sentinel([_dumps(line)], Item(sid, prompt, responses, own))


def with_sentinels(lines: list[bytes], rng: Rng, source: str) -> tuple[bytes, list[Item]]:
    """The file: `lines` with 1 to 3 sentinels placed at random; the items they must become."""
    lines = list(lines)
    sentinels = [sentinel(rng, f"{SENTINEL}{n}") for n in range(rng.randrange(1, 4))]
    for each in sentinels:
        places = sorted(rng.randrange(len(lines) + 1) for _ in each.lines)
        for offset, (place, line) in enumerate(zip(places, each.lines, strict=True)):
            lines.insert(place + offset, line)
    ending = rng.choice([b"\n", b"\r\n"])
    blob = rng.choice([b"", b"\xef\xbb\xbf"]) + ending.join(lines) + ending
    numbered = io.BytesIO(blob).readlines()
    items = []
    for each in sentinels:
        first = next(n for n, raw in enumerate(numbered, start=1) if each.lines[0] in raw)
        items.append(replace(each.item, where=f"{source}:{first}"))
    return blob, items


def _is_flat(raw: bytes) -> bool:
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return False
    return isinstance(value, dict) and "response" in value


def check_read(blob: bytes, result: ReadResult, source: str) -> int:
    """Every non-blank line is an item, part of a flat item, or one located error line.

    Returns how many non-blank lines the file held.
    """
    raw_lines = io.BytesIO(blob).readlines()
    raw_lines[:1] = [raw.removeprefix(b"\xef\xbb\xbf") for raw in raw_lines[:1]]
    nonblank = {n for n, raw in enumerate(raw_lines, start=1) if raw.strip()}
    error_lines = []
    for error in result.errors:
        assert isinstance(error, InputError)
        line = int(error.where.removeprefix(f"{source}:"))
        error_lines.append(line)
        message = str(error)
        assert message.startswith(f"{source}:{line}: ") and len(message) < MAX_MESSAGE
        assert "\n" not in message and "\r" not in message
    assert len(error_lines) == len(set(error_lines)) and set(error_lines) <= nonblank

    consumed, previous = 0, 0
    for item in result.items:
        line = int(item.where.removeprefix(f"{source}:"))
        assert line in nonblank and line not in error_lines and line > previous
        previous = line
        consumed += len(item.responses) if _is_flat(raw_lines[line - 1]) else 1
        assert item.prompt.strip() and item.responses and item.id.strip()
        assert all(isinstance(n, str) and n.strip() for n in item.responses)
        assert all(isinstance(t, str) for t in item.responses.values())
    assert consumed + len(error_lines) == len(nonblank)
    assert len({i.id for i in result.items}) == len(result.items)
    return len(nonblank)


def test_jsonl_reader_gives_items_or_located_errors_for_10000_fuzzed_lines() -> None:
    seen = {"lines": 0}

    @settings(FUZZ, max_examples=400)
    @given(st.lists(seeded(_line), min_size=20, max_size=40), st.integers(0, 2**64 - 1))
    def check(lines: list[bytes], seed: int) -> None:
        blob, sentinels = with_sentinels(lines, random.Random(seed), SOURCE)
        result = parse_lines(io.BytesIO(blob), SOURCE)
        seen["lines"] += check_read(blob, result, SOURCE)
        by_id = {item.id: item for item in result.items}
        for expected in sentinels:  # valid lines are read exactly, whatever surrounds them
            got = by_id[expected.id]
            assert got == expected and list(got.responses) == list(expected.responses)

    check()
    assert seen["lines"] >= 10_000


# --- principle YAML ------------------------------------------------------------------------------

_LIBRARY = sorted(library())
_FIELDS = ["name", "text", "description", "tags", "weight", "use", "principles"]
_TRICKY_YAML = [
    "name: a\ntext: b\nname: c\n",  # duplicate key
    "base: &b {name: a, text: b}\nprinciples: [*b, *b]\n",
    "<<: {name: a, text: b}\nweight: 2\n",
    "name: !!python/object:os.system {}\ntext: x\n",
    "name: !!binary aGVsbG8=\ntext: x\n",
    "!!set {a, b}\n",
    "name: 2001-12-14\ntext: b\n",
    "name: a\ntext: b\n---\nname: c\ntext: d\n",
    "%YAML 1.1\n---\nname: a\ntext: b\n",
    "\ufeffname: a\ntext: b\n",
    "name:\ta\ntext: b\n",
    'name: "a\\ud800"\ntext: b\n',
    'name: a\ntext: "be \\udcff brief"\n',
    "name: a\x00\ntext: b\n",
    "name: *nowhere\n",
    "? [a, b]\n: c\n",
    "principles: {name: a}\n",
    "principles: []\n",
    "principles: []\nextra: 1\n",
    "- concise\n",
    "weight: .nan\nname: a\ntext: b\n",
    "weight: .inf\nname: a\ntext: b\n",
    "weight: -1\nname: a\ntext: b\n",
    "weight: true\nname: a\ntext: b\n",
    "name: |\n  two\n  lines\ntext: b\n",
    "use: consise\n",
    "- use: concise\n- use: concise\n",
    "- {use: concise, text: x}\n",
]


def _line_text(rng: Rng) -> str:
    """A word YAML gives back as written: no line break of any kind (YAML folds U+0085)."""
    return _word(rng).translate({0x0A: "_", 0x0D: "_", 0x85: "_", 0x2028: "_", 0x2029: "_"})


def _valid_set(rng: Rng) -> tuple[Any, list[Principle]]:
    """A principle file's data and the principles it holds (own ones sourced "file")."""
    entries: list[dict[str, Any]] = []
    expected: list[Principle] = []
    for index in range(rng.randrange(1, 4)):
        entry: dict[str, Any] = {
            "name": f" own {index} {_line_text(rng)} ",
            "text": _line_text(rng),
        }
        if rng.random() < 0.5:
            entry["description"] = _line_text(rng)
        if rng.random() < 0.5:
            entry["tags"] = [_line_text(rng) for _ in range(rng.randrange(3))]
        if rng.random() < 0.5:
            entry["weight"] = rng.choice([1, 3, 0.25, 1e-6, 1e6, rng.uniform(0.01, 100)])
        entries.append(entry)
        expected.append(
            Principle(
                name=entry["name"].strip(),
                text=entry["text"].strip(),
                description=entry.get("description", "").strip(),
                tags=tuple(t.strip() for t in entry.get("tags", [])),
                weight=float(entry.get("weight", 1.0)),
                source="file",
            )
        )
    for name in rng.sample(_LIBRARY, rng.randrange(3)):
        weight = rng.choice([None, 2, 0.5])
        entries.append({"use": name} if weight is None else {"use": name, "weight": weight})
        shipped = library()[name]
        expected.append(shipped if weight is None else replace(shipped, weight=float(weight)))
    form = rng.choice(["set", "list", "single"])
    if form == "single":
        return entries[0], expected[:1]
    return ({"principles": entries} if form == "set" else entries), expected


def _yaml_value(rng: Rng, depth: int = 0) -> Any:
    kind = rng.randrange(10 if depth < 3 else 8)
    if kind < 5:
        return _value(rng, 3)
    if kind == 5:
        return rng.choice([*_LIBRARY, float("nan"), float("inf"), -1, 0, True])
    if kind == 6:
        return datetime.date(2001, 12, 14)
    if kind == 7:
        return _word(rng)
    if kind == 8:
        return [_yaml_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    keys = [rng.choice(_FIELDS) if rng.random() < 0.8 else _text(rng) for _ in range(4)]
    return {key: _yaml_value(rng, depth + 1) for key in keys[: rng.randrange(5)]}


def _yaml(data: Any, rng: Rng) -> bytes:
    flow = rng.random() < 0.3
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml's: four times faster
    return yaml.dump(data, Dumper=dumper, default_flow_style=flow, allow_unicode=True).encode()


def _deep_yaml(rng: Rng) -> bytes:
    """Nesting up to and past what PyYAML's recursive composer survives (about 300 levels).

    Past it, deep flow sequences take PyYAML a second each, so only mappings go that far.
    """
    form = rng.randrange(3)
    if form == 0:
        depth = rng.randrange(1, 400)
        return b"[" * depth + b"]" * depth
    if form == 1:
        depth = rng.randrange(1, 1200)
        return b"{a: " * depth + b"1" + b"}" * depth
    return "".join("  " * i + "- \n" for i in range(rng.randrange(1, 200))).encode()


def yaml_doc(rng: Rng) -> tuple[bytes, list[Principle] | None]:
    """A principle file, and what it holds when it is a valid one (None: anything goes)."""
    kind = rng.randrange(10)
    if kind == 9 and rng.random() < 0.85:  # deep or long files are slow to parse: fewer of them
        kind = rng.randrange(9)
    if kind < 3:
        data, expected = _valid_set(rng)
        return _yaml(data, rng), expected
    if kind == 3:
        return _yaml(_yaml_value(rng), rng), None
    if kind == 4:
        doc = _yaml(_valid_set(rng)[0], rng)
        at = rng.randrange(len(doc) + 1)
        junk = rng.choice([b":", b"- ", b"&a ", b"*a", b"!!str ", b"{", b"]", b"\t", b"'", b"\xff"])
        return doc[:at] + junk + doc[at:], None
    if kind == 5:
        doc = _yaml(_valid_set(rng)[0], rng)
        return doc + doc, None  # every key twice
    if kind == 6:
        alphabet = ":-[]{}#&*!|>'\"%@` \n\tabc0"
        return "".join(rng.choice(alphabet) for _ in range(rng.randrange(40))).encode(), None
    if kind == 7:
        return rng.randbytes(rng.randrange(40)), None
    if kind == 8:
        return rng.choice(_TRICKY_YAML).encode("utf-8"), None
    if rng.random() < 0.1:
        return f"name: a\ntext: {'z' * rng.choice([1_000, 10_000])}\n".encode(), None
    return _deep_yaml(rng), None


def check_principles(path: Path) -> list[Principle] | None:
    """The file's principles, checked whole; None when it was refused with one clear line."""
    try:
        loaded = load_file(path)
    except PrincipleError as exc:
        message = str(exc)
        assert message.startswith(f"{path}") and len(message) < MAX_MESSAGE, message[:300]
        assert "\n" not in message
        return None
    assert loaded and len({p.name for p in loaded}) == len(loaded)
    for p in loaded:
        assert p.name.strip() and "\n" not in p.name and p.text.strip()
        assert math.isfinite(p.weight) and p.weight > 0
        assert all(isinstance(tag, str) and tag for tag in p.tags)
        p.text.encode("utf-8")  # valid Unicode: the judge's tokenizer needs it
    return loaded


def test_principle_reader_gives_principles_or_one_line_for_10000_fuzzed_files(
    tmp_path: Path,
) -> None:
    seen = {"files": 0}

    @settings(FUZZ, max_examples=640)
    @given(st.lists(seeded(yaml_doc), min_size=16, max_size=16))
    def check(docs: list[tuple[bytes, list[Principle] | None]]) -> None:
        for raw, expected in docs:
            seen["files"] += 1
            path = tmp_path / f"{seen['files']}.yaml"  # a new file: truncating one is slow here
            path.write_bytes(raw)
            loaded = check_principles(path)
            if expected is not None:
                own = [
                    p if p.source == "library" else replace(p, source=str(path)) for p in expected
                ]
                assert loaded == own

    check()
    assert seen["files"] >= 10_000


def test_an_enormous_principle_text_is_read_and_an_enormous_bad_value_is_cut_short(
    tmp_path: Path,
) -> None:
    path = tmp_path / "huge.yaml"
    path.write_text(f"name: big\ntext: {'w' * 1_000_000}\n")
    (principle,) = load_file(path)
    assert len(principle.text) == 1_000_000
    path.write_text(f"name: big\ntext: t\nweight: '{'w' * 1_000_000}'\n")
    with pytest.raises(PrincipleError) as caught:
        load_file(path)
    assert str(caught.value).startswith(f"{path}: weight: must be a positive number, got 'www")
    assert len(str(caught.value)) < 200


# --- the CLI -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    code: int
    stdout: str
    stderr: str


def run_cli(
    args: list[str], cwd: Path, stdin: bytes = b"", env: dict[str, str] | None = None
) -> Outcome:
    """`rajudge ARGS` in this process, through the real entry point and its one error handler."""
    previous = Path.cwd()
    os.chdir(cwd)
    try:
        with CliRunner().isolation(input=stdin, env=env) as (out, err, _):
            sys.argv = ["rajudge", *args]
            try:
                main()
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
            sys.stdout.flush()
            sys.stderr.flush()
            return Outcome(code, out.getvalue().decode(), err.getvalue().decode())
    finally:
        os.chdir(previous)


def squeezed(text: str) -> str:
    """Text without whitespace: a per-item message may be wrapped to the console width."""
    return "".join(text.split())


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """Files every CLI case may name, and a tripwire model that llama.cpp refuses to load."""
    data, _ = gguf_bytes(
        [("general.architecture", STRING, "tripwire"), ("tripwire.context_length", U32, 2048)],
        [],
    )
    (tmp_path / "tripwire.gguf").write_bytes(data)
    (tmp_path / "truncated.gguf").write_bytes(data[:20])
    (tmp_path / "adir").mkdir()
    (tmp_path / "good.yaml").write_text("name: short\ntext: Prefer the shortest answer.\n")
    (tmp_path / "bad-config.yaml").write_text("threads: many\n")
    (tmp_path / "config.yaml").write_text("seed: 3\n")
    return tmp_path


_LONG = "n" * 300
_SURROGATE = chr(0xDCFF)  # how Python hands over an argument that is not valid UTF-8
# (arguments, kind): "ok"; "usage" for a mistake found before the model is chosen; "typer" for
# one the flag parser rejects; "numbers" for values refused before the load; "model" for a
# model that cannot be used; "file" for bad.yaml, whose verdict the YAML reader gives.
_PRINCIPLES = [
    ([], "ok"),
    (["-p", "concise"], "ok"),
    (["-p", "Prefer short answers.", "-p", "good.yaml"], "ok"),
    (["-p", "consise"], "usage"),
    (["-p", ""], "usage"),
    (["-p", "missing.yaml"], "usage"),
    (["-p", "bad.yaml"], "file"),
    (["-p", f"{_LONG}.yaml"], "usage"),
    (["-p", f"be {_SURROGATE} brief"], "usage"),
    (["-p", _LONG], "usage"),
]
_FLAGS = [
    ([], "ok"),
    (["--mode", "reasoning"], "ok"),
    (["--format", "json"], "ok"),
    (["--seed", "7", "--ctx", "2048", "--threads", "1"], "ok"),
    (["--mode", "slow"], "usage"),
    (["--mode", ""], "usage"),
    (["--seed", "-1"], "numbers"),
    (["--seed", str(2**70)], "numbers"),
    (["--ctx", "-5"], "numbers"),
    (["--threads", "-3"], "numbers"),
    (["--temperature", "nan"], "numbers"),
    (["--temperature", "-1"], "numbers"),
    (["--temperature", "inf"], "numbers"),
    (["--reasoning-budget", "-1"], "numbers"),
    (["--rationale-tokens", "-1"], "numbers"),
    (["--n-gpu-layers", "-2"], "numbers"),
    (["--ctx", "lots"], "typer"),
    (["--threads", "1.5"], "typer"),
    (["--bogus"], "typer"),
    (["-z"], "typer"),
]
_MODELS = [
    ([], "ok"),
    (["-m", "tripwire.gguf"], "ok"),
    (["-m", "missing.gguf"], "model"),
    (["-m", "adir"], "model"),
    (["-m", "in.jsonl"], "model"),
    (["-m", "truncated.gguf"], "model"),
    (["-m", _LONG], "model"),
    (["-m", f"{_LONG}.gguf"], "model"),
]
_CONFIGS = [("config.yaml", "ok"), ("bad-config.yaml", "usage")]
_INPUTS = ["file", "stdin", "prompt", "prompt-alone", "missing", "dir", "both", "r", "none"]


def _candidates(form: str, text: str) -> tuple[list[str], str]:
    """The candidates part of a command line, and its kind."""
    return {
        "file": (["in.jsonl"], "ok"),
        "stdin": (["-"], "ok"),
        "prompt": (
            ["--prompt", text, "-r", text, "-r", "b"],
            "usage" if _SURROGATE in text else "ok",  # not UTF-8 text: refused before loading
        ),
        "prompt-alone": (["--prompt", text], "usage"),
        "missing": (["missing.jsonl"], "usage"),
        "dir": (["adir"], "usage"),
        "both": (["in.jsonl", "--prompt", "p", "-r", "a"], "usage"),
        "r": (["in.jsonl", "-r", "a"], "usage"),
        "none": ([], "usage"),
    }[form]


def _expected_codes(kinds: set[str]) -> set[int]:
    """Exit codes a case may end with, whatever order the command checks its arguments in."""
    if kinds & {"typer", "usage"}:
        return {2}
    if "model" in kinds:
        return {2, 3} if "numbers" in kinds else {3}
    return {2} if "numbers" in kinds else {3}


def test_cli_fuzz_ends_in_one_clear_line_before_the_model_loads(workdir: Path) -> None:
    seen = {"cases": 0}

    @settings(FUZZ, max_examples=300)
    @given(
        st.sampled_from(_PRINCIPLES),
        st.sampled_from(_INPUTS),
        st.sampled_from(["", "x", f"x{_SURROGATE}", "<|im_end|>"]),
        st.sampled_from(_FLAGS),
        st.sampled_from(_MODELS),
        st.sampled_from(_CONFIGS),
        st.lists(seeded(_line), max_size=6),
        seeded(yaml_doc),
    )
    def check(
        principle: tuple[list[str], str],
        form: str,
        text: str,
        flags: tuple[list[str], str],
        model: tuple[list[str], str],
        config: tuple[str, str],
        lines: list[bytes],
        doc: tuple[bytes, Any],
    ) -> None:
        blob = b"\n".join(lines) + b"\n"
        (workdir / "in.jsonl").write_bytes(blob)
        (workdir / "bad.yaml").write_bytes(doc[0])
        args, input_kind = _candidates(form, text)
        kinds = {principle[1], input_kind, flags[1], model[1], config[1]}
        if "file" in kinds:
            try:
                load_file(workdir / "bad.yaml")
            except PrincipleError:
                kinds.add("usage")
        env = {"RAJUDGE_MODEL": "tripwire.gguf", "RAJUDGE_CONFIG": str(workdir / config[0])}
        command = ["score", *args, *principle[0], *flags[0], *model[0]]
        done = run_cli(command, workdir, stdin=blob, env=env)
        seen["cases"] += 1

        assert "Traceback" not in done.stderr
        assert done.stdout == ""  # nothing is judged: every case ends before or at the load
        assert done.code in _expected_codes(kinds), (command, done.stderr)
        if "typer" in kinds:
            assert "Usage:" in done.stderr
            return
        last = done.stderr.splitlines()[-1]
        assert last.startswith("error: ") and len(last) < MAX_MESSAGE
        if done.code == 3 and kinds <= {"ok", "file"} and form in ("file", "stdin"):
            assert "unknown model architecture: 'tripwire'" in last
            source = "<stdin>" if form == "stdin" else "in.jsonl"
            for error in parse_lines(io.BytesIO(blob), source).errors:
                assert squeezed(f"error: {error}") in squeezed(done.stderr)

    check()
    assert seen["cases"] >= 300


_GOOD_PROMPTS = ["2 + 2?", "Capital of France?", "Say hi."]
_BAD_LINES = [
    b'{"prompt": "p", "responses": []}',
    b'{"prompt": "p", "responses": ["a"], "response": "b"}',
    b"[" * 3000,
    b'{"prompt": "\xff", "responses": ["a"]}',
    b'{"prompt": "p", "chosen": "a"}',
]


def judged_file(rng: Rng) -> bytes:
    """One or two short valid items of random shapes among up to three bad lines."""
    lines = [
        rng.choice(_BAD_LINES) if rng.random() < 0.5 else rng.randbytes(rng.randrange(20))
        for _ in range(rng.randrange(4))
    ]
    for number in range(rng.randrange(1, 3)):
        prompt = rng.choice(_GOOD_PROMPTS)
        for line in sentinel(rng, f"{SENTINEL}{number}").lines:
            record = orjson.loads(line)
            record.pop("principle", None)
            record["prompt"] = prompt
            for key in ("responses", "chosen", "rejected", "response"):
                if isinstance(record.get(key), str):
                    record[key] = record[key][:40]
            if isinstance(record.get("responses"), dict):
                record["responses"] = {n: t[:40] for n, t in record["responses"].items()}
            if isinstance(record.get("responses"), list):
                record["responses"] = [
                    {**r, "text": r["text"][:40]} if isinstance(r, dict) else r[:40]
                    for r in record["responses"]
                ]
            lines.insert(rng.randrange(len(lines) + 1), _dumps(record))
    return b"\n".join(lines) + b"\n"


def test_cli_fuzz_on_the_real_model_judges_every_good_line_and_reports_every_bad_one(
    workdir: Path,
) -> None:
    seen = {"runs": 0}

    @settings(FUZZ, max_examples=4)
    @given(seeded(judged_file))
    def check(blob: bytes) -> None:
        (workdir / "in.jsonl").write_bytes(blob)
        read = parse_lines(io.BytesIO(blob), "in.jsonl")
        command = ["score", "in.jsonl", "-p", "concise", "-m", "demo", "--ctx", "1024"]
        done = run_cli([*command, "--rationale-tokens", "0"], workdir)
        seen["runs"] += 1
        assert "Traceback" not in done.stderr
        assert done.code == (1 if read.errors else 0), done.stderr
        # records end in "\n" only: splitlines() would also cut at a U+2028 in a response text
        records = [json.loads(line) for line in done.stdout.split("\n") if line]
        assert [r["id"] for r in records] == [i.id for i in read.items]
        for record, item in zip(records, read.items, strict=True):
            assert sorted(record["ranking"]) == sorted(item.responses)
        for error in read.errors:
            assert squeezed(f"error: {error}") in squeezed(done.stderr)

    check()
    assert seen["runs"] == 4
