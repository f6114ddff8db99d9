"""What a listwise comparison costs against a pairwise protocol, both measured on the same data.

    python -m bench.compare_cost --baseline NAME=PATH NAME=PATH... [--orders 2,4] -- FLAGS...

Listwise (rajudge compare): one judgment of all systems' answers per prompt and order, once for
each number of balanced orders in `--orders`. Pairwise (Arena-Hard's protocol): each system
against the baseline alone, in both orders, i.e. `rajudge compare BASELINE SYSTEM
--permutations 2` once per system. Both run with --no-cache, one after the other, in
processes of their own; the table counts judgments, prompt tokens (from the judged records'
timings) and wall time, and each side's verdict so the two can be read together.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

RAJUDGE = [sys.executable, "-m", "rajudge", "compare", "--no-cache", "-f", "json"]


def run(args: list[str], folder: Path) -> dict[str, Any]:
    """One `rajudge compare` run: its summary, judged records' totals and wall time."""
    judged = folder / "judged.jsonl"
    started = time.perf_counter()
    done = subprocess.run(
        [*RAJUDGE, *args, "--judged", str(judged)], capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"rajudge compare failed ({done.returncode}): {done.stderr}")
    records = [json.loads(line) for line in judged.read_text().splitlines()]
    orders = [o for r in records for j in r["judgments"] for o in j.get("orders", [j])]
    tokens = sum(j["timings"]["prompt_tokens"] for r in records for j in r["judgments"])
    return {
        "summary": json.loads(done.stdout),
        "judgments": len(orders),
        "prompt_tokens": tokens,
        "seconds": round(seconds, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", required=True, help="NAME=PATH of the baseline system")
    parser.add_argument("systems", nargs="+", help="NAME=PATH of each other system")
    parser.add_argument("--orders", default="2", help="listwise orders to measure, e.g. 2,4")
    parser.add_argument("--out", type=Path, help="write the result here as JSON")
    args, flags = parser.parse_known_args()
    flags = [f for f in flags if f != "--"]
    base_name = args.baseline.partition("=")[0]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        listwise = {}
        for orders in args.orders.split(","):
            (folder / f"listwise-{orders}").mkdir()
            listwise[orders] = run(
                [args.baseline, *args.systems, *flags, "--permutations", orders],
                folder / f"listwise-{orders}",
            )
        pairwise = []
        for index, system in enumerate(args.systems):
            (folder / str(index)).mkdir()
            pairwise.append(
                run([args.baseline, system, *flags, "--permutations", "2"], folder / str(index))
            )
    result = {
        "baseline": base_name,
        "flags": flags,
        "listwise": listwise,
        "pairwise": pairwise,
        "pairwise_total": {
            key: round(sum(p[key] for p in pairwise), 1)
            for key in ("judgments", "prompt_tokens", "seconds")
        },
    }
    text = json.dumps(result, indent=1)
    if args.out:
        args.out.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
