"""Prefix states on disk: a restored state judges exactly as a cold start, on the demo model.

A file that is damaged, truncated or made for another engine is never used; two processes
writing one state leave a whole file; the folder keeps its cap, least recently used first;
--no-cache reads and writes none; `rajudge cache` shows and clears what is kept; a fresh Judge
restores instead of computing. No test here asserts a timing.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from cli_process import run_rajudge

from rajudge import Judge
from rajudge.config import load_config
from rajudge.engine.base import Job
from rajudge.engine.llama import LlamaBackend
from rajudge.engine.load import open_backend
from rajudge.engine.prefix_state import PrefixStates
from rajudge.errors import InputError, UsageError
from rajudge.records import Item, Judgment, Principle
from rajudge.run.cache import cache_dir
from rajudge.settings import EngineSettings

SETTINGS = EngineSettings(ctx=2048, rationale_tokens=4)
CORRECT = Principle(name="correct", text="Prefer responses that are factually correct.")
ITEMS = [
    Item(id="sum", prompt="What is 2 + 2?", responses={"right": "4", "wrong": "5"}),
    Item(id="capital", prompt="Capital of France?", responses={"a": "Lyon.", "b": "Paris."}),
]
JOBS = [Job(item, CORRECT) for item in ITEMS]
PROMPT_ARGS = ["--prompt", "What is 2 + 2?", "-r", "4", "-r", "5", "-p", CORRECT.text]
RunCli = Callable[..., subprocess.CompletedProcess[str]]
CLI_ARGS = ["score", *PROMPT_ARGS, "-f", "jsonl", "--ctx", "2048", "--rationale-tokens", "4"]


def judged(
    model: Path, store: PrefixStates | None, settings: EngineSettings = SETTINGS
) -> list[Judgment]:
    """JOBS judged by a backend of its own (a fresh context, as in a new process)."""
    engine = LlamaBackend(model, settings, states=store)
    try:
        outcomes = engine.judge_jobs(JOBS)
    finally:
        engine.close()
    assert not any(isinstance(o, InputError) for o in outcomes)
    return [o for o in outcomes if isinstance(o, Judgment)]


def verdicts(judgments: Sequence[Judgment]) -> list[Judgment]:
    return [dataclasses.replace(j, timings=None) for j in judgments]  # type: ignore[arg-type]


def state_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.state"))


@pytest.fixture
def store(tmp_path: Path) -> PrefixStates:
    return PrefixStates(tmp_path / "states", 1 << 30)


@pytest.fixture(scope="module")
def cold_run(
    demo_model: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, list[Judgment]]:
    """JOBS judged once from nothing: the states it saved, and its verdicts."""
    store = PrefixStates(tmp_path_factory.mktemp("cold") / "states", 1 << 30)
    cold = judged(demo_model, store)
    assert (store.saved, store.loaded) == (2, 0)  # template + instructions, then the principle
    assert cold[0].timings.reused_tokens == 0
    return store.folder, cold


@pytest.fixture
def saved(cold_run: tuple[Path, list[Judgment]], store: PrefixStates) -> list[Judgment]:
    """`store` holding the cold run's states (a copy of its own); the cold run's verdicts."""
    shutil.copytree(cold_run[0], store.folder)
    return cold_run[1]


def test_a_restored_state_judges_exactly_as_a_cold_start(
    demo_model: Path, store: PrefixStates, saved: list[Judgment]
) -> None:
    cold = saved
    again = PrefixStates(store.folder, store.cap)  # another process's view of the folder
    warm = judged(demo_model, again)
    assert (again.saved, again.loaded) == (0, 1)  # the longest prefix, restored once
    assert verdicts(warm) == verdicts(cold)  # distributions bit for bit
    assert warm[0].timings.reused_tokens > 250  # the template, instructions and principle
    assert verdicts(judged(demo_model, None)) == verdicts(cold)  # and without any store


def test_a_new_principle_restores_the_instructions_and_computes_only_itself(
    demo_model: Path, store: PrefixStates
) -> None:
    alone = dataclasses.replace(SETTINGS, parallel=1)  # both in the trunk: one stream count
    judged(demo_model, store, alone)
    other = Principle(name="short", text="Prefer the shortest response.")
    engine = LlamaBackend(demo_model, alone, states=store)
    try:
        (outcome,) = engine.judge_jobs([Job(ITEMS[0], other)])
    finally:
        engine.close()
    assert isinstance(outcome, Judgment)
    assert (store.loaded, store.saved) == (1, 3)  # the instructions in, the new principle out
    assert 250 < outcome.timings.reused_tokens < outcome.timings.prompt_tokens - 20


def test_a_new_process_restores_the_state_and_scores_the_same(run_cli: RunCli) -> None:
    cold = run_cli(*CLI_ARGS, debug=True)
    assert cold.returncode == 0, cold.stderr
    assert cold.stderr.count("saved to") == 2 and "restored" not in cold.stderr
    assert run_cli("cache", "clear", "--results").returncode == 0  # else the cache answers
    warm = run_cli(*CLI_ARGS, debug=True)
    assert warm.returncode == 0, warm.stderr
    assert warm.stderr.count("restored from") == 1 and "saved to" not in warm.stderr
    assert scores(warm.stdout) == scores(cold.stdout)


@pytest.mark.parametrize("damage", ["truncated", "flipped", "empty", "foreign"])
def test_a_damaged_or_foreign_file_is_ignored_and_written_again(
    demo_model: Path,
    store: PrefixStates,
    saved: list[Judgment],
    damage: str,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cold = saved
    for path in state_files(store.folder):
        data = path.read_bytes()
        if damage == "truncated":
            path.write_bytes(data[: len(data) // 2])
        elif damage == "flipped":
            middle = len(data) // 2
            path.write_bytes(data[:middle] + bytes([data[middle] ^ 1]) + data[middle + 1 :])
        elif damage == "empty":
            path.write_bytes(b"")
        else:  # whole, but made under another engine key and copied over
            foreign = PrefixStates(store.folder.parent / "foreign", store.cap)
            foreign.save("another model", [1, 2, 3], data[-1000:])
            path.write_bytes(foreign.path("another model", [1, 2, 3]).read_bytes())
    capfd.readouterr()
    monkeypatch.setenv("RAJUDGE_DEBUG", "1")
    again = PrefixStates(store.folder, store.cap)
    assert verdicts(judged(demo_model, again)) == verdicts(cold)
    assert (again.loaded, again.saved) == (0, 2)  # both ignored, computed and written again
    assert capfd.readouterr().err.count("ignored:") == 2
    fresh = PrefixStates(store.folder, store.cap)
    assert verdicts(judged(demo_model, fresh)) == verdicts(cold)
    assert fresh.loaded == 1  # the rewritten file is whole


def test_a_file_names_its_engine_and_tokens(store: PrefixStates) -> None:
    store.save("engine A", [5, 6, 7], b"state")
    assert store.load("engine A", [5, 6, 7]) == b"state"
    store.path("engine B", [5, 6, 7]).write_bytes(store.path("engine A", [5, 6, 7]).read_bytes())
    assert store.load("engine B", [5, 6, 7]) is None  # copied under another key: refused
    store.path("engine A", [5, 6]).write_bytes(store.path("engine A", [5, 6, 7]).read_bytes())
    assert store.load("engine A", [5, 6]) is None  # made for other tokens


@pytest.mark.parametrize("change", [{"batch": 256}, {"parallel": 1}])
def test_other_context_settings_make_another_state(
    demo_model: Path, store: PrefixStates, saved: list[Judgment], change: dict[str, int]
) -> None:
    """Another n_batch may compute other numbers; llama.cpp refuses a state made with another
    number of KV streams (--parallel): each gets states of its own, never a refused one."""
    cold = saved
    other = PrefixStates(store.folder, store.cap)
    assert verdicts(judged(demo_model, other, dataclasses.replace(SETTINGS, **change))) == verdicts(
        cold
    )
    assert (other.loaded, other.saved) == (0, 2)
    assert len(state_files(store.folder)) == 4


_WRITER = """
import sys
from pathlib import Path
from rajudge.engine.prefix_state import PrefixStates
store = PrefixStates(Path(sys.argv[1]), 1 << 30)
for _ in range(40):
    store.save("engine", [1, 2, 3], sys.argv[2].encode() * int(sys.argv[3]))
