"""The reward server open to a network: its key, its limits, its timeouts, its connection cap.

Live servers on 127.0.0.1 around the real demo model; none of these asserts a duration.
"""

from __future__ import annotations

import hmac
import json
import select
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.error import HTTPError
from urllib.request import Request, urlopen

import pytest
from serve_client import REQUEST, call, connect, raw, read_reply

from rajudge import Judge
from rajudge.engine.llama import LlamaBackend
from rajudge.serve.limits import ServeLimits, Turns
from rajudge.serve.server import RewardServer, make_server, open_to_all

KEY = "s3cret-Key-for-tests"
SINGLE = "/api/rewardanything"
BATCH = "/api/rewardanything_batch"
LONG = {**REQUEST, "responses": {"a": "four " * 400_000, "b": "4"}}  # 2 MB, far past 4096 tokens

Serve = Callable[..., RewardServer]


@pytest.fixture(scope="module")
def judge(backend: LlamaBackend) -> Iterator[Judge]:
    with Judge(backend=backend) as shared:
        yield shared


@pytest.fixture
def serve(judge: Judge) -> Iterator[Serve]:
    """Starts live servers with the given ServeLimits fields (and `log`); stops them after."""
    started: list[tuple[RewardServer, threading.Thread]] = []

    def start(log: Callable[[str], None] | None = None, **limits: Any) -> RewardServer:
        server = make_server(judge, "127.0.0.1", 0, log=log, limits=ServeLimits(**limits))
        thread = threading.Thread(target=server.serve_forever)
        thread.start()
        started.append((server, thread))
        return server

    yield start
    for server, thread in started:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def asked(judge: Judge, monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The ids of the items each call asks the model to judge, as the calls come."""
    calls: list[list[str]] = []
    real = judge.judge_items

    def judge_items(items: Any, *rest: Any) -> Any:
        items = list(items)
        calls.append([item.id for item in items])
        return real(items, *rest)

    monkeypatch.setattr(judge, "judge_items", judge_items)
    return calls


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        (SINGLE, {}),
        (SINGLE, {"Authorization": "Bearer wrong-key"}),
        (SINGLE, {"Authorization": f"Basic {KEY}"}),
        (SINGLE, {"Authorization": f"Bearer {KEY}x"}),
        (BATCH, {"Authorization": KEY}),
        ("/api/judge", {}),  # an unknown route tells nothing without the key either
    ],
)
def test_without_the_key_a_request_is_401(
    serve: Serve, asked: list[list[str]], path: str, headers: dict[str, str]
) -> None:
    server = serve(api_key=KEY)
    status, reply = call(server, path, [REQUEST] if path == BATCH else REQUEST, headers=headers)
    assert status == 401
    assert reply == {"error": "this server needs its API key, sent as `Authorization: Bearer KEY`"}
    assert asked == []


def test_with_the_key_it_judges_and_health_needs_none(
    serve: Serve, monkeypatch: pytest.MonkeyPatch
) -> None:
    log: list[str] = []
    compared: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def compare_digest(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", compare_digest)
    server = serve(log=log.append, api_key=KEY)
    assert call(server, "/health")[0] == 200
    assert compared == []
    status, reply = call(server, SINGLE, REQUEST, headers={"Authorization": f"Bearer {KEY}"})
    assert status == 200, reply
    assert sorted(reply["results"]["scores"]) == ["claude", "gpt"]
    assert call(server, SINGLE, REQUEST, headers={"Authorization": "Bearer guess"})[0] == 401
    assert compared == [(KEY.encode(), KEY.encode()), (b"guess", KEY.encode())]
    lines = "\n".join(log)
    assert '"POST /api/rewardanything HTTP/1.1" 200' in lines and "401" in lines
    assert KEY not in lines and "guess" not in lines


@pytest.mark.parametrize(
    ("host", "key", "open"),
    [
        ("0.0.0.0", None, True),
        ("192.168.1.20", None, True),
        ("0.0.0.0", KEY, False),
        ("127.0.0.1", None, False),
        ("::1", None, False),
    ],
)
def test_open_to_all_is_no_key_beyond_loopback(host: str, key: str | None, open: bool) -> None:
    assert open_to_all(host, key) is open


def test_an_item_that_cannot_fit_is_refused_without_the_model(
    serve: Serve, asked: list[list[str]]
) -> None:
    server = serve()
    status, reply = call(server, SINGLE, LONG)
    assert status == 422
    assert reply["error"].startswith("request: needs more than the 4096 tokens the context holds")
    assert asked == []

    status, replies = call(server, BATCH, [LONG, {**REQUEST, "id": "fits"}])
    assert status == 200
    assert replies[0]["error"].startswith("requests[0]: needs more than the 4096 tokens")
    assert replies[1]["record"]["id"] == "fits"
    assert asked == [["fits"]]


def test_a_body_over_the_limit_is_refused_unread(serve: Serve, asked: list[list[str]]) -> None:
    server = serve(max_body=1000)
    head = b"POST /api/rewardanything HTTP/1.1\r\nHost: x\r\nContent-Length: 1001\r\n\r\n"
    reply = raw(server, head)  # and no body: the answer comes without reading one
    assert reply.status == 413
    assert reply.body == {"error": "request body of 1001 bytes is over the limit of 1000"}
    assert asked == []


@pytest.mark.parametrize("size_mb", [2, 6])
def test_a_client_that_sends_a_body_over_the_limit_whole_hears_413(
    serve: Serve, asked: list[list[str]], size_mb: int
) -> None:
    """urllib sends the whole body before it reads: the server reads and drops it after the
    answer, where closing on it unread would reset the connection before the client reads."""
    server = serve(max_body=1 << 20)
    body = b"[" + b" " * ((size_mb << 20) - 2) + b"]"
    request = Request(server.url + SINGLE, data=body, headers={"Content-Type": "application/json"})
    with pytest.raises(HTTPError) as refused:
        urlopen(request, timeout=60)
    with refused.value as answer:
        assert answer.code == 413
        limit = f"over the limit of {1 << 20}"
        assert json.loads(answer.read()) == {
            "error": f"request body of {size_mb << 20} bytes is {limit}"
        }
    assert asked == []


@pytest.mark.parametrize(("declared", "read"), [(8000, True), (8001, False)])
def test_a_refused_body_is_read_up_to_eight_times_the_limit(
    serve: Serve, declared: int, read: bool
) -> None:
    """Up to 8 times the limit, what the client sends after the 413 is read; beyond, the
    connection is closed after the answer, and sending more fails (the server reads no more)."""
    server = serve(max_body=1000)
    head = f"POST {SINGLE} HTTP/1.1\r\nHost: x\r\nContent-Length: {declared}\r\n\r\n"
    with connect(server) as conn:
        conn.sendall(head.encode())
        assert read_reply(conn).status == 413  # the answer comes first, whole
        refused = False
        for _ in range(8):  # the declared body, 1000 bytes at a time
            try:
                conn.sendall(b" " * 1000)
            except OSError:  # the server closed on it: reset, broken pipe
                refused = True
                break
            time.sleep(0.05)
    assert refused is not read


def test_a_batch_over_its_maximum_is_refused(serve: Serve, asked: list[list[str]]) -> None:
    status, reply = call(serve(max_batch=2), BATCH, [REQUEST] * 3)
    assert status == 413
    assert reply == {"error": "a batch holds at most 2 requests, not 3; send it in parts"}
    assert asked == []


TIMEOUT_408 = {"error": "the request did not arrive within the read timeout of 0.5 s"}


@pytest.mark.parametrize(
    "sent",
    [
        b"",
        b"POST /api/rewardanything HTTP/1.1\r\nHost: x\r\n",
        b'POST /api/rewardanything HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"p',
    ],
    ids=["nothing", "half the headers", "part of the body"],
)
def test_a_silent_client_gets_408(serve: Serve, sent: bytes) -> None:
    reply = raw(serve(read_timeout=0.5), sent)
    assert (reply.status, reply.body) == (408, TIMEOUT_408)


def test_a_client_that_trickles_gets_408_at_its_deadline(serve: Serve) -> None:
    """A byte every 0.1 s resets no clock: the timeout bounds the whole request."""
    server = serve(read_timeout=0.5)
    with connect(server) as conn:
        conn.sendall(b"GET /health HTTP/1.1\r\nX-Slow: ")
        for _ in range(300):  # 30 s, far past the deadline
            if select.select([conn], [], [], 0.1)[0]:
                break
            conn.sendall(b"a")
        reply = read_reply(conn)
    assert (reply.status, reply.body) == (408, TIMEOUT_408)


def test_an_idle_keep_alive_connection_is_closed_without_a_word(serve: Serve) -> None:
    server = serve(read_timeout=0.5)
    with connect(server) as conn:
        conn.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        received = b""
        while chunk := conn.recv(65536):  # the reply, then the close once idle
            received += chunk
    assert received.startswith(b"HTTP/1.1 200 ")
    assert received.count(b"HTTP/1.1") == 1


def test_beyond_the_connection_cap_a_client_is_told_503_and_when_to_retry(serve: Serve) -> None:
    server = serve(max_connections=1, read_timeout=30)
    with connect(server):  # holds the one slot, saying nothing
        busy = raw(server, b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
    assert busy.status == 503
    assert busy.headers["retry-after"] == "2"
    assert busy.body == {
        "error": "the server is serving its limit of 1 connections; try again in 2 s"
    }
    status = 0
    for _ in range(100):  # the slot comes back once the server sees the close
        try:
            status, _ = call(server, "/health")
        except ConnectionError:  # the 503 slot not yet given back either: closed at once
            status = 0
        if status == 200:
            break
        time.sleep(0.1)
    assert status == 200


def test_turns_are_taken_in_the_order_asked() -> None:
    turns = Turns()
    served: list[int] = []

    def wait_and_serve(index: int) -> None:
        with turns.turn():
            served.append(index)

    threads = [threading.Thread(target=wait_and_serve, args=(i,)) for i in range(6)]
    with turns.turn():  # the model is busy while they all line up
        for index, thread in enumerate(threads):
            thread.start()
            while turns.queued < index + 2:
                time.sleep(0.01)
    for thread in threads:
        thread.join()
    assert served == list(range(6))
    assert turns.queued == 0
