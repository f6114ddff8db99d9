"""JSON Lines in: turn each line into items to judge, or into an error naming its line.

A bad line never stops the others: it becomes one InputError ("file:line: what is wrong") and
is skipped. Blank lines are ignored. Each line is one of three shapes, detected per line:

grouped
    ``{"prompt": ..., "responses": ...}`` where ``responses`` is an object name -> text, a list
    of strings (named ``response-1..N``) or a list of objects with ``text`` (or ``response`` /
    ``content``) and an optional ``name`` (or ``model``).
flat
    ``{"prompt": ..., "response": ..., "name": ...}``, one response per line. Lines with the same
    ``prompt_id``, or else the same prompt and principle, form one item; responses keep line
    order and are named by ``name`` / ``model``, else ``response-K`` (K-th in the item). The
    item id is ``prompt_id``, else ``line-N`` of the item's first line; a flat line's ``id``
    names the response row, not the item, so it is left alone.
preference pair
    ``{"prompt": ..., "chosen": ..., "rejected": ...}`` (RewardBench and ../shared/datasets),
    read as responses named ``chosen`` and ``rejected``. In TRL's conversational shape
    ``chosen`` and ``rejected`` are lists of chat messages: each judged response is the final
    assistant message, the messages before it (the same in both) continue the prompt, and
    ``prompt`` is optional (text or messages).

Every shape takes an optional ``id`` (string or integer; default ``line-N``) and ``principle``
(the item's own judging criterion). An optional field set to ``null`` counts as absent, since
dataframe exports write missing values that way. Other keys are metadata and are ignored.

``prompt`` is a string or a list of chat messages ``[{"role": ..., "content": ...}]``. A lone
user message becomes its content; any other conversation becomes one text, each message written
as ``"{role}: {content}"`` and the messages joined by blank lines, so the judge sees every turn.
A text prompt followed by shared chat history counts as the first user message.
"""

from __future__ import annotations

import codecs
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import orjson

from rajudge.errors import InputError, UsageError, shown
from rajudge.records import Item, Principle

_Obj = dict[str, object]
_SHAPE_KEYS = {"grouped": ("responses",), "flat": ("response",), "pair": ("chosen", "rejected")}
_TEXT_KEYS = ("text", "response", "content")
_NAME_KEYS = ("name", "model")
_Turn = tuple[str, str]  # (role, content) of one chat message


@dataclass(frozen=True)
class ReadResult:
    """What a file held: the good items in input order, and one error per bad line."""

    items: list[Item]
    errors: list[InputError]


class _Invalid(Exception):
    """A problem with the current line; the caller adds where it is."""


@dataclass
class _FlatGroup:
    """An item being assembled from flat lines; it becomes an Item once all lines are read."""

    id: str
    prompt: str
    principle: str | None
    line: int
    responses: dict[str, str] = field(default_factory=dict)

    def item(self, source: str) -> Item:
        where = f"{source}:{self.line}"
        return Item(self.id, self.prompt, self.responses, _principle(self.principle), where)


@dataclass
class _Reader:
    """Per-file state: what has been read so far, so that later lines can be checked against it."""

    source: str
    slots: list[Item | _FlatGroup] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    id_lines: dict[str, int] = field(default_factory=dict)
    groups: dict[tuple[str | None, ...], _FlatGroup] = field(default_factory=dict)

    def read(self, raw: bytes, number: int) -> None:
        where = f"{self.source}:{number}"
        try:
            obj = _load(raw, first=number == 1)
            if obj is None:
                return
            shape = _shape(obj)
            if shape == "pair":
                prompt, responses = _pair(obj)
            else:
                prompt = _prompt(obj["prompt"])
            principle = _optional_text(obj, "principle")
            if shape == "flat":
                self._add_flat(obj, prompt, principle, number)
                return
            if shape == "grouped":
                responses = _grouped(obj["responses"])
            item_id = _id(obj, "id") or f"line-{number}"
            self._claim(item_id, number)
            self.slots.append(Item(item_id, prompt, responses, _principle(principle), where))
        except _Invalid as exc:
            self.errors.append(InputError(where, str(exc)))

    def _add_flat(self, obj: _Obj, prompt: str, principle: str | None, number: int) -> None:
        text = _text(obj["response"], "'response'")
        name = _name(obj)
        prompt_id = _id(obj, "prompt_id")
        key = ("prompt_id", prompt_id) if prompt_id else ("prompt", prompt, principle)
        group = self.groups.get(key)
        if group is None:
            group = _FlatGroup(prompt_id or f"line-{number}", prompt, principle, number)
            self._claim(group.id, number)
            self.groups[key] = group
            self.slots.append(group)
        elif (group.prompt, group.principle) != (prompt, principle):
            what = "prompt" if group.prompt != prompt else "principle"
            raise _Invalid(
                f"{what} differs from line {group.line}, which has the same prompt_id "
                f"{shown(group.id)}"
            )
        name = name or f"response-{len(group.responses) + 1}"
        if name in group.responses:
            raise _Invalid(f"duplicate response name {shown(name)} in item {shown(group.id)}")
        group.responses[name] = text

    def _claim(self, item_id: str, number: int) -> None:
        first = self.id_lines.setdefault(item_id, number)
        if first != number:
            raise _Invalid(f"duplicate id {shown(item_id)} (first on line {first})")

    def result(self) -> ReadResult:
        items = [s.item(self.source) if isinstance(s, _FlatGroup) else s for s in self.slots]
        return ReadResult(items, self.errors)


