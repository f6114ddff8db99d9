"""bench/RESULTS.md from one results JSON: `python -m bench.render bench/results/X.json`."""

from __future__ import annotations

import sys
from pathlib import Path

from bench.jobs import Json, read_json
from bench.spawn import REPO
from bench.summary import summarize, sweep_medians

RESULTS_MD = REPO / "bench" / "RESULTS.md"
TARGETS = (  # issue 6, workload A: (row, measure, target, what)
    ("reference", "speedup", 30.0, "rajudge at least 30x the reference (defaults) in judgments/s"),
    ("naive", "speedup", 3.0, "rajudge at least 3x the naive loop in judgments/s"),
    ("rajudge", "vs_floor", 1.25, "rajudge's judging time within 1.25x of the floor's"),
)
HOW = """\
## How each contender runs

Every contender judges the same items (workload files built once per run from
`../shared/datasets`, never copied into the repo), each in its own process (peak RSS is that
process's `ru_maxrss` from `wait4`), on the same GGUF file and the same thread count. Model
loading is timed apart from judging; judgments/s counts judging time only.

- **reference**: `rewardanything==1.0.1` from PyPI in `bench/.venv-ref` (CPU torch),
  `RewardModel.judge` per judgment: its own prompt and masking, transformers `generate` with
  its default `GenerationConfig` (max_new_tokens=4096, do_sample, temperature 0.1, top_p 0.9;
  torch seeded), then again with `max_new_tokens=512`; valid = its own parser returned a score
  for every response. **Glue**: `rewardanything.from_pretrained` cannot open a GGUF (it passes
  no `gguf_file` to `AutoTokenizer`), so `bench/reference_worker.py` loads the tokenizer and
  model as it does (`AutoTokenizer` / `AutoModelForCausalLM.from_pretrained(folder,
  gguf_file=..., device_map="cpu")`, pad token = eos) and hands them to the package's own
  `RewardModel`; nothing else is changed. transformers dequantizes the GGUF to float32, and
  needs `accelerate` to load one. It is so slow on a CPU that it judges only the first
  judgments of each workload (counts in the table); its rate comes from that prefix of the
  same items, and it runs in the first round only, on A by default (`--reference-workloads`).
  A run still going after `--reference-seconds` (600 by default) is stopped and keeps the
  judgments it finished; the one it was on needed more than the time left, so its rate is
  shown as below (finished + 1) / judging time, and rajudge's speedup over it as a lower bound.
  It has no reasoning switch (it always generates freely), so it is never run on C: its A run
  is already its reasoning run.
- **naive**: llama-cpp-python as a user would write it: `Llama(model_path, n_ctx=8192,
  n_threads=2, n_threads_batch=2, seed=0)`, one `create_chat_completion` per judgment with
  rajudge's exact messages (`rajudge.protocol.judge_messages`, same masked order), default
  sampling; fast mode: `response_format` = JSON schema of the protocol's answer (a 1-5 score per
  masked response, best-to-worst, a rationale), `max_tokens=512`; reasoning mode (C): free text,
  `max_tokens` = budget + 256, the JSON read after `</think>`. Valid = the JSON parses with
  `json.loads` and scores every response 1-5 (llama-cpp-python's schema grammar lets the model
  put raw newlines inside the rationale string, which `json.loads` refuses; the share that
  parses once those are let through is shown in brackets).
- **rajudge**: in process, `LlamaBackend` + `rajudge.run.judge_items` consumed fully (the code
  path of `rajudge score`, no result cache), `EngineSettings(threads=2, mode, reasoning_budget)`
  with every other setting at its default; on A and C (the most generation per judgment) again
  with `parallel=8` (eight judgments per llama.cpp pass, each in its own KV stream), and on A
  with `rationale_tokens=0`: the scores are decoded before the rationale and do not depend on
  it, so that row is what the scoring alone costs. Valid = every item gave an `ItemResult`
  with every response scored.
- **floor**: rajudge's exact prompt tokens for every judgment (its tokenizer and masked order),
  sorted; a plain `llama_cpp.Llama` evaluates each prompt after its longest common prefix with
  the one before (cache cut back with `n_tokens`), so each node of the prompts' prefix trie is
  evaluated once and nothing is generated. "time x floor" = a row's time per judgment over the
  floor's.
"""


