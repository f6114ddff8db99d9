"""`rajudge serve`: the reward server, for trainers and clients on other machines."""

from __future__ import annotations

import signal
from typing import Annotated

import typer

from rajudge.cli.console import stderr
from rajudge.cli.flag_groups import with_flag_groups
from rajudge.cli.options import EngineFlags, ModelOption, load_backend
from rajudge.config import load_config
from rajudge.errors import UsageError
from rajudge.judge import Judge
from rajudge.serve import make_server


@with_flag_groups
def serve(
    host: Annotated[
        str, typer.Option(help="Address to listen on (0.0.0.0: every interface).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on (0: any free port).")] = 8000,
    model: ModelOption = None,
    *,
    engine: EngineFlags,
) -> None:
    """Serve judging over HTTP with the reference package's API, until Ctrl-C or SIGTERM."""
    config = load_config()
    settings = engine.settings(config)
    backend, _ = load_backend(model, config, settings)
    judge = Judge(backend=backend)
    try:
        try:
            server = make_server(judge, host, port, log=_log)
        except OSError as exc:
            raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
        # `kill PID` stops a server run in the background as Ctrl-C stops one in a terminal
        signal.signal(signal.SIGTERM, signal.default_int_handler)
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
