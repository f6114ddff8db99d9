from __future__ import annotations

import pytest

from rajudge.errors import ModelError
from rajudge.judging.protocol import SYSTEM_PROMPT, unmask
from rajudge.judging.scoring import distribution, plan_skeleton, rank, score_response, skeleton_text


def char_tokenizer(text: str) -> list[int]:
    """One token per character: digits are always tokens of their own."""
    return [ord(c) for c in text]


def test_skeleton_text_is_the_protocol_json_laid_out_as_the_instructions_show() -> None:
    text = skeleton_text(2, "4", "}")
    assert text == '{\n  "scores": {"model-1": 4, "model-2": 4}}'
    example = SYSTEM_PROMPT[SYSTEM_PROMPT.index("Output ONLY this JSON format:\n") :]
    assert '{\n  "scores": {"model-1": 2, "model-2": 4, ...},\n' in example
    assert skeleton_text(1, "2", "").removesuffix("}") in example  # begins as the example


def test_plan_finds_one_slot_per_response() -> None:
    plan = plan_skeleton(char_tokenizer, 3, "}")
    assert len(plan.choices) == 3
    assert all(choice == tuple(map(ord, "12345")) for choice in plan.choices)
    rebuilt = "".join(
        "".join(map(chr, forced)) + ("4" if i < 3 else "") for i, forced in enumerate(plan.forced)
    )
    assert rebuilt == skeleton_text(3, "4", "}")


def test_plan_handles_digits_merged_with_neighbours() -> None:
    def merging(text: str) -> list[int]:
        # ", " glued to the digit before it, as some BPE vocabularies do
        tokens, i = [], 0
        while i < len(text):
            if text[i].isdigit() and text[i + 1 : i + 2] == ",":
                tokens.append(1000 + int(text[i]))
                i += 2
            else:
                tokens.append(ord(text[i]))
                i += 1
        return tokens

    plan = plan_skeleton(merging, 2, "}")
    assert plan.choices[0] == (1001, 1002, 1003, 1004, 1005)
    assert plan.choices[1] == tuple(map(ord, "12345"))


def test_plan_rejects_tokenizers_that_merge_digits_unevenly() -> None:
    def uneven(text: str) -> list[int]:
        return [ord(c) for c in text.replace("5", "55")]

    with pytest.raises(ModelError, match="score digits"):
        plan_skeleton(uneven, 2, "}")


def test_distribution_is_a_softmax() -> None:
    dist = distribution([0.0, 0.0, 0.0, 0.0, 0.0])
    assert dist == pytest.approx([0.2] * 5)
    peaked = distribution([0.0, 0.0, 0.0, 50.0, 0.0])
    assert peaked[3] == pytest.approx(1.0)
    assert sum(distribution([1.0, -3.0, 2.5, 0.1, 7.0])) == pytest.approx(1.0)


def test_score_is_the_mode_and_expected_the_mean() -> None:
    assert score_response([0.1, 0.1, 0.2, 0.5, 0.1]) == (4, pytest.approx(3.4))
    assert score_response([0.5, 0.0, 0.0, 0.0, 0.5])[0] == 1  # exact tie: the lower score


def test_rank_maps_masked_slots_back_to_names_best_first() -> None:
    # presented order: c, a, b  (model-1 = c, ...)
    dists = [
        [0.0, 0.0, 0.0, 1.0, 0.0],  # c: 4
        [0.0, 0.0, 0.0, 0.0, 1.0],  # a: 5
        [1.0, 0.0, 0.0, 0.0, 0.0],  # b: 1
    ]
    ranked = rank(["c", "a", "b"], dists)
    assert [r.name for r in ranked] == ["a", "c", "b"]
    assert [r.rank for r in ranked] == [1, 2, 3]
    assert {r.name: r.score for r in ranked} == {"a": 5, "c": 4, "b": 1}


def test_rank_breaks_score_ties_by_expected_then_presentation() -> None:
    ranked = rank(
        ["x", "y", "z"],
        [[0.0, 0.0, 0.4, 0.6, 0.0], [0.0, 0.0, 0.0, 0.6, 0.4], [0.0, 0.0, 0.4, 0.6, 0.0]],
    )
    assert [r.name for r in ranked] == ["y", "x", "z"]
    assert all(r.score == 4 for r in ranked)


@pytest.mark.parametrize(
    ("text", "readable"),
    [
        # A response really named model-2, shown as model-1: renamed once, never twice.
        ("model-1 beats model-2.", "model-2 beats other."),
        ("Model-2 is wrong; MODEL-1 is right.", "other is wrong; model-2 is right."),
        # Whole names only: longer numbers, longer words and absent responses stay as written.
        (
            "model-12, model-3, xmodel-1, model-1x, model-1-ish.",
            "model-12, model-3, xmodel-1, model-1x, model-1-ish.",
        ),
        ('(model-1), "model-2": 4.', '(model-2), "other": 4.'),
    ],
)
def test_unmask_writes_real_names_for_whole_masked_names(text: str, readable: str) -> None:
    assert unmask(text, ["model-2", "other"]) == readable
