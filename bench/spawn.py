"""Run one worker in its own process, so that its peak memory is its own.

os.wait4 gives the rusage of exactly that child (ru_maxrss: peak resident set, KiB on Linux),
where RUSAGE_CHILDREN would be the largest of all children waited for so far.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from bench.jobs import Json, read_json, write_json

REPO = Path(__file__).resolve().parents[1]


def run_worker(python: Path, module: str, job: Json, folder: Path, name: str) -> Json:
    """Run `python -m module` on `job`; its answer plus rc, wall time, CPU time and peak RSS."""
    job_path, answer_path = folder / f"{name}.job.json", folder / f"{name}.out.json"
    answer_path.unlink(missing_ok=True)
    write_json(job_path, job)
    env = {
        **os.environ,
        "OMP_NUM_THREADS": str(job["threads"]),
        "TOKENIZERS_PARALLELISM": "false",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
    }
    started = time.perf_counter()
    process = subprocess.Popen(
        [str(python), "-m", module, str(job_path), str(answer_path)], cwd=REPO, env=env
    )
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    ran = {
        "rc": process.returncode,
        "wall_seconds": time.perf_counter() - started,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "peak_rss_mib": usage.ru_maxrss / 1024,
    }
    if process.returncode == 0 and answer_path.exists():
        return {**read_json(answer_path), **ran}
    code = process.returncode
    why = f"killed by signal {-code}" if code < 0 else f"exited with {code}"
    return {**ran, "error": f"worker {why}"}
