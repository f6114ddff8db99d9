"""bench/.venv-ref: the reference package and a CPU torch, apart from rajudge's .venv.

Created on first use. torch is installed first and alone, pinned to the CPU build that lies
on these machines' disk, so that resolving the other packages never pulls a CUDA torch.
"""

from __future__ import annotations

import subprocess
import sys

from bench.spawn import REPO

VENV = REPO / "bench" / ".venv-ref"
PYTHON = VENV / "bin" / "python"
TORCH = "torch==2.13.0"
PACKAGES = ("rewardanything==1.0.1", "transformers==5.24.0", "gguf==0.19.0", "accelerate==1.15.0")
# accelerate: transformers refuses to load a GGUF without it


def ensure() -> None:
    """Make the venv hold exactly the pinned packages; a no-op when it already does."""
    if PYTHON.exists() and _pinned_installed():
        return
    print(f"bench: setting up {VENV.relative_to(REPO)} (torch CPU + rewardanything)", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    pip = [str(PYTHON), "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, TORCH], check=True)
    subprocess.run([*pip, *PACKAGES], check=True)
    if not _pinned_installed():
        raise SystemExit(f"bench: {VENV} does not hold {TORCH} {' '.join(PACKAGES)} after install")


def _pinned_installed() -> bool:
    pins = [p.split("==") for p in (TORCH, *PACKAGES)]
    check = (
        "import sys\nfrom importlib.metadata import version, PackageNotFoundError\n"
        f"pins = {pins!r}\n"
        "try:\n"
        "    ok = all(version(n).split('+')[0] == v for n, v in pins)\n"
        "except PackageNotFoundError:\n"
        "    ok = False\n"
        "sys.exit(0 if ok else 1)\n"
    )
    return subprocess.run([str(PYTHON), "-c", check]).returncode == 0
