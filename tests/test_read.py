"""JSON Lines input: the three shapes, ids, principles, and one located error per bad line."""

from __future__ import annotations

import codecs
import io
import json
import sys
from itertools import islice
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rajudge.errors import InputError, UsageError
from rajudge.read import ReadResult, parse_lines, read_items
from rajudge.records import Principle

SOURCE = "in.jsonl"
GOOD = {"prompt": "fine", "responses": {"a": "x"}}

Line = dict | list | str | bytes | int | None


def _encode(line: Line) -> bytes:
    """Dicts (and other JSON values) are dumped; str and bytes are the raw line."""
    if isinstance(line, bytes):
        return line
    if isinstance(line, str):
        return line.encode()
    return orjson.dumps(line)


def read(*lines: Line) -> ReadResult:
    return parse_lines([_encode(line) + b"\n" for line in lines], SOURCE)


def one_error(*lines: Line) -> InputError:
    result = read(*lines)
    assert len(result.errors) == 1, result.errors
    return result.errors[0]


# --- grouped -------------------------------------------------------------------------------


def test_grouped_object_keeps_names_and_order() -> None:
    (item,) = read({"prompt": "p", "responses": {"b": "B", "a": "A"}}).items
    assert item.id == "line-1"
    assert item.prompt == "p"
    assert list(item.responses.items()) == [("b", "B"), ("a", "A")]
    assert item.principle is None
    assert item.where == f"{SOURCE}:1"


def test_grouped_list_of_strings_is_numbered() -> None:
    (item,) = read({"prompt": "p", "responses": ["x", "y", "z"]}).items
    assert item.responses == {"response-1": "x", "response-2": "y", "response-3": "z"}


def test_grouped_list_of_objects_takes_text_and_name_keys() -> None:
    responses = [
        {"text": "t", "name": "n"},
        {"response": "r", "model": "m"},
        {"content": "c"},
        "plain",
    ]
    (item,) = read({"prompt": "p", "responses": responses}).items
    assert item.responses == {"n": "t", "m": "r", "response-3": "c", "response-4": "plain"}


def test_one_response_and_many_responses_and_long_text_are_fine() -> None:
    long = "w" * 1_000_000
    result = read(
        {"prompt": "p", "responses": ["only"]},
        {"prompt": "p", "responses": [str(i) for i in range(150)]},
        {"prompt": long, "responses": {"a": long}},
    )
    assert not result.errors
    assert [len(i.responses) for i in result.items] == [1, 150, 1]
    assert result.items[2].responses["a"] == long


# --- flat ----------------------------------------------------------------------------------


def test_flat_groups_by_prompt_id_in_first_line_order() -> None:
    result = read(
        {"prompt_id": "q2", "prompt": "two", "response": "2a", "model": "m1"},
        {"prompt_id": 1, "prompt": "one", "response": "1a", "name": "n1"},
        {"prompt_id": "q2", "prompt": "two", "response": "2b", "model": "m2"},
        {"prompt_id": 1, "prompt": "one", "response": "1b"},
    )
    assert not result.errors
    q2, q1 = result.items
    assert (q2.id, q2.where, q2.responses) == ("q2", f"{SOURCE}:1", {"m1": "2a", "m2": "2b"})
    assert (q1.id, q1.where, q1.responses) == ("1", f"{SOURCE}:2", {"n1": "1a", "response-2": "1b"})


def test_flat_groups_by_identical_prompt_and_principle() -> None:
    result = read(
        {"prompt": "p", "response": "a", "id": "row-1"},
        {"prompt": "other", "response": "o"},
        {"prompt": "p", "response": "b", "id": "row-2"},
        {"prompt": "p", "response": "c", "principle": "be brief"},
        {"prompt": "p", "response": "d"},
    )
    assert not result.errors
    p, other, brief = result.items
    assert (p.id, p.where) == ("line-1", f"{SOURCE}:1")
    assert p.responses == {"response-1": "a", "response-2": "b", "response-3": "d"}
    assert (other.id, other.responses) == ("line-2", {"response-1": "o"})
    assert (brief.id, brief.responses) == ("line-4", {"response-1": "c"})
    assert brief.principle == Principle(name="item", text="be brief", source="item")


