"""Why llama.cpp refused a model: its own error log, caught while the model loads."""

from __future__ import annotations

import ctypes
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

_GGML_LOG_ERROR = 4  # enum ggml_log_level


@contextmanager
def load_log(llama_cpp: ModuleType, errors: list[str]) -> Iterator[None]:
    """Collect llama.cpp's error messages while a model loads; its log goes on as before.

    llama.cpp says why a load failed only in its log, which llama-cpp-python mutes; the reason
    belongs in rajudge's one line. The log callback is global, so the previous one is restored.
    """
    previous, data = llama_cpp.llama_log_callback(), ctypes.c_void_p()
    llama_cpp.llama_log_get(ctypes.byref(previous), ctypes.byref(data))

    def record(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
        if level == _GGML_LOG_ERROR:
            errors.append(text.decode("utf-8", "replace").strip())
        if previous:
            previous(level, text, user_data)

    callback = llama_cpp.llama_log_callback(record)
    llama_cpp.llama_log_set(callback, data)
    try:
        yield
    finally:
        llama_cpp.llama_log_set(previous, data)


def load_failure(path: Path, errors: list[str]) -> str:
    """One line for a model llama.cpp refused, with the reason it logged."""
    marker = "error loading model: "
    reasons = [e.split(marker, 1)[1] for e in errors if marker in e] or errors[-1:]
    message = f"{path}: llama.cpp could not load this model"
    if not reasons:
        return message
    reason = reasons[-1].removeprefix("llama_model_loader: ")
    if "unknown model architecture" in reason:
        reason += " (this llama.cpp build does not support it; a newer llama-cpp-python may)"
    return f"{message}: {reason}"
