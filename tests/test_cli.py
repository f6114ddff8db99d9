"""The installed `rajudge` command, end to end, in subprocesses, on the real demo model."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_process import run_rajudge

FAST = ["--ctx", "2048", "--rationale-tokens", "8"]
RAJUDGE = Path(sys.executable).with_name("rajudge")

Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def run(tmp_path: Path) -> Run:
    """Run `python -m rajudge ARGS` in tmp_path with isolated user directories."""
    base = {
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "COLUMNS": "100",
    }

    def invoke(
        *args: str, stdin: str | None = None, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return run_rajudge(*args, cwd=tmp_path, stdin=stdin, env={**base, **(env or {})})

    return invoke


def jsonl(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


def write_lines(path: Path, rows: list[dict | str]) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


GROUPED = [
    {"id": "q1", "prompt": "Name a primary colour.", "responses": {"a": "Red.", "b": "Purple."}},
    {"id": "q2", "prompt": "2 + 2?", "responses": ["4", "Four, because 2 + 2 = 4.", "5"]},
]


def test_installed_entry_point_in_a_shell_pipeline(tmp_path: Path) -> None:
    source = write_lines(tmp_path / "in.jsonl", GROUPED)
    command = f"cat {source} | {RAJUDGE} score - -p concise {' '.join(FAST)} | cat"
    done = subprocess.run(
        command, shell=True, capture_output=True, text=True, cwd=tmp_path, timeout=300
    )
    assert done.returncode == 0, done.stderr
    records = jsonl(done.stdout)
    assert [r["id"] for r in records] == ["q1", "q2"]
    assert sorted(records[1]["ranking"]) == ["response-1", "response-2", "response-3"]
    assert "demo model" in done.stderr  # the demo-grade notice goes to stderr, not the data


def test_output_schema(run: Run, tmp_path: Path) -> None:
    write_lines(tmp_path / "in.jsonl", GROUPED[:1])
    done = run("score", "in.jsonl", "-p", "concise", "-o", "out.jsonl", *FAST)
    assert done.returncode == 0, done.stderr
    (record,) = jsonl((tmp_path / "out.jsonl").read_text())
    assert set(record) == {
        "schema",
        "id",
        "ranking",
        "composite",
        "judgments",
        "model",
        "mode",
        "key",
        "prompt",
        "responses",
    }
    assert record["composite"] is None and record["mode"] == "fast"
    (judgment,) = record["judgments"]
    assert judgment["principle"]["name"] == "concise"
    assert sorted(judgment["ranking"]) == ["a", "b"] == list(judgment["responses"])
    for scored in judgment["responses"].values():
        assert scored["score"] in range(1, 6) and len(scored["distribution"]) == 5
    assert set(judgment["timings"]) == {
        "prompt_tokens",
        "reused_tokens",
        "generated_tokens",
        "seconds",
        "cached",
    }


def test_every_input_shape(run: Run, tmp_path: Path) -> None:
    rows = [
        {"id": "g", "prompt": "Hi?", "responses": {"x": "Hello.", "y": "Go away."}},
        {"prompt_id": "f", "prompt": "Capital of Spain?", "response": "Madrid.", "model": "m1"},
        {
            "id": "p",
            "prompt": [{"role": "user", "content": "Say yes."}],
            "chosen": "Yes.",
            "rejected": "No.",
        },
        {"prompt_id": "f", "prompt": "Capital of Spain?", "response": "Paris.", "model": "m2"},
    ]
    write_lines(tmp_path / "in.jsonl", rows)
    done = run("score", "in.jsonl", "-p", "helpful", *FAST)
    assert done.returncode == 0, done.stderr
    records = jsonl(done.stdout)
    assert [r["id"] for r in records] == ["g", "f", "p"]
    assert [sorted(r["judgments"][0]["responses"]) for r in records] == [
        ["x", "y"],
        ["m1", "m2"],
        ["chosen", "rejected"],
    ]


def test_item_principles_and_weighted_principle_sets(run: Run, tmp_path: Path) -> None:
    (tmp_path / "set.yaml").write_text(
        "principles:\n"
        "  - use: concise\n    weight: 3\n"
        "  - name: polite\n    text: Prefer the most courteous response.\n    weight: 1\n"
    )
    write_lines(tmp_path / "in.jsonl", GROUPED[:1])
    done = run("score", "in.jsonl", "-p", "set.yaml", *FAST)
    assert done.returncode == 0, done.stderr
    (record,) = jsonl(done.stdout)
    concise, polite = record["judgments"]
    assert (concise["principle"]["weight"], polite["principle"]["weight"]) == (3, 1)
    for name, composite in record["composite"].items():
        expected = (
            3 * concise["responses"][name]["expected"] + polite["responses"][name]["expected"]
        ) / 4
        assert composite == pytest.approx(expected, abs=1e-3)
    assert record["ranking"] == sorted(record["composite"], key=lambda n: -record["composite"][n])

    own = [{**GROUPED[0], "principle": "Prefer responses that name a real primary colour."}]
    write_lines(tmp_path / "own.jsonl", own)
    done = run("score", "own.jsonl", *FAST)
    assert done.returncode == 0, done.stderr
    assert jsonl(done.stdout)[0]["judgments"][0]["principle"]["source"] == "item"


def test_bad_lines_and_overlong_items_are_reported_and_the_rest_judged(
    run: Run, tmp_path: Path
) -> None:
    rows = [
        GROUPED[0],
        "{not json",
        {"id": "huge", "prompt": "Summarise.", "responses": {"a": "word " * 3000, "b": "ok"}},
        GROUPED[1],
    ]
    write_lines(tmp_path / "in.jsonl", rows)
    done = run("score", "in.jsonl", "-p", "concise", *FAST)
    assert done.returncode == 1
    assert [r["id"] for r in jsonl(done.stdout)] == ["q1", "q2"]
    assert "in.jsonl:2: invalid JSON" in done.stderr
    assert "in.jsonl:3: needs " in done.stderr and "context holds 2048" in done.stderr
    assert "Traceback" not in done.stderr


def test_same_input_same_output(run: Run, tmp_path: Path) -> None:
    write_lines(tmp_path / "in.jsonl", GROUPED)
    first = run("score", "in.jsonl", "-p", "concise", *FAST)
    second = run(
        "score",
        "in.jsonl",
        "-p",
        "concise",
        "--no-cache",
        "--threads",
        "1",
        "--ctx",
        "2048",
        "--rationale-tokens",
        "8",
    )

    def strip(text: str) -> list[dict]:
        records = jsonl(text)
        for r in records:
            for j in r["judgments"]:
                j.pop("timings")
        return records

    assert strip(first.stdout) == strip(second.stdout)


def test_inline_prompt_renders_a_table(run: Run) -> None:
    done = run(
        "score",
        "--prompt",
        "How do I learn Python?",
        "-r",
        "Read the tutorial.",
        "-r",
        "Code daily, build projects.",
        "-p",
        "concise",
        "--format",
        "table",
        *FAST,
    )
    assert done.returncode == 0, done.stderr
    assert "response-1" in done.stdout and "response-2" in done.stdout
    assert "rank" in done.stdout


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["score", "in.jsonl", "-p", "consise"], 2, "did you mean 'concise'"),
        (["score", "in.jsonl", "-p", "nope.yaml"], 2, "no such principle file"),
        (["score", "missing.jsonl", "-p", "concise"], 2, "missing.jsonl"),
        (["score", "in.jsonl", "-p", "concise", "-m", "absent.gguf"], 3, "absent.gguf"),
        (["score", "in.jsonl", "-p", "concise", "-m", "in.jsonl"], 3, "not a GGUF"),
        (
            ["score", "in.jsonl", "-p", "concise", "--mode", "slow"],
            2,
            "mode must be fast or reasoning",
        ),
        (["score", "--prompt", "hi", "-p", "concise"], 2, "-r/--response"),
        (  # a disk that fills up while results are written
            ["score", "in.jsonl", "-p", "concise", "-o", "/dev/full", *FAST],
            2,
            "error: /dev/full: cannot write: No space left on device",
        ),
    ],
)
def test_user_mistakes_end_in_one_line_and_an_exit_code(
    run: Run, tmp_path: Path, args: list[str], code: int, message: str
) -> None:
    write_lines(tmp_path / "in.jsonl", GROUPED[:1])
    done = run(*args)
    assert done.returncode == code, done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["score", "in.jsonl", "-f", "csv"], "unknown output format 'csv'; choose one of table,"),
        (["score", "in.jsonl", "--parallel", "0"], "--parallel must be between 1 and 64, not 0"),
        (["eval", "in.jsonl", "--parallel", "65"], "--parallel must be between 1 and 64, not 65"),
        (["serve", "--parallel", "0"], "--parallel must be between 1 and 64, not 0"),
    ],
)
def test_bad_flags_are_refused_before_the_model_is_looked_for(
    run: Run, tmp_path: Path, args: list[str], message: str
) -> None:
    write_lines(tmp_path / "in.jsonl", GROUPED[:1])
    done = run(*args, "-m", "absent.gguf")  # a missing model would be exit 3
    assert done.returncode == 2
    assert done.stderr.startswith(f"error: {message}")
    assert done.stderr.count("\n") == 1


def test_principles_and_models_commands(run: Run) -> None:
    listed = run("principles", "list")
    assert listed.returncode == 0 and "concise" in listed.stdout
    shown = run("principles", "show", "concise")
    assert shown.returncode == 0 and "concise" in shown.stdout
    models = run("models")
    assert models.returncode == 0, models.stderr
    for fact in ("SmolLM2", "llama", "Q4_1", "135M", "8192", "chatml", "GPU offload"):
        assert fact in models.stdout


def test_text_from_users_and_files_prints_as_it_is_in_tables_as_wide_as_they_need(
    run: Run, tmp_path: Path
) -> None:
    """Rich would read `[b]` as markup and `:x:` as an emoji, and fold a piped table at 80."""
    odd = "[b]odd:x:name.gguf"
    done = run("models", odd, env={"COLUMNS": "80"})
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert any(f"{odd} does not exist" in line for line in lines), done.stdout
    (demo,) = [line for line in lines if line.startswith("demo ")]
    assert "SmolLM2-135M-Instruct.Q4_1.gguf" in demo and demo.rstrip().endswith("built-in")
    assert max(len(line.rstrip()) for line in lines) > 80


def test_permutations_average_orders_from_the_flag_and_are_bounded_in_the_config(
    run: Run, tmp_path: Path
) -> None:
    write_lines(tmp_path / "in.jsonl", GROUPED)
    done = run("score", "in.jsonl", "-p", "concise", "--permutations", "3", "-f", "jsonl", *FAST)
    assert done.returncode == 0, done.stderr
    pair, three = (record["judgments"][0] for record in jsonl(done.stdout))
    assert pair["consistency"] in (0.0, 0.5, 1.0)  # a pair has two orders, whatever K asks
    assert three["consistency"] in (0.0, 0.3333, 0.6667, 1.0)  # three responses, three orders
    once = run("score", "in.jsonl", "-p", "concise", "-f", "jsonl", *FAST)
    assert "consistency" not in jsonl(once.stdout)[0]["judgments"][0]

    config = tmp_path / "config" / "rajudge" / "config.yaml"
    config.parent.mkdir(parents=True)
    config.write_text("permutations: 0\n")
    refused = run("score", "in.jsonl", "-p", "concise", *FAST)
    assert refused.returncode == 2
    assert "config.yaml: permutations: expected an integer >= 1, got 0" in refused.stderr


def binary_file(path: Path, size: int = 3 << 20) -> Path:
    """A file that is not JSON Lines at all: seeded random bytes, about 12,000 "lines"."""
    path.write_bytes(random.Random(7).randbytes(size))
    return path


@pytest.mark.parametrize(
    ("args", "status", "last"),
    [
        (["score", "-p", "concise", *FAST], 1, None),
        (["pairs"], 1, None),
        (["report"], 2, "error: blob.bin: no record of rajudge score to report on"),
    ],
    ids=["score", "pairs", "report"],
)
def test_a_file_that_is_not_jsonl_gives_ten_errors_and_a_count(
    run: Run, tmp_path: Path, args: list[str], status: int, last: str | None
) -> None:
    blob = binary_file(tmp_path / "blob.bin")
    lines = blob.read_bytes().removesuffix(b"\n").split(b"\n")  # as a file is iterated
    done = run(args[0], "blob.bin", *args[1:])
    assert done.returncode == status, done.stderr[-2000:]
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert [e.split(":")[1:3] for e in errors[:10]] == [[" blob.bin", str(n)] for n in range(1, 11)]
    more = errors[10]
    bad = sum(1 for line in lines if line.strip())  # every line not blank is an error
    last_bad = max(n for n, line in enumerate(lines, start=1) if line.strip())
    assert more == f"error: {bad - 10} more error(s) not shown (blob.bin:11 to blob.bin:{last_bad})"
    assert errors[11:] == ([last] if last else [])
    assert len(done.stderr.splitlines()) < 20


def test_up_to_ten_errors_are_all_shown_without_a_count(run: Run, tmp_path: Path) -> None:
    write_lines(tmp_path / "bad.jsonl", [f"not json {n}" for n in range(10)])
    done = run("pairs", "bad.jsonl")
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 10 and "not shown" not in done.stderr


def test_each_command_run_in_one_process_counts_its_own_errors(tmp_path: Path) -> None:
    """The count belongs to one command: a second run in the same process (as tests and
    notebooks make) shows its own first ten again."""
    from typer.testing import CliRunner

    from rajudge.cli import app

    blob = str(binary_file(tmp_path / "blob.bin", 20_000))
    for _ in range(2):
        done = CliRunner().invoke(app, ["pairs", blob])
        assert done.exit_code == 1
        errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 11 and "more error(s) not shown" in errors[-1]
