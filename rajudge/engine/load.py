"""Opening a backend from settings: the one place a judge model is chosen and loaded.

The CLI commands, the Python API (`Judge`) and the server all come here, so the model is
resolved (-m, $RAJUDGE_MODEL, the config file, the demo model) and the demo notice given the
same way for each.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

from rajudge.engine.base import Backend
from rajudge.engine.http import OpenAIBackend
from rajudge.engine.http_client import ServerSettings
from rajudge.engine.llama import LlamaBackend
from rajudge.engine.prefix_state import PrefixStates
from rajudge.models.catalog import resolve_model
from rajudge.run.cache import model_identity
from rajudge.settings import EngineSettings

if TYPE_CHECKING:
    from rajudge.config import Config

DEMO_NOTICE = (
    "judging with the demo model SmolLM2-135M, a tiny pipeline model whose verdicts are not "
    "meaningful; use a real judge such as RewardAnything-8B (see README: A real judge)"
)


class DemoModelWarning(UserWarning):
    """The demo model is judging: fine to try the pipeline, its verdicts mean nothing."""


class OpenedBackend(NamedTuple):
    backend: Backend
    identity: str  # what names the model's weights, for the result cache and record keys
    is_demo: bool


def warn_demo(notice: str) -> None:
    """The demo notice as a DemoModelWarning, pointing at the caller of `Judge()`."""
    warnings.warn(notice, DemoModelWarning, stacklevel=4)


def open_backend(
    model: str | None,
    settings: EngineSettings,
    config: Config,
    *,
    server: ServerSettings | None = None,
    on_demo: Callable[[str], None] = warn_demo,
    prefix_states: bool = True,
) -> OpenedBackend:
    """The judge model `model` names under `settings`: on `server` when given, else in-process.

    `on_demo` is given DEMO_NOTICE when the model is the demo model. The in-process engine
    restores and saves shared prefixes' states in the state store unless `prefix_states` is
    False (--no-cache).
    """
    backend: Backend
    if server is not None:
        backend = OpenAIBackend(server, settings)
        return OpenedBackend(backend, f"{server.base_url.rstrip('/')}|{backend.model_name}", False)
    ref = resolve_model(model, config)
    if ref.is_demo:
        on_demo(DEMO_NOTICE)
    states = PrefixStates.open() if prefix_states else None
    backend = LlamaBackend(ref.path, settings, name=ref.name, states=states)
    return OpenedBackend(backend, model_identity(ref.path), ref.is_demo)
