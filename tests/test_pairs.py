"""`rajudge pairs`: score records in, TRL preference rows out; bad records are one line each."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from judged_records import record

from rajudge.errors import InputError, UsageError
from rajudge.output.pairs import Pairing, prompt_messages
from rajudge.output.parse import parse_record
from rajudge.read import parse_lines

ONE = record("one", {"a": 4.5, "b": 4.2, "c": 1.5})


def test_a_score_is_the_expected_score_else_the_composite() -> None:
    assert parse_record(ONE, "f:1").scores == {"a": 4.5, "b": 4.2, "c": 1.5}
    several = record("two", {"a": 4.0, "b": 2.0}, {"a": 2.0, "b": 4.0})
    assert parse_record(several, "f:1").scores == {"a": 2.5, "b": 3.5}  # weights 1 and 3


def test_best_against_worst_by_default() -> None:
    pairing = Pairing()
    (row,) = pairing.rows(parse_record(ONE, "f:1"))
    assert row == {
        "id": "one",
        "prompt": "Capital of France?",
        "chosen": "Paris.",
        "rejected": "Lyon.",
        "score_chosen": 4.5,
        "score_rejected": 1.5,
        "margin": 3.0,
        "chosen_name": "a",
        "rejected_name": "c",
    }


def test_all_gives_every_ordered_pair_above_the_margin() -> None:
    pairing = Pairing(every=True)
    rows = pairing.rows(parse_record(ONE, "f:1"))
    assert [(r["chosen_name"], r["rejected_name"], r["margin"]) for r in rows] == [
        ("a", "c", 3.0),
        ("b", "c", 2.7),
    ]
    assert (pairing.pairs, pairing.below_margin) == (2, 1)  # a over b by 0.3
    assert "1 pair(s) with a margin below 0.5 (--min-margin) left out" in pairing.summary()


def test_near_ties_and_single_responses_give_no_pair() -> None:
    pairing = Pairing(min_margin=1.0)
    assert pairing.rows(parse_record(record("close", {"a": 3.0, "b": 2.5}), "f:1")) == []
    assert pairing.rows(parse_record(record("alone", {"a": 3.0}), "f:2")) == []
    assert (pairing.items, pairing.pairs, pairing.below_margin) == (2, 0, 1)


@pytest.mark.parametrize("margin", [0.0, -1.0, float("nan")])
def test_a_margin_of_zero_or_less_is_refused(margin: float) -> None:
    with pytest.raises(UsageError, match="--min-margin must be above 0"):
        Pairing(min_margin=margin)


OLD = {key: value for key, value in ONE.items() if key not in ("prompt", "responses")}
BAD_RECORDS = [
    (OLD, "the record has no 'prompt' and 'responses' texts: it was written by an older rajudge"),
    ({"prompt": "p", "responses": {"a": "x"}}, "not a record of rajudge score"),
    ({**ONE, "composite": None, "judgments": []}, "'judgments' must be a non-empty list"),
    ({**ONE, "composite": {"a": "high"}}, "'composite' must be null or a number for each response"),
    ({**ONE, "responses": {"a": "only one"}}, "'responses' must score exactly the record's"),
]


@pytest.mark.parametrize(("bad", "message"), BAD_RECORDS)
def test_a_bad_record_is_one_located_error(bad: dict, message: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_record(bad, "f:3").texts()  # the texts are what pairs need beyond the record
    assert caught.value.where == "f:3" and message in caught.value.message


def rajudge(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "rajudge", *args]
    return subprocess.run(command, input=stdin, capture_output=True, text=True, timeout=120)


def test_the_command_reads_stdin_writes_jsonl_and_reports_each_bad_line() -> None:
    lines = [
        json.dumps(ONE),
        "",
        "not json",
        json.dumps(OLD),
        json.dumps(record("b", {"a": 1.0, "b": 4.0})),
    ]
    done = rajudge("pairs", "-", stdin="\n".join(lines) + "\n")
    assert done.returncode == 1
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(r["id"], r["chosen_name"], r["rejected_name"]) for r in rows] == [
        ("one", "a", "c"),
        ("b", "b", "a"),
    ]
    errors = done.stderr.splitlines()
    assert errors[0].startswith("error: <stdin>:3: invalid JSON")
    assert errors[1].startswith("error: <stdin>:4: the record has no 'prompt'")
    assert errors[2] == "wrote 2 pair(s) from 2 item(s); 2 record(s) failed"
    assert "Traceback" not in done.stderr


def test_score_output_becomes_pairs(demo_model: Path, tmp_path: Path) -> None:
    """The real chain: `score` on the demo model, its JSONL read by `pairs` from a file."""
    judged = tmp_path / "judged.jsonl"
    item = {"id": "sum", "prompt": "2 + 2?", "responses": {"right": "4", "wrong": "22"}}
    (tmp_path / "in.jsonl").write_text(json.dumps(item) + "\n")
    flags = ["--threads", "1", "--ctx", "2048", "--rationale-tokens", "0", "--no-cache"]
    scored = rajudge(
        "score", str(tmp_path / "in.jsonl"), "-p", "correct-math", *flags, "-o", str(judged)
    )
    assert scored.returncode == 0, scored.stderr
    (written,) = [json.loads(line) for line in judged.read_text().splitlines()]
    scores = {n: r["expected"] for n, r in written["judgments"][0]["responses"].items()}
    done = rajudge("pairs", str(judged), "--min-margin", "0.0001")
    assert done.returncode == 0, done.stderr
    (row,) = [json.loads(line) for line in done.stdout.splitlines()]
    best, worst = sorted(scores, key=lambda name: -scores[name])
    assert (row["chosen"], row["rejected"]) == (item["responses"][best], item["responses"][worst])
    assert row["prompt"] == "2 + 2?" and row["id"] == "sum"
    assert row["margin"] == pytest.approx(scores[best] - scores[worst], abs=1e-4)


CONVERSATIONS = [
    # (the candidates line's conversation, the prompt messages a conversational row gets)
    (
        {"prompt": "Capital of France?"},
        [{"role": "user", "content": "Capital of France?"}],
    ),
    (
        {"prompt": [{"role": "user", "content": "user: is this a role?"}]},
        [{"role": "user", "content": "user: is this a role?"}],
    ),
    (
        {
            "prompt": [
                {"role": "system", "content": "Answer in one word.\n\nNo punctuation."},
                {"role": "user", "content": "Capital of France?"},
                {"role": "assistant", "content": "Paris"},
                {"role": "user", "content": "And of Italy?\n\nassistant? no."},
            ]
        },
        [
            {"role": "system", "content": "Answer in one word.\n\nNo punctuation."},
            {"role": "user", "content": "Capital of France?"},
            {"role": "assistant", "content": "Paris"},
            {"role": "user", "content": "And of Italy?\n\nassistant? no."},
        ],
    ),
    (  # TRL's conversational pair: the shared history continues a text prompt
        {
            "prompt": "Capital of France?",
            "chosen": [
                {"role": "assistant", "content": "Paris"},
                {"role": "user", "content": "Sure?"},
                {"role": "assistant", "content": "Yes."},
            ],
            "rejected": [
                {"role": "assistant", "content": "Paris"},
                {"role": "user", "content": "Sure?"},
                {"role": "assistant", "content": "No."},
            ],
        },
        [
            {"role": "user", "content": "Capital of France?"},
            {"role": "assistant", "content": "Paris"},
            {"role": "user", "content": "Sure?"},
        ],
    ),
]


@pytest.mark.parametrize(("line", "messages"), CONVERSATIONS)
def test_the_messages_are_read_back_from_the_prompt_the_judge_saw(
    line: dict, messages: list[dict[str, str]]
) -> None:
    """The prompt text rajudge.read renders from the input gives back its messages."""
    responses = {} if "chosen" in line else {"responses": {"a": "x", "b": "y"}}
    (item,) = parse_lines([json.dumps({**line, **responses}).encode()], "f").items
    assert prompt_messages(item.prompt) == messages


def test_conversational_rows_take_trls_conversational_shape() -> None:
    (row,) = Pairing(conversational=True).rows(parse_record(ONE, "f:1"))
    assert row["prompt"] == [{"role": "user", "content": "Capital of France?"}]
    assert row["chosen"] == [{"role": "assistant", "content": "Paris."}]
    assert row["rejected"] == [{"role": "assistant", "content": "Lyon."}]
    assert row["margin"] == 3.0 and (row["chosen_name"], row["rejected_name"]) == ("a", "c")


def test_conversational_input_stays_a_conversation_through_score_and_pairs(
    demo_model: Path, tmp_path: Path
) -> None:
    """The real chain: a TRL conversational pair judged on the demo model, then `pairs
    --conversational`: the prompt's turns and the two assistant replies come back as messages,
    and without the flag the prompt is the text the judge saw."""
    system = {"role": "system", "content": "Answer with a number."}
    user = {"role": "user", "content": "2 + 2?"}
    line = {
        "id": "sum",
        "chosen": [system, user, {"role": "assistant", "content": "4"}],
        "rejected": [system, user, {"role": "assistant", "content": "22"}],
    }
    (tmp_path / "in.jsonl").write_text(json.dumps(line) + "\n")
    judged = tmp_path / "judged.jsonl"
    flags = ["--threads", "1", "--ctx", "2048", "--rationale-tokens", "0", "--no-cache"]
    scored = rajudge(
        "score", str(tmp_path / "in.jsonl"), "-p", "correct-math", *flags, "-o", str(judged)
    )
    assert scored.returncode == 0, scored.stderr
    done = rajudge("pairs", str(judged), "--min-margin", "0.0001", "--conversational")
    assert done.returncode == 0, done.stderr
    (row,) = [json.loads(line) for line in done.stdout.splitlines()]
    assert row["prompt"] == [system, user]
    replies = {row["chosen"][0]["content"], row["rejected"][0]["content"]}
    assert replies == {"4", "22"}
    assert [m["role"] for m in row["chosen"] + row["rejected"]] == ["assistant", "assistant"]
    plain = rajudge("pairs", str(judged), "--min-margin", "0.0001")
    (text_row,) = [json.loads(line) for line in plain.stdout.splitlines()]
    assert text_row["prompt"] == "system: Answer with a number.\n\nuser: 2 + 2?"
    assert isinstance(text_row["chosen"], str)
