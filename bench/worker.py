"""The worker process for contenders that run in .venv: one contender, one workload, timed.

`python -m bench.worker JOB OUT`; the job's `contender` picks the run. Each answer holds
load_seconds, judge_seconds, judgments and valid (judgments with a usable verdict).
"""

from __future__ import annotations

from bench import floor, naive, prompts, rajudge_contender
from bench.jobs import Json, worker_main

RUNS = {
    "tokens": prompts.run,
    "naive": naive.run,
    "rajudge": rajudge_contender.run,
    "floor": floor.run,
}


def run(job: Json, workload: Json) -> Json:
    return RUNS[job["contender"]](job, workload)


if __name__ == "__main__":
    worker_main(run)
