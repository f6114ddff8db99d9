"""Exit codes, and the one table that maps rajudge's exceptions to them."""

from __future__ import annotations

from rajudge.errors import InputError, ModelError, RajudgeError, UsageError

EXIT_OK = 0  # every item judged
EXIT_ITEMS_FAILED = 1  # some items could not be judged (bad lines, too long); the rest were
EXIT_USAGE = 2  # bad flags, unknown principle, bad principle/config file, unreadable input
EXIT_MODEL = 3  # model missing, not a GGUF, cannot be loaded, or the engine failed
EXIT_BELOW_THRESHOLD = 4  # score --fail-under: the mean score of the judged responses is below it
EXIT_INTERRUPTED = 130  # Ctrl-C (raised by Typer)

_EXIT_CODES: tuple[tuple[type[RajudgeError], int], ...] = (
    (UsageError, EXIT_USAGE),
    (InputError, EXIT_ITEMS_FAILED),
    (ModelError, EXIT_MODEL),
)


def exit_code(exc: RajudgeError) -> int:
    return next((code for kind, code in _EXIT_CODES if isinstance(exc, kind)), EXIT_USAGE)
