"""rajudge eval: reading labels, presentation orders, metrics from judgments, the real engine."""

from __future__ import annotations

import json
import subprocess
import xml.etree.ElementTree as ElementTree
from itertools import islice
from pathlib import Path

import pytest
from cli_process import run_rajudge

from rajudge.engine.llama import LlamaBackend
from rajudge.errors import InputError
from rajudge.evaluation.evaluate import (
    LabelledItem,
    Prediction,
    flip_report,
    item_record,
    predict,
    presentation_orders,
    read_labelled,
    report,
    sample,
)
from rajudge.records import Item, Judgment, Principle, ResponseScore, Timings

PRINCIPLE = Principle(name="p", text="Prefer the better answer.")


def judgment(ranking: list[str], expected: dict[str, float]) -> Judgment:
    """A judgment as the engine returns it, built by hand so metrics can be checked exactly."""
    responses = tuple(
        ResponseScore(name, round(expected[name]), expected[name], spread(expected[name]), rank + 1)
        for rank, name in enumerate(ranking)
    )
    return Judgment("x", PRINCIPLE, responses, "", "m", "fast", Timings(1, 0, 1, 0.1))


def spread(expected: float) -> tuple[float, ...]:
    """A distribution over 1..5 whose mean is `expected`: mass on the two digits around it."""
    low = min(int(expected), 4)
    dist = [0.0] * 5
    dist[low - 1], dist[low] = low + 1 - expected, expected - low
    return tuple(dist)


def pair(item_id: str, subset: str = "s", chosen: str = "c", rejected: str = "r") -> LabelledItem:
    item = Item(item_id, "q", {"chosen": chosen, "rejected": rejected}, PRINCIPLE, f"f:{item_id}")
    return LabelledItem(item, subset, {"chosen": 1.0, "rejected": 0.0})


def test_read_labelled_pairs_lists_and_errors(tmp_path: Path) -> None:
    rows = [
        {
            "id": "p1",
            "prompt": "q",
            "chosen": "a",
            "rejected": "b",
            "subset": "Natural",
            "principle": "be right",
        },
        {
            "id": "l1",
            "prompt": "q",
            "responses": {"x": "1", "y": "2", "z": "3"},
            "scores": {"x": 1, "y": 5, "z": 3},
        },
        {"id": "l2", "prompt": "q", "responses": {"x": "1", "y": "2"}, "ranking": ["y", "x"]},
        {"id": "l3", "prompt": "q", "responses": {"x": "1", "y": "2"}},
        "{broken",
    ]
    path = tmp_path / "gold.jsonl"
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    items, errors = read_labelled(str(path))
    assert [i.item.id for i in items] == ["p1", "l1", "l2"]
    assert items[0].is_pair and items[0].subset == "Natural"
    assert items[1].gold == {"x": 1.0, "y": 5.0, "z": 3.0}
    assert items[2].gold == {"x": 1.0, "y": 2.0}
    assert [e.where for e in errors] == [f"{path}:5", f"{path}:4"]
    assert "gold 'scores'" in str(errors[1])

    override = Principle(name="o", text="other")
    assert {i.item.principle for i in read_labelled(str(path), override)[0]} == {override}


def test_sample_is_seeded_and_keeps_file_order() -> None:
    items = [pair(str(i)) for i in range(20)]
    chosen = sample(items, 5, seed=7)
    assert chosen == sample(items, 5, seed=7) != sample(items, 5, seed=8)
    assert [int(i.item.id) for i in chosen] == sorted(int(i.item.id) for i in chosen)


def test_presentation_orders() -> None:
    labelled = pair("p")
    first, second = presentation_orders(labelled, seed=0, swap=True, permutations=1)
    assert second == first[::-1]
    assert presentation_orders(labelled, seed=0, swap=False, permutations=2) == [first, second]
    ranked = LabelledItem(Item("l", "q", {"a": "", "b": "", "c": ""}, PRINCIPLE), "s", {})
    orders = presentation_orders(ranked, seed=0, swap=False, permutations=4)
    assert len(orders) == 3  # three responses: three positions, each response in each once
    assert all(len({order[i] for order in orders}) == 3 for i in range(3))


