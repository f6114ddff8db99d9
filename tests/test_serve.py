"""The reward server: a live server on 127.0.0.1, real HTTP clients, the real demo model."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.request import Request, urlopen

import pytest
from serve_client import CLIENT_HEADERS, CORRECT, PROMPT, REQUEST, call, raw

from rajudge import DemoModelWarning, Judge
from rajudge.records import Principle
from rajudge.serve.server import RewardServer, make_server


@pytest.fixture(scope="module")
def judge(demo_model: Path) -> Iterator[Judge]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DemoModelWarning)
        loaded = Judge(demo_model, ctx=1024, rationale_tokens=16)
    with loaded:
        yield loaded


@pytest.fixture(scope="module")
def server(judge: Judge) -> Iterator[RewardServer]:
    """A live server on an ephemeral loopback port, stopped after the module."""
    live = make_server(judge, "127.0.0.1", 0)
    thread = threading.Thread(target=live.serve_forever)
    thread.start()
    yield live
    live.shutdown()
    live.server_close()
    thread.join()


def decided(reply: dict[str, Any]) -> tuple[Any, ...]:
    """What the judge decided in a reply, without timings."""
    judgments = [
        {k: v for k, v in j.items() if k != "timings"} for j in reply["record"]["judgments"]
    ]
    return reply["thoughts"], reply["results"], judgments


def test_health(server: RewardServer) -> None:
    status, reply = call(server, "/health")
    assert status == 200
    assert reply == {
        "status": "healthy",
        "service": "rajudge",
        "model": "SmolLM2-135M-Instruct.Q4_1.gguf",
        "mode": "fast",
        "queued": 0,
    }


def test_the_reference_clients_request(server: RewardServer, judge: Judge) -> None:
    status, reply = call(server, "/api/rewardanything", REQUEST)
    assert status == 200, reply
    assert set(reply) == {"thoughts", "results", "record"}
    results = reply["results"]
    assert list(results["scores"]) == ["gpt", "claude"]
    assert all(score in range(1, 6) for score in results["scores"].values())
    assert results["best-to-worst"] == reply["record"]["ranking"]
    assert sorted(results["best-to-worst"]) == ["claude", "gpt"]
    assert reply["thoughts"] == reply["record"]["judgments"][0]["rationale"]

    own = Principle(name="item", text=CORRECT, source="item")
    direct = judge.judge(PROMPT, REQUEST["responses"], own, item_id="request")
    assert results["scores"] == {r.name: r.score for r in direct.judgments[0].responses}
    assert results["best-to-worst"] == list(direct.ranking)


def test_a_batch_answers_in_order_with_failures_in_place(
    server: RewardServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.yaml").write_text("name: secret\ntext: never read by the server\n")
    batch = [
        REQUEST,
        {**REQUEST, "principle": "concise", "id": "q2"},
        {**REQUEST, "principle": "notes.yaml"},
        {**REQUEST, "responses": {"a": "four " * 1500, "b": "4"}},
    ]
    status, replies = call(server, "/api/rewardanything_batch?max_timeout=600", batch)
    assert status == 200, replies
    assert len(replies) == 4
    _, single = call(server, "/api/rewardanything", REQUEST)
    assert decided(replies[0]) == decided(single)
    library = replies[1]["record"]
    assert library["id"] == "q2"
    assert library["judgments"][0]["principle"]["source"] == "library"
    assert replies[2]["record"]["judgments"][0]["principle"]["text"] == "notes.yaml"
    assert set(replies[3]) == {"error"}
    assert replies[3]["error"].startswith(
        "requests[3]: needs more than the 1024 tokens the context holds"
    )


def test_concurrent_requests_queue_for_the_one_model(server: RewardServer) -> None:
    other = {**REQUEST, "responses": {"gpt": "Four.", "claude": "4"}}
    _, alone = call(server, "/api/rewardanything", REQUEST)
    _, other_alone = call(server, "/api/rewardanything", other)
    calls = [
        ("/api/rewardanything", REQUEST),
        ("/api/rewardanything", other),
        ("/api/rewardanything", REQUEST),
        ("/api/rewardanything_batch", [other, REQUEST]),
        ("/health", None),
    ]
    replies: dict[int, tuple[int, Any]] = {}

    def send(index: int, path: str, body: Any) -> None:
        replies[index] = call(server, path, body)

    threads = [threading.Thread(target=send, args=(i, *c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [replies[i][0] for i in range(len(calls))] == [200] * len(calls)
    assert decided(replies[0][1]) == decided(replies[2][1]) == decided(alone)
    assert decided(replies[1][1]) == decided(other_alone)
    assert [decided(r) for r in replies[3][1]] == [decided(other_alone), decided(alone)]
    assert replies[4][1]["status"] == "healthy"


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "message"),
    [
        ("POST", "/api/rewardanything", b"{not json", 400, "invalid JSON"),
        ("POST", "/api/rewardanything", [1], 422, "a request is a JSON object"),
        ("POST", "/api/rewardanything", {"principle": CORRECT, "prompt": PROMPT}, 422,
         "missing 'responses'"),
        ("POST", "/api/rewardanything", {**REQUEST, "responses": {}}, 422,
         "'responses' is empty"),
        ("POST", "/api/rewardanything", {**REQUEST, "responses": {"a": 4}}, 422,
         "response 'a' must be a string"),
        ("POST", "/api/rewardanything", {**REQUEST, "prompt": 7}, 422,
         "'prompt' must be a string or a list of chat messages"),
        ("POST", "/api/rewardanything", {**REQUEST, "principle": " "}, 422,
         "'principle' must be non-empty text"),
        ("POST", "/api/rewardanything", {**REQUEST, "mask_responses": "yes"}, 422,
         "'mask_responses' must be true or false"),
        ("POST", "/api/rewardanything_batch", {"requests": [REQUEST]}, 422,
         "a batch is a non-empty JSON list"),
        ("POST", "/api/rewardanything_batch", [], 422, "a batch is a non-empty JSON list"),
        ("POST", "/api/rewardanything_batch", [REQUEST, {"prompt": PROMPT}], 422,
         "requests[1]: missing 'principle'"),
        ("GET", "/api/judge", None, 404, "no route GET /api/judge"),
        ("GET", "/api/rewardanything", None, 405, "takes POST, not GET"),
        ("POST", "/health", b"{}", 405, "takes GET, not POST"),
    ],
)  # fmt: skip
def test_bad_requests_get_a_json_error(
    server: RewardServer, method: str, path: str, body: Any, status: int, message: str
) -> None:
    got, reply = call(server, path, body, method)
    assert got == status
    assert set(reply) == {"error"}
    assert message in reply["error"]
    assert "Traceback" not in reply["error"]


@pytest.mark.parametrize(
    ("request_bytes", "status", "message"),
    [
        (b"POST /api/rewardanything HTTP/1.1\r\nHost: x\r\n\r\n", 411, "needs Content-Length"),
        (
            b"POST /api/rewardanything HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999999\r\n\r\n",
            413,
            "over the limit",
        ),
        (b"PUT /api/rewardanything HTTP/1.1\r\nHost: x\r\n\r\n", 501, "Unsupported method"),
        (b"GET /health HTTP/1.1\r\n" + b"X: y\r\n" * 101 + b"\r\n", 431, "Too many headers"),
    ],
)
def test_malformed_http_gets_a_json_error(
    server: RewardServer, request_bytes: bytes, status: int, message: str
) -> None:
    got = raw(server, request_bytes)
    assert got.status == status
    assert message in got.body["error"]


def _start_serve(
    tmp_path: Path, *flags: str, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[str], str, str]:
    """`rajudge serve` in a child process; the process, its address and its log so far.

    The child gets the default Ctrl-C behaviour even when this suite runs as a background job,
    whose children a shell starts with SIGINT ignored.
    """
    env = {
        **os.environ,
        "XDG_CONFIG_HOME": str(tmp_path),
        "XDG_DATA_HOME": str(tmp_path),
        **(env or {}),
    }
    command = [sys.executable, "-m", "rajudge", "serve", "--port", "0"]
    command += ["--ctx", "1024", "--rationale-tokens", "0", *flags]
    process = subprocess.Popen(
        command,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert process.stderr is not None
    log = ""
    while not (found := re.search(r"on (http://127\.0\.0\.1:\d+);", log)):
        line = process.stderr.readline()
        if not line:
            process.kill()
            pytest.fail(f"the server exited: {log}")
        log += line
    return process, found.group(1), log


def _stop(process: subprocess.Popen[str], how: signal.Signals) -> str:
    """Send `how` and return the rest of the server's log once it has exited."""
    process.send_signal(how)
    try:
        return process.communicate(timeout=60)[1]
    except subprocess.TimeoutExpired:
        process.kill()
        raise


