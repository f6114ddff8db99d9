"""A comparison as people read it: a Rich leaderboard of systems and a one-line summary.

Both are built from the summary JSON dict (the keys `rajudge compare -f json` writes), not from
the statistics' objects, so a saved summary.json reads back the same as a fresh run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from rajudge.output.render import NAME_WIDTH, cell

Summary = Mapping[str, Any]
System = Mapping[str, Any]
NO_VALUE = "–"  # noqa: RUF001  (en dash) the baseline's win rates: not compared with itself


def render_leaderboard(summary: Summary) -> RenderableType:
    """Systems best first, each principle's verdict when there are several, how each pair's
    verdicts went, then how it was run."""
    tables = [_systems_table(summary)]
    if len(summary["principles"]) > 1:
        tables.append(_principles_table(summary))
    parts: list[RenderableType] = []
    for table in [*tables, _pairs_table(summary)]:
        parts += [table, Text()]
    return Group(*parts, _footer(summary))


def summary_line(summary: Summary) -> str:
    """One line for stderr: the best candidate against the baseline, with how sure and how
    much of it survives length control, then the run's size and position consistency."""
    baseline = summary["baseline"]
    systems = summary["systems"]
    best = next(s for s in systems if s["name"] != baseline)
    head = f"{best['name']} {_verdict(best['win_rate_ci'])} {baseline}"
    if len(systems) > 2:
        head = f"{len(systems)} systems, best candidate {head}"
    left_out = summary["left_out"]["prompts"]
    size = f"{summary['prompts']} prompts" + (f" ({left_out} left out)" if left_out else "")
    return (
        f"{head}: win rate {_rate(best['win_rate'], best['win_rate_ci'])}, "
        f"length-controlled {_rate(best['lc_win_rate'], best['lc_win_rate_ci'])}; "
        f"{size}, {summary['judgments']} judgments; "
        f"position consistency {_overall_consistency(summary['pairs']):.2f}"
    )


def _verdict(ci: Sequence[float] | None) -> str:
    """ "beats" or "is worse than" only when the whole interval is on one side of 0.5."""
    if ci is not None and ci[0] > 0.5:
        return "beats"
    if ci is not None and ci[1] < 0.5:
        return "is worse than"
    return "cannot be told from"


def _overall_consistency(pairs: Sequence[Mapping[str, Any]]) -> float:
    """Every pair's position consistency, weighted by its prompts."""
    prompts = sum(pair["prompts"] for pair in pairs)
    return float(sum(p["position_consistency"] * p["prompts"] for p in pairs) / max(prompts, 1))


def _systems_table(summary: Summary) -> Table:
    baseline = summary["baseline"]
    rows = []
    for system in summary["systems"]:
        is_baseline = system["name"] == baseline
        rows.append(
            [
                str(system["rank"]),
                system["name"] + (" (baseline)" if is_baseline else ""),
                _rating(system["rating"], system["rating_ci"]),
                _rate(system["win_rate"], system["win_rate_ci"]),
                _rate(system["lc_win_rate"], system["lc_win_rate_ci"]),
                NO_VALUE if is_baseline else _wins_ties_losses(system),
                f"{system['mean_length']:.0f}",
            ]
        )
    table = _table()
    table.add_column("#", justify="right")
    table.add_column("system", max_width=NAME_WIDTH)
    for header in ("rating [95% CI]", f"win rate vs {baseline}", "length-controlled"):
        table.add_column(header, justify="right")
    table.add_column("W/T/L", justify="right")
    table.add_column("length", justify="right")
    for row, system in zip(rows, summary["systems"], strict=True):
        leads = system["rank"] == 1 and system["name"] != baseline
        # Numbers are never cut: squeezed, an interval wraps onto a second line instead.
        cells = [cell(row[0]), cell(row[1]), *map(Text, row[2:5]), *map(cell, row[5:])]
        table.add_row(*cells, style="green" if leads else None)
    return table


def _principles_table(summary: Summary) -> Table:
    """Per principle, each system's rating and win rate: which is more helpful, which safer."""
    principles = summary["principles"]
    table = _table()
    table.add_column("system", max_width=NAME_WIDTH)
    for header in _principle_headers(principles):
        table.add_column(header, justify="right")
    for system in summary["systems"]:
        verdicts = [system["principles"][p["name"]] for p in principles]
        table.add_row(
            cell(system["name"]),
            *(
                cell(f"{_rating(v['rating'], None)} · {_rate(v['win_rate'], None)}")
                for v in verdicts
            ),
        )
    return table


def _table() -> Table:
    """The score table's look (rajudge.output.render), without padding at the edges."""
    return Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold")


def _principle_headers(principles: Sequence[Mapping[str, Any]]) -> list[str]:
    """A principle's column: its name, with its weight where the weights differ."""
    if len({p["weight"] for p in principles}) == 1:
        return [p["name"] for p in principles]
    return [f"{p['name']} ×{p['weight']:g}" for p in principles]  # noqa: RUF001  (times sign)


def _pairs_table(summary: Summary) -> Table:
    table = _table()
    table.add_column("pair", max_width=2 * NAME_WIDTH)
    table.add_column("prompts", justify="right")
    table.add_column("wins", justify="right")
    table.add_column("ties", justify="right")
    table.add_column("position consistency", justify="right")
    for pair in summary["pairs"]:
        table.add_row(
            cell(f"{pair['a']} vs {pair['b']}"),
            cell(str(pair["prompts"])),
            cell(f"{pair['a_wins']}-{pair['b_wins']}"),
            cell(str(pair["ties"])),
            cell(f"{pair['position_consistency']:.2f}"),
        )
    return table


def _footer(summary: Summary) -> Text:
    bootstrap = summary["bootstrap"]
    judge = [summary[key] for key in ("model", "mode") if summary[key]]  # null: not given
    lines = [
        " · ".join(
            [
                f"{summary['prompts']} prompts, {summary['judgments']} judgments in "
                f"{summary['orders']} presentation orders",
                *judge,
            ]
        ),
        f"ratings: Bradley-Terry, Elo scale, {summary['baseline']} = 1000; "
        f"{bootstrap['level']:.0%} CIs from {bootstrap['rounds']} bootstrap rounds over prompts",
        "wins: a prompt counts only where every presentation order agrees; the rest are ties",
        "length-controlled: the win rate with the answers' length difference taken out",
    ]
    if len(summary["principles"]) > 1:
        lines.append(f"per principle: rating · win rate vs {summary['baseline']}")
    if summary["undecided_prompts"]:
        lines.append(f"prompts that decided no pair (all ties): {summary['undecided_prompts']}")
    if summary["left_out"]["prompts"]:
        lines.append(
            f"{summary['left_out']['prompts']} prompts left out: not every system answered"
        )
    if not summary["length_controllable"]:
        lines.append("answer lengths do not tell the systems apart: length-controlled = raw")
    return Text("\n".join(lines), style="dim")


def _rating(value: float | None, ci: Sequence[float] | None) -> str:
    if value is None:
        return NO_VALUE
    return f"{value:.0f}" + (f" [{ci[0]:.0f}, {ci[1]:.0f}]" if ci is not None else "")


def _rate(value: float | None, ci: Sequence[float] | None) -> str:
    if value is None:
        return NO_VALUE
    return f"{value:.2f}" + (f" [{ci[0]:.2f}, {ci[1]:.2f}]" if ci is not None else "")


def _wins_ties_losses(system: System) -> str:
    return f"{system['wins']}/{system['ties']}/{system['losses']}"
