"""One exception tree for everything rajudge reports to a user.

    RajudgeError                 base; str() is the one line a user sees
    ├── UsageError               bad flags or arguments (exit 2)
    │   ├── PrincipleError       unknown principle, bad principle YAML (names file and key)
    │   └── ConfigError          bad config file or environment value
    ├── InputError               one bad input line or item (names file:line); others go on
    │   ├── ContextOverflowError an item that does not fit the context (tokens needed vs available)
    │   └── ServerItemError      a judge server failed on one item, or answered outside the schema
    └── ModelError               missing, non-GGUF, unloadable or unsuitable model (exit 3)
        └── BackendError         the engine failed while judging

Errors that belong to one item (InputError) are collected and reported per item; the others end
the command. The CLI maps each class to an exit code in one table (rajudge.cli.errors).
"""

from __future__ import annotations


class RajudgeError(Exception):
    """Base class: the message is complete and meant for the user."""


class UsageError(RajudgeError):
    """The command line asks for something that cannot be done."""


class PrincipleError(UsageError):
    """A principle name, file or field is wrong."""


class ConfigError(UsageError):
    """A config file or environment variable holds a bad value."""


class InputError(RajudgeError):
    """One input line or item is wrong; `where` is "file:line" (or an item id)."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}" if where else message)
        self.where = where
        self.message = message


class ContextOverflowError(InputError):
    """An item needs more tokens than the context holds; it is skipped, never truncated.

    `at_least`: the item was counted only until it passed the context; `needed` is a floor.
    """

    def __init__(self, where: str, needed: int, available: int, *, at_least: bool = False) -> None:
        needs = (
            f"more than the {available} tokens the context holds"
            if at_least
            else f"{needed} tokens but the context holds {available}"
        )
        super().__init__(where, f"needs {needs}; skipped (raise --ctx or shorten the item)")
        self.needed = needed
        self.available = available


class ServerItemError(InputError):
    """A judge server could not judge one item; other items go on.

    The request failed after its retries, or the answer broke the score schema twice: never
    turned into a guessed score.
    """


class ModelError(RajudgeError):
    """The model cannot be found, read or used."""


class BackendError(ModelError):
    """The inference engine failed."""


_SHOWN = 60  # longest quoted value in a message: a 1 MB value must not become a 1 MB error line


def shown(value: object) -> str:
    """A value quoted in a message, cut short so that the message stays one readable line."""
    text = repr(value)
    return text if len(text) <= _SHOWN else f"{text[: _SHOWN - 1]}…"
