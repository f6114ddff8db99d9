"""`python -m bench`: every contender on every workload, R rounds, one JSON, one RESULTS.md.

Each contender runs in its own process, back to back within a round; ratios are taken within
a round and reported as medians over rounds. Workload L (bench/latency.py) times fresh
`rajudge score --prompt` processes instead, in every round too. The JSON is rewritten after
every run, so an interrupted benchmark keeps what it measured.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from bench import latency, machine, refvenv, results_md, workloads
from bench.jobs import Json, write_json
from bench.results_md import RESULTS
from bench.spawn import REPO, run_worker
from bench.summary import LATENCY, LATENCY_KEY, ONE_SHOT, latency_round
from rajudge.config import load_config
from rajudge.errors import ModelError
from rajudge.models.catalog import ModelRef, describe_model, resolve_model
from rajudge.settings import DEFAULT_MAX_CTX, EngineSettings

WORKLOADS = (*workloads.NAMES, LATENCY)
CONTENDERS = ("reference", "naive-tight", "naive-loose", "rajudge", "floor")
SWEEP_BATCHES = (64, 128, 256, 512)
REFERENCE_ROWS = (  # key, label, generate() overrides of the package's default GenerationConfig
    ("reference", "reference (defaults)", {}),
    ("reference-512", "reference (max_new_tokens=512)", {"max_new_tokens": 512}),
)
ONE_AT_A_TIME = 1  # the row against the defaults' batching: what batching buys here
VENV_PYTHON = Path(sys.executable)


@dataclass(frozen=True)
class Row:
    """One line of a results table: a contender with its settings."""

    key: str
    contender: str
    label: str
    job: Json = field(default_factory=dict)
    workloads: tuple[str, ...] = workloads.NAMES  # where it runs (all unless a row needs less)

    @property
    def is_reference(self) -> bool:
        return self.contender == "reference"


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "-m",
        "--model",
        help="alias or path of the GGUF to judge with, resolved as `rajudge -m` resolves it "
        "(default: the demo model, or $RAJUDGE_MODEL / the config's `model` where set)",
    )
    parser.add_argument(
        "--workloads",
        default=",".join(WORKLOADS),
        help="comma-separated, of A,B,C,L (L: one-shot latency, bench/latency.py)",
    )
    parser.add_argument("--contenders", default=",".join(CONTENDERS), help="comma-separated")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of every contender")
    parser.add_argument("--reference-rounds", type=int, default=1, help="rounds that include it")
    parser.add_argument(
        "--limit",
        help="cap items per workload: N for all, or per workload as A=50,B=5,L=2 (L: calls; "
        "smoke runs, or a machine too slow for the full workloads; RESULTS.md shows the caps)",
    )
    parser.add_argument(
        "--latency-calls", type=int, default=20, help="L: one-shot calls per round (warm, loop)"
    )
    parser.add_argument(
        "--latency-sample",
        type=int,
        default=5,
        help="L: of those calls, the first N also run cold and as the floor, every round",
    )
    parser.add_argument(
        "--naive-workloads", default="A,B,C", help="workloads the naive loops run on"
    )
    parser.add_argument(
        "--reference-items",
        default="5,10",
        help="judgments the reference judges per workload: DEFAULTS[,MAX_NEW_TOKENS_512] (0: none)",
    )
    parser.add_argument(
        "--reference-workloads", default="A", help="workloads the reference runs on (not C)"
    )
    parser.add_argument(
        "--reference-seconds",
        type=float,
        default=600.0,
        help="stop a reference run after this many seconds (wall time, its ~40 s of loading "
        "included); what it judged by then is kept, "
        "and its rate becomes an upper bound (0: no limit)",
    )
    parser.add_argument("--sweep-rounds", type=int, default=1, help="n_batch sweep; 0: none")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    args.workloads = _choices(parser, "--workloads", args.workloads, WORKLOADS)
    args.contenders = _choices(parser, "--contenders", args.contenders, CONTENDERS)
    args.naive_workloads = _choices(
        parser, "--naive-workloads", args.naive_workloads, workloads.NAMES
    )
    args.limit = _limits(parser, args.limit)
    args.reference_workloads = _choices(
        parser, "--reference-workloads", args.reference_workloads, ("A", "B")
    )
    args.reference_seconds = args.reference_seconds or None  # 0: no limit
    caps = [int(n) for n in args.reference_items.split(",")]
    args.reference_items = (caps[0], caps[-1])
    return args


def rows(contenders: list[str], reference_items: tuple[int, int]) -> list[Row]:
    """The table's rows in running order: the reference last, so that a judgment of it that
    runs for very long delays nothing else."""
    defaults = EngineSettings()
    parallel, batch = defaults.parallel, defaults.batch
    found = []
    if "naive-tight" in contenders:
        tight = {"schema": "tight"}
        found.append(Row("naive-tight", "naive", "naive (tight schema, greedy)", tight))
    if "naive-loose" in contenders:  # key "naive": the only naive row of earlier records
        found.append(Row("naive", "naive", "naive (loose: full schema, default sampling)"))
    if "rajudge" in contenders:
        found.append(Row("rajudge", "rajudge", f"rajudge (defaults, parallel={parallel})"))
        if parallel != ONE_AT_A_TIME:  # where generation is heaviest: the rationale, reasoning
            alone = {"parallel": ONE_AT_A_TIME}
            label = f"rajudge (parallel={ONE_AT_A_TIME})"
            found.append(Row("rajudge-one", "rajudge", label, alone, ("A", "C")))
        # the scores come before the rationale and do not depend on it: what the scoring costs
        label = "rajudge (--rationale-tokens 0)"
        found.append(Row("rajudge-scores", "rajudge", label, {"rationale_tokens": 0}, ("A",)))
    if "floor" in contenders:
        found.append(Row("floor", "floor", f"floor (n_batch={batch})", {"batch": batch}))
        # the free text rajudge writes at most, decoded token by token: fast mode's rationale,
        # reasoning mode's thinking budget (the job's "generate" is set per workload)
        label = f"floor + rationale ({defaults.rationale_tokens} tokens; C: its budget)"
        found.append(Row("floor-rationale", "floor", label, {"batch": batch, "generate": None}))
    if "reference" in contenders:
        capped = list(zip(REFERENCE_ROWS, reference_items, strict=True))
        for (key, label, generation), cap in reversed(capped):  # the bounded 512 row first
            if cap > 0:  # a cap of 0 skips the row
                found.append(Row(key, "reference", label, {"generation": generation, "cap": cap}))
    return found


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    try:
        model = resolve_model(args.model, load_config())
    except ModelError as exc:
        raise SystemExit(f"bench: {exc}") from None
    table = rows(args.contenders, args.reference_items)
    referenced = set(args.reference_workloads) & set(args.workloads)  # none for L alone
    if referenced and any(row.is_reference for row in table):
        refvenv.ensure()
    started = datetime.now(timezone.utc)
    out = RESULTS / f"{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    RESULTS.mkdir(parents=True, exist_ok=True)
    record: Json = {
        "schema": 1,
        "started_utc": started.isoformat(timespec="seconds"),
        "command": ["python", "-m", "bench", *(sys.argv[1:] if argv is None else argv)],
        "args": vars(args),
        "machine": machine.facts(args.threads),
        "model": describe(model),
        "rows": {row.key: {"label": row.label, "contender": row.contender} for row in table},
        "workloads": {},
        "rounds": [],
        "sweep": [],
    }
    base = {"model": str(model.path), "threads": args.threads, "seed": args.seed}
    base["ctx"] = DEFAULT_MAX_CTX  # rajudge's own default: the naive loop and floor get the same
    calls = min(args.latency_calls, args.limit.get(LATENCY, args.latency_calls))
    pairs = latency.pairs(calls, args.seed) if LATENCY in args.workloads else []
    if pairs:
        record[LATENCY_KEY] = latency.describe(pairs, args.latency_sample, args.seed)
    throughput = [name for name in args.workloads if name != LATENCY]
    with tempfile.TemporaryDirectory(prefix="rajudge-bench-") as tmp:
        folder = Path(tmp)
        for name in throughput:
            record["workloads"][name] = _prepare(name, base, folder, args)
        for number in range(args.rounds):
            record["rounds"].append({})
            for name in args.workloads:
                if name == LATENCY:
                    run = _latency(pairs, model.path, args, number)
                    record["rounds"][-1][LATENCY] = {ONE_SHOT: run}
                    write_json(out, record)
                    continue
                for row in _rows_in_round(table, name, number, args):
                    job = {**base, **_job(row, record["workloads"][name]), **_files(folder, name)}
                    python, module = _runner(row)
                    limit = args.reference_seconds if row.is_reference else None
                    run = run_worker(python, module, job, folder, row.key, limit)
                    record["rounds"][-1].setdefault(name, {})[row.key] = run
                    _progress(number, args.rounds, name, row.label, run)
                    write_json(out, record)
            if number < args.sweep_rounds and "floor" in args.contenders and throughput:
                record["sweep"].append(_sweep(base, throughput[0], folder, number, args.rounds))
                write_json(out, record)
    record["finished_utc"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    write_json(out, record)
    results_md.write()
    print(f"bench: wrote {out.relative_to(REPO)} and bench/RESULTS.md", flush=True)


def describe(model: ModelRef) -> Json:
    """The record's model: its file (which names its results) and what it is."""
    info = describe_model(model.path, model.name)
    return {
        "path": str(model.path),
        "name": model.path.name,
        "alias": model.name,
        "bytes": model.path.stat().st_size,
        "is_demo": model.is_demo,
        "architecture": info.architecture,
        "parameters": info.parameters,
        "quantization": info.quantization,
    }


