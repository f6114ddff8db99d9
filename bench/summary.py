"""Medians over rounds of each row's numbers and of ratios taken within one round.

A ratio compares two rows of the same round and workload, so a slow moment of the machine
moves both sides: `speedup` is rajudge's judgments/s over the row's, `vs_floor` the row's time
per judgment over the floor's (1.0 is the floor itself, 1.25 the issue's target for rajudge).
"""

from __future__ import annotations

from statistics import median

from bench.jobs import Json

RAJUDGE, FLOOR = "rajudge", "floor"
_MEASURES = ("load_seconds", "judge_seconds", "rate", "speedup", "vs_floor", "peak_rss_mib")


def ran(run: Json) -> bool:
    return run.get("rc") == 0 and "error" not in run and run.get("judge_seconds", 0) > 0


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
                total = totals.setdefault(key, {"rounds": 0, "failed": 0, "valid": 0, "of": 0})
                if not ran(run):
                    total["failed"] += 1
                    continue
                total["rounds"] += 1
                total["judgments"] = run["judgments"]
                total["of_judgments"] = run.get("of_judgments", run["judgments"])
                if run.get("valid") is not None:
                    total["valid"] += run["valid"]
                    total["of"] += run["judgments"]
                if "valid_with_control_characters" in run:
                    lenient = total.get("lenient", 0) + run["valid_with_control_characters"]
                    total["lenient"] = lenient
                values = {**run, "rate": rates[key]}
                if RAJUDGE in rates:
                    values["speedup"] = rates[RAJUDGE] / rates[key]
                if FLOOR in rates:
                    values["vs_floor"] = rates[FLOOR] / rates[key]
                row = samples.setdefault(key, {m: [] for m in _MEASURES})
                for measure in _MEASURES:
                    if measure in values:
                        row[measure].append(values[measure])
        summary[name] = {}
        for key, total in totals.items():
            medians = {m: median(v) for m, v in samples.get(key, {}).items() if v}
            share = total["valid"] / total["of"] if total["of"] else None
            summary[name][key] = {**total, **medians, "valid_share": share}
            if "lenient" in total and total["of"]:
                summary[name][key]["lenient_share"] = total["lenient"] / total["of"]
    return summary


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
