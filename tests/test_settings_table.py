"""The settings table and what is derived from it agree, so a setting cannot be half added."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path
from typing import Any, get_type_hints

import pytest

from rajudge.cli.options import EngineFlags
from rajudge.cli.serve import ServeFlags
from rajudge.config import Config, load_config
from rajudge.errors import ConfigError
from rajudge.records import Item, Principle
from rajudge.run.cache import Fingerprint, judgment_key
from rajudge.run.schedule import result_key
from rajudge.settings import SETTING, SETTINGS, EngineSettings, over_config

ENGINE = {f.name for f in dataclasses.fields(EngineSettings)}
SERVE = {row.name for row in SETTINGS if row.name.startswith("serve_")}


def options(group: type[Any]) -> dict[str, Any]:
    """Each field's typer.Option (its OptionInfo), by field name."""
    hints = get_type_hints(group, include_extras=True)
    return {f.name: hints[f.name].__metadata__[0] for f in dataclasses.fields(group)}


def test_every_engine_setting_has_one_row_and_every_row_a_home() -> None:
    assert len(SETTING) == len(SETTINGS)
    assert set(SETTING) >= ENGINE
    assert set(SETTING) - ENGINE == SERVE


@pytest.mark.parametrize("row", SETTINGS, ids=lambda row: row.name)
def test_a_row_with_a_flag_is_that_flag_with_that_help(row: Any) -> None:
    group = options(ServeFlags if row.name in SERVE else EngineFlags)
    if row.flag is None:
        assert row.name not in group
        return
    option = group[row.name]
    assert (option.default, *option.param_decls) == (row.flag,)  # Annotated: the first is a flag
    if row.name in SERVE:  # Typer checks the server's flags; check_settings the engine's
        assert option.help.startswith(row.help + " (default ")
        assert (option.min, option.max) == (row.low, row.high)
    else:
        assert option.help == row.help
        assert (option.min, option.max) == (None, None)


def test_every_flag_of_the_groups_is_a_row() -> None:
    assert set(options(EngineFlags)) == {row.name for row in SETTINGS if row.flag} - SERVE
    assert set(options(ServeFlags)) - {"api_key"} == SERVE


def test_the_config_file_takes_exactly_the_config_rows(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    for row in SETTINGS:
        value = row.choices[0] if row.choices else row.low
        path.write_text(f"{row.name}: {value}\n")
        if row.config:
            assert load_config(path).settings == {row.name: value}
            assert isinstance(value, int) or row.choices  # the config file checks nothing else
        else:
            with pytest.raises(ConfigError, match=f"unknown key '{row.name}'"):
                load_config(path)
    with pytest.raises(TypeError, match="unknown config setting 'temperature'"):
        Config(temperature=1.0)


def test_the_fingerprint_holds_exactly_the_rows_that_change_verdicts() -> None:
    names = [f.name for f in dataclasses.fields(Fingerprint)]
    # This order is the cache and --resume keys': new settings are appended, none moves.
    assert names == [
        "model",
        "mode",
        "seed",
        "temperature",
        "reasoning_budget",
        "rationale_tokens",
        "permutations",
        "protocol",
    ]
    assert set(names) - {"model", "protocol"} == {row.name for row in SETTINGS if row.verdict}
    settings = EngineSettings(mode="reasoning", seed=3, temperature=1, permutations=2)
    fingerprint = Fingerprint.of("m", settings)
    for name in set(names) - {"model", "protocol"}:
        assert getattr(fingerprint, name) == getattr(settings, name)
    assert isinstance(fingerprint.temperature, float)


def test_the_keys_are_those_of_before_the_table() -> None:
    """Keys computed before the settings table existed: cached results and --resume still match."""
    item = Item(id="i1", prompt="Say 1.", responses={"a": "1", "b": "no"})
    principle = Principle(name="concise", text="Be concise.")
    plain = Fingerprint.of("m|1|2", EngineSettings())
    every_verdict_setting = {"seed": 3, "temperature": 1, "permutations": 2}
    every_verdict_setting |= {"rationale_tokens": 5, "reasoning_budget": 9}
    changed = Fingerprint.of("m|1|2", EngineSettings(mode="reasoning", **every_verdict_setting))
    assert judgment_key(plain, item, principle) == (
        "b8e63203bab6258f3a905994b554931136f53267e7724e444d5dee34af8cda1b"
    )
    assert result_key(item, [principle], plain) == "7357e3fd6dde1185"
    assert judgment_key(changed, item, principle) == (
        "1aacfd3ec7c778451b9d67b8ff08e6292b61a3df4e43ce844b846c5f1154aee6"
    )
    assert result_key(item, [principle], changed) == "9d651d55b6278fef"


def test_a_value_given_beats_the_config_file_which_beats_the_default() -> None:
    configured = {"threads": 2, "ctx": 512, "serve_max_batch": 3}
    given = {"threads": 4, "ctx": None, "seed": None}
    assert over_config(("threads", "ctx", "seed"), configured, given) == {"threads": 4, "ctx": 512}


def test_the_settings_module_imports_no_config_not_even_for_types() -> None:
    """settings is below config (config checks against the table), so no cycle between them."""
    tree = ast.parse((Path(__file__).parent.parent / "rajudge" / "settings.py").read_text())
    imported = {
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert {name for name in imported if name and name.startswith("rajudge")} == {
        "rajudge.errors",
        "rajudge.records",
    }