def _job(row: Row, workload: Json) -> Json:
    """The row's job on one workload: "generate" None becomes the free text rajudge writes at
    most there (its thinking budget in reasoning mode, else its rationale)."""
    job = {**row.job, "contender": row.contender}
    if "generate" in job and job["generate"] is None:
        budget = workload["reasoning_budget"]
        job["generate"] = budget if budget else EngineSettings().rationale_tokens
    return job


def _prepare(name: str, base: Json, folder: Path, args: argparse.Namespace) -> Json:
    """Write the workload file and rajudge's prompt tokens for it; describe the workload."""
    workload = workloads.build(name, args.seed, args.limit.get(name))
    files = _files(folder, name)
    write_json(files["workload"], workload)
    prep = run_worker(
        VENV_PYTHON,
        "bench.worker",
        {**base, **files, "contender": "tokens"},
        folder,
        f"tokens-{name}",
    )
    if "error" in prep:
        raise SystemExit(f"bench: building the prompt tokens of workload {name} failed")
    return _describe(workload, prep)


def _files(folder: Path, name: str) -> dict[str, str]:
    return {
        "workload": str(folder / f"workload-{name}.json"),
        "tokens": str(folder / f"tokens-{name}.json"),
    }


def _rows_in_round(table: list[Row], name: str, number: int, args: argparse.Namespace) -> list[Row]:
    """The rows to run on workload `name` in round `number`: the reference only in its rounds,
    the naive loop only on its workloads, every row only on its own."""
    chosen = [
        row
        for row in table
        if not row.is_reference
        or (number < args.reference_rounds and name in args.reference_workloads)
    ]
    chosen = [row for row in chosen if name in row.workloads]
    return [row for row in chosen if row.contender != "naive" or name in args.naive_workloads]