def test_report_from_known_judgments() -> None:
    both_orders = (("chosen", "rejected"), ("rejected", "chosen"))
    both_right = Prediction(
        pair("1", "A"),
        (judgment(["chosen", "rejected"], {"chosen": 4.2, "rejected": 2.0}),) * 2,
        both_orders,
    )
    position_bound = Prediction(
        pair("2", "B"),
        (
            judgment(["rejected", "chosen"], {"chosen": 3.0, "rejected": 3.4}),
            judgment(["chosen", "rejected"], {"chosen": 3.2, "rejected": 3.0}),
        ),
        both_orders,
    )
    summary = report([both_right, position_bound], failed=1)
    assert summary["failed"] == 1
    assert summary["pairs"]["accuracy"] == pytest.approx(0.75)
    assert summary["pairs"]["swap_consistent"] == pytest.approx(0.5)
    # pair 2: mean expected chosen 3.1 < rejected 3.2; mean integer scores 3 = 3 -> a tie
    assert summary["pairs"]["accuracy_expected"] == pytest.approx(0.5)
    assert summary["pairs"]["accuracy_score"] == pytest.approx(0.75)
    # averaged over the orders, pair 2 scores 3 and 3 with expected 3.1 < 3.2: rejected wins
    assert summary["pairs"]["accuracy_averaged"] == pytest.approx(0.5)
    assert summary["subsets"]["B"]["accuracy"] == pytest.approx(0.5)
    record = item_record(position_bound)
    assert record["rankings"] == [["rejected", "chosen"], ["chosen", "rejected"]]
    assert record["swap_consistent"] == 0.0


def test_flip_report() -> None:
    long_chosen = pair("1", chosen="a long, detailed answer", rejected="short")
    order = (("chosen", "rejected"),)
    a = [
        Prediction(
            long_chosen, (judgment(["chosen", "rejected"], {"chosen": 4, "rejected": 2}),), order
        )
    ]
    b = [
        Prediction(
            long_chosen, (judgment(["rejected", "chosen"], {"chosen": 2, "rejected": 4}),), order
        )
    ]
    flips = flip_report(a, b)
    assert (flips["pairs"], flips["flip_rate"]) == (1, 1.0)
    assert (flips["longer_wins_a"], flips["longer_wins_b"]) == (1.0, 0.0)


def test_real_engine_on_a_handful_of_pairs(backend: LlamaBackend, test_data: Path) -> None:
    path = test_data / "hhh-sample.jsonl"
    items, errors = read_labelled(str(path))
    assert not errors
    few = sample(items, 3, seed=1)
    outcomes = list(predict(backend, few, seed=0, swap=True))
    predictions = [o for o in outcomes if not isinstance(o, InputError)]
    assert len(predictions) == 3
    for prediction in predictions:
        orders = [sorted(j.ranking) for j in prediction.judgments]
        assert orders == [["chosen", "rejected"]] * 2
    summary = report(predictions, failed=0)
    assert 0.0 <= summary["pairs"]["accuracy"] <= 1.0
    assert 0.0 <= summary["pairs"]["swap_consistent"] <= 1.0


@pytest.fixture
def two_pairs(tmp_path: Path, test_data: Path) -> Path:
    """A folder holding pairs.jsonl: two labelled pairs of one subset."""
    with (test_data / "hhh-sample.jsonl").open() as lines:
        (tmp_path / "pairs.jsonl").write_text("".join(islice(lines, 2)))
    return tmp_path


def rajudge_eval(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`rajudge eval pairs.jsonl ARGS` in `folder`, its output piped, COLUMNS=80."""
    return run_rajudge("eval", "pairs.jsonl", *args, cwd=folder, env={"COLUMNS": "80"}, timeout=600)


def test_eval_command_writes_report_predictions_and_picture(two_pairs: Path) -> None:
    done = rajudge_eval(
        two_pairs,
        *("--swap", "-o", "out", "--ctx", "4096", "--rationale-tokens", "0"),
        *("--contrast", "concise"),
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads((two_pairs / "out/report.json").read_text())
    assert summary["pairs"]["n"] == 2 and "swap_consistent" in summary["pairs"]
    assert "accuracy_averaged" in summary["pairs"]  # what score --permutations 2 decides
    assert summary["contrast"]["pairs"] == 2
    assert summary["setup"]["demo_model"] is True
    assert len((two_pairs / "out/predictions.jsonl").read_text().splitlines()) == 2
    ElementTree.parse(two_pairs / "out/accuracy.svg")
    assert "accuracy" in done.stdout and "not a real judge" in done.stderr
    # piped, the table takes the width it needs: each row whole on one line, every CI on it
    (row,) = [line for line in done.stdout.splitlines() if line.startswith("harmless")]
    assert row.count("[") == 5, done.stdout  # accuracy, by score, by expected, swap, averaged


def test_an_output_folder_that_cannot_be_made_stops_eval_before_the_model_loads(
    two_pairs: Path,
) -> None:
    (two_pairs / "some-file").write_text("")
    done = rajudge_eval(two_pairs, "-o", "some-file/out", "-m", "absent.gguf")
    assert done.returncode == 2, done.stderr  # not 3: the model was never looked for
    assert done.stderr == "error: some-file/out: cannot write there: Not a directory\n"


def test_a_report_that_cannot_be_written_is_one_line(two_pairs: Path) -> None:
    (two_pairs / "out" / "report.json").mkdir(parents=True)
    done = rajudge_eval(two_pairs, "-o", "out", "--limit", "1", "--rationale-tokens", "0")
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines()[-1] == "error: out/report.json: cannot write: Is a directory"
    assert "Traceback" not in done.stderr