def test_flat_chat_prompts_group_by_their_text() -> None:
    chat = [{"role": "user", "content": "hi"}]
    (item,) = read({"prompt": chat, "response": "a"}, {"prompt": "hi", "response": "b"}).items
    assert item.responses == {"response-1": "a", "response-2": "b"}


def test_flat_duplicate_name_is_an_error_on_that_line() -> None:
    result = read(
        {"prompt": "p", "response": "a", "name": "m"},
        {"prompt": "p", "response": "b", "name": "m"},
        {"prompt": "p", "response": "c", "name": "k"},
    )
    assert [str(e) for e in result.errors] == [
        f"{SOURCE}:2: duplicate response name 'm' in item 'line-1'"
    ]
    assert result.items[0].responses == {"m": "a", "k": "c"}


@pytest.mark.parametrize(
    ("second", "message"),
    [
        ({"prompt": "q", "response": "b"}, "prompt differs from line 1"),
        ({"prompt": "p", "response": "b", "principle": "x"}, "principle differs from line 1"),
    ],
)
def test_flat_lines_of_one_prompt_id_must_agree(second: dict, message: str) -> None:
    error = one_error(
        {"prompt_id": "g", "prompt": "p", "response": "a"}, {"prompt_id": "g", **second}
    )
    assert str(error).startswith(f"{SOURCE}:2: {message}")


# --- preference pairs ----------------------------------------------------------------------


def test_pair_becomes_chosen_and_rejected_and_keeps_extra_fields_out() -> None:
    line = {
        "id": "llmbar-0",
        "source": "llmbar",
        "subset": "Natural",
        "principle": "follow the instruction",
        "prompt": "p",
        "chosen": "good",
        "rejected": "bad",
    }
    (item,) = read(line).items
    assert item.id == "llmbar-0"
    assert item.responses == {"chosen": "good", "rejected": "bad"}
    assert item.principle == Principle(name="item", text="follow the instruction", source="item")


def test_dataset_sample_reads_cleanly(test_data: Path) -> None:
    path = test_data / "llmbar-sample.jsonl"
    with path.open("rb") as lines:
        result = parse_lines(list(islice(lines, 10)), str(path))
    assert not result.errors
    assert len(result.items) == 10
    for number, item in enumerate(result.items, start=1):
        assert list(item.responses) == ["chosen", "rejected"]
        assert item.principle is not None
        assert item.where == f"{path}:{number}"
        assert item.id.startswith("llmbar-")


