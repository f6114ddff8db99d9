"""The Python API, `rajudge.Judge`, on the real demo model."""

from __future__ import annotations

import ast
import dataclasses
import shutil
import subprocess
import sys
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from rajudge import DemoModelWarning, Judge, result_record
from rajudge.engine.base import judge_one
from rajudge.engine.llama import LlamaBackend
from rajudge.errors import ContextOverflowError, InputError, PrincipleError, UsageError
from rajudge.records import Item, ItemResult, Principle

CORRECT = "Prefer the response that answers correctly."
PROMPT = "What is 2 + 2?"
RESPONSES = {"right": "4", "wrong": "5"}


@pytest.fixture(scope="module")
def judge(demo_model: Path) -> Iterator[Judge]:
    """The demo model loaded through the API by path: no rationale, to keep tests quick."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DemoModelWarning)
        loaded = Judge(demo_model, ctx=1024, rationale_tokens=0)
    with loaded:
        yield loaded


def scores(result: ItemResult) -> list[tuple]:
    """What the judge decided, without timings."""
    return [(j.principle.text, j.responses) for j in result.judgments]


def test_no_model_means_the_cli_default_with_a_warning_and_no_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("ctx: 640\nseed: 3\nparallel: 3\n")
    monkeypatch.setenv("RAJUDGE_CONFIG", str(config))
    with pytest.warns(DemoModelWarning, match="demo model"), Judge(seed=5) as loaded:
        assert loaded.model_name == "SmolLM2-135M-Instruct.Q4_1.gguf"
        assert (loaded.settings.ctx, loaded.settings.seed, loaded.settings.mode) == (640, 5, "fast")
        assert loaded.settings.parallel == 3  # from the config file
    assert capfd.readouterr() == ("", "")


def test_a_real_judge_path_gives_no_warning(demo_model: Path, tmp_path: Path) -> None:
    model = tmp_path / "judge.gguf"
    shutil.copyfile(demo_model, model)  # a link would resolve to the demo model itself
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with Judge(model, ctx=512) as loaded:
            assert loaded.model_name == "judge.gguf"


def test_settings_and_models_are_checked_before_anything_loads(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="unknown engine setting 'thread'"):
        Judge(thread=2)
    with pytest.raises(UsageError, match="mode must be fast or reasoning, not 'slow'"):
        Judge(mode="slow")
    (tmp_path / "notes.gguf").write_text("not a model")
    with pytest.raises(UsageError, match="--parallel must be between 1 and 64, not 65"):
        Judge(tmp_path / "notes.gguf", parallel=65)  # refused before the file is looked at
    with pytest.raises(Exception, match="not a GGUF file"):
        Judge(tmp_path / "notes.gguf")


def test_judge_one_prompt(judge: Judge) -> None:
    result = judge.judge(PROMPT, RESPONSES, CORRECT, item_id="q1")
    assert dataclasses.is_dataclass(result) and result.item.id == "q1"
    assert sorted(result.ranking) == ["right", "wrong"]
    (judgment,) = result.judgments
    assert judgment.principle.source == "inline"
    assert judgment.mode == "fast" and judgment.rationale == ""
    for score in judgment.responses:
        assert score.score in range(1, 6) and sum(score.distribution) == pytest.approx(1)
    record = result_record(result)
    assert record["ranking"] == list(result.ranking) and record["mode"] == "fast"
    assert record["id"] == "q1" and list(record["judgments"][0]["responses"]) == ["right", "wrong"]


def test_chat_prompts_lists_and_principle_objects_mean_the_same(judge: Judge) -> None:
    plain = judge.judge(PROMPT, RESPONSES, CORRECT)
    principle = Principle(name="correct", text=CORRECT)
    chat = judge.judge([{"role": "user", "content": PROMPT}], RESPONSES, principle)
    assert scores(chat) == scores(plain)
    listed = judge.judge(PROMPT, ["4", "5"], [principle])
    assert list(listed.item.responses) == ["response-1", "response-2"]
    assert listed.judgments[0].responses[0].rank == 1


def test_several_principles_make_a_weighted_composite(judge: Judge) -> None:
    heavy = Principle(name="heavy", text=CORRECT, weight=3)
    result = judge.judge(PROMPT, RESPONSES, ["concise", heavy])
    concise, correct = result.judgments
    assert concise.principle.source == "library" and correct.principle is heavy
    for name in RESPONSES:
        concise_score, correct_score = (
            next(r.expected for r in j.responses if r.name == name) for j in (concise, correct)
        )
        assert result.composite[name] == pytest.approx((concise_score + 3 * correct_score) / 4)


def test_judge_items_reports_failures_in_place(judge: Judge) -> None:
    own = Principle(name="item", text=CORRECT, source="item")
    items = [
        Item(id="ok", prompt=PROMPT, responses=RESPONSES, principle=own),
        Item(id="unprincipled", prompt=PROMPT, responses=RESPONSES),
        Item(id="huge", prompt=PROMPT, responses={"a": "four " * 2000, "b": "4"}, principle=own),
    ]
    ok, unprincipled, huge = judge.judge_items(items)
    assert isinstance(ok, ItemResult) and ok.item.id == "ok"
    assert isinstance(unprincipled, InputError) and "no principle" in str(unprincipled)
    assert isinstance(huge, ContextOverflowError) and huge.available == 1024
    (overridden,) = judge.judge_items(items[1:2], "concise")
    assert isinstance(overridden, ItemResult)
    assert overridden.judgments[0].principle.name == "concise"


def test_threads_share_one_judge(judge: Judge) -> None:
    expected = scores(judge.judge(PROMPT, RESPONSES, CORRECT))
    results: list[ItemResult] = []

    def work() -> None:
        results.append(judge.judge(PROMPT, RESPONSES, CORRECT))

    threads = [threading.Thread(target=work) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [scores(r) for r in results] == [expected] * 3


def test_bad_calls_raise_one_clear_error(judge: Judge) -> None:
    with pytest.raises(InputError, match="'responses' is empty"):
        judge.judge(PROMPT, {}, CORRECT)
    with pytest.raises(InputError, match="'prompt' is empty"):
        judge.judge("  ", RESPONSES, CORRECT)
    with pytest.raises(InputError, match="cannot be read as JSON data"):
        judge.judge(PROMPT, {"a": object()}, CORRECT)
    with pytest.raises(PrincipleError, match="did you mean 'concise'"):
        judge.judge(PROMPT, RESPONSES, "consise")
    with pytest.raises(UsageError, match="no principle given"):
        judge.judge(PROMPT, RESPONSES, [])


def test_a_given_backend_stays_the_callers(backend: LlamaBackend) -> None:
    with pytest.raises(TypeError, match="not both"):
        Judge("demo", backend=backend)
    wrapped = Judge(backend=backend)
    wrapped.close()
    with pytest.raises(UsageError, match="closed"):
        wrapped.judge(PROMPT, RESPONSES, CORRECT)
    still_open = Item(id="long", prompt=PROMPT, responses={"a": "four " * 5000, "b": "4"})
    with pytest.raises(ContextOverflowError):  # found by tokenizing: the model is still loaded
        judge_one(backend, still_open, Principle(name="p", text=CORRECT))


LEFT_OPEN = """
import {holder} as holder  # imported before rajudge, so torn down after llama_cpp
import warnings

from rajudge import DemoModelWarning, Judge

warnings.simplefilter("ignore", DemoModelWarning)
judge = Judge(ctx=1024, rationale_tokens=0)
print(judge.judge("2 + 2?", {{"a": "4", "b": "5"}}, "concise").ranking)
holder.kept = judge  # held until the very end, as a trainer's objects can be
{close}
"""


@pytest.mark.parametrize(
    ("holder", "close"),
    [("threading", ""), ("warnings", "judge.close()")],
    ids=["left-open", "closed"],
)
def test_a_judge_held_until_exit_leaves_quietly(tmp_path: Path, holder: str, close: str) -> None:
    """No `Exception ignored in: Llama.__del__` at interpreter exit, closed or not: the model
    is freed, and llama-cpp-python's objects dropped, while the modules they use still work."""
    script = tmp_path / "script.py"
    script.write_text(LEFT_OPEN.format(holder=holder, close=close))
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path, timeout=300
    )
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    assert sorted(ast.literal_eval(done.stdout)) == ["a", "b"]
