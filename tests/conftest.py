"""Shared fixtures: the real demo model, the test data, llama.cpp's test material.

The suite is hermetic: it reads nothing beside the repository (a clone has no ../shared) and
reaches no network. An audit hook makes any test that tries fail, naming the path or address.
"""

from __future__ import annotations

import ipaddress
import os
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rajudge.engine.llama import LlamaBackend
from rajudge.models.catalog import demo_model_path
from rajudge.settings import EngineSettings, default_threads

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data"
LLAMA_CPP_PYTHON = "llama_cpp_python-0.3.36"
# Where scripts/setup.sh keeps the llama-cpp-python sdist (read before tests isolate XDG dirs).
BUILD_CACHE = Path(
    os.environ.get("RAJUDGE_BUILD_CACHE")
    or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "rajudge"
)
# Variables that would reach into the developer's own setup or accounts.
FOREIGN_VARIABLES = (
    "OPENAI_API_KEY",
    "HF_TOKEN",
    "HUGGING_FACE_HUB_TOKEN",
    "HF_HOME",
    "HF_TOKEN_PATH",
)


class NotHermetic(Exception):
    """A test read a file beside the repository or reached for the network."""


# Beside the repository is off limits, apart from what setup made and where temporary files go.
# A checkout at the top of the file system (/app) has the system beside it, and one directly in
# the temporary folder has every test's temporary files beside it: only shared/ is off limits then.
_TEMP = Path(tempfile.gettempdir())
_CROWDED = REPO.parent.parent == REPO.parent or REPO.parent == _TEMP
_NEXT_TO = REPO.parent / "shared" if _CROWDED else REPO.parent
_BESIDE = str(_NEXT_TO).rstrip(os.sep) + os.sep
_SETUP = (BUILD_CACHE, Path(sys.prefix), Path(sys.base_prefix))  # the cache, venv and Python
# The temporary folder is allowed unless what is beside lies inside it (a clone in /tmp/ci).
_TEMPS = () if _TEMP in _NEXT_TO.parents else (_TEMP,)
_ALLOWED = tuple(str(path) + os.sep for path in (REPO, *_TEMPS, *_SETUP))
breaches: list[str] = []


def _guard(event: str, args: tuple[Any, ...]) -> None:
    breach = None
    if event == "open" and isinstance(args[0], str | bytes | os.PathLike):
        path = os.path.abspath(os.fsdecode(args[0]))
        if path.startswith(_BESIDE) and not path.startswith(_ALLOWED):
            breach = f"opened {path}, beside the repository"
    elif event == "socket.connect" and isinstance(args[1], tuple):  # not a Unix socket
        breach = _remote(args[1][0], event)
    elif event == "socket.getaddrinfo":
        breach = _remote(args[0], event)
    if breach is not None:
        breaches.append(breach)
        raise NotHermetic(breach)


def _remote(host: object, event: str) -> str | None:
    """Why reaching `host` is not allowed, or None for this machine."""
    if not isinstance(host, str | bytes) or os.fsdecode(host) in ("", "localhost"):
        return None
    try:
        if ipaddress.ip_address(os.fsdecode(host)).is_loopback:
            return None
    except ValueError:
        pass
    return f"reached for the network ({event} {host!r})"


sys.addaudithook(_guard)


@pytest.fixture(autouse=True)
def hermetic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test sees the developer's config, models, cache, keys or RAJUDGE_* settings; one that
    read beside the repository or reached for the network fails."""
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(var, str(tmp_path / var.lower()))
    for var in [v for v in os.environ if v.startswith("RAJUDGE_")] + list(FOREIGN_VARIABLES):
        monkeypatch.delenv(var, raising=False)
    yield
    if breaches:
        found = "; ".join(breaches)
        breaches.clear()
        pytest.fail(f"not hermetic: {found}", pytrace=False)


@pytest.fixture(scope="session")
def demo_model() -> Path:
    path = demo_model_path()
    if path is None:
        pytest.fail("the demo model is not installed: run `make test` (or scripts/setup.sh)")
    return path


@pytest.fixture(scope="session")
def backend(demo_model: Path) -> Iterator[LlamaBackend]:
    """The demo model in fast mode, shared: loading is cheap, but prefix reuse wants one KV."""
    engine = LlamaBackend(demo_model, EngineSettings(ctx=4096))
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def test_data() -> Path:
    """Small seeded samples of labelled pairs, with their licences (tests/data/README.md)."""
    return DATA


@pytest.fixture(scope="session")
def llama_material(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """llama.cpp's chat templates and vocabulary-only GGUFs, from the sdist setup keeps.

    Not vendored: they belong to llama.cpp and its model authors. scripts/setup.sh fetches the
    sdist (it builds llama.cpp from it); the tests never download anything.
    """
    sdist = BUILD_CACHE / "sdist" / f"{LLAMA_CPP_PYTHON}.tar.gz"
    if not sdist.is_file():
        pytest.fail(f"{sdist} is missing: run `make setup` (scripts/setup.sh), which fetches it")
    target = tmp_path_factory.mktemp("llama-material")
    wanted = ("/vendor/llama.cpp/models/templates/", "/vendor/llama.cpp/models/ggml-vocab-")
    with tarfile.open(sdist) as archive:
        members = [m for m in archive.getmembers() if any(w in m.name for w in wanted)]
        for member in members:
            member.name = Path(member.name).name
        archive.extractall(target, members=members, filter="data")
    return target


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto` (make test): one worker per CPU this process may really use (cgroup quota too)."""
    return default_threads()


def pytest_configure(config: pytest.Config) -> None:
    """Pin each pytest-xdist worker to its share of the usable CPUs (a cgroup quota counts), so
    its engines' default thread count is that share.

    llama.cpp's threads spin while they wait for each other: two workers whose engines both
    took every CPU made the suite 2.5 times slower on 2 cores, not faster.
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker is None or not hasattr(os, "sched_setaffinity"):
        return
    cpus = sorted(os.sched_getaffinity(0))
    index, count = int(worker.removeprefix("gw")), int(os.environ["PYTEST_XDIST_WORKER_COUNT"])
    share = max(1, default_threads() // count)
    first = index * share % len(cpus)
    os.sched_setaffinity(0, cpus[first : first + share])