"""


def test_two_processes_writing_one_state_leave_a_whole_file(store: PrefixStates) -> None:
    sizes = {"A": 3_000_000, "B": 2_000_000}
    writers = [
        subprocess.Popen([sys.executable, "-c", _WRITER, str(store.folder), letter, str(size)])
        for letter, size in sizes.items()
    ]
    seen = []
    while any(w.poll() is None for w in writers):
        seen.append(store.load("engine", [1, 2, 3]))
    assert all(w.returncode == 0 for w in writers)
    seen.append(store.load("engine", [1, 2, 3]))
    wholes = {letter.encode() * size for letter, size in sizes.items()}
    assert seen[-1] in wholes
    assert all(state is None or state in wholes for state in seen)
    assert [p.name for p in store.folder.iterdir()] == [store.path("engine", [1, 2, 3]).name]


def test_the_cap_removes_the_least_recently_used(store: PrefixStates) -> None:
    state = b"x" * 1000
    store.save("engine", [1], state)
    size = store.path("engine", [1]).stat().st_size
    capped = PrefixStates(store.folder, int(size * 3.5))
    for tokens in ([2], [3]):
        capped.save("engine", tokens, state)
    assert capped.load("engine", [1]) == state  # used: [2] is now the least recently used
    capped.save("engine", [4], state)
    kept = {p.name for p in state_files(store.folder)}
    assert kept == {capped.path("engine", [t]).name for t in (1, 3, 4)}
    assert capped.usage().bytes <= capped.cap
    PrefixStates(store.folder, size - 1).save("engine", [5], state)  # over the cap alone
    assert not capped.path("engine", [5]).exists()


def test_the_cap_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert PrefixStates.open().cap == 1024 << 20
    assert PrefixStates.open().folder == cache_dir() / "states"
    monkeypatch.setenv("RAJUDGE_STATE_CACHE_MB", "5")
    assert PrefixStates.open().cap == 5 << 20
    monkeypatch.setenv("RAJUDGE_STATE_CACHE_MB", "lots")
    with pytest.raises(UsageError, match="RAJUDGE_STATE_CACHE_MB"):
        PrefixStates.open()


def test_without_prefix_states_nothing_is_read_or_written(demo_model: Path) -> None:
    folder = cache_dir() / "states"
    opened = open_backend(
        str(demo_model), SETTINGS, load_config(), on_demo=lambda _: None, prefix_states=False
    )
    with opened.backend as engine:
        engine.judge_jobs(JOBS)
    assert not folder.exists()
    opened = open_backend(str(demo_model), SETTINGS, load_config(), on_demo=lambda _: None)
    with opened.backend as engine:
        engine.judge_jobs(JOBS)
    assert len(state_files(folder)) == 2


def test_no_cache_reads_and_writes_no_state(run_cli: RunCli) -> None:
    assert run_cli(*CLI_ARGS, "--no-cache").returncode == 0
    assert not (cache_dir() / "states").exists()


def test_cache_command_shows_and_clears(run_cli: RunCli) -> None:
    assert run_cli(*CLI_ARGS).returncode == 0
    shown = run_cli("cache")
    assert shown.returncode == 0, shown.stderr
    results, states = rows(shown.stdout)
    assert results[:2] == ["results", str(cache_dir() / "results.sqlite3")]
    assert int(results[2]) >= 1  # the SQLite file, and its journal while one is open
    assert results[-2:] == ["1", "judgment(s)"]
    assert states[:4] == ["prefix", "states", str(cache_dir() / "states"), "2"]
    cleared = run_cli("cache", "clear", "--states")
    assert "removed 2 prefix state(s)" in cleared.stdout
    assert not state_files(cache_dir() / "states")
    assert (cache_dir() / "results.sqlite3").exists()
    assert "removed the result cache" in run_cli("cache", "clear", "--results").stdout
    assert not (cache_dir() / "results.sqlite3").exists()
    assert run_cli(*CLI_ARGS).returncode == 0
    assert run_cli("cache", "clear").returncode == 0  # both
    results, states = rows(run_cli("cache", "show").stdout)
    assert results[2] == states[3] == "0"


def test_a_fresh_judge_restores_the_state(
    demo_model: Path, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAJUDGE_DEBUG", "1")
    outcomes, logs = [], []
    for _ in range(2):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the demo model's notice
            judge = Judge(str(demo_model), ctx=2048, rationale_tokens=0)
        with judge:
            outcomes.append(judge.judge(ITEMS[0].prompt, ITEMS[0].responses, CORRECT.text))
        logs.append(capfd.readouterr().err)
    assert logs[0].count("saved to") == 2 and "restored from" not in logs[0]
    assert logs[1].count("restored from") == 1 and "saved to" not in logs[1]
    assert outcomes[0].judgments[0].responses == outcomes[1].judgments[0].responses


@pytest.fixture
def run_cli(tmp_path: Path) -> RunCli:
    """`python -m rajudge ARGS` with this test's isolated folders (the autouse fixture's)."""

    def invoke(*args: str, debug: bool = False) -> subprocess.CompletedProcess[str]:
        return run_rajudge(*args, cwd=tmp_path, env={"RAJUDGE_DEBUG": "1"} if debug else None)

    return invoke


def scores(stdout: str) -> list[object]:
    records = [json.loads(line) for line in stdout.splitlines()]
    return [[j["responses"] for j in record["judgments"]] for record in records]


def rows(table: str) -> list[list[str]]:
    return [line.split() for line in table.splitlines()[1:]]
