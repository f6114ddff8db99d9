"""The files the harness and its workers exchange: a workload, a job, a worker's answer.

Stdlib only, because the reference worker imports it from a venv that has no rajudge.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Json = dict[str, Any]


@dataclass(frozen=True)
class Judgment:
    """One item under one principle: the unit every rate in the benchmark counts."""

    item: Json  # id, prompt, responses (name -> text), principle (text or None)
    principle_name: str
    principle_text: str


def judgments(workload: Json) -> list[Judgment]:
    """Every (item, principle) pair of a workload, item-major, as `rajudge score` judges them."""
    found = []
    for item in workload["items"]:
        chosen = workload["principles"] or [{"name": "item", "text": item["principle"]}]
        found += [Judgment(item, p["name"], p["text"]) for p in chosen]
    return found


def read_json(path: str | Path) -> Json:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def write_json(path: str | Path, value: object) -> None:
    Path(path).write_text(json.dumps(value, indent=1, ensure_ascii=False), encoding="utf-8")


def worker_main(run: Callable[[Json, Json], Json]) -> None:
    """A worker process: `run(job, workload)` for the job file in argv[1], answer to argv[2]."""
    job = read_json(sys.argv[1])
    write_json(sys.argv[2], run(job, read_json(job["workload"])))
