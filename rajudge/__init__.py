"""rajudge: judge LLM responses against natural-language principles with a local reward model.

The data's path through the package: read (JSONL in) -> principles -> protocol (the
RewardAnything framing) -> engine (llama.cpp) -> scoring (answer skeleton) -> output.
From Python, `Judge` loads a model once and judges; `reward_function` makes a GRPO reward.
"""

from rajudge.engine.load import DemoModelWarning
from rajudge.errors import RajudgeError
from rajudge.judge import Judge
from rajudge.principles import library, load_file, resolve
from rajudge.records import Item, ItemResult, Judgment, Principle, ResponseScore, Timings
from rajudge.reward import reward_function
from rajudge.settings import EngineSettings

__version__ = "0.1.0"

__all__ = [
    "DemoModelWarning",
    "EngineSettings",
    "Item",
    "ItemResult",
    "Judge",
    "Judgment",
    "Principle",
    "RajudgeError",
    "ResponseScore",
    "Timings",
    "library",
    "load_file",
    "resolve",
    "reward_function",
]
