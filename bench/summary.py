"""Medians over rounds of each row's numbers and of ratios taken within one round.

A ratio compares two rows of the same round and workload, so a slow moment of the machine
moves both sides: `speedup` is rajudge's judgments/s over the row's, `vs_floor` the row's time
per judgment over the floor's (1.0 is the floor itself), `vs_floor_rationale` over the floor
that also decodes the rationale's tokens, `vs_tight` the row's judgments/s over the naive
tight-schema loop's (the strongest hand-written loop: every speedup is quoted against it).
The floor rows also give what a token costs: `prefill_tps` (prompt tokens evaluated per
second) and `decode_tps` (tokens generated per second, one llama.cpp pass each).
A run stopped at its time limit had not finished the judgment it was on, so its rate is only
bounded from above (`rate_below`) and its ratios from below (`speedup_above`,
`vs_floor_above`); over rounds the weakest bound is kept, not a median.
Workload L (one-shot latency) has its own numbers: `latency_summary`.
"""

from __future__ import annotations

from statistics import median

from bench.jobs import Json

RAJUDGE, FLOOR, FLOOR_RATIONALE, TIGHT = "rajudge", "floor", "floor-rationale", "naive-tight"
LATENCY, ONE_SHOT = "L", "one-shot"  # workload L's only row: rounds[n]["L"]["one-shot"]
LATENCY_KEY = "latency"  # the record's description of workload L (bench.latency.describe)
_MEASURES = (
    "load_seconds",
    "judge_seconds",
    "rate",
    "speedup",
    "vs_floor",
    "vs_floor_rationale",
    "vs_tight",
    "generated_per_judgment",
    "peak_rss_mib",
    "prefill_tps",
    "decode_tps",
)
_BOUNDS = {"rate_below": max, "speedup_above": min, "vs_floor_above": min}  # the weakest


def ran(run: Json) -> bool:
    return run.get("rc") == 0 and "error" not in run and run.get("judge_seconds", 0) > 0


def stopped(run: Json) -> bool:
    return "stopped_at_limit" in run and "error" not in run and run["judge_seconds"] > 0


def rate(run: Json) -> float:
    return run["judgments"] / run["judge_seconds"]


def summarize(record: Json) -> dict[str, dict[str, Json]]:
    """workload -> row key -> medians, judgment counts, valid share, rounds and failures."""
    summary: dict[str, dict[str, Json]] = {}
    for name in record["workloads"]:
        samples: dict[str, dict[str, list[float]]] = {}
        totals: dict[str, Json] = {}
        for this_round in record["rounds"]:
            runs = this_round.get(name, {})
            rates = {key: rate(run) for key, run in runs.items() if ran(run)}
            for key, run in runs.items():
                total = totals.setdefault(
                    key, {"rounds": 0, "failed": 0, "stopped": 0, "valid": 0, "of": 0}
                )
                if not (ran(run) or stopped(run)):
                    total["failed"] += 1
                    continue
                if stopped(run):
                    total["stopped"] += 1
                    total["limit_seconds"] = run["stopped_at_limit"]
                else:
                    total["rounds"] += 1
                total["judgments"] = run["judgments"]
                total["of_judgments"] = run.get("of_judgments", run["judgments"])
                if run.get("valid") is not None:
                    total["valid"] += run["valid"]
                    total["of"] += run["judgments"]
                if "valid_with_control_characters" in run:
                    lenient = total.get("lenient", 0) + run["valid_with_control_characters"]
                    total["lenient"] = lenient
                values = _measures(run, rates)
                row = samples.setdefault(key, {m: [] for m in (*_MEASURES, *_BOUNDS)})
                for measure, value in values.items():
                    if measure in row:
                        row[measure].append(value)
        summary[name] = {}
        for key, total in totals.items():
            medians = {m: _BOUNDS.get(m, median)(v) for m, v in samples.get(key, {}).items() if v}
            share = total["valid"] / total["of"] if total["of"] else None
            summary[name][key] = {**total, **medians, "valid_share": share}
            if "lenient" in total and total["of"]:
                summary[name][key]["lenient_share"] = total["lenient"] / total["of"]
    return summary