def test_the_serve_command_end_to_end(tmp_path: Path) -> None:
    process, url, log = _start_serve(tmp_path)
    try:
        with urlopen(url + "/health", timeout=60) as response:
            assert json.loads(response.read())["status"] == "healthy"
        request = Request(url + "/api/rewardanything", json.dumps(REQUEST).encode(), CLIENT_HEADERS)
        with urlopen(request, timeout=600) as response:
            assert sorted(json.loads(response.read())["results"]["scores"]) == ["claude", "gpt"]
    finally:
        log += _stop(process, signal.SIGINT)
    assert process.returncode == 0, log
    assert "demo model" in log and '"POST /api/rewardanything HTTP/1.1" 200' in log
    assert "stopped" in log and "Traceback" not in log
    assert "warning" not in log  # loopback: no warning about a missing key


def test_the_serve_command_takes_its_key_and_limits(tmp_path: Path) -> None:
    key = "key-from-the-environment"
    flags = ("--max-batch", "1", "--max-body-mb", "1", "--read-timeout", "5")
    process, url, log = _start_serve(tmp_path, *flags, env={"RAJUDGE_SERVE_API_KEY": key})
    auth = {"Authorization": f"Bearer {key}"}
    try:
        assert call(url, "/health")[0] == 200
        assert call(url, "/api/rewardanything", REQUEST)[0] == 401
        assert call(url, "/api/rewardanything_batch", [REQUEST] * 2, headers=auth)[0] == 413
        head = f"POST /api/rewardanything HTTP/1.1\r\nAuthorization: Bearer {key}\r\n"
        too_big = f"{head}Content-Length: {1 << 20 | 1}\r\n\r\n"  # and no body: sent unread
        assert raw(url, too_big.encode()).status == 413
        status, reply = call(url, "/api/rewardanything", REQUEST, headers=auth)
        assert status == 200, reply
    finally:
        log += _stop(process, signal.SIGINT)
    assert process.returncode == 0, log
    assert '"POST /api/rewardanything HTTP/1.1" 401' in log
    assert key not in log and "Traceback" not in log


def test_sigterm_stops_the_server_as_ctrl_c_does(tmp_path: Path) -> None:
    process, _, log = _start_serve(tmp_path)
    log += _stop(process, signal.SIGTERM)
    assert process.returncode == 0, log
    assert "stopped" in log and "Traceback" not in log


def test_a_busy_port_is_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path)}
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        done = subprocess.run(
            [sys.executable, "-m", "rajudge", "serve", "--port", port, "--ctx", "1024"],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )
    assert done.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("port", ["99999", "65536", "-1"])
def test_a_port_out_of_range_is_one_line_before_the_model_loads(tmp_path: Path, port: str) -> None:
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path)}
    missing = str(tmp_path / "no-such-model.gguf")  # were it looked for: exit 3
    done = subprocess.run(
        [sys.executable, "-m", "rajudge", "serve", "--port", port, "-m", missing],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr == f"error: --port must be between 0 and 65535, not {port}\n"
