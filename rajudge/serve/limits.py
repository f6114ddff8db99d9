"""What keeps the reward server bounded: its limits, reads with a deadline, turns at the model.

A server open to a network must not let one client hold a thread, memory or the model for
long: each connection gets a thread, but only so many at once; a request must arrive within a
deadline; and requests take the one model in the order they asked for it.
"""

from __future__ import annotations

import io
import math
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

# Defaults: a batch of MAX_BATCH items that each fill an 8192-token context is about 2 MB
# of text, so the body limit leaves room for long contexts and JSON escapes.
MAX_BODY_MB = 8
MAX_BATCH = 64
MAX_CONNECTIONS = 64
READ_TIMEOUT = 30  # seconds
MAX_PORT = 65535  # TCP ports are 16-bit; 0 asks for any free one


@dataclass(frozen=True)
class ServeLimits:
    """Who may use the reward server, and how much one client may take of it."""

    api_key: str | None = None  # the Bearer key every route but /health needs; None: none
    max_body: int = MAX_BODY_MB << 20  # bytes in one request body
    max_batch: int = MAX_BATCH  # requests in one batch
    max_connections: int = MAX_CONNECTIONS  # connections served at once; more are told 503
    read_timeout: float = READ_TIMEOUT  # seconds for a request's headers, then for its body


class ReadTimeout(Exception):
    """A client did not send what it owed before the deadline."""


class DeadlineReader(io.RawIOBase):
    """A socket's input that raises ReadTimeout once the deadline set by `start` has passed.

    A socket timeout alone bounds each wait, so a client sending a byte now and then could
    hold its connection forever; the deadline bounds the whole request.
    """

    def __init__(self, sock: socket.socket) -> None:
        super().__init__()
        self._sock = sock
        self._deadline = math.inf
        self.received = 0  # bytes since the last `start`

    def start(self, seconds: float) -> None:
        self._deadline = time.monotonic() + seconds
        self.received = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise ReadTimeout
        self._sock.settimeout(left)
        try:
            count = self._sock.recv_into(buffer)
        except TimeoutError:
            raise ReadTimeout from None
        self.received += count
        return count


class Turns:
    """Turns at one shared thing, in the order they were asked for.

    A threading.Lock wakes its waiters in no promised order, so a request could wait while
    later ones are judged; here each waiter takes a ticket and is served when its number comes.
    """

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._issued = 0
        self._served = 0

    @property
    def queued(self) -> int:
        """Turns asked for and not yet over: the one being served and those waiting."""
        with self._changed:
            return self._issued - self._served

    @contextmanager
    def turn(self) -> Iterator[None]:
        with self._changed:
            ticket = self._issued
            self._issued += 1
            self._changed.wait_for(lambda: self._served == ticket)
        try:
            yield
        finally:
            with self._changed:
                self._served += 1
                self._changed.notify_all()