def _sweep(base: Json, name: str, folder: Path, number: int, rounds: int) -> Json:
    """The floor's prefill speed on one workload at each n_batch, to back the default batch."""
    runs: Json = {"workload": name}
    for batch in SWEEP_BATCHES:
        job = {**base, **_files(folder, name), "contender": "floor", "batch": batch}
        runs[str(batch)] = run_worker(VENV_PYTHON, "bench.worker", job, folder, f"sweep-{batch}")
        _progress(number, rounds, name, f"sweep n_batch={batch}", runs[str(batch)])
    return runs


def _latency(pairs: list[Json], model: Path, args: argparse.Namespace, number: int) -> Json:
    """One round of workload L; a failed call is recorded as the round's error, and the
    benchmark goes on."""
    try:
        run = latency.measure(pairs, model, args.threads, args.latency_sample)
    except latency.CallFailed as exc:
        run = {"error": str(exc)}
    head = f"bench: round {number + 1}/{args.rounds} L one-shot latency:"
    if "error" in run:
        print(f"{head} FAILED ({run['error']})", file=sys.stderr, flush=True)
        return run
    medians = latency_round(run)
    print(
        f"{head} warm {medians['warm_median_s']:.2f} s (median of {run['calls']} calls), "
        f"loop {run['loop_s']:.1f} s, batch {run['batch_s']:.1f} s "
        f"({run['wall_seconds']:.0f} s in all)",
        file=sys.stderr,
        flush=True,
    )
    return run


