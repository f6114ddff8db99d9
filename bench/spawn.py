"""Run one worker in its own process, so that its peak memory is its own.

os.wait4 gives the rusage of exactly that child (ru_maxrss: peak resident set, KiB on Linux),
where RUSAGE_CHILDREN would be the largest of all children waited for so far.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from bench.jobs import Json, read_json, write_json

REPO = Path(__file__).resolve().parents[1]
_POLL_SECONDS = 0.5
_GRACE_SECONDS = 10.0  # after SIGTERM, before SIGKILL


def run_worker(
    python: Path, module: str, job: Json, folder: Path, name: str, limit: float | None = None
) -> Json:
    """Run `python -m module` on `job`; its answer plus rc, wall time, CPU time and peak RSS.

    With a `limit` (seconds of wall time), a worker still running then is stopped, and what it
    reported through its progress file (`job["progress"]`) is kept, marked `stopped_at_limit`.
    """
    job_path, answer_path = folder / f"{name}.job.json", folder / f"{name}.out.json"
    progress_path = folder / f"{name}.progress.json"
    for stale in (answer_path, progress_path):
        stale.unlink(missing_ok=True)
    write_json(job_path, {**job, "progress": str(progress_path)})
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
    status, usage, stopped_at = _wait(process.pid, started, limit)
    process.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    ran = {
        "rc": process.returncode,
        "wall_seconds": time.perf_counter() - started,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "peak_rss_mib": usage.ru_maxrss / 1024,
    }
    if stopped_at is not None:
        return {**ran, **_stopped(progress_path, stopped_at, limit)}
    if process.returncode == 0 and answer_path.exists():
        return {**read_json(answer_path), **ran}
    code = process.returncode
    why = f"killed by signal {-code}" if code < 0 else f"exited with {code}"
    return {**ran, "error": f"worker {why}"}


def _wait(
    pid: int, started: float, limit: float | None
) -> tuple[int, os.struct_rusage, float | None]:
    """wait4 the child; past `limit`, SIGTERM it (SIGKILL if it lingers). Also returns the
    wall-clock time (time.time()) it was stopped at, or None if it ended by itself."""
    if limit is None:
        _, status, usage = os.wait4(pid, 0)
        return status, usage, None
    stopped_at = None
    while True:
        done, status, usage = os.wait4(pid, os.WNOHANG)
        if done:
            return status, usage, stopped_at
        if stopped_at is None and time.perf_counter() - started > limit:
            stopped_at = time.time()
            os.kill(pid, signal.SIGTERM)
        elif stopped_at is not None and time.time() - stopped_at > _GRACE_SECONDS:
            os.kill(pid, signal.SIGKILL)
        time.sleep(_POLL_SECONDS)


def _stopped(progress_path: Path, stopped_at: float, limit: float) -> Json:
    """A stopped worker's last progress: the judgments it finished and its judging time up to
    the stop, taken from the wall clock it reported when loading ended."""
    if not progress_path.exists():
        return {"error": f"stopped at the {limit:.0f} s limit before it had loaded"}
    progress = read_json(progress_path)
    judging = stopped_at - progress.pop("loaded_at")
    return {**progress, "judge_seconds": judging, "stopped_at_limit": limit}
