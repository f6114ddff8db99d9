"""The fidelity report's reading of rows: parse rates, agreement and the cause of each miss."""

from __future__ import annotations

from bench.fidelity_report import render, shared_thinking, summarize
from bench.fidelity_ties import parting_step
from bench.jobs import Json

# rajudge's answer is laid out as the system prompt's example; a model may write one line
LAID_OUT = '{\n  "scores": {"model-1": 4, "model-2": 2},\n  "best-to-worst": ["model-1"]\n}'
ONE_LINE = '{"scores": {"model-1": 4, "model-2": 2}, "best-to-worst": ["model-1", "model-2"]}'


def _row(
    text: str, parsed: Json, ours: dict[str, int], order: tuple[str, str] = ("a", "b")
) -> Json:
    flat = [0.0, 0.0, 0.0, 0.5, 0.5]
    return {
        "id": "pair-1",
        "order": list(order),
        "same_messages": True,
        "same_prompt_tokens": False,
        "reference": {
            "parsed_text": text,
            "parsed": parsed,
            "generated_tokens": 30,
            "seconds": 2.0,
        },
        "rajudge": {
            "scores": ours,
            "distributions": {name: flat for name in ours},
            "thinking": "",
            "generated_tokens": 10,
            "seconds": 1.0,
        },
    }


def test_agreement_is_counted_by_real_name_through_the_presentation_order() -> None:
    parsed = {"scores": {"model-1": 4, "model-2": 2}, "ranking": []}
    rows = [
        _row(LAID_OUT, parsed, {"a": 4, "b": 2}),
        _row(LAID_OUT, parsed, {"a": 2, "b": 4}, order=("b", "a")),
    ]
    summary = summarize(rows)
    assert summary["scores_agree_parsed"] == (4, 4)
    assert summary["preferred_agree"] == summary["preferred_decided"] == 2
    assert summary["disagreements"] == []


def test_an_unparsed_answer_counts_against_the_reference_only() -> None:
    rows = [_row("I think model-1 wins", {"scores": {}, "ranking": []}, {"a": 4, "b": 2})]
    summary = summarize(rows)
    assert summary["reference_parsed"] == 0
    assert summary["starts_with_scores"] == 0
    assert summary["scores_agree_parsed"] == (0, 0)


def test_each_disagreement_names_its_cause() -> None:
    parsed = {"scores": {"model-1": 4, "model-2": 2}, "ranking": []}
    summary = summarize([_row(ONE_LINE, parsed, {"a": 5, "b": 2})])
    (miss,) = summary["disagreements"]
    assert (miss["response"], miss["reference"], miss["rajudge"]) == ("a", 4, 5)
    assert miss["cause"].startswith("the free answer lays the JSON out differently")
    thinking = _row("<think>\nhmm</think>" + LAID_OUT, parsed, {"a": 5, "b": 2})
    thinking["rajudge"]["thinking"] = "something else"
    (miss,) = summarize([thinking])["disagreements"]
    assert "thinkings part" in miss["cause"]


def test_the_same_thinking_masked_and_unmasked_is_not_a_difference() -> None:
    parsed = {"scores": {"model-1": 4, "model-2": 2}, "ranking": []}
    row = _row(
        "<think>\nmodel-1 is better than model-2</think>" + LAID_OUT, parsed, {"a": 5, "b": 2}
    )
    row["rajudge"]["thinking"] = "a is better than b"
    (miss,) = summarize([row])["disagreements"]
    assert "thinkings part" not in miss["cause"]


def test_render_gives_a_column_per_mode() -> None:
    parsed = {"scores": {"model-1": 4, "model-2": 2}, "ranking": []}
    result = {
        "model": "m",
        "started": "now",
        "command": "python -m bench.fidelity",
        "settings": {"seed": 0, "budget": 64},
        "modes": {"fast": [_row(LAID_OUT, parsed, {"a": 4, "b": 2})]},
    }
    page = render(result)
    assert "| | fast |" in page
    assert "| integer scores agree, all parsed | 2/2 (100.0%) |" in page