def parse_lines(lines: Iterable[bytes], source: str) -> ReadResult:
    """Read JSON Lines from `lines`; `source` names them in messages ("source:line")."""
    reader = _Reader(source)
    for number, raw in enumerate(lines, start=1):
        reader.read(raw, number)
    return reader.result()


def read_items(path: str) -> ReadResult:
    """Read a JSON Lines file, or standard input for "-"; an unreadable file is a usage error."""
    with input_lines(path) as (lines, source):
        return parse_lines(lines, source)


def json_objects(lines: Iterable[bytes], source: str) -> Iterator[tuple[str, _Obj | InputError]]:
    """Each non-blank line's "source:line" with its JSON object, or the error that says why it
    is not one (bad UTF-8, bad JSON, not an object): for readers of other JSON Lines files."""
    for number, raw in enumerate(lines, start=1):
        where = f"{source}:{number}"
        try:
            obj = _load(raw, first=number == 1)
        except _Invalid as exc:
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


def _load(raw: bytes, first: bool) -> _Obj | None:
    """The line's JSON object, or None for a blank line."""
    if first:
        raw = raw.removeprefix(codecs.BOM_UTF8)  # editors on Windows start files with one
    if not raw.strip():
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _Invalid(
            f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at position {exc.start + 1})"
        ) from None
    try:
        obj = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise _Invalid(f"invalid JSON: {exc.msg} at column {exc.colno}") from None
    if not isinstance(obj, dict):
        raise _Invalid(f"expected a JSON object, got {_kind(obj)}")
    return obj


def _shape(obj: _Obj) -> str:
    shapes = [s for s, keys in _SHAPE_KEYS.items() if any(k in obj for k in keys)]
    if not shapes:
        found = ", ".join(shown(k) for k in list(obj)[:8]) or "none"
        raise _Invalid(
            "no recognised input shape: expected 'prompt' with 'responses', 'response', "
            f"or 'chosen' and 'rejected' (found keys: {found})"
        )
    if len(shapes) > 1:
        keys = ", ".join(repr(k) for s in shapes for k in _SHAPE_KEYS[s] if k in obj)
        raise _Invalid(f"mixes input shapes ({keys}); use one of them")
    if shapes == ["pair"]:
        missing = [k for k in _SHAPE_KEYS["pair"] if k not in obj]
        if missing:
            raise _Invalid(f"preference pair is missing {missing[0]!r}")
        if _is_chat_pair(obj):
            return "pair"  # its prompt may be in the messages
    if "prompt" not in obj:
        raise _Invalid("missing 'prompt'")
    return shapes[0]


def _prompt(value: object, history: Sequence[_Turn] = ()) -> str:
    """The prompt text of `value` (text or chat messages; None: none), then chat `history`."""
    if isinstance(value, list):
        turns = _messages(value, "prompt")
    elif isinstance(value, str):
        turns = [("user", value)]
    elif value is None and history:
        turns = []
    else:
        raise _Invalid(f"'prompt' must be a string or a list of chat messages, not {_kind(value)}")
    turns += history
    if len(turns) == 1 and turns[0][0] == "user":
        text = turns[0][1]
    else:
        text = "\n\n".join(f"{role}: {content}" for role, content in turns)
    if not text.strip():
        raise _Invalid("'prompt' is empty")
    return text


def _messages(messages: list[object], what: str) -> list[_Turn]:
    """The (role, content) turns of a list of chat messages; `what` names the list."""
    if not messages:
        raise _Invalid(f"{what!r} is an empty list of chat messages")
    turns: list[_Turn] = []
    for i, message in enumerate(messages, start=1):
        if not isinstance(message, dict):
            raise _Invalid(f"{what} message {i} must be an object, not {_kind(message)}")
        for key in ("role", "content"):
            if key not in message:
                raise _Invalid(f"{what} message {i} has no {key!r}")
            if not isinstance(message[key], str):
                raise _Invalid(
                    f"{what} message {i} {key!r} must be a string, not {_kind(message[key])}"
                )
        turns.append((message["role"], message["content"]))
    return turns


def _grouped(value: object) -> dict[str, str]:
    if isinstance(value, dict):
        pairs = [(_checked_name(k, f"response name {shown(k)}"), v) for k, v in value.items()]
    elif isinstance(value, list):
        pairs = [_entry(entry, i) for i, entry in enumerate(value, start=1)]
    else:
        raise _Invalid(f"'responses' must be an object or a list, not {_kind(value)}")
    if not pairs:
        raise _Invalid("'responses' is empty")
    responses: dict[str, str] = {}
    for name, text in pairs:
        if name in responses:
            raise _Invalid(f"duplicate response name {shown(name)}")
        responses[name] = _text(text, f"response {shown(name)}")
    return responses


