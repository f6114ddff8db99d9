"""`--resume`: record keys, matching earlier records, torn lines, and kill -9 at random points."""

from __future__ import annotations

import dataclasses
import json
import random
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_process import own_folders, run_rajudge
from judged_records import record as score_record

from rajudge.errors import UsageError
from rajudge.output.files import Earlier, read_earlier, reopen_jsonl
from rajudge.records import Item, Principle
from rajudge.run.cache import Fingerprint
from rajudge.run.schedule import result_key, resume
from rajudge.settings import EngineSettings

CONCISE = Principle(name="concise", text="Prefer the shortest response that fully answers.")
POLITE = Principle(name="polite", text="Prefer the most courteous response.", weight=2.0)
FINGERPRINT = Fingerprint.of("model.gguf|1|2", EngineSettings())
FAST = ["--ctx", "2048", "--rationale-tokens", "4", "--threads", "1"]
FAKE_RUN = Path(__file__).with_name("fake_backend.py")
ROWS = [
    {"id": f"q{n}", "prompt": f"What is {n} + {n}?", "responses": {"a": str(2 * n), "b": str(n)}}
    for n in range(8)
]


def items(count: int = 3) -> list[Item]:
    return [
        Item(id=f"i{n}", prompt=f"Say {n}.", responses={"a": str(n), "b": "no"})
        for n in range(count)
    ]


def record(item: Item, principles: tuple[Principle, ...] = (CONCISE,), **change: Any) -> dict:
    fingerprint = dataclasses.replace(FINGERPRINT, **change)
    return {"schema": 1, "id": item.id, "key": result_key(item, principles, fingerprint)}


# --- keys and matching ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"item": {"id": "other"}},
        {"item": {"prompt": "Say nothing."}},
        {"item": {"responses": {"a": "0", "b": "yes"}}},
        {"item": {"responses": {"b": "no", "a": "0"}}},  # the record lists responses in order
        {"principles": (dataclasses.replace(CONCISE, text="Be long."),)},
        {"principles": (dataclasses.replace(CONCISE, weight=2.0),)},
        {"principles": (CONCISE, POLITE)},
        {"fingerprint": {"model": "other.gguf|1|2"}},
        {"fingerprint": {"protocol": FINGERPRINT.protocol + 1}},
        {"fingerprint": {"mode": "reasoning"}},
        {"fingerprint": {"seed": 3}},
        {"fingerprint": {"temperature": 0.3}},
        {"fingerprint": {"reasoning_budget": 10}},
        {"fingerprint": {"rationale_tokens": 0}},
    ],
    ids=lambda change: "-".join(
        f"{k}.{'.'.join(v) if isinstance(v, dict) else len(v)}" for k, v in change.items()
    ),
)
def test_every_setting_that_changes_a_verdict_changes_the_record_key(change: dict) -> None:
    item = items(1)[0]
    changed_item = dataclasses.replace(item, **change.get("item", {}))
    principles = change.get("principles", (CONCISE,))
    fingerprint = dataclasses.replace(FINGERPRINT, **change.get("fingerprint", {}))
    assert result_key(changed_item, principles, fingerprint) != result_key(
        item, (CONCISE,), FINGERPRINT
    )
    assert len(result_key(item, (CONCISE,), FINGERPRINT)) == 16


def test_resume_keeps_matching_records_and_judges_the_rest_in_input_order() -> None:
    first, second, third = items(3)
    earlier = [
        record(third),
        {"schema": 1, "id": "i1"},  # written before records had keys
        record(first, seed=9),  # other settings
        record(first),
        record(Item(id="gone", prompt="?", responses={"a": "x"})),  # not in this input
    ]
    plan = resume([first, second, third], [CONCISE], earlier, FINGERPRINT)
    assert plan.todo == [second]
    assert plan.kept == [earlier[0], earlier[3]]
    assert plan.dropped == 3


def test_each_record_stands_for_one_item_only() -> None:
    twin = items(1)[0]
    plan = resume([twin, twin, twin], [CONCISE], [record(twin), record(twin)], FINGERPRINT)
    assert (len(plan.kept), plan.todo, plan.dropped) == (2, [twin], 0)
    plan = resume([twin], [CONCISE], [record(twin), record(twin)], FINGERPRINT)
    assert (len(plan.kept), plan.todo, plan.dropped) == (1, [], 1)


def test_items_own_principles_are_part_of_the_match() -> None:
    own = dataclasses.replace(items(1)[0], principle=POLITE)
    assert resume([own], [], [record(own, (POLITE,))], FINGERPRINT).todo == []
    assert resume([own], [], [record(own, (CONCISE,))], FINGERPRINT).todo == [own]
    orphan = items(1)[0]  # no principle at all: judged again, to be reported again
    assert resume([orphan], [], [], FINGERPRINT).todo == [orphan]


