"""rajudge: judge LLM responses against natural-language principles with a local reward model.

The data's path through the package: read (JSONL in) -> principles -> protocol (the
RewardAnything framing) -> engine (llama.cpp) -> scoring (answer skeleton) -> output.
"""

from rajudge.engine.base import EngineSettings
from rajudge.errors import RajudgeError
from rajudge.principles import library, load_file, resolve
from rajudge.records import Item, ItemResult, Judgment, Principle, ResponseScore, Timings

__version__ = "0.1.0"

__all__ = [
    "EngineSettings",
    "Item",
    "ItemResult",
    "Judgment",
    "Principle",
    "RajudgeError",
    "ResponseScore",
    "Timings",
    "library",
    "load_file",
    "resolve",
]
