"""Write the small labelled samples the tests read, from the shared development sets.

    python scripts/make_test_samples.py ../shared/datasets

Seeded, so running it again writes the same files. Each sample takes a few short pairs per
subset (at most `MAX_CHARS` characters per line, so the real-engine tests stay quick). The
tests read only these samples; bench and `rajudge eval` runs read the full sets in place.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import orjson

SEED = 15
MAX_CHARS = 1500
PER_SUBSET = {"llmbar": 2, "hhh": 2}  # pairs per subset: 10 LLMBar lines, 8 HHH lines
REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "tests" / "data"


def sample(source: Path, per_subset: int, rng: random.Random) -> list[bytes]:
    """`per_subset` seeded short lines from each subset, in the source file's order."""
    lines = [line for line in source.read_bytes().splitlines() if len(line) <= MAX_CHARS]
    by_subset: dict[str, list[int]] = {}
    for index, line in enumerate(lines):
        by_subset.setdefault(orjson.loads(line)["subset"], []).append(index)
    chosen = [i for _, found in sorted(by_subset.items()) for i in rng.sample(found, per_subset)]
    return [lines[i] for i in sorted(chosen)]


def main(datasets: Path) -> None:
    rng = random.Random(SEED)
    for name, per_subset in PER_SUBSET.items():
        lines = sample(datasets / f"{name}.jsonl", per_subset, rng)
        (SAMPLES / f"{name}-sample.jsonl").write_bytes(b"\n".join(lines) + b"\n")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else REPO.parent / "shared" / "datasets"))