# --- reading what an earlier run left -----------------------------------------------------------


def lines(*records: dict) -> bytes:
    return b"".join(json.dumps(r, separators=(",", ":")).encode() + b"\n" for r in records)


A, B = (
    {**score_record(name, {"a": 4.0, "b": 2.0}), "key": key}
    for name, key in (("a", "k1"), ("b", "k2"))
)


@pytest.mark.parametrize(
    "tail",
    [
        b'{"schema":1,"id":"c","ranking":["x"',  # cut mid-write
        b'{"schema":1,"id":"c","key":"k3"}',  # whole, but its newline never made it
        b"\x00" * 40 + b"\n",  # zero-filled by the file system after a crash
        b'{"schema":1,"id":"c",\n',  # invalid JSON, newline and all
    ],
)
def test_a_torn_last_line_is_left_out(tmp_path: Path, tail: bytes) -> None:
    path = tmp_path / "out.jsonl"
    path.write_bytes(lines(A, B) + tail)
    assert read_earlier(path, "jsonl") == Earlier(records=[A, B], torn=True)


def test_a_lone_torn_line_is_recognised_by_how_records_begin(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    path.write_bytes(b'{"schema":1,"id":"a","rank')
    assert read_earlier(path, "jsonl") == Earlier(records=[], torn=True)


@pytest.mark.parametrize(
    ("content", "where"),
    [
        (lines(A) + b"{oops\n" + lines(B), "out.jsonl:2"),  # damage that no crash makes
        (b'{"name": "my notes"}\n', "out.jsonl:1"),  # some other program's JSON
        (b"remember the milk", "out.jsonl:1"),  # not even JSON, no newline
        (lines(A) + b'{"name": "mine"}\n', "out.jsonl:2"),
    ],
)
def test_a_file_rajudge_did_not_write_is_never_resumed_into(
    tmp_path: Path, content: bytes, where: str
) -> None:
    path = tmp_path / "out.jsonl"
    path.write_bytes(content)
    with pytest.raises(UsageError, match=re.escape(where) + ": .*drop --resume to overwrite"):
        read_earlier(path, "jsonl")
    assert path.read_bytes() == content


def test_json_output_is_read_as_one_array(tmp_path: Path) -> None:
    path = tmp_path / "out.json"
    assert read_earlier(path, "json") == Earlier(records=[])  # nothing yet: start afresh
    path.write_text(json.dumps([A, B], indent=2))
    assert read_earlier(path, "json") == Earlier(records=[A, B])
    path.write_text('[{"schema": 1, "id": "a"}')
    with pytest.raises(UsageError, match=r"out\.json: "):
        read_earlier(path, "json")


def test_resumed_jsonl_is_appended_to_in_place_unless_something_must_go(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    path.write_bytes(lines(A, B))
    inode = path.stat().st_ino
    with reopen_jsonl(path, Earlier(records=[A, B]), [A, B]) as stream:
        stream.write(b"next\n")
    assert path.stat().st_ino == inode
    assert path.read_bytes() == lines(A, B) + b"next\n"

    path.write_bytes(lines(A, B) + b'{"schema":1,"id":"c"')
    with reopen_jsonl(path, Earlier(records=[A, B], torn=True), [B]) as stream:
        stream.write(b"next\n")
    assert path.read_bytes() == lines(B) + b"next\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]  # no temporary file left


# --- the command ------------------------------------------------------------------------------


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_rajudge("score", *args, cwd=cwd, env=own_folders(cwd), timeout=600)


def read_records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def without_timings(records: list[dict]) -> list[dict]:
    stripped = json.loads(json.dumps(records))
    for r in stripped:
        for judgment in r["judgments"]:
            del judgment["timings"]
    return stripped


@pytest.fixture(scope="module")
def judged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, list[dict]]]:
    """The eight items judged in one uninterrupted run, without the cache."""
    folder = tmp_path_factory.mktemp("uninterrupted")
    (folder / "in.jsonl").write_text("".join(json.dumps(row) + "\n" for row in ROWS))
    done = run(folder, "in.jsonl", "-p", "concise", "-o", "out.jsonl", "--no-cache", *FAST)
    assert done.returncode == 0, done.stderr
    yield folder / "in.jsonl", read_records(folder / "out.jsonl")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--resume"], "--resume needs -o/--output"),
        (["--resume", "-o", "out.txt", "-f", "table"], "--resume continues JSONL or JSON output"),
        (["--resume", "-o", "notes.jsonl"], "notes.jsonl:1: not a record of rajudge score"),
        (["-o", "missing/out.jsonl"], "missing/out.jsonl: cannot write"),
    ],
)
def test_output_file_mistakes_are_usage_errors(
    tmp_path: Path, args: list[str], message: str
) -> None:
    (tmp_path / "in.jsonl").write_text(json.dumps(ROWS[0]) + "\n")
    (tmp_path / "notes.jsonl").write_text('{"note": "keep me"}\n')
    done = run(tmp_path, "in.jsonl", "-p", "concise", *args)
    assert done.returncode == 2
    assert message in " ".join(done.stderr.split())
    assert "Traceback" not in done.stderr
    assert (tmp_path / "notes.jsonl").read_text() == '{"note": "keep me"}\n'


