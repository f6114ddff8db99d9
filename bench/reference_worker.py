"""The reference package's local judge (rewardanything 1.0.1), run in bench/.venv-ref.

Glue, and only this: rewardanything.from_pretrained cannot open a GGUF (it passes no gguf_file
to the tokenizer), so the tokenizer and model are loaded here the way it loads them, with
`gguf_file=` added, and handed to its own RewardModel class, whose judge() then runs unchanged:
its prompt, its masking, its default GenerationConfig (or max_new_tokens=512), its parser.
`python -m bench.reference_worker JOB OUT`; stdlib and the reference venv's packages only.
After loading and after each judgment it rewrites the job's progress file, so that a run the
harness stops at its time limit still reports what it finished.
"""

from __future__ import annotations

import time
from importlib.metadata import version
from pathlib import Path

from bench.jobs import Json, judgments, worker_main, write_json

_PACKAGES = ("rewardanything", "torch", "transformers", "gguf", "accelerate")


def run(job: Json, workload: Json) -> Json:
    import torch
    from rewardanything.local import RewardModel
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging

    logging.disable_progress_bar()  # a bar per load, in every round's log
    torch.set_num_threads(job["threads"])
    torch.manual_seed(job["seed"])  # the default config samples (temperature 0.1, top_p 0.9)
    model_path = Path(job["model"])
    started = time.perf_counter()
    tokenizer = AutoTokenizer.from_pretrained(model_path.parent, gguf_file=model_path.name)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForCausalLM.from_pretrained(
        model_path.parent, gguf_file=model_path.name, device_map="cpu"
    )
    judge = RewardModel(model=model, tokenizer=tokenizer, device="cpu")
    loaded, loaded_at = time.perf_counter(), time.time()
    every = judgments(workload)
    answer: Json = {
        "load_seconds": loaded - started,
        "judgments": 0,
        "valid": 0,
        "of_judgments": len(every),
        "generated_tokens": 0,
        "generation": job["generation"],
        "versions": {name: version(name) for name in _PACKAGES},
    }
    write_json(job["progress"], {**answer, "loaded_at": loaded_at})
    for judgment in every[: job["cap"]]:
        result = judge.judge(
            principle=judgment.principle_text,
            prompt=judgment.item["prompt"],
            responses=judgment.item["responses"],
            **job["generation"],
        )
        accepted = all(
            isinstance(result.scores.get(name), (int, float)) for name in judgment.item["responses"]
        )
        answer["judgments"] += 1
        answer["valid"] += accepted
        # re-tokenized from its decoded text (special tokens dropped): close, not exact
        answer["generated_tokens"] += len(tokenizer(result.raw_output or "").input_ids)
        write_json(job["progress"], {**answer, "loaded_at": loaded_at})
    return {**answer, "judge_seconds": time.perf_counter() - loaded}


if __name__ == "__main__":
    worker_main(run)
