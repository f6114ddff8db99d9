"""One model's section of bench/RESULTS.md, from that model's latest results JSON.

Headings start at level 2 (the model) so that bench/results_md.py can put the sections of
several models side by side in one file.
"""

from __future__ import annotations

from pathlib import Path

from bench.jobs import Json
from bench.spawn import REPO
from bench.summary import LATENCY, LATENCY_KEY, latency_summary, summarize, sweep_medians
from rajudge.settings import EngineSettings

TARGETS = (  # workload A: (row, measure, target, what)
    ("reference", "speedup", 30.0, "rajudge at least 30x the reference (defaults) in judgments/s"),
    ("naive-tight", "speedup", 3.0, "rajudge at least 3x the naive tight-schema loop"),
    ("rajudge-scores", "vs_floor", 1.10, "scores only within 1.10x of the prefill floor's time"),
    ("rajudge", "vs_floor_rationale", 1.25, "defaults within 1.25x of the floor + rationale"),
)
LATENCY_TARGETS = (  # workload L: (measure, target, what; {calls} is the calls of a round)
    ("warm_over_floor", 1.25, "warm one-shot within 1.25x of the floor"),
    ("loop_over_batch", 2.0, "{calls}-call shell loop within 2x of one batch run"),
)


def section(record: Json, source: Path, notes: str | None = None) -> str:
    """The whole section of one run: model, machine, workloads, tables, costs, targets."""
    summary = summarize(record)
    parts = [_header(record, source), _machine(record), _workloads(record)]
    parts += [_workload_table(record, name, summary[name]) for name in record["workloads"]]
    latency = latency_summary(record)
    if latency is not None:  # runs before workload L have none
        parts.append(_latency(record, latency))
    parts += [_costs(record, summary), _targets(record, summary, latency), _sweep(record)]
    if notes:
        parts.append("### Reading this run (by hand)\n\n" + notes.strip() + "\n")
    return "\n".join(parts)


def is_demo(record: Json) -> bool:
    return record["model"].get("is_demo", True)  # records before --model all used the demo


def _header(record: Json, source: Path) -> str:
    model = record["model"]
    limit = record["args"].get("limit") or {}
    capped = ", ".join(
        f"{name} to {count} calls" if name == LATENCY else f"{name} to its first {count} items"
        for name, count in limit.items()
    )
    smoke = (
        f"\n**Capped run** (`--limit`): {capped}, because the full workloads do not fit the time "
        "this machine had; every contender ran on the same capped items.\n"
        if limit
        else ""
    )
    size = f"{model['bytes'] / 1e6:.0f} MB"
    if is_demo(record):
        title = f"{model['name']} (the demo model)"
        notice = (
            f"> **The demo model is tiny.** Every number here comes from {model['name']}\n"
            f"> ({size}), rajudge's demo model. Its verdicts are meaningless:\n"
            '> this benchmark measures speed only, and "valid" means a well-formed answer, '
            "not a right one."
        )
    else:
        what = ", ".join(
            str(model[k]) for k in ("architecture", "parameters", "quantization") if model.get(k)
        )
        title = model["name"]
        notice = (
            f"> Every number here comes from {model['name']} ({what}; {size}), named "
            f"`{model.get('alias', model['name'])}`.\n"
            '> This benchmark measures speed only: "valid" means a well-formed answer, not a '
            "right one\n> (how well it judges: bench/FIDELITY.md, EVALUATION.md)."
        )
    return f"""## {title}

{notice}
{smoke}
Made by `make bench` (`{" ".join(record["command"])}`), started {record["started_utc"]};
raw numbers in `{_relative(source)}`. Medians over rounds; ratios are taken within a round.
"""


