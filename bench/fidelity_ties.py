"""`python -m bench.fidelity_ties RESULTS.json`: where and why two greedy thinkings part.

In reasoning mode both contenders decode greedily from identical prompt tokens, so their
thinking texts can only part where the model's two most likely next tokens are so close that
the two evaluation paths (llama-cpp-python's prompt chunks and single sequence; rajudge's
shared trunk, tails and batch) round them into a different order. This replays the
reference's free generation, as far as the parting, with the top two log-probabilities of
every token, and records for every reasoning row whose thinking differs from rajudge's the
token where the texts part and the gap between those two log-probabilities. The results file
gains `reference.parting` per row; bench/FIDELITY.md is rendered again from it.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from bench import fidelity_report
from bench.fidelity import reference_engine, reference_prompt, sample_pairs
from bench.fidelity_report import shared_thinking
from bench.jobs import Json, read_json, write_json
from bench.spawn import REPO
from rajudge.config import load_config
from rajudge.judging.protocol import judge_messages, unmask
from rajudge.models.catalog import resolve_model

if TYPE_CHECKING:
    from llama_cpp import Llama


def parting_step(tokens: list[str], order: list[str], shared: int) -> int:
    """The index of the first generated token whose text goes beyond the `shared` characters
    both thinkings have in common (counted unmasked and without leading space, as compared).

    A text ending inside a masked name (`model-`) is not yet a prefix of the unmasked whole,
    so the name's last token is the one that counts.
    """
    whole = unmask("".join(tokens), order).lstrip()
    text = ""
    for step, token in enumerate(tokens):
        text += token
        read = unmask(text, order).lstrip()
        if len(read) > shared and whole.startswith(read):
            return step
    return len(tokens)


def annotate(result: Json, threads: int) -> int:
    """Replay every reasoning row whose thinking parts from rajudge's; returns how many."""
    parted = [(r, shared_thinking(r)) for r in result["modes"].get("reasoning", [])]
    parted = [(r, shared) for r, shared in parted if shared is not None]
    settings = result["settings"]
    items = {i.id: i for i in sample_pairs(settings["reasoning_pairs"], settings["seed"])}
    model = resolve_model(result["model"], load_config())
    llm, formatter = reference_engine(model.path, threads, logits_all=True)
    try:
        for n, (row, shared) in enumerate(parted, 1):
            item = items[row["id"]]
            # the reference's messages: the fidelity run checked they equal these (same_messages)
            messages = judge_messages(item.principle.text, item, row["order"])
            prompt = reference_prompt(llm, formatter, messages, thinking=True)
            row["reference"]["parting"] = _replay(row, shared, prompt, llm)
            print(f"bench: replayed {n}/{len(parted)}", flush=True)
    finally:
        llm.close()
    return len(parted)


def _replay(row: Json, shared: int, prompt: list[int], llm: Llama) -> Json:
    # a parting comes within the shared text's tokens and a few more: no need to go further
    reach = len(
        llm.tokenize(row["reference"]["parsed_text"][: shared + 64].encode(), add_bos=False)
    )
    reply = llm.create_completion(
        prompt,
        max_tokens=min(reach, row["reference"]["generated_tokens"]),
        temperature=0.0,
        seed=0,
        logprobs=2,
    )
    choice = reply["choices"][0]
    step = parting_step(choice["logprobs"]["tokens"], row["order"], shared)
    top = sorted(choice["logprobs"]["top_logprobs"][step].items(), key=lambda kv: -kv[1])
    return {
        "replay_identical": row["reference"]["parsed_text"].startswith(
            "<think>\n" + choice["text"]
        ),
        "step": step,
        "top2": [[token, float(logprob)] for token, logprob in top[:2]],
        "gap": float(top[0][1] - top[1][1]),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.fidelity_ties", description=__doc__)
    parser.add_argument("results", type=Path, help="a bench/results/fidelity-*.json")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    result = read_json(args.results)
    count = annotate(result, args.threads)
    write_json(args.results, result)
    (REPO / "bench" / "FIDELITY.md").write_text(fidelity_report.render(result), encoding="utf-8")
    print(
        f"bench: {count} parting thinkings recorded in {args.results}; bench/FIDELITY.md rendered"
    )


if __name__ == "__main__":
    main()
