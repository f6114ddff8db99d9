"""`rajudge serve`: the reward server, for trainers and clients on other machines."""

from __future__ import annotations

import signal
from dataclasses import dataclass
from typing import Annotated

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


@dataclass(frozen=True)
class ServeFlags:
    """Who may use the server and how much one client may take (None: config, then default)."""

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
    max_body_mb: Annotated[
        int | None,
        typer.Option(min=1, help=f"Largest request body in MiB (default {MAX_BODY_MB})."),
    ] = None
    max_batch: Annotated[
        int | None,
        typer.Option(min=1, help=f"Most requests in one batch (default {MAX_BATCH})."),
    ] = None
    max_connections: Annotated[
        int | None,
        typer.Option(
            min=1,
            help=f"Connections served at once; more are told 503 (default {MAX_CONNECTIONS}).",
        ),
    ] = None
    read_timeout: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Seconds a client has to send a request's headers, then its body; slower "
            f"ones are told 408 (default {READ_TIMEOUT}).",
        ),
    ] = None

    def limits(self, config: Config) -> ServeLimits:
        """These flags over the config file's `serve_*` settings, over the defaults."""

        def pick(given: int | None, configured: int | None, default: int) -> int:
            return next(v for v in (given, configured, default) if v is not None)

        return ServeLimits(
            api_key=self.api_key or None,
            max_body=pick(self.max_body_mb, config.serve_max_body_mb, MAX_BODY_MB) << 20,
            max_batch=pick(self.max_batch, config.serve_max_batch, MAX_BATCH),
            max_connections=pick(
                self.max_connections, config.serve_max_connections, MAX_CONNECTIONS
            ),
            read_timeout=pick(self.read_timeout, config.serve_read_timeout, READ_TIMEOUT),
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
