"""rajudge: judge LLM responses against natural-language principles with a local reward model.

The data's path through the package: read (JSONL in) -> principles -> protocol (the
RewardAnything framing) -> engine (llama.cpp) -> scoring (answer skeleton) -> output.
From Python, `Judge` loads a model once and judges; `reward_function` makes a GRPO reward;
`result_record` turns a result into the JSONL schema's dict; the exceptions here are the ones a
caller catches (InputError: one item; the others end the call). `Backend` and `Job` are what a
judge engine implements and is given; `Tally` is what `Judge.score_file` returns.

Every name is imported on first use (PEP 562), so that `import rajudge.errors`, which a caller
that only catches rajudge's errors needs, loads neither the engine nor numpy.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # what the names below are, for type checkers and editors
    from rajudge.engine.base import Backend, Job
    from rajudge.engine.load import DemoModelWarning
    from rajudge.errors import (
        BackendError,
        ConfigError,
        ContextOverflowError,
        InputError,
        ModelError,
        PrincipleError,
        RajudgeError,
        ServerItemError,
        UsageError,
    )
    from rajudge.judge import Judge
    from rajudge.judging.principles import library, load_file, resolve
    from rajudge.output.schema import SCHEMA_VERSION, result_record
    from rajudge.records import Item, ItemResult, Judgment, Principle, ResponseScore, Timings
    from rajudge.reward import reward_function
    from rajudge.run.core import Tally
    from rajudge.settings import EngineSettings

# Each public name, and the module that holds it.
_HOMES = {
    "Backend": "rajudge.engine.base",
    "BackendError": "rajudge.errors",
    "ConfigError": "rajudge.errors",
    "ContextOverflowError": "rajudge.errors",
    "DemoModelWarning": "rajudge.engine.load",
    "EngineSettings": "rajudge.settings",
    "InputError": "rajudge.errors",
    "Item": "rajudge.records",
    "ItemResult": "rajudge.records",
    "Job": "rajudge.engine.base",
    "Judge": "rajudge.judge",
    "Judgment": "rajudge.records",
    "ModelError": "rajudge.errors",
    "Principle": "rajudge.records",
    "PrincipleError": "rajudge.errors",
    "RajudgeError": "rajudge.errors",
    "ResponseScore": "rajudge.records",
    "SCHEMA_VERSION": "rajudge.output.schema",
    "ServerItemError": "rajudge.errors",
    "Tally": "rajudge.run.core",
    "Timings": "rajudge.records",
    "UsageError": "rajudge.errors",
    "library": "rajudge.judging.principles",
    "load_file": "rajudge.judging.principles",
    "resolve": "rajudge.judging.principles",
    "result_record": "rajudge.output.schema",
    "reward_function": "rajudge.reward",
}

__all__ = [
    "SCHEMA_VERSION",
    "Backend",
    "BackendError",
    "ConfigError",
    "ContextOverflowError",
    "DemoModelWarning",
    "EngineSettings",
    "InputError",
    "Item",
    "ItemResult",
    "Job",
    "Judge",
    "Judgment",
    "ModelError",
    "Principle",
    "PrincipleError",
    "RajudgeError",
    "ResponseScore",
    "ServerItemError",
    "Tally",
    "Timings",
    "UsageError",
    "library",
    "load_file",
    "resolve",
    "result_record",
    "reward_function",
]


def __getattr__(name: str) -> object:
    """A public name, imported from its module the first time it is asked for."""
    if name == "__version__":
        from importlib.metadata import version

        value: object = version("rajudge")  # pyproject.toml holds it
    elif name in _HOMES:
        value = getattr(import_module(_HOMES[name]), name)
    else:
        raise AttributeError(f"module 'rajudge' has no attribute {name!r}")
    globals()[name] = value  # asked once: later lookups find it without this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__, "__version__"})