def _machine(record: Json) -> str:
    facts = record["machine"]
    versions = _reference_versions(record)
    offload = any(w["gpu_offload_supported"] for w in record["workloads"].values())
    gpu = (
        "none used: this llama.cpp build cannot offload"
        if not offload
        else "this llama.cpp build can offload, but every run here is on the CPU"
    )
    if not facts["nvidia_smi"]:
        gpu += "; no GPU on this machine (no nvidia-smi)"
    rounds = record["args"]["rounds"]
    load = ", ".join(f"{x:.2f}" for x in facts["load_average_at_start"])
    commit = facts["git_commit"][:12] + (" (uncommitted changes)" if facts["git_dirty"] else "")
    reference_rounds = min(rounds, record["args"]["reference_rounds"])
    lines = [
        ("CPU", facts["cpu_model"]),
        ("cores (online / usable here)", f"{facts['cpus_online']} / {facts['cpus_usable']}"),
        ("threads used by every contender", facts["threads_used"]),
        ("load average at start (1, 5, 15 min)", load),
        ("llama-cpp-python", facts["llama_cpp_python"]),
        ("reference stack", versions or "not run"),
        ("GPU", gpu),
        ("Python", facts["python"]),
        ("date (UTC)", record["started_utc"]),
        ("git commit", commit),
        ("rounds", f"{rounds} (reference: {reference_rounds})"),
    ]
    body = "\n".join(f"| {name} | {value} |" for name, value in lines)
    return f"### Machine\n\n| | |\n|---|---|\n{body}\n"


def _workloads(record: Json) -> str:
    head = (
        "| workload | items | responses per item | principles | mode | judgments "
        "| prompt tokens, total | unique (prefix trie) | total / unique |\n"
        "|---|---|---|---|---|---|---|---|---|\n"
    )
    body = ""
    for name, w in record["workloads"].items():
        mode = w["mode"] + (f", budget {w['reasoning_budget']}" if w["reasoning_budget"] else "")
        total, unique = w["prompt_tokens_total"], w["prompt_tokens_unique"]
        body += (
            f"| {name} | {w['items']} | {', '.join(map(str, w['responses_per_item']))} "
            f"| {', '.join(w['principles'])} | {mode} | {w['judgments']} | {total:,} "
            f"| {unique:,} | {total / unique:.2f} |\n"
        )
    sources = (
        "A: the first 50 pairs of `llmbar.jsonl` under their own principle. B: 25 seeded "
        "prompts of `pandalm.jsonl` among those with the most distinct responses, each filled "
        "to 6 with a seeded answer to another prompt, under 3 library principles. C: A in "
        "reasoning mode."
    )
    return f"### Workloads\n\n{head}{body}\n{sources}\n"


def _workload_table(record: Json, name: str, rows: dict[str, Json]) -> str:
    head = (
        "| contender | judgments | rounds | load s | judging s | judgments/s "
        "| x naive tight | rajudge is x faster | time x floor | time x floor+rationale "
        "| generated tokens / judgment | peak RSS MiB | valid |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n"
    )
    body = ""
    for key, meta in record["rows"].items():
        row = rows.get(key)
        if row is None:
            continue
        judged, of = row.get("judgments", 0), row.get("of_judgments")
        counted = f"{judged} of {of}" if of not in (None, judged) else str(judged)
        failed = f" ({row['failed']} failed)" if row["failed"] else ""
        if row["stopped"]:
            failed += f" ({row['stopped']} stopped at {row['limit_seconds']:.0f} s)"
        valid = "n/a" if row["valid_share"] is None else f"{row['valid_share']:.0%}"
        if meta["contender"] == "floor":
            valid = "n/a (no answer)"
        if row.get("lenient_share", row["valid_share"]) != row["valid_share"]:
            valid += f" ({row['lenient_share']:.0%} if raw control characters are let through)"
        body += (
            f"| {meta['label']} | {counted} | {row['rounds']}{failed} "
            f"| {_num(row.get('load_seconds'))} | {_num(row.get('judge_seconds'))} "
            f"| {_rate(row)} | {_times(row, 'vs_tight')} | {_times(row, 'speedup')} "
            f"| {_times(row, 'vs_floor')} | {_times(row, 'vs_floor_rationale')} "
            f"| {_num(row.get('generated_per_judgment'), 0)} "
            f"| {_num(row.get('peak_rss_mib'), 0)} | {valid} |\n"
        )
    return f"### Workload {name}\n\n{head}{body}"


