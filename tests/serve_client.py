"""HTTP clients for the reward server's tests: a polite one (urllib) and a raw socket."""

from __future__ import annotations

import json
import socket
from typing import Any, NamedTuple
from urllib.error import HTTPError
from urllib.parse import urlsplit
from urllib.request import Request, urlopen

from rajudge.serve.server import RewardServer

CORRECT = "Prefer the response that answers correctly."
PROMPT = "What is 2 + 2?"
# Exactly what rewardanything 1.0.1's Client.judge sends.
REQUEST = {
    "principle": CORRECT,
    "prompt": PROMPT,
    "responses": {"gpt": "4", "claude": "5"},
    "mask_responses": True,
}
CLIENT_HEADERS = {
    "Content-Type": "application/json",
    "User-Agent": "RewardAnything-Python-Client/1.0.1",
}


class Reply(NamedTuple):
    status: int
    headers: dict[str, str]  # names in lower case
    body: Any  # the JSON reply


def call(
    server: RewardServer | str,
    path: str,
    body: Any = None,
    method: str | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    """(status, JSON reply) of one request; `body` is JSON data, or raw bytes."""
    url = server if isinstance(server, str) else server.url
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    sent = {**CLIENT_HEADERS, **(headers or {})}
    request = Request(url + path, data=data, method=method, headers=sent)
    try:
        with urlopen(request, timeout=600) as response:
            return response.status, json.loads(response.read())
    except HTTPError as error:
        with error:
            return error.code, json.loads(error.read())


def connect(server: RewardServer | str) -> socket.socket:
    url = urlsplit(server if isinstance(server, str) else server.url)
    return socket.create_connection((url.hostname, url.port), timeout=60)


def read_reply(conn: socket.socket) -> Reply:
    """The one reply on a connection the server closes after it."""
    received = b""
    while chunk := conn.recv(65536):
        received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (h.partition(":") for h in lines)}
    return Reply(int(status_line.split()[1]), headers, json.loads(body))


def raw(server: RewardServer | str, request: bytes) -> Reply:
    """Send bytes as they are, for requests a polite client would never make."""
    with connect(server) as conn:
        conn.sendall(request)
        return read_reply(conn)
