"""`python -m bench.fidelity`: does rajudge read the verdict the model itself would give?

On the same pairs, each in both presentation orders, two contenders judge with the same GGUF
and the same llama.cpp build:

- reference: the reference package's messages (`prepare_chat_messages`, run in bench/.venv-ref),
  greedy free generation through llama-cpp-python's `create_chat_completion` (the model's own
  chat template), the answer read by the package's own `parse_rewardanything_output`. In
  reasoning mode the free generation starts inside an open `<think>` block, as rajudge's does,
  and may think for the budget plus room for the answer.
- rajudge: `LlamaBackend.judge` with the same presentation order, at its defaults for the mode,
  each judgment by a fresh engine on one prefix-state store (as a new `rajudge score` process
  judges): from the second judgment on, the template and instructions are restored from a saved
  state, and in each pair's second order the principle too.

The pairs are a seeded sample of the shared datasets (read in place). Everything measured goes
to bench/results/fidelity-<utc>.json; bench/FIDELITY.md is rendered from it
(bench.fidelity_report).
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from bench import fidelity_report, refvenv
from bench.jobs import Json, read_json, write_json
from bench.spawn import REPO
from bench.workloads import DATASETS
from rajudge import EngineSettings, Item
from rajudge.config import load_config
from rajudge.engine.base import judge_one
from rajudge.engine.llama import LlamaBackend
from rajudge.engine.prefix_state import DEFAULT_CAP_MB, PrefixStates
from rajudge.judging.protocol import judge_messages, masked_name
from rajudge.models.catalog import resolve_model
from rajudge.read import read_items
from rajudge.settings import DEFAULT_MAX_CTX

if TYPE_CHECKING:
    from llama_cpp import Llama
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

SETS = ("llmbar", "hhh", "pandalm", "evalbiasbench")
ANSWER_ROOM = 256  # tokens a free answer may take after its thinking (or at all, in fast mode)
ANSWERS = ("reference", "reference_cold", "after_our_thinking")  # free answers, parsed alike
RESULTS = REPO / "bench" / "results"
CTX = DEFAULT_MAX_CTX  # the same context for both: room for every shared pair


@dataclass(frozen=True)
class Case:
    """One pair in one presentation order."""

    item: Item
    order: tuple[str, ...]

    @property
    def masked(self) -> dict[str, str]:
        return {masked_name(i): self.item.responses[n] for i, n in enumerate(self.order)}


def sample_pairs(per_set: int, seed: int) -> list[Item]:
    """`per_set` seeded pairs from each shared set, in file order within a set."""
    items = []
    for name in SETS:
        read = read_items(str(DATASETS / f"{name}.jsonl"))
        rng = random.Random(f"{seed}:{name}")
        picked = sorted(rng.sample(range(len(read.items)), per_set))
        items += [read.items[i] for i in picked]
    return items


def both_orders(items: list[Item]) -> list[Case]:
    cases = []
    for item in items:
        names = tuple(item.responses)
        cases += [Case(item, names), Case(item, names[::-1])]
    return cases


def reference_call(verb: str, job: Json, folder: Path) -> list[Json]:
    """Run the reference package's framing or parser in its own venv."""
    job_path, out_path = folder / f"{verb}.job.json", folder / f"{verb}.out.json"
    write_json(job_path, job)
    command = [str(refvenv.PYTHON), "-m", "bench.fidelity_reference", verb]
    subprocess.run([*command, str(job_path), str(out_path)], cwd=REPO, check=True)
    return read_json(out_path)  # type: ignore[return-value]  # a list, by the worker's contract


def reference_engine(
    model: Path, threads: int, logits_all: bool = False
) -> tuple[Llama, Jinja2ChatFormatter]:
    """llama-cpp-python as the reference runs it, with the model's own chat template."""
    from llama_cpp import Llama
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    llm = Llama(str(model), n_ctx=CTX, n_threads=threads, n_threads_batch=threads,
                seed=0, logits_all=logits_all, verbose=False)  # fmt: skip
    formatter = Jinja2ChatFormatter(
        template=llm.metadata["tokenizer.chat_template"],
        eos_token=llm._model.token_get_text(llm.token_eos()),
        bos_token=llm._model.token_get_text(llm.token_bos()),
    )
    return llm, formatter


