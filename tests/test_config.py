"""Config file reading and checking, user directories, and the default thread count."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from rajudge.config import Config, config_path, data_dir, load_config
from rajudge.errors import ConfigError
from rajudge.settings import _usable_cpus, default_threads


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No test sees the real user's config or data."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    for name in ("RAJUDGE_CONFIG", "RAJUDGE_MODEL", "RAJUDGE_MODELS_DIR"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def _write(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "config.yaml"
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def _error(path: Path) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return str(info.value)


def test_missing_file_means_no_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_config() == Config()
    monkeypatch.setenv("RAJUDGE_CONFIG", str(tmp_path / "absent.yaml"))
    assert load_config() == Config()


def test_config_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert config_path() == tmp_path / "config" / "rajudge" / "config.yaml"
    monkeypatch.setenv("RAJUDGE_CONFIG", str(tmp_path / "mine.yaml"))
    assert config_path() == tmp_path / "mine.yaml"
    monkeypatch.delenv("RAJUDGE_CONFIG")
    monkeypatch.delenv("XDG_CONFIG_HOME")
    monkeypatch.setattr(sys, "platform", "linux")
    assert config_path() == tmp_path / "home" / ".config" / "rajudge" / "config.yaml"
    monkeypatch.setattr(sys, "platform", "darwin")
    mac = tmp_path / "home" / "Library" / "Application Support" / "rajudge"
    assert config_path() == mac / "config.yaml"


def test_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert data_dir() == tmp_path / "data" / "rajudge"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setattr(sys, "platform", "linux")
    assert data_dir() == tmp_path / "home" / ".local" / "share" / "rajudge"


def test_reads_every_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(
        tmp_path,
        """
model: judge
models_dir: ~/models
aliases:
  judge: qwen/RewardAnything-8B-Q4_K_M.gguf
  abs: /srv/m.gguf
