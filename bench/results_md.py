"""bench/RESULTS.md: one section per model, each from that model's latest results JSON.

`python -m bench.results_md` re-renders it from bench/results/ (also done at the end of every
`python -m bench` run), so a run on one model never overwrites another model's table. Notes
written by hand for a run live beside its JSON (`results/<stem>.md`) and are shown under it.
"""

from __future__ import annotations

import re
from pathlib import Path

from bench import render
from bench.jobs import Json, read_json
from bench.spawn import REPO

RESULTS = REPO / "bench" / "results"
RESULTS_MD = REPO / "bench" / "RESULTS.md"
_RUN_FILE = re.compile(r"^\d{8}T\d{6}Z\.json$")  # throughput runs, not fidelity-/serve- files
TITLE = """\
# Throughput benchmark

Made by `make bench` (`python -m bench`, `--model` for another model than the demo one). Each
model has its own section, from its latest finished run in `results/`; the demo model first.
"""

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
- **naive (tight schema, greedy)**: the strongest loop a competent user would write with
  llama-cpp-python: `Llama(model_path, n_ctx=8192, n_threads=2, n_threads_batch=2, seed=0)`,
  one `create_chat_completion` per judgment with rajudge's exact messages
  (`rajudge.judging.protocol.judge_messages`: the reference system prompt and JSON user
  message, same masked order), `temperature=0`, `max_tokens=512`, and `response_format` = a
  tight JSON schema: `scores` an object with each masked name an integer enum 1..5, all required, no
  additional properties; `best-to-worst` an array of exactly N items from an enum of the names;
  nothing else (no rationale). Reasoning mode (C): a first greedy completion thinks in free
  text (`max_tokens` = the budget, stopped at `</think>`); a second one, with that thinking
  added as an assistant turn, answers under the same schema (llama-cpp-python reuses the
  cached prompt prefix). Its generated tokens are both completions'.
- **naive (loose)**: the loop of earlier runs: the same `Llama` and messages, default sampling;
  fast mode: `response_format` = JSON schema of the protocol's answer (a 1-5 score per masked
  response, best-to-worst, a rationale), `max_tokens=512`; reasoning mode (C): free text,
  `max_tokens` = budget + 256, the JSON read after `</think>`. For both naive loops: valid =
  the JSON parses with `json.loads` and scores every response 1-5 (llama-cpp-python's schema
  grammar lets the model put raw newlines inside the rationale string, which `json.loads`
  refuses; the share that parses once those are let through is shown in brackets).
- **rajudge**: in process, `LlamaBackend` + `rajudge.run.judge_items` consumed fully (the code
  path of `rajudge score`, no result cache), `EngineSettings(threads=2, mode, reasoning_budget)`
  with every other setting at its default (`parallel=4`: four judgments per llama.cpp pass,
  each in its own KV stream); on A and C (the most generation per judgment) again with
  `parallel=1` (one judgment at a time, the default before issue 27: what batching buys), and on A
  with `rationale_tokens=0`: the scores are decoded before the rationale and do not depend on
  it, so that row is what the scoring alone costs. Valid = every item gave an `ItemResult`
  with every response scored.
- **floor**: rajudge's exact prompt tokens for every judgment (its tokenizer and masked order),
  sorted; a plain `llama_cpp.Llama` evaluates each prompt after its longest common prefix with
  the one before (cache cut back with `n_tokens`), so each node of the prompts' prefix trie is
  evaluated once and nothing is generated. "time x floor" = a row's time per judgment over the
  floor's. Its prompt tokens per second are what a prompt token costs.
- **floor + rationale**: the floor, then after every prompt the free text rajudge writes at
  most, decoded greedily one token per llama.cpp pass whatever the token (fast mode: the
  default `--rationale-tokens`; reasoning mode: the thinking budget, since rajudge writes no
  rationale there), timed apart from the prefill. "time x floor+rationale" = a row's time per
  judgment over this floor's: the floor rajudge's defaults are held to. Its decoded tokens per
  second are what a generated token costs.
- **one-shot latency (workload L)**: not a contender but a workload of its own, in every round
  (bench/latency.py): fresh `rajudge score --prompt` processes, one LLMBar pair each, timed
  from start to exit, warm (the prefix states an earlier call saved, restored) and cold (an
  empty cache folder), against the floor of a fresh process (llama-cpp-python loading the
  model and evaluating the call's own prompt tokens); and the warm calls as a shell loop
  against one `rajudge score FILE` of the same items. Its section says how each is measured.
- **x naive tight**: a row's judgments/s over the naive tight loop's in the same round; every
  speedup of rajudge in this file and the README is quoted against that loop.
"""


def write(folder: Path = RESULTS, target: Path = RESULTS_MD) -> None:
    target.write_text(markdown(folder), encoding="utf-8")


def markdown(folder: Path = RESULTS) -> str:
    runs = latest_runs(folder)
    sections = [render.section(record, path, _notes(path)) for path, record in runs]
    return "\n".join([TITLE, *sections, HOW])


def latest_runs(folder: Path) -> list[tuple[Path, Json]]:
    """Each model's latest finished run (by start time, the file name), demo model first."""
    latest: dict[str, tuple[Path, Json]] = {}
    for path in sorted(folder.glob("*.json")):
        if not _RUN_FILE.match(path.name):
            continue
        record = read_json(path)
        if "finished_utc" in record:
            latest[record["model"]["name"]] = (path, record)
    return sorted(
        latest.values(), key=lambda run: (not render.is_demo(run[1]), run[1]["model"]["name"])
    )


def _notes(path: Path) -> str | None:
    notes = path.with_suffix(".md")
    return notes.read_text(encoding="utf-8") if notes.exists() else None


if __name__ == "__main__":
    write()
