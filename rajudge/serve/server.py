"""An HTTP reward server around one Judge, speaking the reference package's API.

The routes and JSON shapes are those of `rewardanything` 1.0.1's server, so its `Client` (and
code written against it) works unchanged:

    GET  /health                    {"status": "healthy", "service": "rajudge", "model", "mode",
                                     "queued"}
    POST /api/rewardanything        {"principle", "prompt", "responses", "mask_responses"}
                                    -> {"thoughts", "results": {"scores", "best-to-worst"},
                                        "record"}
    POST /api/rewardanything_batch  [request, ...] -> [reply, ...], in request order

`record` is rajudge's full JSONL record (distributions, expected scores, timings). `principle`
may also name a library principle; otherwise it is the principle's text, never a file. Names
are always masked and shuffled (`mask_responses` is accepted and checked, and masking is what
the judge was trained with). A batch is checked whole before anything is judged (422 naming the
bad request); an item that fails while judging (too long for the context) gets {"error"} in its
place. Every error is a JSON {"error"} with a 4xx/5xx status, never a traceback.

Open to a network, the server stays bounded (limits in rajudge.serve.limits): with an API key
every route but /health needs `Authorization: Bearer KEY` (401 otherwise); a body over the
limit is 413 unread (then what the client still sends of it is read and dropped, up to a
bound, so that it hears the 413 and not a reset), a batch over its maximum 413, an item
whose text cannot fit the context 422 before it waits for the model; a client that does not
send its headers, then its body, within the read timeout gets 408; beyond the connection cap a
client gets 503 with Retry-After. Each connection has a thread; requests take the one model in
arrival order.
"""

from __future__ import annotations

import hmac
import io
import ipaddress
import socket
import threading
import traceback
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import orjson

from rajudge.errors import InputError, RajudgeError
from rajudge.judge import Judge
from rajudge.records import Item, ItemResult
from rajudge.serve.api import reply_to, request_item
from rajudge.serve.limits import DeadlineReader, ReadTimeout, ServeLimits, Turns

SINGLE = "/api/rewardanything"
BATCH = "/api/rewardanything_batch"
HEALTH = "/health"
_ROUTES = {HEALTH: "GET", SINGLE: "POST", BATCH: "POST"}
RETRY_AFTER = 2  # seconds a client turned away at the connection cap is asked to wait
_DISCARD_CHUNK = 64 << 10
_DISCARD_FACTOR = 8  # a refused body up to this many times the body limit is read and dropped

Log = Callable[[str], None]


