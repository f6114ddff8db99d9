"""Flag groups: engine and backend flags declared once, reaching the settings of every command."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import pytest
import typer
from typer.testing import CliRunner

from rajudge.cli import app
from rajudge.cli.flag_groups import with_flag_groups
from rajudge.cli.options import BackendChoice, EngineFlags, ModelOption
from rajudge.cli.serve import ServeFlags
from rajudge.config import load_config
from rajudge.errors import UsageError
from rajudge.serve.limits import ServeLimits
from rajudge.settings import EngineSettings


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "config.yaml"
    monkeypatch.setenv("RAJUDGE_CONFIG", str(path))
    return path


def command_seeing(seen: list[tuple[str | None, BackendChoice, EngineSettings]]) -> typer.Typer:
    """A one-command app taking both groups, as score does, recording what it was given."""
    probe = typer.Typer()

    @probe.command()
    @with_flag_groups
    def judge(
        file: Annotated[str, typer.Argument()],
        model: ModelOption = None,
        *,
        backend_choice: BackendChoice,
        engine: EngineFlags,
    ) -> None:
        seen.append((model, backend_choice, engine.settings(load_config())))

    return probe


def test_flags_reach_the_settings_and_beat_the_config_file(config: Path) -> None:
    config.write_text("parallel: 3\nthreads: 2\n")
    seen: list[tuple[str | None, BackendChoice, EngineSettings]] = []
    probe = command_seeing(seen)
    runner = CliRunner()

    done = runner.invoke(probe, ["in.jsonl", "--ctx", "512", "--parallel", "5", "-m", "m.gguf"])
    assert done.exit_code == 0, done.output
    done = runner.invoke(probe, ["in.jsonl", "--backend", "openai", "--concurrency", "9"])
    assert done.exit_code == 0, done.output

    assert seen == [
        ("m.gguf", BackendChoice(), EngineSettings(threads=2, ctx=512, parallel=5)),
        (None, BackendChoice(name="openai", concurrency=9), EngineSettings(threads=2, parallel=3)),
    ]


@pytest.mark.parametrize("parallel", ["0", "65"])
def test_a_bad_parallel_is_a_usage_error(config: Path, parallel: str) -> None:
    done = CliRunner().invoke(command_seeing([]), ["in.jsonl", "--parallel", parallel])
    assert isinstance(done.exception, UsageError)
    assert str(done.exception) == f"--parallel must be between 1 and 64, not {parallel}"


def test_only_given_local_flags_are_named() -> None:
    flags = EngineFlags(ctx=512, parallel=2, seed=1)
    given = {flag for flag, value in flags.local_only().items() if value is not None}
    assert given == {"--ctx", "--parallel"}


@dataclass(frozen=True)
class ClashingFlags:
    ctx: Annotated[int, typer.Option("--ctx2")] = 1


def test_two_groups_may_not_declare_one_flag() -> None:
    def clashing(*, engine: EngineFlags, other: ClashingFlags) -> None: ...

    with pytest.raises(ValueError, match="duplicate parameter name: 'ctx'"):
        with_flag_groups(clashing)


@pytest.mark.parametrize("command", ["score", "eval", "serve"])
def test_every_judging_command_takes_the_engine_flags(command: str) -> None:
    done = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "200"})
    assert done.exit_code == 0, done.output
    for flag in ("--mode", "--threads", "--n-gpu-layers", "--ctx", "--parallel", "--seed"):
        assert flag in done.output


def test_serve_flags_beat_the_config_file_which_beats_the_defaults(config: Path) -> None:
    config.write_text("serve_max_batch: 16\nserve_read_timeout: 10\n")
    seen: list[ServeLimits] = []
    probe = typer.Typer()

    @probe.command()
    @with_flag_groups
    def serve(*, bounds: ServeFlags) -> None:
        seen.append(bounds.limits(load_config()))

    runner = CliRunner()
    done = runner.invoke(probe, ["--max-batch", "4", "--max-body-mb", "2"])
    assert done.exit_code == 0, done.output
    done = runner.invoke(probe, [], env={"RAJUDGE_SERVE_API_KEY": "k"})
    assert done.exit_code == 0, done.output
    assert seen == [
        ServeLimits(max_batch=4, max_body=2 << 20, read_timeout=10),
        ServeLimits(api_key="k", max_batch=16, read_timeout=10),
    ]
