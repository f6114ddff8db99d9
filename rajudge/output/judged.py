"""What `compare --from` counts of a score record: each principle's verdicts, order by order.

The record is read by rajudge.output.parse like every other reader's; what is checked here is
only what a comparison needs beyond a well-formed record: its texts, each principle's weight,
and every order scoring every system.
"""

from __future__ import annotations

from rajudge.compare.outcomes import OrderVerdict, PromptVerdicts
from rajudge.errors import InputError
from rajudge.output.parse import RecordOrder, parse_record


def prompt_verdicts(value: object, where: str) -> list[PromptVerdicts]:
    """Per principle, each presentation order's scores and distributions (one order where the
    record has no `orders`), and the texts' lengths; a record that lacks them raises
    InputError."""
    record = parse_record(value, where)
    _, texts = record.texts()
    lengths = {name: len(text) for name, text in texts.items()}
    verdicts = []
    for number, judgment in enumerate(record.judgments, start=1):
        if judgment.weight is None:
            raise InputError(where, f"judgment {number}: principle 'weight' must be a number")
        orders = judgment.orders or [RecordOrder(list(record.names), judgment.scores)]
        verdicts.append(
            PromptVerdicts(
                prompt_id=record.id,
                principle=judgment.principle,
                weight=float(judgment.weight),
                orders=tuple(
                    _order_verdict(order, record.names, where, f"judgment {number}: ")
                    for order in orders
                ),
                lengths=lengths,
            )
        )
    return verdicts


def _order_verdict(order: RecordOrder, names: list[str], where: str, what: str) -> OrderVerdict:
    if set(order.scores) != set(names):
        raise InputError(where, f"{what}an order does not score every response, as compare needs")
    return OrderVerdict(
        scores={name: order.scores[name].score for name in names},
        distributions={
            name: tuple(float(p) for p in order.scores[name].distribution) for name in names
        },
    )
