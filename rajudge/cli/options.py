"""Options shared by several commands, declared once, and the engine they configure."""

from __future__ import annotations

from typing import Annotated

import typer

from rajudge.cli.console import stderr
from rajudge.config import Config
from rajudge.engine.base import EngineSettings
from rajudge.engine.llama import LlamaBackend
from rajudge.errors import UsageError
from rajudge.models import resolve_model

DEMO_NOTICE = (
    "note: judging with the demo model SmolLM2-135M, a tiny pipeline model whose verdicts are "
    "not meaningful; pass -m path/to/RewardAnything-8B.gguf for a real judge (see README)"
)

ModelOption = Annotated[
    str | None,
    typer.Option(
        "--model",
        "-m",
        help="GGUF path or alias (default: $RAJUDGE_MODEL, config file, then the demo model).",
    ),
]
ModeOption = Annotated[
    str | None,
    typer.Option(
        "--mode",
        help="fast (scores, then a short rationale; default) or reasoning "
        "(think first within --reasoning-budget tokens; slower, more accurate).",
    ),
]
ThreadsOption = Annotated[
    int | None, typer.Option("--threads", help="CPU threads (default: usable CPUs).")
]
GpuLayersOption = Annotated[
    int | None, typer.Option("--n-gpu-layers", help="Layers to offload to a GPU; -1 all.")
]
CtxOption = Annotated[
    int | None,
    typer.Option("--ctx", help="Context size in tokens (default: model's, up to 8192)."),
]
SeedOption = Annotated[int | None, typer.Option("--seed", help="Seed of the response shuffle.")]
ReasoningBudgetOption = Annotated[
    int | None,
    typer.Option("--reasoning-budget", help="Most thinking tokens in reasoning mode."),
]
RationaleTokensOption = Annotated[
    int | None,
    typer.Option("--rationale-tokens", help="Most tokens of the fast mode's rationale (0: none)."),
]
TemperatureOption = Annotated[
    float, typer.Option("--temperature", help="Sampling temperature of free text (0: greedy).")
]


def engine_settings(
    config: Config,
    *,
    mode: str | None,
    threads: int | None,
    n_gpu_layers: int | None,
    ctx: int | None,
    seed: int | None,
    reasoning_budget: int | None,
    rationale_tokens: int | None,
    temperature: float,
) -> EngineSettings:
    """Flags beat the config file; what neither sets keeps the engine's default."""
    mode = mode or config.mode
    if mode not in (None, "fast", "reasoning"):
        raise UsageError(f"--mode must be fast or reasoning, not {mode!r}")
    chosen = {
        "mode": mode,
        "threads": threads or config.threads,
        "n_gpu_layers": _first(n_gpu_layers, config.n_gpu_layers),
        "ctx": ctx or config.ctx,
        "seed": _first(seed, config.seed),
        "reasoning_budget": _first(reasoning_budget, config.reasoning_budget),
        "rationale_tokens": rationale_tokens,
        "temperature": temperature,
    }
    return EngineSettings(**{k: v for k, v in chosen.items() if v is not None})


def load_backend(model: str | None, config: Config, settings: EngineSettings) -> LlamaBackend:
    """The judge model, with a one-line notice on stderr when it is the demo model."""
    model_ref = resolve_model(model, config)
    if model_ref.is_demo:
        stderr.print(DEMO_NOTICE, style="dim", markup=False, highlight=False)
    return LlamaBackend(model_ref.path, settings, name=model_ref.name)


def _first(*values: int | None) -> int | None:
    return next((v for v in values if v is not None), None)