class RewardServer(HTTPServer):
    """An HTTP server that judges with `judge` within `limits`; `log` gets one line per request.

    Each connection gets a thread, up to `limits.max_connections` at once; as many more are
    answered 503 (after their request is read, so the client sees the answer), and any beyond
    that are closed at once.
    """

    def __init__(
        self,
        judge: Judge,
        address: tuple[str, int],
        limits: ServeLimits | None = None,
        log: Log | None = None,
    ) -> None:
        super().__init__(address, _Handler)
        self.judge = judge
        self.limits = limits or ServeLimits()
        self.log = log
        self.turns = Turns()
        self._slots = threading.BoundedSemaphore(self.limits.max_connections)
        self._refusals = threading.BoundedSemaphore(self.limits.max_connections)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def process_request(self, request: Any, client_address: Any) -> None:
        busy = not self._slots.acquire(blocking=False)
        if busy and not self._refusals.acquire(blocking=False):
            self.shutdown_request(request)
            return
        args = (request, client_address, busy)
        threading.Thread(target=self._process, args=args, daemon=True).start()

    def _process(self, request: socket.socket, client_address: Any, busy: bool) -> None:
        try:
            (_BusyHandler if busy else _Handler)(request, client_address, self)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)
            (self._refusals if busy else self._slots).release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A connection that failed outside a request (the client went away): one log line."""
        if self.log is not None:
            self.log(f"{client_address[0]} connection failed: {traceback.format_exc(0).strip()}")


class _BadRequest(Exception):
    """A request refused with `status`; `unread`: its body was left unread."""

    def __init__(
        self,
        status: HTTPStatus,
        message: str,
        headers: dict[str, str] | None = None,
        *,
        unread: bool = False,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers or {}
        self.unread = unread


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: a trainer reuses its connection
    server: RewardServer
    busy = False  # a connection beyond the cap: every request is answered 503

    def setup(self) -> None:
        super().setup()
        self.rfile.close()  # replaced by one with a deadline
        self._reader = DeadlineReader(self.connection)
        self.rfile = io.BufferedReader(self._reader)
        self._answered = False  # whether this connection has had a request answered

    def handle_one_request(self) -> None:
        """One request, whose request line and headers must arrive within the read timeout."""
        self._reader.start(self.server.limits.read_timeout)
        try:
            super().handle_one_request()
        except ReadTimeout:
            self.close_connection = True
            # a keep-alive connection left idle is closed without a word: an answer could be
            # taken for the reply to a request the client sends at that moment
            if self._reader.received or not self._answered:
                self.requestline, self.request_version, self.command = "", "", ""
                self._send(HTTPStatus.REQUEST_TIMEOUT, {"error": self._timeout_message()})
        self._answered = True

    @property
    def route(self) -> str:
        """The path without its query (the reference client may add `?max_timeout=`)."""
        return self.path.partition("?")[0]

    def do_GET(self) -> None:
        if not self._admitted():
            return
        if self.route == HEALTH:
            judge = self.server.judge
            health = {
                "model": judge.model_name,
                "mode": judge.settings.mode,
                "queued": self.server.turns.queued,
            }
            self._send(HTTPStatus.OK, {"status": "healthy", "service": "rajudge", **health})
        else:
            self._route_error("GET")

    def do_POST(self) -> None:
        if not self._admitted():
            return
        routes = {SINGLE: self._single, BATCH: self._batch}
        if self.route not in routes:
            self._route_error("POST")
            return
        headers: dict[str, str] = {}
        unread = False
        try:
            status, reply = routes[self.route](self._body())
        except _BadRequest as exc:
            status, reply, headers, unread = (
                exc.status,
                {"error": str(exc)},
                exc.headers,
                exc.unread,
            )
        except InputError as exc:  # not a judgeable item
            status, reply = HTTPStatus.UNPROCESSABLE_ENTITY, {"error": str(exc)}
        except RajudgeError as exc:  # the model or engine failed, not the request
            status, reply = HTTPStatus.INTERNAL_SERVER_ERROR, {"error": str(exc)}
        except Exception as exc:  # a bug: the client gets one line, the operator the traceback
            self._log(traceback.format_exc().rstrip())
            status = HTTPStatus.INTERNAL_SERVER_ERROR
            reply = {"error": f"internal error: {type(exc).__name__}: {exc}"}
        self._send(status, reply, headers)
        if unread:
            self._drop_unread_body()

    def _admitted(self) -> bool:
        """Whether this request may be served; if not, it has been answered (503 or 401)."""
        try:
            if self.busy:
                raise _BadRequest(
                    HTTPStatus.SERVICE_UNAVAILABLE,
                    f"the server is serving its limit of {self.server.limits.max_connections} "
                    f"connections; try again in {RETRY_AFTER} s",
                    {"Retry-After": str(RETRY_AFTER)},
                )
            if self.route != HEALTH and not self._authorized():
                raise _BadRequest(
                    HTTPStatus.UNAUTHORIZED,
                    "this server needs its API key, sent as `Authorization: Bearer KEY`",
                    {"WWW-Authenticate": "Bearer"},
                )
        except _BadRequest as refused:
            self.close_connection = True
            self._send(refused.status, {"error": str(refused)}, refused.headers)
            self._drop_unread_body()
            return False
        return True

    def _authorized(self) -> bool:
        key = self.server.limits.api_key
        if key is None:
            return True
        scheme, _, given = (self.headers.get("Authorization") or "").strip().partition(" ")
        # http.server decodes headers as Latin-1: encoding back gives the bytes that were sent
        sent = given.strip().encode("latin-1")
        return hmac.compare_digest(sent, key.encode()) and scheme.lower() == "bearer"

    def _single(self, body: Any) -> tuple[HTTPStatus, Any]:
        (outcome,) = self._judge([request_item(body, "")])
        if isinstance(outcome, InputError):
            raise outcome
        return HTTPStatus.OK, reply_to(outcome)

    def _batch(self, body: Any) -> tuple[HTTPStatus, Any]:
        if not isinstance(body, list) or not body:
            raise _BadRequest(
                HTTPStatus.UNPROCESSABLE_ENTITY, "a batch is a non-empty JSON list of requests"
            )
        most = self.server.limits.max_batch
        if len(body) > most:
            raise _BadRequest(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                f"a batch holds at most {most} requests, not {len(body)}; send it in parts",
            )
        items = [request_item(request, f"requests[{i}]") for i, request in enumerate(body)]
        replies = [
            {"error": str(outcome)} if isinstance(outcome, InputError) else reply_to(outcome)
            for outcome in self._judge(items)
        ]
        return HTTPStatus.OK, replies

    def _judge(self, items: list[Item]) -> list[ItemResult | InputError]:
        """Outcomes in item order; items that cannot fit are refused without the model."""
        judge = self.server.judge
        outcomes: list[ItemResult | InputError | None] = [judge.too_long(i) for i in items]
        fits = [item for item, refused in zip(items, outcomes, strict=True) if refused is None]
        if fits:
            with self.server.turns.turn():
                judged = iter(list(judge.judge_items(fits)))
            outcomes = [next(judged) if o is None else o for o in outcomes]
        return [o for o in outcomes if o is not None]

    def _body(self) -> Any:
        length = self._length()
        if length is None:
            self.close_connection = True
            raise _BadRequest(HTTPStatus.LENGTH_REQUIRED, "a request body needs Content-Length")
        if length > self.server.limits.max_body:
            self.close_connection = True
            raise _BadRequest(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                f"request body of {length} bytes is over the limit of "
                f"{self.server.limits.max_body}",
                unread=True,
            )
        raw = self._read(length)
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise _BadRequest(HTTPStatus.BAD_REQUEST, f"invalid JSON: {exc}") from None

    def _length(self) -> int | None:
        length = self.headers.get("Content-Length")
        return int(length) if length is not None and length.isdigit() else None

    def _read(self, length: int) -> bytes:
        """`length` bytes of body, which must arrive within the read timeout (408 if not)."""
        self._reader.start(self.server.limits.read_timeout)
        try:
            return self.rfile.read(length)
        except ReadTimeout:
            self.close_connection = True
            raise _BadRequest(HTTPStatus.REQUEST_TIMEOUT, self._timeout_message()) from None

    def _drop_unread_body(self) -> None:
        """After answering a request whose body was not read: half-close, then read and drop
        the body before the connection closes (a lingering close, as common servers make).

        Closing a socket with unread input resets the connection, and a client that sends its
        whole body before it reads (Python's urllib) then sees the reset, not the answer. A
        body of up to _DISCARD_FACTOR times the body limit is read, within the read timeout;
        a larger one is left, and its client sees the reset.
        """
        length = self._length() or 0
        if not 0 < length <= _DISCARD_FACTOR * self.server.limits.max_body:
            return
        try:
            self.connection.shutdown(socket.SHUT_WR)  # the answer is whole: the client may read
            self._reader.start(self.server.limits.read_timeout)
            while length > 0 and (chunk := self.rfile.read(min(length, _DISCARD_CHUNK))):
                length -= len(chunk)
        except (ReadTimeout, OSError):
            pass  # the client went away or stalled: nothing more is owed to it

    def _timeout_message(self) -> str:
        seconds = self.server.limits.read_timeout
        return f"the request did not arrive within the read timeout of {seconds:g} s"

    def _route_error(self, method: str) -> None:
        self.close_connection = True  # a body left unread would be taken for the next request
        allowed = _ROUTES.get(self.route)
        if allowed is None:
            routes = ", ".join(f"{m} {p}" for p, m in _ROUTES.items())
            error = f"no route {method} {self.route}; routes: {routes}"
            self._send(HTTPStatus.NOT_FOUND, {"error": error})
        else:
            error = f"{self.route} takes {allowed}, not {method}"
            self._send(HTTPStatus.METHOD_NOT_ALLOWED, {"error": error}, {"Allow": allowed})
        self._drop_unread_body()

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Errors http.server finds itself (a malformed request, an unknown method), as JSON."""
        self.close_connection = True
        self._send(HTTPStatus(code), {"error": message or HTTPStatus(code).phrase})

    def _send(self, status: HTTPStatus, reply: Any, headers: dict[str, str] | None = None) -> None:
        payload = orjson.dumps(reply)
        # a client that does not take its answer is dropped like one that does not send
        self.connection.settimeout(self.server.limits.read_timeout)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        self._log(f"{self.address_string()} {format % args}")

    def _log(self, line: str) -> None:
        if self.server.log is not None:
            self.server.log(line)


class _BusyHandler(_Handler):
    busy = True


def open_to_all(address: str, api_key: str | None) -> bool:
    """Whether anyone who can reach a server bound to `address` may judge: no key, and the
    address is not loopback."""
    return api_key is None and not ipaddress.ip_address(address).is_loopback


def make_server(
    judge: Judge,
    host: str = "127.0.0.1",
    port: int = 8000,
    log: Log | None = None,
    limits: ServeLimits | None = None,
) -> RewardServer:
    """A server bound to host:port (0: any free port), ready for `serve_forever()`."""
    return RewardServer(judge, (host, port), limits, log)