def user(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


def assistant(text: str) -> dict[str, str]:
    return {"role": "assistant", "content": text}


def test_conversational_pair_with_an_explicit_prompt_is_trls_shape() -> None:
    line = {
        "prompt": [user("Sky?")],
        "chosen": [assistant("Blue.")],
        "rejected": [assistant("Green.")],
    }
    (item,) = read(line).items
    assert item.prompt == "Sky?"
    assert item.responses == {"chosen": "Blue.", "rejected": "Green."}


def test_conversational_pair_takes_its_prompt_from_the_shared_messages() -> None:
    history = [
        {"role": "system", "content": "Be brief."},
        user("Hi"),
        assistant("Hello."),
        user("Sky?"),
    ]
    line = {"chosen": [*history, assistant("Blue.")], "rejected": [*history, assistant("Green.")]}
    short = {
        "chosen": [user("Sky?"), assistant("Blue.")],
        "rejected": [user("Sky?"), assistant("")],
    }
    implicit, lone = read(line, short).items
    assert implicit.prompt == "system: Be brief.\n\nuser: Hi\n\nassistant: Hello.\n\nuser: Sky?"
    assert implicit.responses == {"chosen": "Blue.", "rejected": "Green."}
    assert lone.prompt == "Sky?"


def test_a_text_prompt_before_shared_messages_is_the_first_user_turn() -> None:
    history = [assistant("Hello."), user("Sky?")]
    line = {
        "prompt": "Hi",
        "chosen": [*history, assistant("Blue.")],
        "rejected": [*history, assistant("No.")],
    }
    (item,) = read(line).items
    assert item.prompt == "user: Hi\n\nassistant: Hello.\n\nuser: Sky?"


# --- prompts, ids, principles --------------------------------------------------------------


def test_single_user_message_is_its_content() -> None:
    (item,) = read({"prompt": [{"role": "user", "content": "hi"}], "responses": ["a"]}).items
    assert item.prompt == "hi"


def test_conversation_becomes_role_prefixed_turns() -> None:
    chat = [
        {"role": "system", "content": "be kind"},
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello", "name": "bot"},
        {"role": "user", "content": "bye"},
    ]
    (item,) = read({"prompt": chat, "responses": ["a"]}).items
    assert item.prompt == "system: be kind\n\nuser: hi\n\nassistant: hello\n\nuser: bye"


def test_ids_are_strings_and_default_to_the_line() -> None:
    result = read({"id": 5, **GOOD}, "", {"id": "x", **GOOD}, GOOD, {"id": None, **GOOD})
    assert [i.id for i in result.items] == ["5", "x", "line-4", "line-5"]


def test_duplicate_id_names_the_first_line() -> None:
    result = read({"id": "x", **GOOD}, GOOD, {"id": "x", **GOOD})
    assert [str(e) for e in result.errors] == [f"{SOURCE}:3: duplicate id 'x' (first on line 1)"]
    assert [i.id for i in result.items] == ["x", "line-2"]


def test_flat_prompt_id_may_not_reuse_an_item_id() -> None:
    error = one_error({"id": "q", **GOOD}, {"prompt_id": "q", "prompt": "p", "response": "a"})
    assert str(error) == f"{SOURCE}:2: duplicate id 'q' (first on line 1)"


def test_null_principle_counts_as_absent() -> None:
    (item,) = read({"principle": None, **GOOD}).items
    assert item.principle is None


# --- errors --------------------------------------------------------------------------------

ERRORS = [
    (b"\xff\xfe{}", "not valid UTF-8 (byte 0xff at position 1)"),
    ('{"prompt": "p", "responses": ', "invalid JSON: unexpected end of data at column"),
    ("[" * 2000, "invalid JSON: depth limit exceeded"),
    ([1, 2], "expected a JSON object, got a list"),
    ('"text"', "expected a JSON object, got a string"),
    ({"responses": ["a"]}, "missing 'prompt'"),
    ({"chosen": "a", "rejected": "b"}, "missing 'prompt'"),
    ({"prompt": "p"}, "no recognised input shape: expected 'prompt' with 'responses', 'response',"),
    ({"prompt": "p", "chosen": "a"}, "preference pair is missing 'rejected'"),
    ({"prompt": "p", "responses": ["a"], "response": "b"}, "mixes input shapes"),
    ({"prompt": 3, "responses": ["a"]}, "'prompt' must be a string or a list of chat messages"),
    ({"prompt": None, "responses": ["a"]}, "'prompt' must be a string or a list of chat messages"),
    ({"prompt": " ", "responses": ["a"]}, "'prompt' is empty"),
    ({"prompt": [], "responses": ["a"]}, "'prompt' is an empty list of chat messages"),
    ({"prompt": ["hi"], "responses": ["a"]}, "prompt message 1 must be an object, not a string"),
    ({"prompt": [{"role": "user"}], "responses": ["a"]}, "prompt message 1 has no 'content'"),
    (
        {
            "prompt": [{"role": "user", "content": "a"}, {"role": 1, "content": "b"}],
            "responses": [],
        },
        "prompt message 2 'role' must be a string, not a number",
    ),
    ({"prompt": "p", "responses": "a"}, "'responses' must be an object or a list, not a string"),
    ({"prompt": "p", "responses": []}, "'responses' is empty"),
    ({"prompt": "p", "responses": {}}, "'responses' is empty"),
    ({"prompt": "p", "responses": {"a": 1}}, "response 'a' must be a string, not a number"),
    ({"prompt": "p", "responses": {"": "x"}}, "response name '' is empty"),
    ({"prompt": "p", "responses": ["a", None]}, "response 'response-2' must be a string, not null"),
    ({"prompt": "p", "responses": [{"name": "n"}]}, "response 1 has no text (expected one of"),
    (
        {"prompt": "p", "responses": [{"text": "t", "name": 2}]},
        "response 1 'name' must be a string",
    ),
    ({"prompt": "p", "responses": [{"text": "t", "model": ""}]}, "response 1 'model' is empty"),
    (
        {"prompt": "p", "responses": [{"text": "t", "name": "response-2"}, "b"]},
        "duplicate response name 'response-2'",
    ),
    ({"prompt": "p", "response": ["a"]}, "'response' must be a string, not a list"),
    ({"prompt": "p", "response": "a", "name": ""}, "'name' is empty"),
    ({"prompt": "p", "response": "a", "model": True}, "'model' must be a string, not a boolean"),
    ({"prompt": "p", "response": "a", "prompt_id": 1.5}, "'prompt_id' must be a string or an"),
    ({"prompt": "p", "chosen": "a", "rejected": 2}, "'rejected' must be a string, not a number"),
    (
        {"prompt": "p", "chosen": [assistant("a")], "rejected": "b"},
        "'rejected' must be a list of chat messages like the other side",
    ),
    ({"prompt": "p", "chosen": [], "rejected": []}, "'chosen' is an empty list of chat messages"),
    (
        {"prompt": "p", "chosen": [{"role": "assistant"}], "rejected": [assistant("b")]},
        "chosen message 1 has no 'content'",
    ),
    (
        {"prompt": "p", "chosen": [assistant("a")], "rejected": [user("b")]},
        "the last message of 'rejected' must be the assistant's, not 'user'",
    ),
    (
        {"chosen": [user("p"), assistant("a")], "rejected": [user("q"), assistant("b")]},
        "'chosen' and 'rejected' differ before their last message",
    ),
    (
        {"chosen": [assistant("a")], "rejected": [assistant("b")]},
        "missing 'prompt', and no messages come before the responses",
    ),
    (
        {"prompt": 3, "chosen": [assistant("a")], "rejected": [assistant("b")]},
        "'prompt' must be a string or a list of chat messages, not a number",
    ),
    ({"id": True, **GOOD}, "'id' must be a string or an integer, not a boolean"),
    ({"id": {"a": 1}, **GOOD}, "'id' must be a string or an integer, not an object"),
    ({"id": "", **GOOD}, "'id' is empty"),
    ({"principle": "", **GOOD}, "'principle' is empty"),
    ({"principle": ["x"], **GOOD}, "'principle' must be a string, not a list"),
]


@pytest.mark.parametrize(("line", "message"), ERRORS)
def test_bad_line_is_one_located_error_and_the_rest_is_read(line: Line, message: str) -> None:
    result = read(GOOD, line, "   ", {"id": "after", **GOOD})
    assert len(result.errors) == 1, result.errors
    (error,) = result.errors
    assert isinstance(error, InputError)
    assert error.where == f"{SOURCE}:2"
    assert str(error).startswith(f"{SOURCE}:2: {message}")
    assert [i.id for i in result.items] == ["line-1", "after"]


def test_blank_lines_crlf_and_a_leading_bom_are_tolerated() -> None:
    raw = codecs.BOM_UTF8 + orjson.dumps(GOOD) + b"\r\n\r\n \t\r\n" + orjson.dumps(GOOD) + b"\r\n"
    result = parse_lines(io.BytesIO(raw), SOURCE)
    assert not result.errors
    assert [i.where for i in result.items] == [f"{SOURCE}:1", f"{SOURCE}:4"]


# --- files and stdin -----------------------------------------------------------------------


def test_read_items_reads_a_file_and_names_it(tmp_path: Path) -> None:
    path = tmp_path / "items.jsonl"
    path.write_bytes(orjson.dumps(GOOD) + b"\n{oops\n")
    result = read_items(str(path))
    assert [i.where for i in result.items] == [f"{path}:1"]
    assert [e.where for e in result.errors] == [f"{path}:2"]


def test_read_items_dash_reads_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    data = orjson.dumps(GOOD) + b"\n" + orjson.dumps({"prompt": "p", "response": "r"}) + b"\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    result = read_items("-")
    assert [i.where for i in result.items] == ["<stdin>:1", "<stdin>:2"]


def test_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    path = str(tmp_path / "nope.jsonl")
    with pytest.raises(UsageError) as caught:
        read_items(path)
    assert str(caught.value) == f"input file not found: {path}"


def test_directory_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="is a directory"):
        read_items(str(tmp_path))


