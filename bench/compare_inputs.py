"""Inputs for the real-model comparisons in bench/COMPARE.md, made from public data in place.

    python -m bench.compare_inputs pandalm OUT      # PandaLM's labelled-better answers as one
                                                    # system, its labelled-worse as another
    python -m bench.compare_inputs alpacaeval OUT --results DIR --models a,b,c
                                                    # AlpacaEval's public model_outputs.json

Both take a seeded sample (`--limit`, `--seed`), never a hand-picked one. PandaLM is read from
../shared/datasets (the development sets; tests never read them); AlpacaEval from a checkout of
tatsu-lab/alpaca_eval's `results/` folder (Apache-2.0), whose instructions are the same 805 for
every model, so one sample of instructions is taken for all of them.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"


def pandalm(out: Path, limit: int, seed: int) -> None:
    rows = [json.loads(line) for line in (DATASETS / "pandalm.jsonl").open()]
    rows = [r for r in rows if isinstance(r["chosen"], str) and isinstance(r["rejected"], str)]
    sample = random.Random(seed).sample(rows, limit)
    out.mkdir(parents=True, exist_ok=True)
    for system, key in (("better", "chosen"), ("worse", "rejected")):
        with (out / f"{system}.jsonl").open("w") as file:
            for row in sample:
                line = {"id": row["id"], "prompt": row["prompt"], "response": row[key]}
                file.write(json.dumps(line, ensure_ascii=False) + "\n")
    (out / "principle.txt").write_text(sample[0]["principle"] + "\n")


def alpacaeval(out: Path, results: Path, models: list[str], limit: int, seed: int) -> None:
    outputs = {m: json.loads((results / m / "model_outputs.json").read_text()) for m in models}
    instructions = sorted({row["instruction"] for row in outputs[models[0]]})
    chosen = set(random.Random(seed).sample(instructions, limit))
    for model, rows in outputs.items():
        folder = out / model
        folder.mkdir(parents=True, exist_ok=True)
        kept = [
            {"instruction": r["instruction"], "output": r["output"], "generator": r["generator"]}
            for r in rows
            if r["instruction"] in chosen
        ]
        (folder / "model_outputs.json").write_text(json.dumps(kept, indent=1, ensure_ascii=False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", choices=["pandalm", "alpacaeval"])
    parser.add_argument("out", type=Path)
    parser.add_argument("--limit", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--results", type=Path, help="alpaca_eval's results/ folder")
    parser.add_argument("--models", default="", help="comma-separated model folders")
    args = parser.parse_args()
    if args.source == "pandalm":
        pandalm(args.out, args.limit, args.seed)
    else:
        alpacaeval(args.out, args.results, args.models.split(","), args.limit, args.seed)


if __name__ == "__main__":
    main()
