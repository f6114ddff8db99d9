"""User settings from the config file, and where user files live.

Every setting is optional: one the file does not set is None (model, models_dir) or absent
(`Config.settings`, the engine's and the server's, checked against rajudge.settings.SETTINGS),
so a flag or environment variable can override it and the default applies last.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from rajudge.errors import ConfigError
from rajudge.settings import SETTING, SETTINGS

CONFIG_ENV = "RAJUDGE_CONFIG"


@dataclass(frozen=True, init=False)
class Config:
    """Settings from the config file; `source` is the file they came from (None: no file)."""

    model: str | None  # a path or an alias, like -m
    models_dir: Path | None
    aliases: dict[str, Path]
    settings: dict[str, Any]  # engine and server settings the file sets, checked, by SETTINGS name
    source: Path | None

    def __init__(
        self,
        *,
        model: str | None = None,
        models_dir: Path | None = None,
        aliases: dict[str, Path] | None = None,
        source: Path | None = None,
        **settings: Any,
    ) -> None:
        unknown = sorted(set(settings) - set(_TABLE_KEYS))
        if unknown:
            raise TypeError(f"unknown config setting {unknown[0]!r}")
        object.__setattr__(self, "model", model)
        object.__setattr__(self, "models_dir", models_dir)
        object.__setattr__(self, "aliases", aliases or {})
        object.__setattr__(self, "settings", settings)
        object.__setattr__(self, "source", source)


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


_TABLE_KEYS = tuple(row.name for row in SETTINGS if row.config)
_KEYS = ("model", "models_dir", "aliases", *_TABLE_KEYS)  # every key, in the order listed


def _check(path: Path, key: str, value: Any) -> Any:
    """The value of one setting, checked and normalized; a ConfigError names the file and key."""
    if key not in _KEYS:
        raise ConfigError(f"{path}: unknown key {key!r} (known: {', '.join(_KEYS)})")

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
    row = SETTING[key]
    if row.choices is not None:
        if value not in row.choices:
            raise bad(" or ".join(repr(choice) for choice in row.choices))
        return value
    # The rest are integers; bool is an int to Python, but `threads: true` is a mistake.
    if not isinstance(value, int) or isinstance(value, bool):
        raise bad("an integer")
    if not row.allows(value):
        low, high = row.low, row.high
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