def _runner(row: Row) -> tuple[Path, str]:
    if row.is_reference:
        return refvenv.PYTHON, "bench.reference_worker"
    return VENV_PYTHON, "bench.worker"


def _describe(workload: Json, prep: Json) -> Json:
    return {
        "mode": workload["mode"],
        "reasoning_budget": workload["reasoning_budget"],
        "principles": [p["name"] for p in workload["principles"]] or ["each item's own"],
        "items": len(workload["items"]),
        "responses_per_item": sorted({len(i["responses"]) for i in workload["items"]}),
        "judgments": prep["judgments"],
        "prompt_tokens_total": prep["total_tokens"],
        "prompt_tokens_unique": prep["unique_tokens"],
        "longest_prompt_tokens": prep["longest_prompt"],
        "gpu_offload_supported": prep["gpu_offload_supported"],
        "item_ids": [i["id"] for i in workload["items"]],
    }


def _progress(number: int, rounds: int, workload: str, label: str, run: Json) -> None:
    head = f"bench: round {number + 1}/{rounds} {workload} {label}:"
    if "error" in run:
        print(f"{head} FAILED ({run['error']})", file=sys.stderr, flush=True)
        return
    rate = run["judgments"] / run["judge_seconds"]
    stopped = " when stopped at its time limit" if "stopped_at_limit" in run else ""
    print(
        f"{head} {run['judgments']} judgments in {run['judge_seconds']:.1f} s{stopped} "
        f"({rate:.3f}/s, load {run['load_seconds']:.1f} s, peak {run['peak_rss_mib']:.0f} MiB)",
        file=sys.stderr,
        flush=True,
    )


def _choices(
    parser: argparse.ArgumentParser, flag: str, text: str, allowed: tuple[str, ...]
) -> list[str]:
    chosen = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [c for c in chosen if c not in allowed]
    if unknown or not chosen:
        parser.error(f"{flag}: choose from {', '.join(allowed)} (got {text!r})")
    return [c for c in allowed if c in chosen]


def _limits(parser: argparse.ArgumentParser, given: str | None) -> dict[str, int]:
    if not given:
        return {}
    if given.isdigit():
        return dict.fromkeys(WORKLOADS, int(given))
    try:
        pairs = [part.split("=") for part in given.split(",")]
        limits = {name.strip(): int(count) for name, count in pairs}
    except ValueError:
        parser.error(f"--limit: expected N or A=N,B=N, not {given!r}")
    unknown = set(limits) - set(WORKLOADS)
    if unknown:
        parser.error(f"--limit: unknown workload(s) {', '.join(sorted(unknown))}")
    return limits