threads: 4
n_gpu_layers: -1
ctx: 8192
parallel: 4
mode: reasoning
reasoning_budget: 512
seed: 7
serve_max_body_mb: 2
serve_max_batch: 16
serve_max_connections: 8
serve_read_timeout: 10
""",
    )
    monkeypatch.setenv("RAJUDGE_CONFIG", str(path))
    config = load_config()
    assert config == Config(
        model="judge",
        models_dir=tmp_path / "home" / "models",
        aliases={
            "judge": tmp_path / "qwen" / "RewardAnything-8B-Q4_K_M.gguf",
            "abs": Path("/srv/m.gguf"),
        },
        threads=4,
        n_gpu_layers=-1,
        ctx=8192,
        parallel=4,
        mode="reasoning",
        reasoning_budget=512,
        seed=7,
        serve_max_body_mb=2,
        serve_max_batch=16,
        serve_max_connections=8,
        serve_read_timeout=10,
        source=path,
    )


def test_empty_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "# nothing yet\n")
    assert load_config(path) == Config(source=path)


def test_bad_yaml_names_file_and_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "threads: 4\nmode: [fast\n")
    message = _error(path)
    assert message.startswith(f"{path}:")
    assert "invalid YAML" in message


def test_not_a_mapping(tmp_path: Path) -> None:
    path = _write(tmp_path, "- threads\n- 4\n")
    assert _error(path) == f"{path}: expected `key: value` settings, got list"


def test_unknown_key(tmp_path: Path) -> None:
    path = _write(tmp_path, "thread: 4\n")
    message = _error(path)
    assert message.startswith(f"{path}: unknown key 'thread' (known: model, models_dir, aliases,")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("threads: four", "threads: expected an integer, got 'four'"),
        ("threads: 0", "threads: expected an integer >= 1, got 0"),
        ("threads: true", "threads: expected an integer, got True"),
        ("ctx: 2.5", "ctx: expected an integer, got 2.5"),
        ("n_gpu_layers: -2", "n_gpu_layers: expected an integer >= -1, got -2"),
        ("reasoning_budget: -1", "reasoning_budget: expected an integer >= 0, got -1"),
        ("parallel: 0", "parallel: expected an integer from 1 to 64, got 0"),
        ("parallel: 65", "parallel: expected an integer from 1 to 64, got 65"),
        ("parallel: 2.0", "parallel: expected an integer, got 2.0"),
        ("mode: slow", "mode: expected 'fast' or 'reasoning', got 'slow'"),
        ("serve_max_batch: 0", "serve_max_batch: expected an integer >= 1, got 0"),
        ("serve_read_timeout: 0.5", "serve_read_timeout: expected an integer, got 0.5"),
        ("model: 3", "model: expected a model path or alias, got 3"),
        ("models_dir: [a]", "models_dir: expected a directory path, got ['a']"),
        ("aliases: [a]", "aliases: expected a mapping of alias names to model paths"),
        ("aliases: {judge: 3}", "aliases: 'judge': expected a model path"),
    ],
)
def test_wrong_values_name_file_and_key(tmp_path: Path, text: str, expected: str) -> None:
    path = _write(tmp_path, text + "\n")
    assert _error(path).startswith(f"{path}: {expected}")


def test_seed_has_the_bounds_of_the_seed_flag(tmp_path: Path) -> None:
    assert load_config(_write(tmp_path, "seed: 7\n")).settings["seed"] == 7
    message = _error(_write(tmp_path, "seed: -3\n"))
    assert message.endswith("seed: expected an integer from 0 to 4294967295, got -3")


@pytest.mark.parametrize("parallel", [1, 64])
def test_parallel_bounds_are_allowed(tmp_path: Path, parallel: int) -> None:
    assert load_config(_write(tmp_path, f"parallel: {parallel}\n")).settings["parallel"] == parallel


def test_unreadable_file(tmp_path: Path) -> None:
    path = _write(tmp_path, b"threads: \xff\xfe\n")
    assert _error(path).startswith(f"cannot read config {path}:")
    assert _error(tmp_path).startswith(f"cannot read config {tmp_path}:")


def test_default_threads_is_positive() -> None:
    assert default_threads() >= 1


@pytest.fixture
def eight_cpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(8)), raising=False)


def _files(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


@pytest.mark.usefixtures("eight_cpus")
@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({}, 8),
        ({"cgroup/cpu.max": "max 100000\n"}, 8),
        ({"cgroup/cpu.max": "150000 100000\n"}, 2),
        ({"cgroup/cpu.max": "20000 100000\n"}, 1),
        ({"cgroup/cpu.max": "1600000 100000\n"}, 8),
        ({"cgroup/cpu.max": "garbage\n"}, 8),
        (
            {
                "self": "0::/outer/inner\n",
                "cgroup/outer/cpu.max": "300000 100000\n",
                "cgroup/outer/inner/cpu.max": "max 100000\n",
            },
            3,
        ),
        (
            {"cgroup/cpu/cpu.cfs_quota_us": "-1\n", "cgroup/cpu/cpu.cfs_period_us": "100000\n"},
            8,
        ),
        (
            {
                "self": "4:cpu,cpuacct:/docker/abc\n0::/\n",
                "cgroup/cpu,cpuacct/cpu.cfs_quota_us": "250000\n",
                "cgroup/cpu,cpuacct/cpu.cfs_period_us": "100000\n",
            },
            3,
        ),
    ],
)
def test_cgroup_quota_caps_threads(tmp_path: Path, files: dict[str, str], expected: int) -> None:
    _files(tmp_path, files)
    (tmp_path / "cgroup").mkdir(exist_ok=True)
    assert _usable_cpus(tmp_path / "cgroup", tmp_path / "self") == expected


def test_without_affinity_uses_cpu_count(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(os, "sched_getaffinity", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 6)
    _files(tmp_path, {"cpu.max": "400000 100000\n"})
    assert _usable_cpus(tmp_path, tmp_path / "self") == 4
    monkeypatch.setattr(os, "cpu_count", lambda: None)
    assert _usable_cpus(tmp_path, tmp_path / "self") == 1
