"""JSON Lines in: turn each line into items to judge, or into an error naming its line.

rajudge.jsonl reads the lines; this module knows the shapes an item may take.

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

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from rajudge.errors import InputError, shown
from rajudge.jsonl import JsonObject, LineError, input_lines, kind, load_line
from rajudge.records import Item, Principle

_SHAPE_KEYS = {"grouped": ("responses",), "flat": ("response",), "pair": ("chosen", "rejected")}
_TEXT_KEYS = ("text", "response", "content")
_NAME_KEYS = ("name", "model")
_Turn = tuple[str, str]  # (role, content) of one chat message


@dataclass(frozen=True)
class ReadResult:
    """What a file held: the good items in input order, and one error per bad line."""

    items: list[Item]
    errors: list[InputError]


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
            obj = load_line(raw, first=number == 1)
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
        except LineError as exc:
            self.errors.append(InputError(where, str(exc)))

    def _add_flat(self, obj: JsonObject, prompt: str, principle: str | None, number: int) -> None:
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
            raise LineError(
                f"{what} differs from line {group.line}, which has the same prompt_id "
                f"{shown(group.id)}"
            )
        name = name or f"response-{len(group.responses) + 1}"
        if name in group.responses:
            raise LineError(f"duplicate response name {shown(name)} in item {shown(group.id)}")
        group.responses[name] = text

    def _claim(self, item_id: str, number: int) -> None:
        first = self.id_lines.setdefault(item_id, number)
        if first != number:
            raise LineError(f"duplicate id {shown(item_id)} (first on line {first})")

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


def _shape(obj: JsonObject) -> str:
    shapes = [s for s, keys in _SHAPE_KEYS.items() if any(k in obj for k in keys)]
    if not shapes:
        found = ", ".join(shown(k) for k in list(obj)[:8]) or "none"
        raise LineError(
            "no recognised input shape: expected 'prompt' with 'responses', 'response', "
            f"or 'chosen' and 'rejected' (found keys: {found})"
        )
    if len(shapes) > 1:
        keys = ", ".join(repr(k) for s in shapes for k in _SHAPE_KEYS[s] if k in obj)
        raise LineError(f"mixes input shapes ({keys}); use one of them")
    if shapes == ["pair"]:
        missing = [k for k in _SHAPE_KEYS["pair"] if k not in obj]
        if missing:
            raise LineError(f"preference pair is missing {missing[0]!r}")
        if _is_chat_pair(obj):
            return "pair"  # its prompt may be in the messages
    if "prompt" not in obj:
        raise LineError("missing 'prompt'")
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
        raise LineError(f"'prompt' must be a string or a list of chat messages, not {kind(value)}")
    turns += history
    if len(turns) == 1 and turns[0][0] == "user":
        text = turns[0][1]
    else:
        text = "\n\n".join(f"{role}: {content}" for role, content in turns)
    if not text.strip():
        raise LineError("'prompt' is empty")
    return text


def _messages(messages: list[object], what: str) -> list[_Turn]:
    """The (role, content) turns of a list of chat messages; `what` names the list."""
    if not messages:
        raise LineError(f"{what!r} is an empty list of chat messages")
    turns: list[_Turn] = []
    for i, message in enumerate(messages, start=1):
        if not isinstance(message, dict):
            raise LineError(f"{what} message {i} must be an object, not {kind(message)}")
        for key in ("role", "content"):
            if key not in message:
                raise LineError(f"{what} message {i} has no {key!r}")
            if not isinstance(message[key], str):
                raise LineError(
                    f"{what} message {i} {key!r} must be a string, not {kind(message[key])}"
                )
        turns.append((message["role"], message["content"]))
    return turns


def _grouped(value: object) -> dict[str, str]:
    if isinstance(value, dict):
        pairs = [(_checked_name(k, f"response name {shown(k)}"), v) for k, v in value.items()]
    elif isinstance(value, list):
        pairs = [_entry(entry, i) for i, entry in enumerate(value, start=1)]
    else:
        raise LineError(f"'responses' must be an object or a list, not {kind(value)}")
    if not pairs:
        raise LineError("'responses' is empty")
    responses: dict[str, str] = {}
    for name, text in pairs:
        if name in responses:
            raise LineError(f"duplicate response name {shown(name)}")
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
        raise LineError(f"response {index} has no text (expected one of {keys})")
    return _name(entry, f"response {index} ") or default, entry[text_key]


def _pair(obj: JsonObject) -> tuple[str, dict[str, str]]:
    """The prompt and the `chosen` and `rejected` responses of a preference pair."""
    if _is_chat_pair(obj):
        return _chat_pair(obj)
    return _prompt(obj["prompt"]), {key: _text(obj[key], repr(key)) for key in _SHAPE_KEYS["pair"]}


def _is_chat_pair(obj: JsonObject) -> bool:
    return any(isinstance(obj.get(key), list) for key in _SHAPE_KEYS["pair"])


def _chat_pair(obj: JsonObject) -> tuple[str, dict[str, str]]:
    """TRL's conversational pair: each side's final assistant message is the response judged,
    and the messages before it, which both sides share, continue the prompt."""
    sides: dict[str, list[_Turn]] = {}
    for key in _SHAPE_KEYS["pair"]:
        value = obj[key]
        if not isinstance(value, list):
            raise LineError(f"{key!r} must be a list of chat messages like the other side")
        sides[key] = _messages(value, key)
        role = sides[key][-1][0]
        if role != "assistant":
            raise LineError(
                f"the last message of {key!r} must be the assistant's, not {shown(role)}"
            )
    chosen, rejected = sides.values()
    if chosen[:-1] != rejected[:-1]:
        raise LineError(
            "'chosen' and 'rejected' differ before their last message; only the final "
            "assistant message may differ"
        )
    history = chosen[:-1]
    if obj.get("prompt") is None and not history:
        raise LineError("missing 'prompt', and no messages come before the responses")
    return _prompt(obj.get("prompt"), history), {key: turns[-1][1] for key, turns in sides.items()}


def _text(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise LineError(f"{what} must be a string, not {kind(value)}")
    return value


def _name(obj: JsonObject, label: str = "") -> str | None:
    """The explicit response name in `name` (or `model`), or None when there is none."""
    key = next((k for k in _NAME_KEYS if obj.get(k) is not None), None)
    return None if key is None else _checked_name(obj[key], f"{label}{key!r}")


def _checked_name(name: object, what: str) -> str:
    if not isinstance(name, str):
        raise LineError(f"{what} must be a string, not {kind(name)}")
    if not name.strip():
        raise LineError(f"{what} is empty")
    return name


def _id(obj: JsonObject, key: str) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise LineError(f"{key!r} must be a string or an integer, not {kind(value)}")
    if isinstance(value, str) and not value.strip():
        raise LineError(f"{key!r} is empty")
    return str(value)


def _optional_text(obj: JsonObject, key: str) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise LineError(f"{key!r} must be a string, not {kind(value)}")
    if not value.strip():
        raise LineError(f"{key!r} is empty")
    return value


def _principle(text: str | None) -> Principle | None:
    return Principle(name="item", text=text, source="item") if text is not None else None


_OUTPUT_PROMPT_KEYS = ("prompt", "instruction")  # instruction: AlpacaEval's model_outputs
_OUTPUT_ANSWER_KEYS = ("response", "output", "completion")


def system_output(obj: JsonObject) -> tuple[str | None, str, str]:
    """(id, prompt text, answer) of one row of a system's outputs, as `compare` reads them:
    ``{"id"?, "prompt" | "instruction", "response" | "output" | "completion"}``, the prompt
    text or chat messages as in the module docstring; ValueError says what is wrong."""
    try:
        prompt_key = next((k for k in _OUTPUT_PROMPT_KEYS if obj.get(k) is not None), None)
        answer_key = next((k for k in _OUTPUT_ANSWER_KEYS if k in obj), None)
        if prompt_key is None or answer_key is None:
            wanted = _OUTPUT_PROMPT_KEYS if prompt_key is None else _OUTPUT_ANSWER_KEYS
            found = ", ".join(shown(k) for k in list(obj)[:8]) or "none"
            raise LineError(f"expected {' or '.join(map(repr, wanted))} (found keys: {found})")
        answer = _text(obj[answer_key], repr(answer_key))
        return _id(obj, "id"), _prompt(obj[prompt_key]), answer
    except LineError as exc:
        raise ValueError(str(exc)) from None