def reference_prompt(
    llm: Llama, formatter: Jinja2ChatFormatter, messages: list[Json], thinking: bool
) -> list[int]:
    """The prompt tokens of a free generation; in reasoning mode it starts inside `<think>`."""
    prompt = formatter(messages=messages).prompt + ("<think>\n" if thinking else "")
    return llm.tokenize(prompt.encode("utf-8"), add_bos=True, special=True)


def run_mode(
    model: Path,
    cases: list[Case],
    mode: str,
    budget: int,
    threads: int,
    cold_reference: bool = False,
) -> list[Json]:
    """Both contenders on every case, alternating per case so machine noise hits both alike;
    with `cold_reference`, the reference a second time with an empty cache."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        framing = [
            {"principle": c.item.principle.text, "prompt": c.item.prompt, "responses": c.masked}
            for c in cases
        ]
        ref_messages = reference_call("messages", {"judgments": framing}, folder)
        settings = EngineSettings(mode=mode, threads=threads, ctx=CTX, reasoning_budget=budget)  # type: ignore[arg-type]
        states = PrefixStates(folder / "states", DEFAULT_CAP_MB << 20)
        llm, formatter = reference_engine(model, threads)
        rows = []
        try:
            for n, (case, messages) in enumerate(zip(cases, ref_messages, strict=True), 1):
                with LlamaBackend(model, settings, states=states) as backend:
                    rows.append(
                        _judge_case(
                            case, messages, mode, budget, backend, llm, formatter, cold_reference
                        )
                    )
                took = rows[-1]["reference"]["seconds"], rows[-1]["rajudge"]["seconds"]
                print(f"bench: {mode} {n}/{len(cases)} ({took[0]:.1f} s, {took[1]:.1f} s)")
        finally:
            llm.close()
        answers = [r[key] for r in rows for key in ANSWERS if key in r]
        parsed = reference_call("parse", {"outputs": [a["parsed_text"] for a in answers]}, folder)
    for answer, scores in zip(answers, parsed, strict=True):
        answer["parsed"] = scores
    return rows


def _judge_case(
    case: Case,
    messages: list[Json],
    mode: str,
    budget: int,
    backend: LlamaBackend,
    llm: Llama,
    formatter: Jinja2ChatFormatter,
    cold_reference: bool,
) -> Json:
    ours = judge_messages(case.item.principle.text, case.item, list(case.order))
    thinking = mode == "reasoning"
    prompt_tokens = reference_prompt(llm, formatter, messages, thinking)
    reference = _free_generation(llm, messages, prompt_tokens, thinking, budget)
    cold = None
    if cold_reference:  # the same again with nothing cached: other chunks, other rounding
        llm.reset()
        cold = _free_generation(llm, messages, prompt_tokens, thinking, budget)
    started = time.perf_counter()
    judgment = judge_one(backend, case.item, case.item.principle, case.order)
    our_seconds = time.perf_counter() - started
    system, user = (m["content"] for m in ours)
    row: Json = {
        "id": case.item.id,
        "order": list(case.order),
        "same_messages": ours == messages,
        "same_prompt_tokens": backend._tokens.prompt(system, user, thinking=thinking)
        == prompt_tokens,
        "reference": reference,
        "rajudge": {
            "scores": {r.name: r.score for r in judgment.responses},
            "distributions": {r.name: list(r.distribution) for r in judgment.responses},
            "thinking": judgment.rationale if thinking else "",
            "generated_tokens": judgment.timings.generated_tokens,
            "restored_tokens": judgment.timings.reused_tokens,  # a fresh engine: from the store
            "seconds": our_seconds,
        },
    }
    if cold is not None:
        row["reference_cold"] = cold
    if thinking:
        row["after_our_thinking"] = _answer_after_our_thinking(backend, llm, len(prompt_tokens))
    return row


def _free_generation(
    llm: Llama, messages: list[Json], prompt_tokens: list[int], thinking: bool, budget: int
) -> Json:
    """The reference protocol's greedy free answer; llama-cpp-python reuses what it cached."""
    started = time.perf_counter()
    if thinking:
        reply = llm.create_completion(
            prompt_tokens, max_tokens=budget + ANSWER_ROOM, temperature=0.0, seed=0
        )
        text = reply["choices"][0]["text"]
    else:
        reply = llm.create_chat_completion(
            messages, max_tokens=ANSWER_ROOM, temperature=0.0, seed=0
        )
        text = reply["choices"][0]["message"]["content"] or ""
    return {
        "text": text,
        # what the package parses: the whole generation, thinking block included
        "parsed_text": ("<think>\n" if thinking else "") + text,
        "generated_tokens": reply["usage"]["completion_tokens"],
        "seconds": time.perf_counter() - started,
    }