# --- property: any input gives items or one located error per line ------------------------

_KEYS = ["prompt", "responses", "response", "chosen", "rejected", "id", "prompt_id", "principle"]
_KEYS += ["name", "model", "text", "content", "role"]
_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=8)
    | st.sampled_from(["a", "b", "", " ", "user", "1", 1.5, 2**70])
)
_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(_KEYS) | st.text(max_size=3), inner, max_size=4)
    ),
    max_leaves=6,
)
_names = st.sampled_from(["a", "b", "c"])
_chat = st.lists(
    st.fixed_dictionaries({"role": st.sampled_from(["user", "assistant"]), "content": _names}),
    max_size=3,
)
_shaped = st.one_of(
    st.fixed_dictionaries(
        {"prompt": _names, "responses": st.dictionaries(_names, _names, max_size=3)},
        optional={"id": _names, "principle": _names},
    ),
    st.fixed_dictionaries(
        {"prompt": _names, "response": _names},
        optional={"prompt_id": _names, "name": _names, "principle": _names, "id": _names},
    ),
    st.fixed_dictionaries(
        {"prompt": _names, "chosen": _names, "rejected": _names}, optional={"id": _names}
    ),
    st.fixed_dictionaries(
        {"chosen": _chat, "rejected": _chat}, optional={"prompt": _names | _chat, "id": _names}
    ),
    st.dictionaries(st.sampled_from(_KEYS), _values, max_size=5),
)
_lines = st.one_of(
    st.binary(max_size=30),
    st.just(b"  "),
    _values.map(lambda v: json.dumps(v).encode()),
    _shaped.map(lambda v: json.dumps(v).encode()),
    st.integers(1000, 1100).map(lambda depth: b"[" * depth + b"]" * depth),
)


