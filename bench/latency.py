"""One-shot latency: `rajudge score --prompt` in a fresh process, cold and with saved prefix states.

    python -m bench.latency [-m MODEL] [--calls 20] [--out bench/latency/NAME.json]

Each call judges a different LLMBar pair (seeded, from ../shared/datasets/llmbar.jsonl) under
one library principle, `--rationale-tokens 0`, so no call is answered by the result cache and
only the prefix states differ:

- cold: every call in an empty cache folder (nothing saved: the whole prompt is computed);
- warm: every call in a folder where an earlier call saved the prefix states;
- floor: a fresh Python process that loads the model with llama-cpp-python and evaluates the
  call's own prompt tokens (those after the saved prefix, as the warm call's record counts
  them), nothing else: what any fresh process must pay at least;
- loop vs batch: the same calls one after the other in a shell loop (warm), against one
  `rajudge score FILE` of the same items (warm states, empty result cache).

Every process runs alone, one after the other; medians over the calls. Timings need a quiet
machine.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rajudge.config import load_config
from rajudge.models.catalog import resolve_model

DATASET = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "llmbar.jsonl"
PRINCIPLE = "follows-instructions"
RAJUDGE_SCORE = [sys.executable, "-m", "rajudge", "score"]
_FLOOR = """
import sys, time, llama_cpp
started = time.perf_counter()
model = llama_cpp.Llama(sys.argv[1], n_ctx=4096, n_threads=int(sys.argv[3]), verbose=False)
tokens = model.tokenize(sys.argv[2].encode(), add_bos=False, special=False)
model.eval(tokens[: int(sys.argv[4])])
"""


def pairs(count: int, seed: int) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in DATASET.open()]
    return random.Random(seed).sample(rows, count)


def timed(
    command: list[str], env: dict[str, str]
) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Wall time of one process, and what it printed; a failed process ends the bench."""
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{command[:4]} failed ({done.returncode}): {done.stderr[-2000:]}")
    return seconds, done


def judge_flags(model: str, threads: int) -> list[str]:
    """The same judge for every contender: scores only, one principle, all threads."""
    flags = ["-f", "jsonl", "-m", model, "-p", PRINCIPLE, "--rationale-tokens", "0"]
    return [*flags, "--threads", str(threads)]


def score_one(row: dict[str, Any], model: str, threads: int) -> list[str]:
    inline = ["--prompt", row["prompt"], "-r", row["chosen"], "-r", row["rejected"]]
    return [*RAJUDGE_SCORE, *inline, *judge_flags(model, threads)]


def as_item(row: dict[str, Any]) -> dict[str, Any]:
    responses = {"response-1": row["chosen"], "response-2": row["rejected"]}
    return {"id": row["id"], "prompt": row["prompt"], "responses": responses}


def ratio(top: list[float], bottom: list[float]) -> float:
    """Median of the per-call ratios."""
    return round(statistics.median(a / b for a, b in zip(top, bottom, strict=True)), 3)


def environment(cache: Path) -> dict[str, str]:
    return {**os.environ, "XDG_CACHE_HOME": str(cache)}


def clear_results(cache: Path) -> None:
    """Empty the result cache, keep the prefix states: the next judgments are computed."""
    command = [sys.executable, "-m", "rajudge", "cache", "clear", "--results"]
    subprocess.run(command, env=environment(cache), capture_output=True, check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-m", "--model", default="demo")
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    rows = pairs(args.calls + 1, args.seed)
    model_path = str(resolve_model(args.model, load_config()).path)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        cold, warm, floor, own = [], [], [], []
        warm_cache = root / "warm"
        timed(score_one(rows[0], args.model, args.threads), environment(warm_cache))  # saves
        for index, row in enumerate(rows[1:]):
            cache = root / f"cold-{index}"
            cold.append(timed(score_one(row, args.model, args.threads), environment(cache))[0])
            shutil.rmtree(cache)
            seconds, done = timed(score_one(row, args.model, args.threads), environment(warm_cache))
            warm.append(seconds)
            timings = json.loads(done.stdout)["judgments"][0]["timings"]
            own.append(timings["prompt_tokens"] - timings["reused_tokens"])
            floor_command = [sys.executable, "-c", _FLOOR, model_path, json.dumps(as_item(row))]
            floor.append(
                timed([*floor_command, str(args.threads), str(own[-1])], dict(os.environ))[0]
            )
        clear_results(warm_cache)
        loop = sum(
            timed(score_one(row, args.model, args.threads), environment(warm_cache))[0]
            for row in rows[1:]
        )
        clear_results(warm_cache)
        items = root / "items.jsonl"
        items.write_text("".join(json.dumps(as_item(row)) + "\n" for row in rows[1:]))
        batch_command = [*RAJUDGE_SCORE, str(items), *judge_flags(args.model, args.threads)]
        batch = timed(batch_command, environment(warm_cache))[0]
    result = {
        "model": args.model,
        "calls": args.calls,
        "threads": args.threads,
        "cold_median_s": round(statistics.median(cold), 3),
        "warm_median_s": round(statistics.median(warm), 3),
        "floor_median_s": round(statistics.median(floor), 3),
        "own_tokens_median": statistics.median(own),
        "warm_over_floor": ratio(warm, floor),
        "cold_over_warm": ratio(cold, warm),
        "loop_s": round(loop, 1),
        "batch_s": round(batch, 1),
        "loop_over_batch": round(loop / batch, 3),
        "cold_s": [round(x, 3) for x in cold],
        "warm_s": [round(x, 3) for x in warm],
        "floor_s": [round(x, 3) for x in floor],
    }
    text = json.dumps(result, indent=1)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
