"""The engine settings: their defaults, their bounds, and which source wins.

Every setting is merged the same way (`engine_settings`): a flag or keyword given by the caller,
over the environment (the model only: $RAJUDGE_MODEL, in rajudge.models.catalog), over the
config file, over the default in `EngineSettings`; each is checked once, against `BOUNDS`,
before any model is looked for. To add a setting:
  1. a field of `EngineSettings` with its default, and a row of `BOUNDS` if it is an integer;
  2. its flag in `rajudge.cli.options.EngineFlags` (score, eval and serve all take that group);
  3. a field of `rajudge.config.Config` if the config file may set it (checked by `BOUNDS`);
  4. a field of `rajudge.cache.Fingerprint` if it changes verdicts (cache and --resume keys).
`Judge(**settings)` takes it from the field with nothing more.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, get_args

from rajudge.errors import UsageError
from rajudge.records import Mode

if TYPE_CHECKING:
    from rajudge.config import Config

DEFAULT_MAX_CTX = 8192  # default context cap: enough for listwise items, modest KV memory
MAX_PARALLEL = 64  # most judgments in one llama.cpp batch (one KV stream each)
MODES: tuple[str, ...] = get_args(Mode)
_CGROUP_ROOT = Path("/sys/fs/cgroup")
_SELF_CGROUP = Path("/proc/self/cgroup")


@dataclass(frozen=True)
class EngineSettings:
    """How to run the judge. The defaults make the same input give the same output."""

    mode: Mode = "fast"
    threads: int | None = None  # None: usable CPUs (affinity and cgroup quota)
    n_gpu_layers: int = 0  # -1: offload every layer
    ctx: int | None = None  # None: the model's training context, capped at DEFAULT_MAX_CTX
    batch: int = 512
    seed: int = 0  # drives the response shuffle and any sampling
    temperature: float = 0.0  # for free text only (reasoning, rationale); scores use argmax
    reasoning_budget: int = 384  # most tokens of thinking in reasoning mode
    rationale_tokens: int = 48  # most tokens of the short rationale in fast mode
    parallel: int = 1  # judgments decoded together in one batch, each in its own KV stream;
    # 1 by default: its gain depends on the CPU, its memory grows with it (bench/RESULTS.md)
    permutations: int = 1  # presentation orders averaged into each verdict (scoring.combine)


class Bound(NamedTuple):
    """The values an integer setting may take, and the flag that sets it (for messages)."""

    flag: str
    low: int | None
    high: int | None = None  # None: no upper bound


# Every integer setting's bounds, engine and server alike: the flags, the Python API and the
# config file are all checked against this one table.
BOUNDS: dict[str, Bound] = {
    "seed": Bound("--seed", 0, 2**32 - 1),
    "threads": Bound("--threads", 1),
    "ctx": Bound("--ctx", 1),
    "n_gpu_layers": Bound("--n-gpu-layers", -1),
    "reasoning_budget": Bound("--reasoning-budget", 0),
    "rationale_tokens": Bound("--rationale-tokens", 0),
    "batch": Bound("batch", 1),
    "parallel": Bound("--parallel", 1, MAX_PARALLEL),
    "permutations": Bound("--permutations", 1),
    "serve_max_body_mb": Bound("--max-body-mb", 1),
    "serve_max_batch": Bound("--max-batch", 1),
    "serve_max_connections": Bound("--max-connections", 1),
    "serve_read_timeout": Bound("--read-timeout", 1),
}
_NAMES = tuple(f.name for f in fields(EngineSettings))


def in_bounds(name: str, value: int) -> bool:
    low, high = BOUNDS[name][1:]
    return (low is None or value >= low) and (high is None or value <= high)


def engine_settings(config: Config, given: Mapping[str, Any]) -> EngineSettings:
    """The settings `given` (None: not given) over the config file's, over the defaults.

    They are checked here, so that a bad value is refused before any model is looked for.
    """
    unknown = sorted(set(given) - set(_NAMES))
    if unknown:
        raise TypeError(f"unknown engine setting {unknown[0]!r} (known: {', '.join(_NAMES)})")
    chosen = {name: getattr(config, name, None) for name in _NAMES}
    chosen.update({name: value for name, value in given.items() if value is not None})
    settings = EngineSettings(
        **{name: value for name, value in chosen.items() if value is not None}
    )
    check_settings(settings)
    return settings


def check_settings(settings: EngineSettings) -> None:
    """Refuse settings the engine cannot run with, before the model is loaded."""
    if settings.mode not in MODES:
        raise UsageError(f"mode must be {' or '.join(MODES)}, not {settings.mode!r}")
    for name in _NAMES:
        value = getattr(settings, name)
        if name in BOUNDS and value is not None and not in_bounds(name, value):
            flag, low, high = BOUNDS[name]
            wanted = f"between {low} and {high}" if high is not None else f"at least {low}"
            raise UsageError(f"{flag} must be {wanted}, not {value}")
    if not math.isfinite(settings.temperature) or settings.temperature < 0:
        raise UsageError(f"--temperature must be 0 or more, not {settings.temperature}")


def default_threads() -> int:
    """CPUs this process may really use: affinity and cgroup quota, not the host's core count."""
    return _usable_cpus(_CGROUP_ROOT, _SELF_CGROUP)


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
