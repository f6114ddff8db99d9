"""--permutations K: each verdict averaged over K presentation orders balanced over positions."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fake_backend import FakeBackend

from rajudge.engine.base import judge_one
from rajudge.engine.llama import LlamaBackend
from rajudge.judging.protocol import masked_order, presentation_orders
from rajudge.judging.scoring import combine
from rajudge.output.schema import result_record
from rajudge.records import Item, ItemResult, Judgment, Principle, ResponseScore, Timings
from rajudge.run.schedule import judge_items
from rajudge.settings import EngineSettings

CORRECT = Principle(name="correct", text="Prefer the factually correct answer.", source="inline")
PAIR = Item(
    id="capital",
    prompt="What is the capital of France?",
    responses={"right": "The capital of France is Paris.", "wrong": "It is Lyon, I believe."},
)


def named(count: int) -> Item:
    return Item(id=f"n{count}", prompt="p", responses={f"r{i}": "t" for i in range(count)})


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("count", [1, 2, 3, 4, 6])
def test_orders_are_distinct_shifts_balanced_over_positions(size: int, count: int) -> None:
    item = named(size)
    orders = presentation_orders(item, seed=7, count=count)
    assert list(orders[0]) == masked_order(item, 7)  # one order is the plain run's order
    assert len(orders) == len(set(orders)) == min(count, size)
    for order in orders:
        assert sorted(order) == sorted(item.responses)
    seats = Counter((name, position) for order in orders for position, name in enumerate(order))
    assert set(seats.values()) == {1}  # no response sits twice in one position
    if count >= size:  # every response in every position
        assert len(seats) == size * size


def test_a_pair_in_two_orders_is_both_orders() -> None:
    first, second = presentation_orders(PAIR, seed=0, count=2)
    assert second == first[::-1]


def judged(dists: dict[str, tuple[float, ...]], order: list[str], seconds: float) -> Judgment:
    scores = [ResponseScore(n, 0, 0.0, dists[n], 0) for n in order]
    responses = sorted(scores, key=lambda r: -max(range(5), key=lambda i: r.distribution[i]))
    return Judgment(
        item_id="x",
        principle=CORRECT,
        responses=tuple(responses),
        rationale=f"seen as {order}",
        model="m",
        mode="fast",
        timings=Timings(prompt_tokens=10, reused_tokens=4, generated_tokens=3, seconds=seconds),
    )


def result_record_of(judgment: Judgment) -> dict[str, Any]:
    item = Item(id="x", prompt="p", responses={"a": "1", "b": "2"})
    return result_record(ItemResult(item=item, judgments=(judgment,)))


def test_combine_averages_distributions_and_reads_the_most_likely_digit() -> None:
    first = judged({"a": (0, 0, 0, 0.2, 0.8), "b": (0, 0, 0, 1, 0)}, ["a", "b"], 1.0)
    second = judged({"a": (0, 0, 0, 0.8, 0.2), "b": (0, 0, 0.4, 0.6, 0)}, ["b", "a"], 2.0)

    verdict = combine([first, second], ["a", "b"])

    by_name = {r.name: r for r in verdict.responses}
    assert by_name["a"].distribution == pytest.approx((0, 0, 0, 0.5, 0.5))
    assert by_name["a"].score == 4  # an exact tie goes to the lower digit, as for one order
    assert by_name["b"].distribution == pytest.approx((0, 0, 0.2, 0.8, 0))
    assert (by_name["a"].expected, by_name["b"].expected) == pytest.approx((4.5, 3.8))
    assert verdict.ranking == ("a", "b")  # equal scores: the higher expected score first
    assert verdict.consistency == 0.5  # the second order put b on top
    assert verdict.rationale == "seen as ['a', 'b']"
    assert verdict.timings == Timings(20, 8, 6, 3.0, cached=False)
    record = result_record_of(verdict)["judgments"][0]
    assert record["consistency"] == 0.5
    # Each order's own verdict stays in the record, for `compare` and for anyone auditing bias.
    assert [order["responses"]["a"]["distribution"] for order in record["orders"]] == [
        [0, 0, 0, 0.2, 0.8],
        [0, 0, 0, 0.8, 0.2],
    ]


def test_one_order_is_left_as_it_is() -> None:
    only = judged({"a": (0, 0, 0, 0, 1), "b": (1, 0, 0, 0, 0)}, ["a", "b"], 1.0)
    assert combine([only], ["a", "b"]) is only
    assert "consistency" not in result_record_of(only)["judgments"][0]
    assert "orders" not in result_record_of(only)["judgments"][0]


# --- the real engine ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def two_orders(demo_model: Path) -> Iterator[LlamaBackend]:
    engine = LlamaBackend(demo_model, EngineSettings(ctx=4096, permutations=2))
    yield engine
    engine.close()


def test_two_orders_on_the_real_engine_average_the_single_order_judgments(
    backend: LlamaBackend, two_orders: LlamaBackend
) -> None:
    (result,) = judge_items(two_orders, [PAIR], [CORRECT])

    singles = [
        judge_one(backend, PAIR, CORRECT, order) for order in presentation_orders(PAIR, 0, 2)
    ]
    (verdict,) = result.judgments
    for response in verdict.responses:
        seen = [next(r for r in s.responses if r.name == response.name) for s in singles]
        mean = [sum(r.distribution[level] for r in seen) / 2 for level in range(5)]
        assert response.distribution == pytest.approx(mean, abs=1e-4)
        assert response.score == 1 + max(range(5), key=lambda level: (mean[level], -level))
    tops = [s.ranking[0] for s in singles]
    assert verdict.consistency == tops.count(verdict.ranking[0]) / 2
    # The second order starts where the first did (instructions, principle, prompt): computed
    # once, reused from the KV cache (a fresh engine, so the first reused nothing).
    assert verdict.timings.reused_tokens > 0
    assert verdict.timings.generated_tokens == sum(s.timings.generated_tokens for s in singles)


def test_the_number_of_orders_is_part_of_the_record_key(
    backend: LlamaBackend, two_orders: LlamaBackend
) -> None:
    (one,) = judge_items(backend, [PAIR], [CORRECT])
    (two,) = judge_items(two_orders, [PAIR], [CORRECT])
    assert one.key != two.key
    assert one.judgments[0].consistency is None


def test_a_run_records_each_order_as_it_was_shown() -> None:
    backend = FakeBackend(settings=EngineSettings(permutations=2))
    (result,) = judge_items(backend, [PAIR], [CORRECT])
    assert isinstance(result, ItemResult)
    record = result_record(result)["judgments"][0]
    shown = [tuple(order["shown"]) for order in record["orders"]]
    assert shown == presentation_orders(PAIR, seed=0, count=2)
    assert [tuple(job.order or ()) for job in backend.jobs] == shown