def _is_flat(raw: bytes) -> bool:
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return False
    return isinstance(value, dict) and "response" in value


@settings(max_examples=2000, deadline=None, database=None)
@given(st.lists(_lines, max_size=8))
def test_every_line_gives_items_or_exactly_one_located_error(lines: list[bytes]) -> None:
    result = parse_lines(lines, "h")
    unmarked = [raw.removeprefix(codecs.BOM_UTF8) if n == 0 else raw for n, raw in enumerate(lines)]
    nonblank = {n for n, raw in enumerate(unmarked, start=1) if raw.strip()}
    error_lines = [int(e.where.removeprefix("h:")) for e in result.errors]
    assert all(isinstance(e, InputError) for e in result.errors)
    assert all(str(e).startswith(f"{e.where}: ") for e in result.errors)
    assert len(error_lines) == len(set(error_lines))
    assert set(error_lines) <= nonblank

    # A flat item stands for one line per response, any other item for its own line.
    consumed = 0
    for item in result.items:
        line = int(item.where.removeprefix("h:"))
        assert line in nonblank and line not in error_lines
        consumed += len(item.responses) if _is_flat(unmarked[line - 1]) else 1
        assert item.prompt.strip() and item.responses
        assert all(isinstance(t, str) for t in item.responses.values())
    assert consumed == len(nonblank) - len(error_lines)
    assert len({i.id for i in result.items}) == len(result.items)
