"""An HTTP reward server around one Judge, speaking the reference package's API.

The routes and JSON shapes are those of `rewardanything` 1.0.1's server, so its `Client` (and
code written against it) works unchanged:

    GET  /health                    {"status": "healthy", "service": "rajudge", "model", "mode"}
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

Requests are served by threads; the Judge's lock makes them queue for the one model.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from dataclasses import replace
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson

from rajudge.errors import InputError, RajudgeError
from rajudge.judge import Judge, make_item
from rajudge.output import result_record
from rajudge.principles import library
from rajudge.records import Item, ItemResult

SINGLE = "/api/rewardanything"
BATCH = "/api/rewardanything_batch"
HEALTH = "/health"
_ROUTES = {HEALTH: "GET", SINGLE: "POST", BATCH: "POST"}
MAX_BODY = 64 << 20  # bytes; a request beyond this is refused before it is read
_DEFAULT_ID = "request"  # the shuffle then depends on the request's content only

Log = Callable[[str], None]


class RewardServer(ThreadingHTTPServer):
    """A threaded HTTP server that judges with `judge`; `log` gets one line per request."""

    daemon_threads = True

    def __init__(self, judge: Judge, address: tuple[str, int], log: Log | None = None) -> None:
        super().__init__(address, _Handler)
        self.judge = judge
        self.log = log

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"


class _BadRequest(Exception):
    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: a trainer reuses its connection
    server: RewardServer

    @property
    def route(self) -> str:
        """The path without its query (the reference client may add `?max_timeout=`)."""
        return self.path.partition("?")[0]

    def do_GET(self) -> None:
        if self.route == HEALTH:
            judge = self.server.judge
            health = {"model": judge.model_name, "mode": judge.settings.mode}
            self._send(HTTPStatus.OK, {"status": "healthy", "service": "rajudge", **health})
        else:
            self._route_error("GET")

    def do_POST(self) -> None:
        routes = {SINGLE: self._single, BATCH: self._batch}
        if self.route not in routes:
            self._route_error("POST")
            return
        try:
            status, reply = routes[self.route](self._body())
        except _BadRequest as exc:
            status, reply = exc.status, {"error": str(exc)}
        except RajudgeError as exc:  # the model or engine failed, not the request
            status, reply = HTTPStatus.INTERNAL_SERVER_ERROR, {"error": str(exc)}
        except Exception as exc:  # a bug: the client gets one line, the operator the traceback
            self._log(traceback.format_exc().rstrip())
            status = HTTPStatus.INTERNAL_SERVER_ERROR
            reply = {"error": f"internal error: {type(exc).__name__}: {exc}"}
        self._send(status, reply)

    def _single(self, body: Any) -> tuple[HTTPStatus, Any]:
        item = _request_item(body, "")
        (outcome,) = self.server.judge.judge_items([item])
        if isinstance(outcome, InputError):
            raise _BadRequest(HTTPStatus.UNPROCESSABLE_ENTITY, str(outcome))
        return HTTPStatus.OK, _reply(outcome)

    def _batch(self, body: Any) -> tuple[HTTPStatus, Any]:
        if not isinstance(body, list) or not body:
            raise _BadRequest(
                HTTPStatus.UNPROCESSABLE_ENTITY, "a batch is a non-empty JSON list of requests"
            )
        items = [_request_item(request, f"requests[{i}]") for i, request in enumerate(body)]
        replies = [
            {"error": str(outcome)} if isinstance(outcome, InputError) else _reply(outcome)
            for outcome in self.server.judge.judge_items(items)
        ]
        return HTTPStatus.OK, replies

    def _body(self) -> Any:
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            self.close_connection = True
            raise _BadRequest(HTTPStatus.LENGTH_REQUIRED, "a request body needs Content-Length")
        if int(length) > MAX_BODY:
            self.close_connection = True
            raise _BadRequest(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                f"request body of {length} bytes is over the limit of {MAX_BODY}",
            )
        raw = self.rfile.read(int(length))
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise _BadRequest(HTTPStatus.BAD_REQUEST, f"invalid JSON: {exc}") from None

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

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Errors http.server finds itself (a malformed request, an unknown method), as JSON."""
        self.close_connection = True
        self._send(HTTPStatus(code), {"error": message or HTTPStatus(code).phrase})

    def _send(self, status: HTTPStatus, reply: Any, headers: dict[str, str] | None = None) -> None:
        payload = orjson.dumps(reply)
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


def make_server(
    judge: Judge, host: str = "127.0.0.1", port: int = 8000, log: Log | None = None
) -> RewardServer:
    """A server bound to host:port (0: any free port), ready for `serve_forever()`."""
    return RewardServer(judge, (host, port), log)


def _request_item(request: Any, where: str) -> Item:
    """The Item a reference-shaped request asks to judge, under its own principle."""

    def bad(message: str) -> _BadRequest:
        return _BadRequest(
            HTTPStatus.UNPROCESSABLE_ENTITY, f"{where}: {message}" if where else message
        )

    if not isinstance(request, dict):
        raise bad("a request is a JSON object with principle, prompt and responses")
    for key in ("principle", "prompt", "responses"):
        if key not in request:
            raise bad(f"missing {key!r}")
    principle = request["principle"]
    if not isinstance(principle, str) or not principle.strip():
        raise bad("'principle' must be non-empty text")
    if not isinstance(request.get("mask_responses", True), bool):
        raise bad("'mask_responses' must be true or false")
    record = {
        "id": request.get("id", _DEFAULT_ID),
        "prompt": request["prompt"],
        "responses": request["responses"],
        "principle": principle,
    }
    try:
        item = make_item(record, where)
    except InputError as exc:
        raise bad(exc.message) from None
    shipped = library().get(principle)
    return replace(item, principle=shipped) if shipped else item


def _reply(result: ItemResult) -> dict[str, Any]:
    """The reference server's reply, with rajudge's record alongside."""
    (judgment,) = result.judgments
    scores = {score.name: score.score for score in judgment.responses}
    return {
        "thoughts": judgment.rationale,
        "results": {
            "scores": {name: scores[name] for name in result.item.responses},
            "best-to-worst": list(result.ranking),
        },
        "record": result_record(result),
    }
