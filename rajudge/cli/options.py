"""Options shared by several commands, declared once, and the backend they choose.

Commands take the flag groups (EngineFlags, BackendChoice) as one parameter each; see
rajudge.cli.flag_groups.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Annotated, Any

import typer

from rajudge.cli.console import stderr
from rajudge.config import Config
from rajudge.engine.http_client import ServerSettings
from rajudge.engine.load import OpenedBackend, open_backend
from rajudge.errors import UsageError
from rajudge.settings import SETTING, EngineSettings, engine_settings

ModelOption = Annotated[
    str | None,
    typer.Option(
        "--model",
        "-m",
        help="GGUF path or alias (default: $RAJUDGE_MODEL, config file, then the demo model); "
        "with --backend openai, the served model's name (default: the server's first).",
    ),
]
BackendOption = Annotated[
    str,
    typer.Option(
        "--backend",
        help="llama: the GGUF model in this process; openai: a model served by an "
        "OpenAI-compatible server at --base-url (vLLM, llama-server, ...).",
    ),
]
BaseUrlOption = Annotated[
    str | None,
    typer.Option(
        "--base-url", help="API root of the server for --backend openai, e.g. http://host:8000/v1."
    ),
]
ApiKeyOption = Annotated[
    str | None,
    typer.Option(
        "--api-key",
        envvar=["RAJUDGE_API_KEY", "OPENAI_API_KEY"],
        show_default=False,
        help="API key for --backend openai, sent as a Bearer token.",
    ),
]
ConcurrencyOption = Annotated[
    int, typer.Option("--concurrency", min=1, help="Requests in flight at once (--backend openai).")
]
TimeoutOption = Annotated[
    float,
    typer.Option(
        "--timeout",
        min=0.1,
        help="Seconds to wait for the server before a request is retried (--backend openai).",
    ),
]
NoCacheOption = Annotated[
    bool, typer.Option("--no-cache", help="Neither read nor write the result cache.")
]


def engine_flag(name: str) -> Any:
    """The option of an engine setting, its flag and help from its row (rajudge.settings).

    No bounds here: check_settings checks a flag as it checks a keyword or the config file.
    """
    row = SETTING[name]
    return typer.Option(row.flag, help=row.help)


@dataclass(frozen=True)
class EngineFlags:
    """The engine flags as given (None: not given), for every command that loads a judge."""

    mode: Annotated[str | None, engine_flag("mode")] = None
    threads: Annotated[int | None, engine_flag("threads")] = None
    n_gpu_layers: Annotated[int | None, engine_flag("n_gpu_layers")] = None
    ctx: Annotated[int | None, engine_flag("ctx")] = None
    parallel: Annotated[int | None, engine_flag("parallel")] = None
    permutations: Annotated[int | None, engine_flag("permutations")] = None
    seed: Annotated[int | None, engine_flag("seed")] = None
    reasoning_budget: Annotated[int | None, engine_flag("reasoning_budget")] = None
    rationale_tokens: Annotated[int | None, engine_flag("rationale_tokens")] = None
    temperature: Annotated[float, engine_flag("temperature")] = 0.0

    def settings(self, config: Config) -> EngineSettings:
        """These flags over the config file's settings, checked before any model is looked for."""
        return engine_settings(config.settings, asdict(self))

    def local_only(self) -> dict[str, object]:
        """The flags that only the in-process engine uses, by name; None where not given."""
        return {
            "--threads": self.threads,
            "--n-gpu-layers": self.n_gpu_layers,
            "--ctx": self.ctx,
            "--parallel": self.parallel,
        }


@dataclass(frozen=True)
class BackendChoice:
    """--backend and the flags that only a server backend uses."""

    name: BackendOption = "llama"
    base_url: BaseUrlOption = None
    api_key: ApiKeyOption = None
    concurrency: ConcurrencyOption = 4
    timeout: TimeoutOption = 120.0

    def server(self, model: str | None, local_flags: dict[str, object]) -> ServerSettings | None:
        """The server to judge on; None: the in-process engine.

        `local_flags` are the flags given that only the in-process engine uses; a server
        backend refuses them rather than silently ignoring them.
        """
        if self.name == "llama":
            return None
        if self.name != "openai":
            raise UsageError(f"--backend must be llama or openai, not {self.name!r}")
        if not self.base_url:
            raise UsageError("--backend openai needs --base-url, e.g. http://127.0.0.1:8000/v1")
        given = [flag for flag, value in local_flags.items() if value is not None]
        if given:
            raise UsageError(f"{', '.join(given)}: only for --backend llama; the server decides")
        return ServerSettings(
            base_url=self.base_url,
            model=model,
            api_key=self.api_key,
            concurrency=self.concurrency,
            timeout=self.timeout,
        )


def open_chosen(
    choice: BackendChoice,
    model: str | None,
    config: Config,
    settings: EngineSettings,
    engine: EngineFlags,
    *,
    no_cache: bool = False,
) -> OpenedBackend:
    """The backend the flags choose; the demo notice is a dim line on stderr. `no_cache`
    (--no-cache) keeps it from reading or writing saved prefix states too."""
    server = choice.server(model, engine.local_only())
    return open_backend(
        model, settings, config, server=server, on_demo=print_notice, prefix_states=not no_cache
    )


def print_notice(notice: str) -> None:
    stderr.print(f"note: {notice}", style="dim", markup=False, highlight=False)
