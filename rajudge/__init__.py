"""rajudge: judge LLM responses against natural-language principles with a local reward model.

The data's path through the package: read (JSONL in) -> principles -> protocol (the
RewardAnything framing) -> engine (llama.cpp) -> scoring (answer skeleton) -> output.
From Python, `Judge` loads a model once and judges; `reward_function` makes a GRPO reward;
`result_record` turns a result into the JSONL schema's dict; the exceptions here are the ones a
caller catches (InputError: one item; the others end the call).
"""

from importlib.metadata import version

from rajudge.engine.load import DemoModelWarning
from rajudge.errors import (
    ConfigError,
    ContextOverflowError,
    InputError,
    ModelError,
    PrincipleError,
    RajudgeError,
    UsageError,
)
from rajudge.judge import Judge
from rajudge.judging.principles import library, load_file, resolve
from rajudge.output.schema import SCHEMA_VERSION, result_record
from rajudge.records import Item, ItemResult, Judgment, Principle, ResponseScore, Timings
from rajudge.reward import reward_function
from rajudge.settings import EngineSettings

__version__ = version("rajudge")  # pyproject.toml holds it

__all__ = [
    "SCHEMA_VERSION",
    "ConfigError",
    "ContextOverflowError",
    "DemoModelWarning",
    "EngineSettings",
    "InputError",
    "Item",
    "ItemResult",
    "Judge",
    "Judgment",
    "ModelError",
    "Principle",
    "PrincipleError",
    "RajudgeError",
    "ResponseScore",
    "Timings",
    "UsageError",
    "library",
    "load_file",
    "resolve",
    "result_record",
    "reward_function",
]
