"""Every setting, declared once in `SETTINGS`; its defaults, its bounds, and which source wins.

A row of `SETTINGS` is the one place a setting is described: its name (the `EngineSettings`
field and the config file's key), its flag, its help, its bounds, whether the config file may
set it, and whether it changes a verdict. From the table come the flags' help (and the server
flags' bounds) in rajudge.cli, the config file's checks (rajudge.config), and which settings
enter the cache and --resume keys (rajudge.run.cache.Fingerprint).

Every setting is merged the same way (`over_config`): a flag or keyword given by the caller,
over the environment (the model only: $RAJUDGE_MODEL, in rajudge.models.catalog), over the
config file, over the default; each is checked once, against its row, before any model is
looked for. To add an engine setting, add its row here and its field (with the default) to
`EngineSettings`; then, as tests/test_settings_table.py asks, its typed field in
`rajudge.cli.options.EngineFlags` if it has a flag, and in `rajudge.run.cache.Fingerprint` if it
changes verdicts (appended last there: that order is the cache and --resume keys' order).
`Judge(**settings)` takes it from the field with nothing more, and the config file from the
row's `config`. A server setting (serve_*) is a row, its default in rajudge.cli.serve, and
its ServeLimits field.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, get_args

from rajudge.errors import UsageError
from rajudge.records import Mode

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
    parallel: int = 4  # judgments decoded together in one batch, each in its own KV stream:
    # a CPU pass of four tokens costs about twice a pass of one, not four times (bench/RESULTS.md)
    permutations: int = 1  # presentation orders averaged into each verdict (scoring.combine)


@dataclass(frozen=True)
class Setting:
    """One setting as declared: everything about it but its default and its type."""

    name: str  # the EngineSettings field (serve_*: a ServeLimits value); the config file's key
    flag: str | None  # the command-line flag (None: the Python API only); messages name it
    help: str  # the flag's help
    low: int | None = None  # an integer setting's least value (None: not an integer)
    high: int | None = None  # its greatest (None: no upper bound)
    config: bool = False  # the config file may set it, under `name`
    verdict: bool = False  # it changes verdicts: part of the cache and --resume keys
    choices: tuple[str, ...] | None = None  # the only values a text setting may take

    @property
    def label(self) -> str:
        """How messages name it: the flag, else the name."""
        return self.flag or self.name

    def allows(self, value: int) -> bool:
        """Whether an integer setting may take `value`."""
        return (self.low is None or value >= self.low) and (self.high is None or value <= self.high)


# Every setting, engine and server alike. The rows the config file may set are in the order its
# "unknown key" message lists them; Fingerprint's own fields fix the order of the cache keys.
SETTINGS: tuple[Setting, ...] = (
    Setting("threads", "--threads", "CPU threads (default: usable CPUs).", low=1, config=True),
    Setting(
        "n_gpu_layers", "--n-gpu-layers", "Layers to offload to a GPU; -1 all.", low=-1, config=True
    ),
    Setting(
        "ctx",
        "--ctx",
        f"Context size in tokens (default: model's, up to {DEFAULT_MAX_CTX}).",
        low=1,
        config=True,
    ),
    Setting(
        "parallel",
        "--parallel",
        "Judgments decoded together in one batch (llama backend), each in its own KV "
        "stream; changes speed and memory, scores only at the rounding level. 1 judges one "
        "at a time.",
        low=1,
        high=MAX_PARALLEL,
        config=True,
    ),
    Setting(
        "permutations",
        "--permutations",
        "Judge each item in this many presentation orders, balanced over positions, and "
        "average them (a pair: 2 is both orders). Default 1.",
        low=1,
        config=True,
        verdict=True,
    ),
    Setting(
        "mode",
        "--mode",
        "fast (scores, then a short rationale; default) or reasoning "
        "(think first within --reasoning-budget tokens; slower, more accurate).",
        config=True,
        verdict=True,
        choices=MODES,
    ),
    Setting(
        "reasoning_budget",
        "--reasoning-budget",
        "Most thinking tokens in reasoning mode.",
        low=0,
        config=True,
        verdict=True,
    ),
    Setting(
        "seed",
        "--seed",
        "Seed of the response shuffle.",
        low=0,
        high=2**32 - 1,
        config=True,
        verdict=True,
    ),
    Setting(
        "rationale_tokens",
        "--rationale-tokens",
        "Most tokens of the fast mode's rationale (0: none).",
        low=0,
        verdict=True,
    ),
    Setting(
        "temperature",
        "--temperature",
        "Sampling temperature of free text (0: greedy).",
        verdict=True,
    ),
    Setting("batch", None, "Tokens llama.cpp decodes in one call.", low=1),
    Setting(
        "serve_max_body_mb", "--max-body-mb", "Largest request body in MiB", low=1, config=True
    ),
    Setting("serve_max_batch", "--max-batch", "Most requests in one batch", low=1, config=True),
    Setting(
        "serve_max_connections",
        "--max-connections",
        "Connections served at once; more are told 503",
        low=1,
        config=True,
    ),
    Setting(
        "serve_read_timeout",
        "--read-timeout",
        "Seconds a client has to send a request's headers, then its body; slower ones are told 408",
        low=1,
        config=True,
    ),
)
SETTING: dict[str, Setting] = {row.name: row for row in SETTINGS}
_NAMES = tuple(f.name for f in fields(EngineSettings))


def over_config(
    names: Iterable[str], configured: Mapping[str, Any], given: Mapping[str, Any]
) -> dict[str, Any]:
    """For each name, the value given (None: not given), else the config file's; a name set in
    neither is left out, so that its default applies. The one merge rule of every setting."""
    chosen: dict[str, Any] = {}
    for name in names:
        value = given.get(name)
        if value is None:
            value = configured.get(name)
        if value is not None:
            chosen[name] = value
    return chosen


def engine_settings(configured: Mapping[str, Any], given: Mapping[str, Any]) -> EngineSettings:
    """The settings `given` (None: not given) over the config file's (`Config.settings`), over
    the defaults.

    They are checked here, so that a bad value is refused before any model is looked for.
    """
    unknown = sorted(set(given) - set(_NAMES))
    if unknown:
        raise TypeError(f"unknown engine setting {unknown[0]!r} (known: {', '.join(_NAMES)})")
    settings = EngineSettings(**over_config(_NAMES, configured, given))
    check_settings(settings)
    return settings


def check_settings(settings: EngineSettings) -> None:
    """Refuse settings the engine cannot run with, before the model is loaded."""
    if settings.mode not in MODES:
        raise UsageError(f"mode must be {' or '.join(MODES)}, not {settings.mode!r}")
    for name in _NAMES:
        row, value = SETTING[name], getattr(settings, name)
        if row.low is not None and value is not None and not row.allows(value):
            low, high = row.low, row.high
            wanted = f"between {low} and {high}" if high is not None else f"at least {low}"
            raise UsageError(f"{row.label} must be {wanted}, not {value}")
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
