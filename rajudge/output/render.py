"""Results as people read them: a Rich table per item, with rationales and how it was run."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from rajudge.records import ItemResult, Judgment, Principle, ResponseScore

HEADING_EXCERPT = 70  # characters of the prompt shown above an item's table
NAME_WIDTH = 32  # longer response names are ellipsised in the table


class TableWriter:
    """A Rich table per item, printed as soon as the item is judged."""

    def __init__(self, console: Console) -> None:
        self._console = console

    def write(self, result: ItemResult) -> None:
        self._console.print(render_result(result))
        self._console.print()

    def close(self) -> None:
        """Nothing is buffered."""


def plain_console(**options: Any) -> Console:
    """A Rich console that prints text as it is: no markup, emoji codes or highlighting."""
    return Console(markup=False, emoji=False, highlight=False, **options)


def render_result(result: ItemResult) -> RenderableType:
    """One item as people read it: heading, ranking table, rationales, then how it was run."""
    return Group(_heading(result), _table(result), *_rationales(result), _footer(result))


def _heading(result: ItemResult) -> Text:
    """The item id and the start of its prompt, always on one line."""
    return Text.assemble(
        (result.item.id, "bold"),
        "  ",
        _excerpt(result.item.prompt),
        no_wrap=True,
        overflow="ellipsis",
    )


def _table(result: ItemResult) -> Table:
    principles = [judgment.principle for judgment in result.judgments]
    several = len(principles) > 1
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, header_style="bold")
    table.add_column("rank", justify="right")
    table.add_column("response", max_width=NAME_WIDTH)
    for header in _score_headers(principles):
        table.add_column(header, justify="right")
    if several:
        table.add_column("composite", justify="right")

    for rank, name in enumerate(result.ranking, start=1):
        cells = [cell(str(rank)), cell(name)]
        cells += [_score_cell(_score_of(judgment, name)) for judgment in result.judgments]
        if several:
            cells.append(cell(f"{result.composite[name]:.2f}"))
        table.add_row(*cells, style="green" if rank == 1 else None)
    return table


def _score_headers(principles: list[Principle]) -> list[str]:
    """Column heads: "score" for a lone principle, else names, with weights if they differ."""
    if len(principles) == 1:
        return ["score"]
    if len({p.weight for p in principles}) == 1:
        return [p.name for p in principles]
    return [f"{p.name} ×{p.weight:g}" for p in principles]  # noqa: RUF001  (times sign)


def _excerpt(prompt: str) -> str:
    """The prompt on one line, cut to `HEADING_EXCERPT` characters."""
    line = " ".join(prompt.split())
    if len(line) <= HEADING_EXCERPT:
        return line
    return line[: HEADING_EXCERPT - 1].rstrip() + "…"


def _score_of(judgment: Judgment, name: str) -> ResponseScore:
    return next(score for score in judgment.responses if score.name == name)


def _score_cell(score: ResponseScore) -> Text:
    return cell(f"{score.score}  ({score.expected:.2f})")


def cell(value: str) -> Text:
    """One line, ellipsised when squeezed; columns stay wrappable so Rich narrows them first."""
    return Text(value, no_wrap=True, overflow="ellipsis")


def _rationales(result: ItemResult) -> list[Text]:
    several = len(result.judgments) > 1
    return [
        Text.assemble(
            (f"rationale ({j.principle.name}):" if several else "rationale:", "bold"),
            " ",
            j.rationale.strip(),
        )
        for j in result.judgments
        if j.rationale.strip()
    ]


def _footer(result: ItemResult) -> Text:
    first = result.judgments[0]
    seconds = sum(j.timings.seconds for j in result.judgments)
    cached = sum(j.timings.cached for j in result.judgments)
    if cached == len(result.judgments):
        source = " · from the cache"
    elif cached:
        source = f" · {cached} of {len(result.judgments)} from the cache"
    else:
        source = ""
    return Text(f"{first.model} · {first.mode} · {seconds:.2f} s{source}", style="dim")