def _measures(run: Json, rates: dict[str, float]) -> Json:
    """The run's numbers with its rate and its ratios to rajudge and the floor in its round."""
    if stopped(run):  # the judgment it was on would have taken longer than the time it had
        own, names = (run["judgments"] + 1) / run["judge_seconds"], tuple(_BOUNDS)
    else:
        own, names = rate(run), ("rate", "speedup", "vs_floor")
    rate_name, speedup_name, floor_name = names
    values = {**run, rate_name: own}
    if RAJUDGE in rates:
        values[speedup_name] = rates[RAJUDGE] / own
    if FLOOR in rates:
        values[floor_name] = rates[FLOOR] / own
    if FLOOR_RATIONALE in rates and not stopped(run):
        values["vs_floor_rationale"] = rates[FLOOR_RATIONALE] / own
    if TIGHT in rates and not stopped(run):
        values["vs_tight"] = own / rates[TIGHT]
    if run.get("generated_tokens") is not None and run["judgments"]:
        values["generated_per_judgment"] = run["generated_tokens"] / run["judgments"]
    if "evaluated_tokens" in run:  # a floor run: prefill alone, then any decoding
        decoding = run.get("decode_seconds", 0.0)
        values["prefill_tps"] = run["evaluated_tokens"] / (run["judge_seconds"] - decoding)
        if decoding:
            values["decode_tps"] = run["generated_tokens"] / decoding
    return values


def sweep_medians(record: Json) -> dict[int, Json]:
    """n_batch -> median prefill tokens/s and seconds of the floor over the sweep rounds."""
    found: dict[int, dict[str, list[float]]] = {}
    for runs in record["sweep"]:
        for batch, run in runs.items():
            if batch.isdigit() and ran(run):
                entry = found.setdefault(int(batch), {"tokens_per_second": [], "seconds": []})
                entry["tokens_per_second"].append(run["tokens_per_second"])
                entry["seconds"].append(run["judge_seconds"])
    return {b: {k: median(v) for k, v in e.items()} for b, e in sorted(found.items())}


def latency_round(run: Json) -> Json:
    """One round of workload L: medians over its calls, and its ratios taken call by call
    (cold and floor exist for the first `sample` calls only, so each pairs with its own warm)."""
    warm, cold, floor = run["warm_s"], run["cold_s"], run["floor_s"]
    found = {
        "warm_median_s": median(warm),
        "own_tokens_median": median(run["own_tokens"]),
        "loop_s": run["loop_s"],
        "batch_s": run["batch_s"],
        "loop_over_batch": run["loop_s"] / run["batch_s"],
    }
    if cold:
        found["cold_median_s"] = median(cold)
        found["floor_median_s"] = median(floor)
        found["warm_sample_median_s"] = median(warm[: len(cold)])
        found["own_tokens_sample_median"] = median(run["own_tokens"][: len(cold)])
        found["warm_over_floor"] = median(w / f for w, f in zip(warm, floor, strict=False))
        found["cold_over_warm"] = median(c / w for c, w in zip(cold, warm, strict=False))
    return found


def latency_summary(record: Json) -> Json | None:
    """Workload L's medians over rounds of `latency_round`; None for a run without L."""
    runs = [
        this_round[LATENCY][ONE_SHOT] for this_round in record["rounds"] if LATENCY in this_round
    ]
    if not runs:
        return None
    done = [run for run in runs if "error" not in run]
    found: Json = {"rounds": len(done), "failed": len(runs) - len(done)}
    found |= {key: record[LATENCY_KEY][key] for key in ("calls", "sample")}  # every round's
    per_round = [latency_round(run) for run in done]
    for measure in dict.fromkeys(key for numbers in per_round for key in numbers):
        found[measure] = median(n[measure] for n in per_round if measure in n)
    return found