def test_the_parting_token_is_found_through_masked_names() -> None:
    parsed = {"scores": {"model-1": 4, "model-2": 2}, "ranking": []}
    row = _row("<think>\nThe model-1 is better</think>" + LAID_OUT, parsed, {"a": 5, "b": 2})
    row["rajudge"]["thinking"] = "The a is worse"
    shared = shared_thinking(row)
    assert shared == len("The a is ")
    assert parting_step(["The", " model", "-", "1", " is", " better"], ["a", "b"], shared) == 5
    row["rajudge"]["thinking"] = "The a is"  # stopped at its budget: a beginning, not a parting
    assert shared_thinking(row) is None


def test_the_answer_after_our_own_thinking_is_compared_apart() -> None:
    parsed = {"scores": {"model-1": 4, "model-2": 2}, "ranking": []}
    row = _row("<think>\nhmm</think>" + LAID_OUT, parsed, {"a": 5, "b": 2})
    row["rajudge"]["thinking"] = "something else"  # the thinkings part: not comparable
    row["after_our_thinking"] = {
        "parsed_text": "<think>\nsomething else\n</think>\n\n" + LAID_OUT,
        "parsed": {"scores": {"model-1": 5, "model-2": 3}, "ranking": []},
    }
    summary = summarize([row])
    assert summary["scores_agree_parsed"] == (1, 2)
    assert (summary["after_judgments"], summary["after_starts_with_scores"]) == (1, 1)
    assert summary["after_scores_agree"] == (1, 2)
    (miss,) = summary["after_disagreements"]
    assert (miss["response"], miss["reference"], miss["rajudge"]) == ("b", 3, 2)
    assert miss["cause"].startswith("near tie")  # the blank line after </think> is no layout
    page = render(
        {
            "model": "m",
            "started": "now",
            "command": "python -m bench.fidelity",
            "settings": {"seed": 0, "budget": 64},
            "modes": {"reasoning": [row]},
        }
    )
    assert "| integer scores agree, after rajudge's own thinking | 1/2 (50.0%) |" in page
    assert "## After rajudge's own thinking, reasoning mode" in page


def test_a_score_after_a_differing_one_is_put_down_to_it() -> None:
    parsed = {"scores": {"model-1": 3, "model-2": 4}, "ranking": []}
    row = _row(LAID_OUT, parsed, {"a": 4, "b": 2})
    row["rajudge"]["distributions"]["a"] = [0.0, 0.0, 0.49, 0.51, 0.0]
    first, second = summarize([row])["disagreements"]
    assert first["response"] == "a" and first["cause"].startswith("near tie")
    assert second["response"] == "b" and second["cause"].startswith("follows the score before")


def test_the_reference_run_cold_is_compared_with_itself_and_with_rajudge() -> None:
    parsed = {"scores": {"model-1": 4, "model-2": 2}, "ranking": []}
    row = _row(LAID_OUT, parsed, {"a": 4, "b": 3})
    row["reference_cold"] = {
        "parsed_text": LAID_OUT.replace("2}", "3}"),
        "parsed": {"scores": {"model-1": 4, "model-2": 3}, "ranking": []},
    }
    plain = _row(LAID_OUT, parsed, {"a": 4, "b": 2}, order=("b", "a"))  # not run cold
    summary = summarize([row, plain])
    assert summary["cold_judgments"] == 1
    assert summary["cold_self_agree"] == (1, 2)
    assert summary["cold_rajudge_agree"] == (2, 2)
    (moved,) = summary["cold_disagreements"]
    assert "`b`: reference 2, cold 3, rajudge 3" in moved
    page = render(
        {
            "model": "m",
            "started": "now",
            "command": "python -m bench.fidelity --cold-reference",
            "settings": {"seed": 0, "budget": 64},
            "modes": {"fast": [row, plain]},
        }
    )
    assert "| reference run cold (nothing cached) agrees with the reference | 1/2 (50.0%) |" in page
    assert "## The reference against itself, fast mode" in page