def _latency(record: Json, latency: Json) -> str:
    """Workload L: a fresh `rajudge score --prompt`, cold and warm, against its floor, and a
    shell loop of such calls against one batch run."""
    if not latency["rounds"]:
        return (
            f"### One-shot latency\n\nWorkload L failed in each of its {latency['failed']} "
            "round(s); the errors are in the JSON.\n"
        )
    calls, sample = latency["calls"], latency["sample"]
    seed, principle = record[LATENCY_KEY]["seed"], record[LATENCY_KEY]["principle"]
    failed = f" ({latency['failed']} failed)" if latency["failed"] else ""
    head = (
        f"| rounds | cold s | warm s | floor s | own tokens | warm / floor | cold / warm "
        f"| warm s, all {calls} calls | {calls}-call loop s | one batch s | loop / batch |\n"
        + "|---" * 11
        + "|\n"
    )
    row = (
        f"| {latency['rounds']}{failed} | {_num(latency.get('cold_median_s'), 2)} "
        f"| {_num(latency.get('warm_sample_median_s'), 2)} "
        f"| {_num(latency.get('floor_median_s'), 2)} "
        f"| {_num(latency.get('own_tokens_sample_median'), 0)} "
        f"| {_times(latency, 'warm_over_floor')} | {_times(latency, 'cold_over_warm')} "
        f"| {_num(latency['warm_median_s'], 2)} | {_num(latency['loop_s'])} "
        f"| {_num(latency['batch_s'])} | {_times(latency, 'loop_over_batch')} |\n"
    )
    return f"""### One-shot latency

Workload L: `rajudge score --prompt` in a fresh process, every process alone, one after the
other. Each call judges a different seeded LLMBar pair (`llmbar.jsonl`, seed {seed}) under the
library principle `{principle}` with `--rationale-tokens 0`, so the result cache
answers none of them; a first call on one more pair saves the prefix states (chat template +
instructions, then the principle). **Warm**: {calls} calls in that cache folder, the states
restored, one after the other as a shell loop runs them; their sum is the **loop**. **Batch**:
one `rajudge score FILE` of the same {calls} items (warm states, result cache emptied).
**Cold**: the first {sample} calls again, each in an empty cache folder (the whole prompt
computed). **Floor**: for those {sample} calls, a fresh Python process that loads the model
with llama-cpp-python and evaluates the call's own prompt tokens (the warm call's prompt tokens
minus those it restored), nothing more: what any fresh process pays at least. Cold, warm,
floor and own tokens are medians over those {sample} calls, and warm / floor and cold / warm
medians of their per-call ratios; then the warm median over all {calls} calls, the loop and the
batch. Each column is the median over rounds.

{head}{row}"""


def _costs(record: Json, summary: dict[str, dict[str, Json]]) -> str:
    """What a prompt token and a generated token cost, from the floor rows of each workload."""
    body = ""
    for name, rows in summary.items():
        prefill = rows.get("floor", {}).get("prefill_tps")
        decode = rows.get("floor-rationale", {}).get("decode_tps")
        if prefill is None and decode is None:
            continue
        w = record["workloads"][name]
        unique = w["prompt_tokens_unique"] / w["judgments"]
        ratio = f"{prefill / decode:.1f}" if prefill and decode else "-"
        body += (
            f"| {name} | {_num(prefill, 0)} | {_per_token(prefill)} | {_num(decode, 1)} "
            f"| {_per_token(decode)} | {ratio} | {unique:.0f} |\n"
        )
    if not body:
        return "### What a token costs\n\nNo floor rows in this run.\n"
    return (
        "### What a token costs\n\nPrefill: the floor's prompt tokens evaluated per second "
        f"(n_batch {EngineSettings().batch}); decode: the floor + rationale's greedy tokens, one "
        "llama.cpp pass each, per second. Medians over rounds. The defaults "
        "(`--rationale-tokens`, `--parallel`, n_batch) are chosen from these.\n\n"
        "| workload | prefill tokens/s | ms per prompt token | decode tokens/s "
        "| ms per generated token | a generated token costs (prompt tokens) "
        "| unique prompt tokens per judgment |\n|---|---|---|---|---|---|---|\n" + body
    )


def _per_token(per_second: float | None) -> str:
    return "-" if not per_second else f"{1000 / per_second:.1f}"


