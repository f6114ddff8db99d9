"""User settings from the config file, where user files live, and the default thread count.

Every setting is optional: None means "not set here", so a flag or environment variable can
override it and the engine's own default applies last.
"""

from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, get_args

import yaml

from rajudge.engine.base import MAX_PARALLEL
from rajudge.errors import ConfigError
from rajudge.records import Mode

CONFIG_ENV = "RAJUDGE_CONFIG"
_CGROUP_ROOT = Path("/sys/fs/cgroup")
_SELF_CGROUP = Path("/proc/self/cgroup")


@dataclass(frozen=True)
class Config:
    """Settings from the config file; `source` is the file they came from (None: no file)."""

    model: str | None = None  # a path or an alias, like -m
    models_dir: Path | None = None
    aliases: dict[str, Path] = field(default_factory=dict)
    threads: int | None = None
    n_gpu_layers: int | None = None  # -1: all layers
    ctx: int | None = None
    parallel: int | None = None  # judgments decoded together (llama backend)
    mode: Mode | None = None
    reasoning_budget: int | None = None
    seed: int | None = None
    serve_max_body_mb: int | None = None  # the reward server's limits (rajudge serve)
    serve_max_batch: int | None = None
    serve_max_connections: int | None = None
    serve_read_timeout: int | None = None  # seconds
    source: Path | None = None


def config_path() -> Path:
    """The config file rajudge reads: $RAJUDGE_CONFIG, else the platform's config directory."""
    explicit = os.environ.get(CONFIG_ENV)
    if explicit:
        return Path(explicit).expanduser()
    return _user_dir("XDG_CONFIG_HOME", ".config") / "config.yaml"


def data_dir() -> Path:
    """rajudge's directory for data it keeps (models, caches)."""
    return _user_dir("XDG_DATA_HOME", ".local/share")


def load_config(path: Path | None = None) -> Config:
    """Read and check the config file (default: config_path()); a missing file is no settings."""
    path = path or config_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Config()
    except (OSError, UnicodeDecodeError) as exc:
        why = getattr(exc, "strerror", None) or exc
        raise ConfigError(f"cannot read config {path}: {why}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(f"{where}: invalid YAML ({problem})") from None
    if data is None:
        return Config(source=path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected `key: value` settings, got {type(data).__name__}")
    return Config(source=path, **{str(k): _check(path, str(k), v) for k, v in data.items()})


def default_threads() -> int:
    """CPUs this process may really use: affinity and cgroup quota, not the host's core count."""
    return _usable_cpus(_CGROUP_ROOT, _SELF_CGROUP)


_SETTINGS = tuple(f.name for f in fields(Config) if f.name != "source")
# The integer settings' (lowest, highest) values; None: no bound. As engine.base.check_settings.
_INT_RANGE: dict[str, tuple[int | None, int | None]] = {
    "threads": (1, None),
    "ctx": (1, None),
    "parallel": (1, MAX_PARALLEL),
    "n_gpu_layers": (-1, None),
    "reasoning_budget": (0, None),
    "seed": (None, None),
    "serve_max_body_mb": (1, None),
    "serve_max_batch": (1, None),
    "serve_max_connections": (1, None),
    "serve_read_timeout": (1, None),
}
_MODES: tuple[str, ...] = get_args(Mode)


def _check(path: Path, key: str, value: Any) -> Any:
    """The value of one setting, checked and normalized; a ConfigError names the file and key."""
    if key not in _SETTINGS:
        raise ConfigError(f"{path}: unknown key {key!r} (known: {', '.join(_SETTINGS)})")

    def bad(expected: str) -> ConfigError:
        return ConfigError(f"{path}: {key}: expected {expected}, got {value!r}")

    if key == "model":
        if not isinstance(value, str) or not value:
            raise bad("a model path or alias")
        return value
    if key == "models_dir":
        if not isinstance(value, str) or not value:
            raise bad("a directory path")
        return _config_relative(path, value)
    if key == "aliases":
        if not isinstance(value, dict):
            raise bad("a mapping of alias names to model paths")
        for name, target in value.items():
            if not isinstance(name, str) or not isinstance(target, str) or not target:
                raise ConfigError(f"{path}: aliases: {name!r}: expected a model path")
        return {name: _config_relative(path, target) for name, target in value.items()}
    if key == "mode":
        if value not in _MODES:
            raise bad(" or ".join(repr(m) for m in _MODES))
        return value
    # The rest are integers; bool is an int to Python, but `threads: true` is a mistake.
    if not isinstance(value, int) or isinstance(value, bool):
        raise bad("an integer")
    low, high = _INT_RANGE[key]
    if (low is not None and value < low) or (high is not None and value > high):
        raise bad(f"an integer >= {low}" if high is None else f"an integer from {low} to {high}")
    return value


def _config_relative(config: Path, value: str) -> Path:
    """A path from the config file: `~` expanded, relative paths taken from the file's folder."""
    return config.parent / Path(value).expanduser()


def _user_dir(xdg_var: str, xdg_default: str) -> Path:
    """rajudge's folder under $XDG_*_HOME when set, else the platform's usual place."""
    xdg = os.environ.get(xdg_var)
    if xdg:
        return Path(xdg) / "rajudge"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "rajudge"
    return Path.home() / xdg_default / "rajudge"


def _usable_cpus(cgroup_root: Path, self_cgroup: Path) -> int:
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        cpus = os.cpu_count() or 1
    limit = _cgroup_cpu_limit(cgroup_root, self_cgroup)
    if limit is not None:
        cpus = min(cpus, math.ceil(limit))
    return max(1, cpus)


def _cgroup_cpu_limit(root: Path, self_cgroup: Path) -> float | None:
    """The tightest CPU quota (in CPUs) on this process's cgroup and its ancestors, if any.

    Both cgroup v2 (cpu.max) and v1 (cpu.cfs_quota_us / cpu.cfs_period_us). Inside a container
    the cgroup named in /proc/self/cgroup may not exist under the mount, so the mount's own
    folder is checked too.
    """
    try:
        membership = self_cgroup.read_text()
    except OSError:
        membership = ""
    v2_group, v1_group = "/", "/"
    for line in membership.splitlines():
        hierarchy, _, rest = line.partition(":")
        controllers, _, group = rest.partition(":")
        if hierarchy == "0" and not controllers:
            v2_group = group
        elif "cpu" in controllers.split(","):
            v1_group = group

    limits = [_read_quota(folder / "cpu.max", None) for folder in _ancestors(root, v2_group)] + [
        _read_quota(folder / "cpu.cfs_quota_us", folder / "cpu.cfs_period_us")
        for mount in ("cpu", "cpu,cpuacct", "cpuacct,cpu")
        for folder in _ancestors(root / mount, v1_group)
    ]
    found = [limit for limit in limits if limit is not None]
    return min(found) if found else None


def _ancestors(mount: Path, group: str) -> list[Path]:
    folder = mount / group.strip("/")
    return [folder, *folder.parents[: len(folder.relative_to(mount).parts)]]


def _read_quota(quota_file: Path, period_file: Path | None) -> float | None:
    """CPUs allowed by one quota: v2 "quota period" (or "max"), or v1 quota and period files."""
    try:
        if period_file is None:
            quota, period = quota_file.read_text().split()[:2]
        else:
            quota, period = quota_file.read_text().strip(), period_file.read_text().strip()
        if quota in ("max", "-1") or int(period) <= 0:
            return None
        return int(quota) / int(period)
    except (OSError, ValueError):
        return None
