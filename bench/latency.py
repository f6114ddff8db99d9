"""One-shot latency: `rajudge score --prompt` in a fresh process, cold and with saved prefix states.

Workload L of `python -m bench` runs `measure` once per round. Alone, for one measurement that
leaves bench/RESULTS.md as it is (every call also gets a cold call and a floor by default):

    python -m bench.latency [-m MODEL] [--calls 20] [--sample N] [--out FILE.json]

Each call judges a different LLMBar pair (seeded, from ../shared/datasets/llmbar.jsonl) under
one library principle, `--rationale-tokens 0`, so no call is answered by the result cache and
only the prefix states differ. One more pair, judged first, saves the prefix states:

- warm: every call in the folder where that first call saved the prefix states, one after the
  other as a shell loop runs them; each call is timed alone, their sum is the loop;
- batch: one `rajudge score FILE` of the same items (warm states, empty result cache);
- cold: the first `sample` calls again, each in an empty cache folder (the whole prompt
  computed);
- floor: for the same calls, a fresh Python process that loads the model with llama-cpp-python
  and evaluates the call's own prompt tokens (those after the saved prefix, as the warm call's
  record counts them), nothing else: what any fresh process must pay at least.

Every process runs alone, one after the other. Timings need a quiet machine.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.jobs import Json
from bench.summary import latency_round
from bench.workloads import DATASETS
from rajudge.config import load_config
from rajudge.errors import ModelError
from rajudge.models.catalog import resolve_model

DATASET = DATASETS / "llmbar.jsonl"
PRINCIPLE = "follows-instructions"
RAJUDGE = [sys.executable, "-m", "rajudge"]
_FLOOR = """
import sys, llama_cpp
model = llama_cpp.Llama(sys.argv[1], n_ctx=4096, n_threads=int(sys.argv[3]), verbose=False)
tokens = model.tokenize(sys.argv[2].encode(), add_bos=False, special=False)
model.eval(tokens[: int(sys.argv[4])])
"""


class CallFailed(RuntimeError):
    """A measured process exited with an error: its times would mean nothing."""


def pairs(calls: int, seed: int) -> list[Json]:
    """The first call's pair (it saves the prefix states), then one pair per measured call."""
    rows = [json.loads(line) for line in DATASET.open()]
    return random.Random(seed).sample(rows, calls + 1)


def describe(rows: list[Json], sample: int, seed: int) -> Json:
    """What every round of workload L judges, for the record."""
    calls = len(rows) - 1
    return {
        "principle": PRINCIPLE,
        "rationale_tokens": 0,
        "seed": seed,
        "calls": calls,
        "sample": min(sample, calls),
        "first_id": rows[0]["id"],
        "item_ids": [row["id"] for row in rows[1:]],
    }


def measure(rows: list[Json], model: Path, threads: int, sample: int) -> Json:
    """One round over rows[1:] (rows[0] saves the states): per-call warm, cold and floor
    seconds, the warm calls' own prompt tokens, the loop and the batch run."""
    started = time.perf_counter()
    calls = rows[1:]
    with tempfile.TemporaryDirectory(prefix="rajudge-latency-") as tmp:
        root = Path(tmp)
        warm_cache = root / "warm"
        _timed(_score_one(rows[0], model, threads), warm_cache)  # saves the prefix states
        warm, own = [], []
        for row in calls:
            seconds, done = _timed(_score_one(row, model, threads), warm_cache)
            timings = json.loads(done.stdout)["judgments"][0]["timings"]
            warm.append(seconds)
            own.append(timings["prompt_tokens"] - timings["reused_tokens"])
        batch = _batch(calls, model, threads, root, warm_cache)
        cold, floor = [], []
        for index, (row, tokens) in enumerate(zip(calls[:sample], own, strict=False)):
            cache = root / f"cold-{index}"
            cold.append(_timed(_score_one(row, model, threads), cache)[0])
            shutil.rmtree(cache)
            floor_command = [sys.executable, "-c", _FLOOR, str(model), json.dumps(_as_item(row))]
            floor.append(_timed([*floor_command, str(threads), str(tokens)], None)[0])
    return {
        "calls": len(calls),
        "sample": len(cold),
        "warm_s": _rounded(warm),
        "own_tokens": own,
        "cold_s": _rounded(cold),
        "floor_s": _rounded(floor),
        "loop_s": round(sum(warm), 3),
        "batch_s": round(batch, 3),
        "wall_seconds": round(time.perf_counter() - started, 1),
    }


def _batch(calls: list[Json], model: Path, threads: int, root: Path, cache: Path) -> float:
    """Seconds of one `rajudge score FILE` of the calls' items, their results not cached."""
    subprocess.run(
        [*RAJUDGE, "cache", "clear", "--results"], env=_env(cache), capture_output=True, check=True
    )
    items = root / "items.jsonl"
    items.write_text("".join(json.dumps(_as_item(row)) + "\n" for row in calls))
    return _timed([*RAJUDGE, "score", str(items), *_judge_flags(model, threads)], cache)[0]


def _timed(
    command: list[str], cache: Path | None
) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Wall time of one process (rajudge's cache in `cache`), and what it printed."""
    env = os.environ if cache is None else _env(cache)
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise CallFailed(f"{command[:4]} failed ({done.returncode}): {done.stderr[-2000:]}")
    return seconds, done


def _judge_flags(model: Path, threads: int) -> list[str]:
    """The same judge for every call: scores only, one principle, all threads."""
    flags = ["-f", "jsonl", "-m", str(model), "-p", PRINCIPLE, "--rationale-tokens", "0"]
    return [*flags, "--threads", str(threads)]


def _score_one(row: Json, model: Path, threads: int) -> list[str]:
    inline = ["--prompt", row["prompt"], "-r", row["chosen"], "-r", row["rejected"]]
    return [*RAJUDGE, "score", *inline, *_judge_flags(model, threads)]


def _as_item(row: Json) -> Json:
    responses = {"response-1": row["chosen"], "response-2": row["rejected"]}
    return {"id": row["id"], "prompt": row["prompt"], "responses": responses}


def _env(cache: Path) -> dict[str, str]:
    return {**os.environ, "XDG_CACHE_HOME": str(cache)}


def _rounded(seconds: list[float]) -> list[float]:
    return [round(x, 3) for x in seconds]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-m", "--model", default="demo")
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--sample", type=int, help="calls also run cold and as a floor (all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    try:
        model = resolve_model(args.model, load_config()).path
        sample = args.calls if args.sample is None else args.sample
        run = measure(pairs(args.calls, args.seed), model, args.threads, sample)
    except (ModelError, CallFailed) as exc:
        sys.exit(f"bench.latency: {exc}")
    result = {"model": args.model, "threads": args.threads, **latency_round(run), **run}
    text = json.dumps(result, indent=1)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