def _targets(record: Json, summary: dict[str, dict[str, Json]], latency: Json | None) -> str:
    lines = []
    a = summary.get("A", {})
    for key, measure, target, what in TARGETS:
        value = a.get(key, {}).get(measure)
        bound = a.get(key, {}).get(f"{measure}_above")
        if value is None and bound is not None and measure == "speedup":
            limit = a[key]["limit_seconds"]
            verdict = "met" if bound >= target else "not settled: allow it more time"
            lines.append(
                f"- {what}: **more than {_bound(bound)}x** (a lower bound: it was stopped at its "
                f"{limit:.0f} s limit with {a[key]['judgments']} judgments done), {verdict}"
            )
            continue
        if value is None:
            lines.append(f"- {what}: not measured")
            continue
        if measure == "speedup":
            verdict = "met" if value >= target else f"missed: {value / target:.0%} of the target"
            lines.append(f"- {what}: **{value:.2f}x**, {verdict}")
        else:
            lines.append(_at_most(what, value, target))
    for key, which in (("rajudge", "at its defaults"), ("rajudge-scores", "scores only")):
        faster = a.get(key, {}).get("vs_tight")
        if faster is not None:
            lines.append(
                f"- rajudge {which} against the naive tight loop: **{faster:.2f}x** its rate"
            )
    share = a.get("rajudge", {}).get("valid_share")
    if share is not None:
        verdict = "met" if share == 1 else "missed"
        lines.append(f"- rajudge 100% valid outputs on A: **{share:.0%}**, {verdict}")
    b, w = summary.get("B", {}), record["workloads"].get("B")
    if w and "rajudge" in b and b["rajudge"].get("vs_floor"):
        ratio = w["prompt_tokens_total"] / w["prompt_tokens_unique"]
        naive = b.get("naive-tight", {}).get("vs_floor")
        lines.append(
            f"- B, cost grows with unique tokens, not total: total prompt tokens are {ratio:.2f}x "
            f"the unique ones; rajudge's time is **{b['rajudge']['vs_floor']:.2f}x** the floor's "
            "(which evaluates only unique tokens)"
            + (f", the naive tight loop's {naive:.2f}x" if naive else "")
        )
    if latency is not None:
        for measure, target, what in LATENCY_TARGETS:
            named = "L, " + what.format(calls=latency["calls"])
            lines.append(_at_most(named, latency.get(measure), target))
    return "### Targets (workload A unless named)\n\n" + "\n".join(lines) + "\n"


def _at_most(what: str, value: float | None, target: float) -> str:
    """A target line for a ratio that should stay at or under `target`."""
    if value is None:
        return f"- {what}: not measured"
    verdict = "met" if value <= target else f"missed by {value / target - 1:.0%}"
    return f"- {what}: **{value:.2f}x**, {verdict}"


def _sweep(record: Json) -> str:
    medians = sweep_medians(record)
    if not medians:
        return "### Batch size\n\nNo n_batch sweep in this run.\n"
    name = record["sweep"][0]["workload"]
    default = medians.get(512, {}).get("tokens_per_second")
    body = ""
    for batch, m in medians.items():
        relative = f"{m['tokens_per_second'] / default:.2f}" if default else "-"
        body += f"| {batch} | {m['tokens_per_second']:.0f} | {m['seconds']:.1f} | {relative} |\n"
    return (
        f"### Batch size\n\nThe floor on workload {name} at each `n_batch` (= `n_ubatch`), "
        f"{len(record['sweep'])} round(s); rajudge's default is `EngineSettings.batch` = 512.\n\n"
        "| n_batch | prefill tokens/s | seconds | speed vs 512 |\n|---|---|---|---|\n" + body
    )


def _reference_versions(record: Json) -> str:
    for this_round in record["rounds"]:
        for runs in this_round.values():
            for run in runs.values():
                if "versions" in run:
                    return ", ".join(f"{k} {v}" for k, v in run["versions"].items())
    return ""


def _num(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "-"
    return f"{value:.{digits}f}" if digits else f"{value:.0f}"


def _rate(row: Json) -> str:
    """Judgments/s, or for a run stopped at its limit the bound it stayed under."""
    if "rate" not in row and "rate_below" in row:
        return f"< {row['rate_below']:.4f}"
    return _num(row.get("rate"), 3)


def _times(row: Json, measure: str) -> str:
    """A ratio, or for a run stopped at its limit the bound it is above."""
    if measure not in row and f"{measure}_above" in row:
        return f"> {_bound(row[f'{measure}_above'])}x"
    return "-" if row.get(measure) is None else f"{row[measure]:.2f}x"


def _bound(value: float) -> str:
    return f"{value:.0f}" if value >= 10 else f"{value:.2f}"


def _relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO / "bench"))
    except ValueError:
        return str(path)
