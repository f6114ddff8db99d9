"""The RL reward function, called the way TRL's GRPO trainer calls it, on the real demo model."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from rajudge import DemoModelWarning, Judge, reward_function
from rajudge.errors import ContextOverflowError, InputError, UsageError

CORRECT = "Prefer the response that answers correctly."
MATHS, CAPITAL = "What is 2 + 2?", "What is the capital of France?"
LONG = "The answer is four, because two plus two makes four. " * 4  # about 44 tokens


@pytest.fixture(scope="module")
def judge(demo_model: Path) -> Iterator[Judge]:
    """A small context (512 tokens), so that a GRPO group of four long completions overflows."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DemoModelWarning)
        loaded = Judge(demo_model, ctx=512, rationale_tokens=0)
    with loaded:
        yield loaded


def test_completions_of_one_prompt_are_judged_together_wherever_they_are(judge: Judge) -> None:
    reward = reward_function(CORRECT, judge=judge)
    assert reward.__name__ == "rajudge_inline"
    prompts = [MATHS, CAPITAL, MATHS, CAPITAL, MATHS]
    completions = ["4", "Paris.", "5", "Lyon.", "Four."]
    mixed = reward(prompts=prompts, completions=completions, completion_ids=[[1]] * 5)
    assert len(mixed) == 5 and all(isinstance(r, float) and 0 <= r <= 1 for r in mixed)

    maths = reward([MATHS] * 3, ["4", "5", "Four."])
    chat_prompt = [{"role": "user", "content": CAPITAL}]
    capital = reward(
        prompts=[chat_prompt, chat_prompt],
        completions=[[{"role": "assistant", "content": c}] for c in ("Paris.", "Lyon.")],
    )
    assert mixed == [maths[0], capital[0], maths[1], capital[1], maths[2]]

    expected = reward_function(CORRECT, judge=judge, scale="score")(
        [MATHS] * 3, ["4", "5", "Four."]
    )
    assert expected == pytest.approx([1 + 4 * r for r in maths])


def test_reward_against_a_reference_column(judge: Judge) -> None:
    reward = reward_function("concise", judge=judge, reference="gold")
    assert reward.__name__ == "rajudge_concise"
    gold = [{"role": "assistant", "content": "4"}]
    rewards = reward([MATHS, MATHS], ["4", "It is 4."], gold=[gold, gold], trainer_state=None)
    assert len(rewards) == 2 and all(-1 <= r <= 1 for r in rewards)
    with pytest.raises(UsageError, match=r"no 'gold' column .*\(reference\)"):
        reward([MATHS], ["4"], reference=["4"])


def test_principles_from_a_dataset_column(judge: Judge) -> None:
    reward = reward_function(None, judge=judge)
    rewards = reward([MATHS, MATHS], ["4", "5"], principle=[CORRECT, CORRECT])
    assert rewards == reward_function(CORRECT, judge=judge)([MATHS, MATHS], ["4", "5"])
    with pytest.raises(UsageError, match="no 'principle' column"):
        reward([MATHS], ["4"])
    with pytest.raises(UsageError, match=r"principle\[0\]: expected the principle's text"):
        reward([MATHS], ["4"], principle=[""])


def test_a_group_too_long_for_the_context_is_judged_in_halves(judge: Judge) -> None:
    reward = reward_function(CORRECT, judge=judge)
    group = [LONG, LONG.replace("four", "4"), LONG.replace("four", "five"), "4"]
    with pytest.raises(ContextOverflowError):
        judge.judge(MATHS, group, CORRECT)  # the whole group does not fit
    rewards = reward([MATHS] * 4, group)
    assert rewards == reward([MATHS] * 2, group[:2]) + reward([MATHS] * 2, group[2:])

    with pytest.raises(InputError, match=r"^completions\[1\]: needs \d+ tokens .* holds 512"):
        reward([MATHS, MATHS], ["4", "word " * 600])


def test_bad_calls_are_one_clear_error(judge: Judge) -> None:
    reward = reward_function(CORRECT, judge=judge)
    with pytest.raises(UsageError, match="got 2 prompts for 1 completions"):
        reward([MATHS, MATHS], ["4"])
    with pytest.raises(UsageError, match=r"completions\[1\]: expected text or chat messages"):
        reward([MATHS, MATHS], ["4", 4])
    with pytest.raises(UsageError, match=r"completions\[0\]: .*assistant"):
        reward([MATHS], [[{"role": "user", "content": "4"}]])
    with pytest.raises(UsageError, match="scale must be"):
        reward_function(CORRECT, judge=judge, scale="percent")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="not both"):
        reward_function(CORRECT, judge=judge, ctx=2048)