def write(record: Json, source: Path) -> None:
    RESULTS_MD.write_text(markdown(record, source), encoding="utf-8")


def markdown(record: Json, source: Path) -> str:
    summary = summarize(record)
    parts = [_header(record, source), _machine(record), _workloads(record)]
    parts += [_workload_table(record, name, summary[name]) for name in record["workloads"]]
    parts += [_targets(record, summary), _sweep(record), HOW]
    return "\n".join(parts)


def _header(record: Json, source: Path) -> str:
    limit = record["args"].get("limit") or {}
    capped = ", ".join(f"{name} to its first {count} items" for name, count in limit.items())
    smoke = (
        f"\n**Capped run** (`--limit`): {capped}, because the full workloads do not fit the time "
        "this machine had; every contender ran on the same capped items.\n"
        if limit
        else ""
    )
    return f"""# Throughput benchmark (issue 6)

> **The demo model is tiny.** Every number here comes from {record["model"]["name"]}
> ({record["model"]["bytes"] / 1e6:.0f} MB), rajudge's demo model. Its verdicts are meaningless:
> this benchmark measures speed only, and "valid" means a well-formed answer, not a right one.
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
    return f"## Machine\n\n| | |\n|---|---|\n{body}\n"


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
    return f"## Workloads\n\n{head}{body}\n{sources}\n"


def _workload_table(record: Json, name: str, rows: dict[str, Json]) -> str:
    head = (
        "| contender | judgments | rounds | load s | judging s | judgments/s "
        "| rajudge is x faster | time x floor | peak RSS MiB | valid |\n"
        "|---|---|---|---|---|---|---|---|---|---|\n"
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
            f"| {_rate(row)} | {_times(row, 'speedup')} "
            f"| {_times(row, 'vs_floor')} | {_num(row.get('peak_rss_mib'), 0)} | {valid} |\n"
        )
    return f"## Workload {name}\n\n{head}{body}"


def _targets(record: Json, summary: dict[str, dict[str, Json]]) -> str:
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
        else:
            verdict = "met" if value <= target else f"missed by {value / target - 1:.0%}"
        lines.append(f"- {what}: **{value:.2f}x**, {verdict}")
    share = a.get("rajudge", {}).get("valid_share")
    if share is not None:
        verdict = "met" if share == 1 else "missed"
        lines.append(f"- rajudge 100% valid outputs on A: **{share:.0%}**, {verdict}")
    b, w = summary.get("B", {}), record["workloads"].get("B")
    if w and "rajudge" in b and b["rajudge"].get("vs_floor"):
        ratio = w["prompt_tokens_total"] / w["prompt_tokens_unique"]
        naive = b.get("naive", {}).get("vs_floor")
        lines.append(
            f"- B, cost grows with unique tokens, not total: total prompt tokens are {ratio:.2f}x "
            f"the unique ones; rajudge's time is **{b['rajudge']['vs_floor']:.2f}x** the floor's "
            "(which evaluates only unique tokens)"
            + (f", the naive loop's {naive:.2f}x" if naive else "")
        )
    return "## Targets of issue 6\n\n" + "\n".join(lines) + "\n"


def _sweep(record: Json) -> str:
    medians = sweep_medians(record)
    if not medians:
        return "## Batch size\n\nNo n_batch sweep in this run.\n"
    name = record["sweep"][0]["workload"]
    default = medians.get(512, {}).get("tokens_per_second")
    body = ""
    for batch, m in medians.items():
        relative = f"{m['tokens_per_second'] / default:.2f}" if default else "-"
        body += f"| {batch} | {m['tokens_per_second']:.0f} | {m['seconds']:.1f} | {relative} |\n"
    return (
        f"## Batch size\n\nThe floor on workload {name} at each `n_batch` (= `n_ubatch`), "
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


if __name__ == "__main__":
    source = Path(sys.argv[1])
    write(read_json(source), source)
