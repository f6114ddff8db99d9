"""Shared fixtures: the real demo model, the shared datasets, llama.cpp's test material."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from rajudge.engine.base import EngineSettings
from rajudge.engine.llama import LlamaBackend
from rajudge.models import demo_model_path

REPO = Path(__file__).resolve().parents[1]
LLAMA_CPP_PYTHON = "llama_cpp_python-0.3.36"
# Where scripts/setup.sh keeps the llama-cpp-python sdist (read before tests isolate XDG dirs).
BUILD_CACHE = Path(
    os.environ.get("RAJUDGE_BUILD_CACHE")
    or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "rajudge"
)


@pytest.fixture(autouse=True)
def isolated_user_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads or writes the developer's own config, models or cache."""
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(var, str(tmp_path / var.lower()))
    for var in ("RAJUDGE_MODEL", "RAJUDGE_CONFIG", "RAJUDGE_MODELS_DIR"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture(scope="session")
def demo_model() -> Path:
    path = demo_model_path()
    if path is None:
        pytest.fail("the demo model is not installed: run `make test` (or scripts/setup.sh)")
    return path


@pytest.fixture(scope="session")
def backend(demo_model: Path) -> Iterator[LlamaBackend]:
    """The demo model in fast mode, shared: loading is cheap, but prefix reuse wants one KV."""
    engine = LlamaBackend(demo_model, EngineSettings(threads=2, ctx=4096))
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def datasets_dir() -> Path:
    path = Path(os.environ.get("RAJUDGE_SHARED", REPO.parent / "shared")) / "datasets"
    if not path.is_dir():
        pytest.fail(f"shared datasets not found at {path} (set RAJUDGE_SHARED)")
    return path


@pytest.fixture(scope="session")
def llama_material(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """llama.cpp's chat templates and vocabulary-only GGUFs, from the sdist pip downloads.

    Fetched at test time rather than vendored: they belong to llama.cpp and its model authors.
    """
    cache = BUILD_CACHE / "sdist"
    sdist = cache / f"{LLAMA_CPP_PYTHON}.tar.gz"
    if not sdist.exists():
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--no-binary",
                ":all:",
                "-d",
                str(cache),
                "llama-cpp-python==0.3.36",
            ],
            check=True,
        )
    target = tmp_path_factory.mktemp("llama-material")
    wanted = ("/vendor/llama.cpp/models/templates/", "/vendor/llama.cpp/models/ggml-vocab-")
    with tarfile.open(sdist) as archive:
        members = [m for m in archive.getmembers() if any(w in m.name for w in wanted)]
        for member in members:
            member.name = Path(member.name).name
        archive.extractall(target, members=members, filter="data")
    return target
