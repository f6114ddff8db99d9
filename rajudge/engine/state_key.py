"""What a saved prefix state depends on besides its tokens (rajudge.engine.prefix_state).

A KV prefix computed by another model file, another llama.cpp build (its version, the CPU
features and backends it was built with), another context size, GPU offload or context setting
may hold other numbers; llama.cpp also refuses a state made in a context with another number of
KV streams. Each of those is part of the key, so a state is only ever restored where it was made.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

from rajudge.run.cache import digest, model_identity

_FORMAT = 1  # bump when what a saved prefix state means changes
_KV_PARAMS = (  # context settings that can change the numbers a prefix leaves in the KV cache
    "n_batch",
    "n_ubatch",
    "type_k",
    "type_v",
    "flash_attn_type",
    "offload_kqv",
    "op_offload",
    "swa_full",
    "attention_type",
    "rope_scaling_type",
    "rope_freq_base",
    "rope_freq_scale",
    "yarn_ext_factor",
    "yarn_attn_factor",
    "yarn_beta_fast",
    "yarn_beta_slow",
    "yarn_orig_ctx",
)


def engine_key(
    llama_cpp: ModuleType, path: Path, params: Any, n_ctx: int, n_gpu_layers: int
) -> str:
    """The key of one loaded engine: model file, llama.cpp build, context size and settings
    (`params`: the context parameters its judging contexts are made with)."""
    return digest(
        [
            _FORMAT,
            model_identity(path),
            llama_cpp.__version__,
            llama_cpp.llama_print_system_info().decode("utf-8", "replace"),
            bool(llama_cpp.llama_supports_gpu_offload()),
            n_ctx,
            n_gpu_layers,
            {name: getattr(params, name) for name in _KV_PARAMS if hasattr(params, name)},
        ]
    )


def stream_key(engine: str, streams: int) -> str:
    """The key of a state made under `engine` in a context with `streams` judgment streams
    beside the trunk (0 where judgments run one at a time in the trunk itself)."""
    return digest([engine, streams])
