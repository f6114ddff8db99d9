"""Output formats: the JSONL record layout is an interface, the table is checked against goldens.

Regenerate the goldens after a deliberate change to the table with
`RAJUDGE_UPDATE_GOLDEN=1 pytest tests/test_output.py`, then read the diff.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path

import orjson
import pytest
from rich.console import Console

from rajudge.errors import UsageError
from rajudge.output.files import JsonlWriter, JsonWriter, open_writer, output_format
from rajudge.output.render import TableWriter
from rajudge.output.schema import result_record
from rajudge.records import Item, ItemResult, Judgment, Principle, ResponseScore, Timings

GOLDEN = Path(__file__).parent / "golden"
UPDATE_GOLDEN = os.environ.get("RAJUDGE_UPDATE_GOLDEN") == "1"

LONG_NAME = "llama-3.1-8b-instruct-q4_k_m-temperature-0.7-run-2"
PROMPT = (
    "Explain why the sky is blue to a curious ten-year-old,\n"
    "in no more than three sentences, without using the word 'scattering'."
)
RESPONSES = {
    "gpt-4o": "Sunlight is made of all colours...",
    LONG_NAME: "Because of Rayleigh scattering...",
    "baseline": "The sky reflects the ocean.",
}
HELPFUL = Principle(name="helpful", text="Prefer the response that best helps the user.")
CONCISE = Principle(
    name="concise", text="Prefer short, direct answers.", weight=2.0, source="principles.yaml"
)

# name -> P(score = 1..5), per principle
HELPFUL_DISTS = {
    "gpt-4o": (0.0, 0.0, 0.05, 0.35, 0.6),
    LONG_NAME: (0.0, 0.02, 0.18, 0.7, 0.1),
    "baseline": (0.8, 0.15, 0.05, 0.0, 0.0),
}
CONCISE_DISTS = {
    "gpt-4o": (0.0, 0.1, 0.6, 0.3, 0.0),
    LONG_NAME: (0.0, 0.0, 0.05, 0.15, 0.8),
    "baseline": (0.1, 0.2, 0.6, 0.1, 0.0),
}


def make_judgment(
    principle: Principle,
    dists: dict[str, tuple[float, ...]],
    rationale: str = "",
    seconds: float = 1.0,
) -> Judgment:
    """A judgment whose scores follow the distributions: argmax score, ranked by expectation."""
    expected = {
        name: sum(p * s for p, s in zip(d, range(1, 6), strict=True)) for name, d in dists.items()
    }
    order = sorted(dists, key=lambda name: -expected[name])
    scores = tuple(
        ResponseScore(
            name=name,
            score=max(range(5), key=lambda i: dists[name][i]) + 1,
            expected=expected[name],
            distribution=dists[name],
            rank=rank,
        )
        for rank, name in enumerate(order, start=1)
    )
    return Judgment(
        item_id="sky-1",
        principle=principle,
        responses=scores,
        rationale=rationale,
        model="RewardAnything-8B-v1-Q4_K_M",
        mode="reasoning",
        timings=Timings(prompt_tokens=812, reused_tokens=640, generated_tokens=37, seconds=seconds),
    )


def make_result(judgments: Sequence[Judgment], item_id: str = "sky-1") -> ItemResult:
    return ItemResult(
        item=Item(id=item_id, prompt=PROMPT, responses=dict(RESPONSES)),
        judgments=tuple(judgments),
    )


@pytest.fixture
def single() -> ItemResult:
    return make_result(
        [
            make_judgment(
                HELPFUL,
                HELPFUL_DISTS,
                rationale=(
                    "gpt-4o answers in three sentences a child can follow; the second response "
                    "is accurate but uses the forbidden word; baseline is wrong."
                ),
                seconds=2.34567,
            )
        ]
    )


@pytest.fixture
def weighted() -> ItemResult:
    return make_result(
        [
            make_judgment(HELPFUL, HELPFUL_DISTS, rationale="gpt-4o is clearest.", seconds=1.5),
            make_judgment(CONCISE, CONCISE_DISTS, rationale="The second is shortest."),
        ]
    )


def test_record_single_principle(single: ItemResult) -> None:
    record = result_record(single)

    assert list(record) == [
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
    ]
    assert record["schema"] == 1
    assert record["id"] == "sky-1"
    assert record["ranking"] == ["gpt-4o", LONG_NAME, "baseline"]
    assert record["composite"] is None
    assert record["model"] == "RewardAnything-8B-v1-Q4_K_M"
    assert record["mode"] == "reasoning"
    assert record["prompt"] == PROMPT
    assert record["responses"] == RESPONSES and list(record["responses"]) == list(RESPONSES)

    [judgment] = record["judgments"]
    assert list(judgment) == [
        "principle",
        "ranking",
        "responses",
        "distribution_source",
        "rationale",
        "timings",
    ]
    assert judgment["distribution_source"] == "logprobs"
    assert judgment["principle"] == {
        "name": "helpful",
        "text": "Prefer the response that best helps the user.",
        "weight": 1.0,
        "source": "library",
    }
    assert judgment["ranking"] == ["gpt-4o", LONG_NAME, "baseline"]
    assert list(judgment["responses"]) == list(RESPONSES)  # input order, not rank order
    assert judgment["responses"]["baseline"] == {
        "rank": 3,
        "score": 1,
        "expected": 1.25,
        "distribution": [0.8, 0.15, 0.05, 0.0, 0.0],
    }
    assert judgment["timings"] == {
        "prompt_tokens": 812,
        "reused_tokens": 640,
        "generated_tokens": 37,
        "seconds": 2.346,
        "cached": False,
    }


def test_record_rounds_probabilities() -> None:
    dists = {
        "gpt-4o": (0.123456, 0.0, 0.0, 0.0, 0.876544),
        LONG_NAME: (0.2, 0.2, 0.2, 0.2, 0.2),
        "baseline": (1 / 3, 1 / 3, 1 / 3, 0.0, 0.0),
    }
    record = result_record(make_result([make_judgment(HELPFUL, dists)]))

    responses = record["judgments"][0]["responses"]
    assert responses["gpt-4o"]["distribution"] == [0.1235, 0.0, 0.0, 0.0, 0.8765]
    assert responses["gpt-4o"]["expected"] == 4.5062
    assert responses["baseline"]["expected"] == 2.0
    assert responses["baseline"]["distribution"] == [0.3333, 0.3333, 0.3333, 0.0, 0.0]


def test_record_weighted_composite(weighted: ItemResult) -> None:
    record = result_record(weighted)

    # expected: helpful (weight 1) 4.55, 3.88, 1.25; concise (weight 2) 3.2, 4.75, 2.7
    assert record["composite"] == {"gpt-4o": 3.65, LONG_NAME: 4.46, "baseline": 2.2167}
    assert list(record["composite"]) == list(RESPONSES)
    assert record["ranking"] == [LONG_NAME, "gpt-4o", "baseline"]
    assert [j["principle"]["name"] for j in record["judgments"]] == ["helpful", "concise"]
    assert record["judgments"][0]["ranking"] == ["gpt-4o", LONG_NAME, "baseline"]
    assert record["judgments"][1]["ranking"] == [LONG_NAME, "gpt-4o", "baseline"]
    assert record["judgments"][1]["principle"]["weight"] == 2.0
    assert record["judgments"][1]["principle"]["source"] == "principles.yaml"


def test_jsonl_flushes_each_line(tmp_path: Path, single: ItemResult, weighted: ItemResult) -> None:
    path = tmp_path / "out.jsonl"
    with path.open("wb") as stream:
        writer = JsonlWriter(stream)
        writer.write(single)
        assert path.read_bytes().count(b"\n") == 1
        writer.write(weighted)
        lines = path.read_bytes().splitlines()
        assert [orjson.loads(line) for line in lines] == [
            result_record(single),
            result_record(weighted),
        ]
        writer.close()
        assert not stream.closed


def test_json_writes_array_at_close(single: ItemResult, weighted: ItemResult) -> None:
    stream = io.BytesIO()
    writer = JsonWriter(stream)
    writer.write(single)
    writer.write(weighted)
    assert stream.getvalue() == b""
    writer.close()

    text = stream.getvalue().decode()
    assert text.startswith('[\n  {\n    "schema": 1,')
    assert text.endswith("]\n")
    assert orjson.loads(text) == [result_record(single), result_record(weighted)]


def test_json_empty_run_is_empty_array() -> None:
    stream = io.BytesIO()
    JsonWriter(stream).close()
    assert stream.getvalue() == b"[]\n"


def render(*results: ItemResult) -> str:
    console = Console(
        width=80, record=True, color_system=None, force_terminal=False, file=io.StringIO()
    )
    writer = TableWriter(console)
    for result in results:
        writer.write(result)
    writer.close()
    return console.export_text()


@pytest.mark.parametrize("case", ["single", "weighted"])
def test_table_golden(case: str, request: pytest.FixtureRequest) -> None:
    # Rich pads lines to the table width; trailing blanks are dropped so editors cannot break it.
    text = "".join(
        line.rstrip() + "\n" for line in render(request.getfixturevalue(case)).splitlines()
    )
    golden = GOLDEN / f"table_{case}.txt"
    if UPDATE_GOLDEN:
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8")


def test_table_fits_80_columns(weighted: ItemResult) -> None:
    assert all(len(line) <= 80 for line in render(weighted).splitlines())


def test_table_omits_empty_rationale() -> None:
    text = render(make_result([make_judgment(HELPFUL, HELPFUL_DISTS, rationale="  ")]))
    assert "rationale" not in text
    assert "RewardAnything-8B-v1-Q4_K_M · reasoning · 1.00 s" in text


def test_table_marks_winner_green(single: ItemResult) -> None:
    console = Console(width=80, color_system="standard", force_terminal=True, file=io.StringIO())
    TableWriter(console).write(single)
    lines = console.file.getvalue().splitlines()
    winner = next(line for line in lines if "gpt-4o" in line and "4.55" in line)
    runner_up = next(line for line in lines if "3.88" in line)
    assert "\x1b[32m" in winner
    assert "\x1b[32m" not in runner_up


def test_table_shows_markup_literally() -> None:
    dists = {name: HELPFUL_DISTS[name] for name in RESPONSES}
    result = make_result(
        [make_judgment(HELPFUL, dists, rationale="[bold]not bold[/bold] :smile:")],
        item_id="[red]x[/red]",
    )
    text = render(result)
    assert "[red]x[/red]" in text
    assert "[bold]not bold[/bold] :smile:" in text


@pytest.mark.parametrize(
    ("fmt", "kind"), [("table", TableWriter), ("jsonl", JsonlWriter), ("json", JsonWriter)]
)
def test_open_writer(fmt: str, kind: type) -> None:
    with ExitStack() as stack:
        writer = open_writer(fmt, None, stack, console=Console(file=io.StringIO()))
        assert isinstance(writer, kind)


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(UsageError, match="csv"):
        output_format("csv", None, terminal=False)