def _answer_after_our_thinking(backend: LlamaBackend, llm: Llama, prompt_length: int) -> Json:
    """The reference engine's greedy free answer after rajudge's own thinking, token for token.

    Two greedy thinkings part at near ties (bench.fidelity_ties), and scores after different
    reasoning cannot be compared. After the same thinking they can: rajudge reads its scores
    right there, so this free answer must give them.
    """
    held = backend._seqs.tokens(0)  # judged alone, the judgment ran in the trunk
    opening = list(backend._skeleton(2, backend._tail).forced[0])  # the answer rajudge writes
    closed = next(
        end
        for end in range(prompt_length + 1, len(held) + 1)
        if held[end : end + len(opening)] == opening
        and b"</think>" in llm.detokenize(held[prompt_length:end])
    )
    reply = llm.create_completion(held[:closed], max_tokens=ANSWER_ROOM, temperature=0.0, seed=0)
    thought = llm.detokenize(held[prompt_length:closed]).decode("utf-8", "replace")
    text = reply["choices"][0]["text"]
    return {"text": text, "parsed_text": "<think>\n" + thought + text}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.fidelity", description=__doc__)
    parser.add_argument("-m", "--model", default="qwen2.5-coder-1.5b-instruct-q4_k_m")
    parser.add_argument("--pairs", type=int, default=10, help="pairs per set, fast mode")
    parser.add_argument("--reasoning-pairs", type=int, default=3, help="pairs per set")
    parser.add_argument("--budget", type=int, default=384, help="thinking tokens (rajudge's)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--cold-reference",
        action="store_true",
        help="run the reference twice per judgment, the second time with nothing cached",
    )
    args = parser.parse_args(argv)
    refvenv.ensure()
    model = resolve_model(args.model, load_config())
    started = datetime.now(timezone.utc)
    result: Json = {
        "model": model.name,
        "started": started.isoformat(timespec="seconds"),
        "command": "python -m bench.fidelity " + " ".join(sys.argv[1:] if argv is None else argv),
        "settings": vars(args),
        "modes": {},
    }
    out = RESULTS / f"fidelity-{started:%Y%m%dT%H%M%SZ}.json"
    plan = (("fast", args.pairs), ("reasoning", args.reasoning_pairs))
    for mode, per_set in plan:
        if per_set:
            cases = both_orders(sample_pairs(per_set, args.seed))
            rows = run_mode(model.path, cases, mode, args.budget, args.threads, args.cold_reference)
            result["modes"][mode] = rows
            write_json(out, result)
    (REPO / "bench" / "FIDELITY.md").write_text(fidelity_report.render(result), encoding="utf-8")
    print(f"bench: wrote {out.relative_to(REPO)} and bench/FIDELITY.md")


if __name__ == "__main__":
    main()
