"""The CI gates: does a run's mean score reach a threshold (`score --fail-under`)? Is a
system worse than the baseline with confidence (`compare --fail-if-worse`)?

The score gate counts every judged response once, in records made by this run and records kept
from an earlier one (`--resume`) alike, reading each response's score as `pairs` does
(rajudge.output.parse's `Record.scores`): the composite where several principles judged the item,
else the expected score.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rajudge.errors import UsageError
from rajudge.output.parse import parse_record


@dataclass
class ScoreGate:
    """The running mean of response scores against `threshold`."""

    threshold: float
    responses: int = 0
    below: int = 0
    total: float = 0.0

    def __post_init__(self) -> None:
        if not math.isfinite(self.threshold):
            raise UsageError(f"--fail-under must be a number, not {self.threshold}")

    def add(self, *records: Mapping[str, Any]) -> None:
        """Count the responses of score records."""
        for record in records:
            scores = parse_record(record, f"record {record.get('id')!r}").scores.values()
            self.responses += len(scores)
            self.below += sum(score < self.threshold for score in scores)
            self.total += sum(scores)

    @property
    def mean(self) -> float | None:
        return self.total / self.responses if self.responses else None

    @property
    def passed(self) -> bool:
        """The mean reaches the threshold; a run that judged nothing never passes."""
        return self.mean is not None and self.mean >= self.threshold

    def summary(self) -> str:
        """The gate's part of the summary line: the mean and how many responses fell below."""
        if self.mean is None:
            return f"no responses judged, so --fail-under {self.threshold:g} fails"
        verdict = "passed" if self.passed else "failed"
        return (
            f"mean score {self.mean:.3f}, {self.below} of {self.responses} response(s) below "
            f"{self.threshold:g}: --fail-under {verdict}"
        )


def worse_than_baseline(summary: Mapping[str, Any], *, length_controlled: bool) -> list[str]:
    """The `compare --fail-if-worse` gate: one line per system worse than the baseline with
    confidence, i.e. the upper end of its (length-controlled) win rate's CI below 0.5."""
    key = "lc_win_rate" if length_controlled else "win_rate"
    what = "length-controlled win rate" if length_controlled else "win rate"
    lines = []
    for system in summary["systems"]:
        interval = system.get(f"{key}_ci")
        if system["name"] != summary["baseline"] and interval and interval[1] < 0.5:
            lines.append(
                f"{system['name']} is worse than {summary['baseline']}: {what} "
                f"{system[key]:.3f} [{interval[0]:.3f}, {interval[1]:.3f}], CI below 0.5"
            )
    return lines
