"""What machine a run was measured on: CPU, cores, load, library versions, GPU."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from importlib.metadata import version

from bench.jobs import Json
from bench.spawn import REPO


def cpu_model() -> str:
    with open("/proc/cpuinfo", encoding="utf-8") as info:
        for line in info:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def facts(threads: int) -> Json:
    return {
        "cpu_model": cpu_model(),
        "cpus_online": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)),
        "threads_used": threads,
        "load_average_at_start": os.getloadavg(),
        "python": platform.python_version(),
        "llama_cpp_python": version("llama-cpp-python"),
        "nvidia_smi": shutil.which("nvidia-smi") is not None,
        "git_commit": _git("rev-parse", "HEAD"),
        "git_dirty": bool(_git("status", "--porcelain", "--untracked-files=no")),
    }


def _git(*args: str) -> str:
    done = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True)
    return done.stdout.strip()