def _entry(entry: object, index: int) -> tuple[str, object]:
    """(name, text) of the index-th element of a `responses` list."""
    default = f"response-{index}"
    if not isinstance(entry, dict):
        return default, entry
    text_key = next((k for k in _TEXT_KEYS if k in entry), None)
    if text_key is None:
        keys = ", ".join(repr(k) for k in _TEXT_KEYS)
        raise _Invalid(f"response {index} has no text (expected one of {keys})")
    return _name(entry, f"response {index} ") or default, entry[text_key]


def _pair(obj: _Obj) -> tuple[str, dict[str, str]]:
    """The prompt and the `chosen` and `rejected` responses of a preference pair."""
    if _is_chat_pair(obj):
        return _chat_pair(obj)
    return _prompt(obj["prompt"]), {key: _text(obj[key], repr(key)) for key in _SHAPE_KEYS["pair"]}


def _is_chat_pair(obj: _Obj) -> bool:
    return any(isinstance(obj.get(key), list) for key in _SHAPE_KEYS["pair"])


def _chat_pair(obj: _Obj) -> tuple[str, dict[str, str]]:
    """TRL's conversational pair: each side's final assistant message is the response judged,
    and the messages before it, which both sides share, continue the prompt."""
    sides: dict[str, list[_Turn]] = {}
    for key in _SHAPE_KEYS["pair"]:
        value = obj[key]
        if not isinstance(value, list):
            raise _Invalid(f"{key!r} must be a list of chat messages like the other side")
        sides[key] = _messages(value, key)
        role = sides[key][-1][0]
        if role != "assistant":
            raise _Invalid(
                f"the last message of {key!r} must be the assistant's, not {shown(role)}"
            )
    chosen, rejected = sides.values()
    if chosen[:-1] != rejected[:-1]:
        raise _Invalid(
            "'chosen' and 'rejected' differ before their last message; only the final "
            "assistant message may differ"
        )
    history = chosen[:-1]
    if obj.get("prompt") is None and not history:
        raise _Invalid("missing 'prompt', and no messages come before the responses")
    return _prompt(obj.get("prompt"), history), {key: turns[-1][1] for key, turns in sides.items()}


def _text(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise _Invalid(f"{what} must be a string, not {_kind(value)}")
    return value


def _name(obj: _Obj, label: str = "") -> str | None:
    """The explicit response name in `name` (or `model`), or None when there is none."""
    key = next((k for k in _NAME_KEYS if obj.get(k) is not None), None)
    return None if key is None else _checked_name(obj[key], f"{label}{key!r}")


def _checked_name(name: object, what: str) -> str:
    if not isinstance(name, str):
        raise _Invalid(f"{what} must be a string, not {_kind(name)}")
    if not name.strip():
        raise _Invalid(f"{what} is empty")
    return name


def _id(obj: _Obj, key: str) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise _Invalid(f"{key!r} must be a string or an integer, not {_kind(value)}")
    if isinstance(value, str) and not value.strip():
        raise _Invalid(f"{key!r} is empty")
    return str(value)


def _optional_text(obj: _Obj, key: str) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _Invalid(f"{key!r} must be a string, not {_kind(value)}")
    if not value.strip():
        raise _Invalid(f"{key!r} is empty")
    return value


def _principle(text: str | None) -> Principle | None:
    return Principle(name="item", text=text, source="item") if text is not None else None


def _kind(value: object) -> str:
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


_OUTPUT_PROMPT_KEYS = ("prompt", "instruction")  # instruction: AlpacaEval's model_outputs
_OUTPUT_ANSWER_KEYS = ("response", "output", "completion")


def system_output(obj: _Obj) -> tuple[str | None, str, str]:
    """(id, prompt text, answer) of one row of a system's outputs, as `compare` reads them:
    ``{"id"?, "prompt" | "instruction", "response" | "output" | "completion"}``, the prompt
    text or chat messages as in the module docstring; ValueError says what is wrong."""
    try:
        prompt_key = next((k for k in _OUTPUT_PROMPT_KEYS if obj.get(k) is not None), None)
        answer_key = next((k for k in _OUTPUT_ANSWER_KEYS if k in obj), None)
        if prompt_key is None or answer_key is None:
            wanted = _OUTPUT_PROMPT_KEYS if prompt_key is None else _OUTPUT_ANSWER_KEYS
            found = ", ".join(shown(k) for k in list(obj)[:8]) or "none"
            raise _Invalid(f"expected {' or '.join(map(repr, wanted))} (found keys: {found})")
        answer = _text(obj[answer_key], repr(answer_key))
        return _id(obj, "id"), _prompt(obj[prompt_key]), answer
    except _Invalid as exc:
        raise ValueError(str(exc)) from None
