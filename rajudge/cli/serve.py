"""`rajudge serve`: the reward server, for trainers and clients on other machines."""

from __future__ import annotations

import signal
from dataclasses import dataclass
from typing import Annotated, Any

import typer

from rajudge.cli.console import stderr
from rajudge.cli.flag_groups import with_flag_groups
from rajudge.cli.options import EngineFlags, ModelOption, print_notice
from rajudge.config import Config, load_config
from rajudge.engine.load import open_backend
from rajudge.errors import UsageError
from rajudge.judge import Judge
from rajudge.serve.limits import (
    MAX_BATCH,
    MAX_BODY_MB,
    MAX_CONNECTIONS,
    MAX_PORT,
    READ_TIMEOUT,
    ServeLimits,
)
from rajudge.serve.server import make_server, open_to_all
from rajudge.settings import SETTING, over_config

# The server's settings (rows of rajudge.settings.SETTINGS) and their defaults.
_DEFAULTS = {
    "serve_max_body_mb": MAX_BODY_MB,
    "serve_max_batch": MAX_BATCH,
    "serve_max_connections": MAX_CONNECTIONS,
    "serve_read_timeout": READ_TIMEOUT,
}


def _serve_flag(name: str) -> Any:
    """The option of a server setting: flag, help and bounds from its row, default from here."""
    row = SETTING[name]
    return typer.Option(
        row.flag, min=row.low, max=row.high, help=f"{row.help} (default {_DEFAULTS[name]})."
    )


@dataclass(frozen=True)
class ServeFlags:
    """Who may use the server and how much one client may take (None: config, then default).

    A limit's field is named as its row in rajudge.settings.SETTINGS and its config key.
    """

    api_key: Annotated[
        str | None,
        typer.Option(
            "--api-key",
            envvar="RAJUDGE_SERVE_API_KEY",
            show_default=False,
            help="Key every route but /health needs, sent as `Authorization: Bearer KEY`; "
            "prefer $RAJUDGE_SERVE_API_KEY, which other users' `ps` does not show.",
        ),
    ] = None
    serve_max_body_mb: Annotated[int | None, _serve_flag("serve_max_body_mb")] = None
    serve_max_batch: Annotated[int | None, _serve_flag("serve_max_batch")] = None
    serve_max_connections: Annotated[int | None, _serve_flag("serve_max_connections")] = None
    serve_read_timeout: Annotated[int | None, _serve_flag("serve_read_timeout")] = None

    def limits(self, config: Config) -> ServeLimits:
        """These flags over the config file's `serve_*` settings, over the defaults."""
        given = {name: getattr(self, name) for name in _DEFAULTS}
        chosen = {**_DEFAULTS, **over_config(_DEFAULTS, config.settings, given)}
        return ServeLimits(
            api_key=self.api_key or None,
            max_body=chosen["serve_max_body_mb"] << 20,
            max_batch=chosen["serve_max_batch"],
            max_connections=chosen["serve_max_connections"],
            read_timeout=chosen["serve_read_timeout"],
        )


@with_flag_groups
def serve(
    host: Annotated[
        str, typer.Option(help="Address to listen on (0.0.0.0: every interface).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on (0: any free port).")] = 8000,
    model: ModelOption = None,
    *,
    engine: EngineFlags,
    bounds: ServeFlags,
) -> None:
    """Serve judging over HTTP with the reference package's API, until Ctrl-C or SIGTERM."""
    if not 0 <= port <= MAX_PORT:  # before the model loads; bind() would raise OverflowError
        raise UsageError(f"--port must be between 0 and {MAX_PORT}, not {port}")
    config = load_config()
    settings = engine.settings(config)
    limits = bounds.limits(config)
    backend = open_backend(model, settings, config, on_demo=print_notice).backend
    judge = Judge(backend=backend)
    try:
        try:
            server = make_server(judge, host, port, log=_log, limits=limits)
        except OSError as exc:
            raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
        # `kill PID` stops a server run in the background as Ctrl-C stops one in a terminal
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        if open_to_all(str(server.server_address[0]), limits.api_key):
            stderr.print(
                f"warning: no API key, and {host} is not loopback: anyone who can reach "
                f"port {server.server_address[1]} can use this server; set "
                "$RAJUDGE_SERVE_API_KEY (or --api-key)",
                style="yellow",
                markup=False,
                highlight=False,
            )
        try:  # a signal from the moment the address is out ends in "stopped"
            stderr.print(
                f"serving {backend.model_name} ({settings.mode} mode) on {server.url}; "
                "Ctrl-C stops",
                markup=False,
                highlight=False,
                soft_wrap=True,  # one line, so that scripts can read the address
            )
            server.serve_forever()
        except KeyboardInterrupt:
            stderr.print("stopped", style="dim")
        finally:
            server.server_close()
    finally:
        judge.close()  # waits for a judgment in progress; requests still queued are refused
        backend.close()


def _log(line: str) -> None:
    stderr.print(line, style="dim", markup=False, highlight=False, soft_wrap=True)
