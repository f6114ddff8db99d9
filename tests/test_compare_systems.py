"""compare's inputs: per-system JSONL, AlpacaEval's model_outputs.json, one candidates file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rajudge.compare.systems import read_systems
from rajudge.errors import UsageError


def write_jsonl(path: Path, rows: list[dict | str]) -> str:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return str(path)


def outputs(path: Path, answers: dict[str, str], *, ids: bool = True, key: str = "response") -> str:
    rows = [
        {**({"id": prompt_id} if ids else {}), "prompt": f"question {prompt_id}", key: answer}
        for prompt_id, answer in answers.items()
    ]
    return write_jsonl(path, rows)


def test_per_system_files_are_joined_by_id_and_named_by_stem(tmp_path: Path) -> None:
    base = outputs(tmp_path / "base.jsonl", {"1": "b1", "2": "b2"})
    tuned = outputs(tmp_path / "tuned.jsonl", {"2": "t2", "1": "t1"}, key="output")
    systems = read_systems([base, tuned])
    assert systems.names == ("base", "tuned")
    assert [(i.id, i.prompt, i.responses) for i in systems.items] == [
        ("1", "question 1", {"base": "b1", "tuned": "t1"}),
        ("2", "question 2", {"base": "b2", "tuned": "t2"}),
    ]
    assert systems.items[0].where == f"{base}:1"


def test_name_equals_path_names_a_system(tmp_path: Path) -> None:
    a = outputs(tmp_path / "run.jsonl", {"1": "x"})
    b = outputs(tmp_path / "other.jsonl", {"1": "y"}, key="completion")
    assert read_systems([f"old={a}", f"new={b}"]).names == ("old", "new")


def test_without_ids_prompts_join_by_text_with_ids_that_do_not_depend_on_file_order(
    tmp_path: Path,
) -> None:
    a = outputs(tmp_path / "a.jsonl", {"1": "x", "2": "y"}, ids=False)
    b = outputs(tmp_path / "b.jsonl", {"2": "z", "1": "w"}, ids=False)
    forward, backward = read_systems([a, b]), read_systems([b, a])
    assert {i.id for i in forward.items} == {i.id for i in backward.items}
    by_id = {i.id: i.responses for i in forward.items}
    assert sorted(by_id.values(), key=str) == sorted(
        [{"a": "x", "b": "w"}, {"a": "y", "b": "z"}], key=str
    )


def test_alpacaeval_model_outputs_are_named_by_their_generator(tmp_path: Path) -> None:
    rows = [
        {"instruction": "Say hi.", "output": "Hi!", "generator": "gpt-x", "dataset": "d"},
        {"instruction": "Count to 2.", "output": "1 2", "generator": "gpt-x", "dataset": "d"},
    ]
    first = tmp_path / "a" / "model_outputs.json"
    first.parent.mkdir()
    first.write_text(json.dumps(rows, indent=2))
    second = tmp_path / "b.jsonl"
    outputs(second, {}, ids=False)
    write_jsonl(
        second,
        [
            {"instruction": "Count to 2.", "output": "one two"},
            {"prompt": "Say hi.", "output": "yo"},
        ],
    )
    systems = read_systems([str(first), str(second)])
    assert systems.names == ("gpt-x", "b")
    assert [i.responses for i in systems.items] == [
        {"gpt-x": "Hi!", "b": "yo"},
        {"gpt-x": "1 2", "b": "one two"},
    ]


def test_a_chat_message_prompt_reads_as_score_reads_it(tmp_path: Path) -> None:
    messages = [{"role": "user", "content": "Hello?"}]
    a = write_jsonl(tmp_path / "a.jsonl", [{"id": 1, "prompt": messages, "response": "Hi."}])
    b = write_jsonl(tmp_path / "b.jsonl", [{"id": 1, "prompt": messages, "response": "Hey."}])
    assert read_systems([a, b]).items[0].prompt == "Hello?"


def test_one_candidates_file_holds_every_system(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "candidates.jsonl",
        [
            {"id": "q1", "prompt": "P1", "responses": {"base": "b", "tuned": "t", "big": "g"}},
            {"id": "q2", "prompt": "P2", "responses": {"tuned": "t2", "base": "b2", "big": "g2"}},
        ],
    )
    systems = read_systems([path])
    assert systems.names == ("base", "tuned", "big")
    assert list(systems.items[1].responses) == ["base", "tuned", "big"]


def test_a_system_missing_prompts_is_one_error_naming_file_and_ids(tmp_path: Path) -> None:
    base = outputs(tmp_path / "base.jsonl", {str(i): "b" for i in range(1, 9)})
    tuned = outputs(tmp_path / "tuned.jsonl", {"1": "t", "2": "t"})
    with pytest.raises(UsageError) as caught:
        read_systems([base, tuned])
    message = str(caught.value)
    assert f"{tuned} lacks 6 of the 8 prompts" in message
    assert "'3', '4', '5', '6', '7' and 1 more" in message
    assert "--on-missing skip compares on the 2" in message


def test_on_missing_skip_keeps_the_prompts_every_system_answered(tmp_path: Path) -> None:
    base = outputs(tmp_path / "base.jsonl", {"1": "b", "2": "b", "3": "b"})
    tuned = outputs(tmp_path / "tuned.jsonl", {"1": "t", "3": "t", "4": "t"})
    systems = read_systems([base, tuned], on_missing="skip")
    assert [i.id for i in systems.items] == ["1", "3"]
    assert systems.left_out == ("2", "4")


def test_a_repeated_id_names_both_lines(tmp_path: Path) -> None:
    base = write_jsonl(
        tmp_path / "base.jsonl",
        [{"id": 7, "prompt": "p", "response": "a"}, {"id": 7, "prompt": "p", "response": "b"}],
    )
    tuned = outputs(tmp_path / "tuned.jsonl", {"7": "t"})
    with pytest.raises(UsageError, match=rf"id '7' appears twice, at {base}:1 and {base}:2"):
        read_systems([base, tuned])


def test_files_that_share_no_prompt_are_refused(tmp_path: Path) -> None:
    a = outputs(tmp_path / "a.jsonl", {"1": "x"})
    b = outputs(tmp_path / "b.jsonl", {"2": "y"})
    with pytest.raises(UsageError, match="share no prompt"):
        read_systems([a, b], on_missing="skip")


def test_one_id_with_two_prompts_is_refused(tmp_path: Path) -> None:
    a = write_jsonl(tmp_path / "a.jsonl", [{"id": 1, "prompt": "one", "response": "x"}])
    b = write_jsonl(tmp_path / "b.jsonl", [{"id": 1, "prompt": "two", "response": "y"}])
    with pytest.raises(UsageError, match="id '1' has one prompt at"):
        read_systems([a, b])


def test_a_bad_line_is_an_error_with_its_place_and_the_rest_is_read(tmp_path: Path) -> None:
    a = write_jsonl(
        tmp_path / "a.jsonl",
        [
            {"id": 1, "prompt": "question 1", "response": "x"},
            "{not json",
            {"id": 2, "prompt": "p2"},
        ],
    )
    b = outputs(tmp_path / "b.jsonl", {"1": "y"})
    systems = read_systems([a, b], on_missing="skip")
    assert [i.id for i in systems.items] == ["1"]
    assert [e.where for e in systems.errors] == [f"{a}:2", f"{a}:3"]
    assert "expected 'response' or 'output' or 'completion'" in str(systems.errors[1])


def test_two_inputs_with_one_name_are_refused(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    a = outputs(tmp_path / "run.jsonl", {"1": "x"})
    b = outputs(tmp_path / "x" / "run.jsonl", {"1": "y"})
    with pytest.raises(UsageError, match="both named 'run': name them with NAME=PATH"):
        read_systems([a, b])


def test_a_candidates_file_with_one_system_is_refused(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "c.jsonl", [{"prompt": "p", "responses": {"only": "x"}}])
    with pytest.raises(UsageError, match="two or more systems"):
        read_systems([path])
