"""Ctrl-C held until the end of a block, then raised as usual.

Two kinds of block need it: writing a result (never half written) and a call into llama.cpp,
which logs through a Python callback even when its log is muted: a KeyboardInterrupt raised
inside that callback is printed and then lost, so a Ctrl-C during a llama.cpp pass would be
ignored. Held, it is raised when the call returns.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


@contextmanager
def interrupts_held() -> Iterator[None]:
    """Ctrl-C waits for the end of the block. Only the main thread receives signals; elsewhere
    (and where another handler than Python's holds SIGINT) the block just runs."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[tuple[int, FrameType | None]] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append((signum, frame)))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught and callable(previous):
        previous(*caught[0])