def fake_run(source: Path, out: Path, *flags: str) -> list[str]:
    """The same scoring path as `rajudge score -o` (rajudge.run.core), on the fake backend."""
    return [sys.executable, str(FAKE_RUN), str(source), str(out), *flags]


def test_kill_9_at_random_points_then_resume_gives_every_item_once(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(row) + "\n" for row in ROWS))
    subprocess.run(fake_run(source, tmp_path / "whole.jsonl"), check=True, timeout=120)
    expected = read_records(tmp_path / "whole.jsonl")
    out = tmp_path / "out.jsonl"
    rng = random.Random(20240605)
    # A kill after a random delay lands anywhere (often while Python starts); a kill a random
    # moment after the file has grown lands mid-run, between or during items.
    plan = [
        ("delay", rng.uniform(0.2, 1.5)),
        ("grown", 1),
        ("delay", rng.uniform(0.2, 1.5)),
        ("grown", 2),
    ]
    mid_run = 0
    for attempt, (how, amount) in enumerate(plan):
        before = complete_lines(out)
        process = subprocess.Popen(fake_run(source, out, *(["--resume"] if attempt else [])))
        if how == "delay":
            time.sleep(amount)
        else:
            wait_for_lines(out, min(before + amount, len(ROWS) - 1), process)
            time.sleep(rng.uniform(0.0, 0.1))
        running = process.poll() is None
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
        after = complete_lines(out)
        assert after >= before  # what was written stays written
        if running and before < after < len(ROWS):
            mid_run += 1

    assert mid_run >= 1, "no kill landed between the first and the last item"
    subprocess.run(fake_run(source, out, "--resume"), check=True, timeout=120)
    assert read_records(out) == expected


def test_a_torn_last_line_from_a_crash_is_redone(
    tmp_path: Path, judged: tuple[Path, list[dict]]
) -> None:
    source, expected = judged
    out = tmp_path / "out.jsonl"
    whole = "".join(json.dumps(r) + "\n" for r in expected).encode()
    out.write_bytes(whole[: -len(json.dumps(expected[-1])) // 2])
    done = run(tmp_path, str(source), "-p", "concise", "-o", "out.jsonl", "--resume", *FAST)
    assert done.returncode == 0, done.stderr
    message = " ".join(done.stderr.split())
    assert "7 item(s) already there, 1 to judge; a torn last line removed" in message
    assert without_timings(read_records(out)) == without_timings(expected)


def test_records_of_other_settings_or_other_items_are_redone_or_removed(
    tmp_path: Path, judged: tuple[Path, list[dict]]
) -> None:
    _, expected = judged
    out = tmp_path / "out.jsonl"
    out.write_text("".join(json.dumps(r) + "\n" for r in expected))
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(row) + "\n" for row in ROWS[:2]))

    same = run(tmp_path, "in.jsonl", "-p", "concise", "-o", "out.jsonl", "--resume", *FAST)
    assert same.returncode == 0, same.stderr
    message = " ".join(same.stderr.split())
    assert "resuming out.jsonl: 2 item(s) already there, 0 to judge; 6 record(s)" in message
    assert read_records(out) == expected[:2]

    other = run(
        tmp_path, "in.jsonl", "-p", "concise", "-o", "out.jsonl", "--resume", "--seed", "1", *FAST
    )
    assert other.returncode == 0, other.stderr
    assert "0 item(s) already there, 2 to judge; 2 record(s)" in " ".join(other.stderr.split())
    redone = read_records(out)
    assert [r["id"] for r in redone] == ["q0", "q1"]
    assert {r["key"] for r in redone}.isdisjoint(r["key"] for r in expected)


def complete_lines(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


def wait_for_lines(path: Path, count: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while complete_lines(path) < count and process.poll() is None:
        assert time.monotonic() < deadline, f"{path} never reached {count} lines"
        time.sleep(0.02)
