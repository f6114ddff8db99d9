"""Talking to an OpenAI-compatible server: JSON calls with retries, and requests kept in flight.

A transient failure (connection, timeout, 408/409/425/429, 5xx) is retried with exponential
backoff and jitter; a refused key or a wrong URL ends the run; a request the server refuses as
malformed is handed back to the caller (Rejected), which may ask for less and try again.
"""

from __future__ import annotations

import http.client
import json
import random
import threading
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Callable, Collection, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from rajudge.errors import BackendError, ServerItemError

T = TypeVar("T")
R = TypeVar("R")

_TRANSIENT_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
_FATAL_STATUS = {
    401: "the server refused the API key (--api-key, $RAJUDGE_API_KEY, $OPENAI_API_KEY)",
    403: "the server refused the API key (--api-key, $RAJUDGE_API_KEY, $OPENAI_API_KEY)",
    404: "not found (is --base-url the API root, e.g. http://host:8000/v1, and -m a served model?)",
}
_MAX_BACKOFF = 30.0  # seconds; also caps a server's Retry-After


@dataclass(frozen=True)
class ServerSettings:
    """Where the server is and how hard to try. `model` None: the first one it serves."""

    base_url: str
    model: str | None = None
    api_key: str | None = None
    concurrency: int = 4  # requests in flight at once
    timeout: float = 120.0  # seconds without a byte from the server before a try fails
    retries: int = 3  # more tries after a transient failure (connection, timeout, 429, 5xx)
    backoff: float = 0.5  # seconds before the first retry; doubles each time


class Rejected(Exception):
    """The server refused this request as malformed; retrying it unchanged cannot help."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ServerClient:
    """JSON calls to one server's API root; safe to use from several threads.

    `refusable` are request field names: a 5xx error that names one is a Rejected request, not
    a transient failure (llama-cpp-python's server answers 500 to a field it does not accept).
    """

    def __init__(self, server: ServerSettings, refusable: Collection[str] = ()) -> None:
        self.url = server.base_url.rstrip("/")
        self._server = server
        self._refusable = tuple(refusable)
        self._closed = threading.Event()

    def request(
        self, method: str, path: str, body: dict[str, Any] | None, *, where: str | None
    ) -> dict[str, Any]:
        """One API call with retries and exponential backoff on transient failures.

        Raises Rejected for a request the server refuses (4xx, or a 5xx that names a refusable
        field), BackendError when no request can succeed (bad key, wrong URL) or a request for
        no item (`where` None) fails, and ServerItemError when an item's request failed after
        every retry.
        """
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self._server.api_key:
            headers["Authorization"] = f"Bearer {self._server.api_key}"
        data = None if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
        url = self.url + path
        failure, delay, tries = "", None, 0
        while tries <= self._server.retries:
            if tries:
                self._closed.wait(delay or _backoff(self._server.backoff, tries))
            if self._closed.is_set():
                failure = f"stopped: the run is closing ({failure or 'before the first try'})"
                break
            tries += 1
            request = urllib.request.Request(url, data=data, headers=headers, method=method)
            try:
                with urllib.request.urlopen(request, timeout=self._server.timeout) as response:
                    raw = response.read()
            except urllib.error.HTTPError as exc:
                failure, delay = self._http_failure(exc, url)
                continue
            except TimeoutError:
                failure, delay = f"no answer from {url} within {self._server.timeout:g} s", None
                continue
            except (OSError, http.client.HTTPException) as exc:
                failure, delay = f"cannot reach {url} ({_reason(exc)})", None
                continue
            try:
                answer: dict[str, Any] = json.loads(raw)  # callers check its shape
                return answer
            except ValueError:
                failure, delay = f"{url} answered with something not JSON: {raw[:80]!r}", None
        if where is None:
            raise BackendError(failure)
        raise ServerItemError(where, f"gave up after {tries} tries: {failure}")

    def close(self) -> None:
        """Stop retrying: requests still in flight end at their timeout."""
        self._closed.set()

    def _http_failure(self, exc: urllib.error.HTTPError, url: str) -> tuple[str, float | None]:
        """A retryable failure's description and the server's Retry-After; raises otherwise."""
        message = _error_message(exc)
        if exc.code in _FATAL_STATUS:
            raise BackendError(f"{url}: HTTP {exc.code}: {_FATAL_STATUS[exc.code]} ({message})")
        names_field = any(field in message.lower() for field in self._refusable)
        if exc.code not in _TRANSIENT_STATUS or names_field:
            raise Rejected(f"HTTP {exc.code}: {message}")
        return f"HTTP {exc.code}: {message}", _retry_after(exc)


def in_flight(items: Iterable[T], work: Callable[[T], R], limit: int) -> Iterator[R]:
    """`work(item)` for each item, up to `limit` at once; results in input order.

    Items are read from `items` only as slots free up, so a long input is never read ahead.
    """
    pool = ThreadPoolExecutor(limit, thread_name_prefix="rajudge-http")
    pending: deque[Future[R]] = deque()
    try:
        for item in items:
            pending.append(pool.submit(work, item))
            if len(pending) >= limit:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _backoff(base: float, attempt: int) -> float:
    """Seconds before try `attempt` (1-based): doubling, with jitter so clients spread out."""
    return min(base * 2.0 ** (attempt - 1) * random.uniform(1.0, 1.5), _MAX_BACKOFF)


def _retry_after(exc: urllib.error.HTTPError) -> float | None:
    """The server's Retry-After in seconds (capped), when it gives one as a number."""
    try:
        return min(float(exc.headers.get("Retry-After", "")), _MAX_BACKOFF)
    except (AttributeError, ValueError):
        return None


def _error_message(exc: urllib.error.HTTPError) -> str:
    """The server's own error text: OpenAI's {"error": {"message"}}, else the body's start."""
    try:
        raw = exc.read().decode("utf-8", "replace")
    except OSError:
        return exc.reason or ""
    try:
        error = json.loads(raw).get("error")
        message = error.get("message") if isinstance(error, dict) else error
    except (ValueError, AttributeError):
        message = None
    text = str(message) if message else raw or str(exc.reason)
    return " ".join(text.split())[:300]


def _reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None) or exc
    return str(reason) or type(reason).__name__
