"""--backend openai: a real llama-cpp-python server on loopback, and a scripted one for failures.

The real server serves the demo model, and `rajudge score` runs through it in a subprocess; its
judgments are compared with the in-process engine's on the same items. Failure modes (5xx, 429,
hangs, garbage, answers outside the schema, servers that lack structured output or
log-probabilities) come from a small real HTTP server in this module, since a healthy llama.cpp
server does not produce them on demand.
"""

from __future__ import annotations

import json
import math
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cli_process import run_rajudge
from serve_client import call

from rajudge import Judge
from rajudge.engine.base import Job, judge_one
from rajudge.engine.http import OpenAIBackend, ServerSettings
from rajudge.engine.llama import LlamaBackend
from rajudge.errors import BackendError, ServerItemError
from rajudge.judging.principles import resolve
from rajudge.judging.protocol import masked_order
from rajudge.records import Item, Judgment, Principle
from rajudge.run.schedule import judge_items
from rajudge.serve.server import make_server
from rajudge.settings import EngineSettings, default_threads

CONCISE = Principle(name="concise", text="Prefer the shortest response that fully answers.")
ITEM = Item(
    id="capital",
    prompt="What is the capital of France?",
    responses={"terse": "Paris.", "rambling": "France's capital, a large city, is Paris."},
    where="in.jsonl:1",
)
# Short items, so that the real server (which computes logits for every prompt token to give
# log-probabilities) stays quick; they share the system prompt and principle, which it reuses.
SERVER_ITEMS = [
    ITEM,
    Item(
        id="sum",
        prompt="What is 12 + 30?",
        responses={"right": "42", "wordy": "Twelve plus thirty is forty-two.", "wrong": "32"},
    ),
]
# How far the server's expected scores may be from the local engine's. Both read the same
# model's probabilities of the five score tokens after the same prompt tokens, but the server
# lets the model choose how the JSON before each score is laid out and tokenized, where rajudge
# writes the instructions' layout, which moves the demo model's probabilities (by up to 0.27 in
# expected score over 26 responses with the one-line layout; up to 0.37 per probability with
# the laid-out one). A mix-up of names, slots or tokens moves them by far more (0.9 for two
# swapped responses).
EXPECTED_TOLERANCE = 0.5


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# -- the real server -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def llama_server(demo_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """llama-cpp-python's OpenAI-compatible server with the demo model; its API root URL."""
    port = free_port()
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    command = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(demo_model),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        "1024",  # enough for these items; its logits for every position take n_ctx x vocab
        "--n_threads",
        str(default_threads()),
        "--n_threads_batch",
        str(default_threads()),
    ]
    with log.open("wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                pytest.fail(f"llama_cpp.server exited:\n{log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{url}/models", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"llama_cpp.server did not start:\n{log.read_text()[-2000:]}")
                time.sleep(0.25)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def rajudge(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_rajudge(*args, cwd=cwd, env={"COLUMNS": "400"})  # one error per line, unwrapped


def test_score_through_a_real_server_agrees_with_the_local_engine(
    llama_server: str, demo_model: Path, tmp_path: Path
) -> None:
    """Same protocol and prompt, real log-probabilities, expected scores close to the local ones.

    llama-cpp-python's server refuses response_format json_schema, so this also shows the
    request stepping down to its json_object + schema form. The schema's grammar lets the model
    lay the JSON out as it likes, while the local engine writes the instructions' layout
    (`{\n  "scores": {`), so the digit probabilities are read after other tokens and only the
    expected scores are compared, not each probability.
    """
    candidates = tmp_path / "items.jsonl"
    records = [{"id": i.id, "prompt": i.prompt, "responses": i.responses} for i in SERVER_ITEMS]
    candidates.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")

    done = rajudge(
        "score",
        str(candidates),
        "-p",
        "concise",
        "--backend",
        "openai",
        "--base-url",
        llama_server,
        "--rationale-tokens",
        "0",
        "--no-cache",
        "-f",
        "jsonl",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    remote = [json.loads(line) for line in done.stdout.splitlines()]
    # No rationale here either: it comes after the scores, so it cannot change them.
    engine = LlamaBackend(demo_model, EngineSettings(ctx=1024, rationale_tokens=0))
    try:
        local = list(judge_items(engine, SERVER_ITEMS, resolve("concise")))
    finally:
        engine.close()

    assert [r["id"] for r in remote] == [item.id for item in SERVER_ITEMS]
    for record, result in zip(remote, local, strict=True):
        [theirs] = record["judgments"]
        [ours] = result.judgments
        assert theirs["timings"]["prompt_tokens"] == ours.timings.prompt_tokens  # same prompt
        for mine in ours.responses:
            served = theirs["responses"][mine.name]
            assert abs(served["expected"] - mine.expected) <= EXPECTED_TOLERANCE
            assert sum(served["distribution"]) == pytest.approx(1.0, abs=1e-3)
            assert 0.0 < max(served["distribution"]) < 1.0  # read from log-probabilities


def test_real_server_judgments_read_log_probabilities(llama_server: str) -> None:
    engine = OpenAIBackend(ServerSettings(llama_server), EngineSettings(rationale_tokens=4))
    judgment = judge_one(engine, ITEM, CONCISE)
    assert judgment.distribution_source == "logprobs"
    assert sorted(judgment.ranking) == sorted(ITEM.responses)
    for response in judgment.responses:
        assert 0.0 < max(response.distribution) < 1.0  # a real distribution, not one-hot
        assert response.score == 1 + response.distribution.index(max(response.distribution))
    assert judgment.timings.prompt_tokens > 300
    assert len(judgment.rationale) <= 4 * 4 + 1  # the schema's maxLength, and "…" where cut


# -- a scripted server for failure modes -----------------------------------------------------

SCORES = (4, 2, 5, 1, 3)  # the scripted judge's score for masked response i
ModelsError = tuple[int, str]
Token = str | tuple[str, int, str]  # plain text, or (text, score digit, text after the digit)


class ScriptedServer:
    """A real HTTP server on 127.0.0.1 that answers each chat request as its script says.

    Actions: "ok", "no-logprobs", "think", "think-apart", "think-unopened" (thinking first),
    "500", "429", "400", "garbage" (a 200 that is not JSON), "hang" (no answer until the server
    stops), "refuse-json-schema" (500 naming response_format, as llama-cpp-python's server
    answers), "refuse-logprobs" (400), "refuse-extras" (400 naming chat_template_kwargs and
    repeat_penalty, as strict gateways do), or "answer:<content>" (a completion whose text is
    <content>). After the script: "ok".
    """

    def __init__(self, script: list[str], *, gate: int = 0) -> None:
        self.script = list(script)
        self.requests: list[dict[str, Any]] = []
        self.models_error: ModelsError | None = None
        self.in_flight = self.most_in_flight = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._gate = threading.Barrier(gate, timeout=20) if gate else None
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._http.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._http.server_address[1]}/v1"
        self._thread = threading.Thread(
            target=self._http.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._http.shutdown()
        self._http.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                """Quiet."""

            def do_GET(self) -> None:
                if server.models_error:
                    status, message = server.models_error
                    self._send(status, {"error": {"message": message}})
                else:
                    self._send(200, {"object": "list", "data": [{"id": "scripted-judge"}]})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with server._lock:
                    index = len(server.requests)
                    server.requests.append(body)
                    action = server.script[index] if index < len(server.script) else "ok"
                    server.in_flight += 1
                    server.most_in_flight = max(server.most_in_flight, server.in_flight)
                try:
                    if server._gate is not None and index < server._gate.parties:
                        server._gate.wait()  # breaks (and fails the test) without concurrency
                        if index == 0:
                            time.sleep(0.1)  # the first request finishes last
                    self._act(action, body)
                finally:
                    with server._lock:
                        server.in_flight -= 1

            def _act(self, action: str, body: dict[str, Any]) -> None:
                if action == "hang":
                    server._stop.wait(60)
                    return
                if action == "garbage":
                    self._send_raw(200, b"<html>502 Bad Gateway</html>")
                elif action in ("500", "429", "400"):
                    self._send(int(action), {"error": {"message": f"scripted {action}"}})
                elif action == "refuse-json-schema" and _format(body) == "json_schema":
                    message = "literal_error ('body', 'response_format', 'type')"
                    self._send(500, {"error": {"message": message}})
                elif action == "refuse-extras" and "chat_template_kwargs" in body:
                    message = "Unrecognized request arguments: chat_template_kwargs, repeat_penalty"
                    self._send(400, {"error": {"message": message}})
                elif action == "refuse-logprobs" and body.get("logprobs"):
                    self._send(400, {"error": {"message": "top_logprobs must be at most 5"}})
                elif action.startswith("answer:"):
                    self._send(200, completion(action.removeprefix("answer:"), None))
                else:
                    self._send(200, scripted_answer(body, action))

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                self._send_raw(status, json.dumps(payload).encode())

            def _send_raw(self, status: int, data: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler


def _format(body: dict[str, Any]) -> str | None:
    return (body.get("response_format") or {}).get("type")


def scripted_answer(body: dict[str, Any], action: str) -> dict[str, Any]:
    """A valid answer for the request's responses, tokenized with digits merged into
    neighbours (` 4`, ` 2}}`), as some tokenizers do."""
    count = len(json.loads(body["messages"][1]["content"])["responses"])
    tokens: list[Token] = ['{"', "scores", '":', ' {"']
    for i in range(count):
        digit = SCORES[i % len(SCORES)]
        tail = "}}" if i == count - 1 else ""
        tokens += ["model", f"-{i + 1}", '":', (f" {digit}{tail}", digit, tail)]
        if tail == "":
            tokens += [",", ' "']
    answer = "".join(t if isinstance(t, str) else t[0] for t in tokens)
    reasoning = None
    if action.startswith("think"):
        # The thinking's tokens come first in the log-probabilities either way; "think-apart"
        # returns its text apart (reasoning_content), as vLLM and llama-server do, and
        # "think-unopened" lacks the opening tag, which the chat template wrote.
        opening = [] if action == "think-unopened" else ["<think>"]
        tokens = [*opening, "Short", " and", " right.", "</think>", "\n", *tokens]
        reasoning = "Short and right." if action == "think-apart" else None
    entries = [_logprob_entry(t) for t in tokens]
    content = answer if reasoning else "".join(entry["token"] for entry in entries)
    logprobs = entries if body.get("logprobs") and action != "no-logprobs" else None
    return completion(content, logprobs, reasoning)


def digit_logprobs(chosen: int) -> dict[int, float]:
    """The scripted judge's log-probabilities of the score digits; 3 is never in its top list
    (unless chosen), so it must get probability 0."""
    return {k: -0.2 - 0.6 * abs(k - chosen) for k in range(1, 6) if k != 3 or k == chosen}


def _logprob_entry(token: Token) -> dict[str, Any]:
    if isinstance(token, str):
        return {"token": token, "logprob": -0.01, "top_logprobs": []}
    text, digit, tail = token
    logprobs = digit_logprobs(digit)
    top = [{"token": f" {d}{tail}", "logprob": lp} for d, lp in logprobs.items()]
    top.append({"token": ' "', "logprob": -0.5})  # not a score: ignored
    return {"token": text, "logprob": logprobs[digit], "top_logprobs": top}


def completion(
    content: str, logprobs: list[dict[str, Any]] | None, reasoning: str | None = None
) -> dict[str, Any]:
    message = {"role": "assistant", "content": content}
    if reasoning is not None:
        message["reasoning_content"] = reasoning
    return {
        "object": "chat.completion",
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None if logprobs is None else {"content": logprobs},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 321, "completion_tokens": 17, "total_tokens": 338},
    }


Start = Callable[..., ScriptedServer]


@pytest.fixture
def scripted() -> Iterator[Start]:
    """Starts scripted servers; every one is stopped when the test ends."""
    servers: list[ScriptedServer] = []

    def start(script: list[str], **kwargs: Any) -> ScriptedServer:
        servers.append(ScriptedServer(script, **kwargs))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def backend_for(server: ScriptedServer, **options: Any) -> OpenAIBackend:
    settings = EngineSettings(**options.pop("settings", {"rationale_tokens": 0}))
    options = {"backoff": 0.01, "timeout": 5.0, **options}
    return OpenAIBackend(ServerSettings(server.url, **options), settings)


def expected_distribution(digit: int) -> list[float]:
    """Softmax over the scripted log-probabilities of the five digits."""
    logprobs = digit_logprobs(digit)
    weights = [math.exp(logprobs[k]) if k in logprobs else 0.0 for k in range(1, 6)]
    return [w / sum(weights) for w in weights]


def scores_by_masked_name(judgment: Judgment, server: ScriptedServer) -> dict[str, int]:
    masked = json.loads(server.requests[-1]["messages"][1]["content"])["responses"]
    by_text = {text: name for name, text in masked.items()}
    return {by_text[ITEM.responses[r.name]]: r.score for r in judgment.responses}


def test_distribution_comes_from_the_log_probabilities_at_each_score_digit(scripted: Start) -> None:
    server = scripted([])
    judgment = judge_one(backend_for(server), ITEM, CONCISE)
    assert judgment.distribution_source == "logprobs"
    assert judgment.model == "scripted-judge"
    assert scores_by_masked_name(judgment, server) == {"model-1": 4, "model-2": 2}
    for response in judgment.responses:
        assert list(response.distribution) == pytest.approx(expected_distribution(response.score))
    assert judgment.timings.prompt_tokens == 321
    request = server.requests[0]
    assert request["model"] == "scripted-judge"
    assert request["logprobs"] is True and request["top_logprobs"] == 20
    schema = request["response_format"]["json_schema"]["schema"]
    assert schema["properties"]["scores"]["required"] == ["model-1", "model-2"]
    assert schema["properties"]["scores"]["additionalProperties"] is False


def test_without_log_probabilities_the_distribution_is_one_hot_and_says_so(scripted: Start) -> None:
    server = scripted(["no-logprobs"])
    judgment = judge_one(backend_for(server), ITEM, CONCISE)
    assert judgment.distribution_source == "one-hot"
    for response in judgment.responses:
        assert response.distribution[response.score - 1] == 1.0
        assert response.expected == response.score


def test_refused_parts_of_the_request_are_dropped_and_remembered(scripted: Start) -> None:
    server = scripted(["refuse-json-schema", "refuse-logprobs", "ok", "ok"])
    engine = backend_for(server)
    first = judge_one(engine, ITEM, CONCISE)
    second = judge_one(engine, ITEM, CONCISE)
    formats = [_format(request) for request in server.requests]
    assert formats == ["json_schema", "json_object", "json_object", "json_object"]
    assert server.requests[1]["response_format"]["schema"]["required"] == ["scores"]
    assert [bool(r.get("logprobs")) for r in server.requests] == [True, True, False, False]
    assert first.distribution_source == second.distribution_source == "one-hot"


def test_refused_extra_fields_are_dropped(scripted: Start) -> None:
    server = scripted(["refuse-extras"])
    judgment = judge_one(backend_for(server), ITEM, CONCISE)
    assert "chat_template_kwargs" in server.requests[0]
    assert not {"chat_template_kwargs", "repeat_penalty"} & set(server.requests[1])
    assert server.requests[1]["seed"] == 0
    assert judgment.distribution_source == "logprobs"


def test_answers_may_carry_the_protocols_ranking_and_omit_the_rationale(
    scripted: Start,
) -> None:
    ranked = '{"scores": {"model-2": 3, "model-1": 5}, "best-to-worst": ["model-1", "model-2"]}'
    tagged = '{"scores": {"model-1": 2, "model-2": 4}, "rationale": "Not </think> a tag."}'
    server = scripted([f"answer:{ranked}", f"answer:{tagged}"])
    engine = backend_for(server, settings={"rationale_tokens": 16})
    judgment = judge_one(engine, ITEM, CONCISE)
    assert scores_by_masked_name(judgment, server) == {"model-1": 5, "model-2": 3}
    assert judgment.rationale == ""
    assert judgment.distribution_source == "one-hot"
    judgment = judge_one(engine, ITEM, CONCISE)
    assert scores_by_masked_name(judgment, server) == {"model-1": 2, "model-2": 4}
    assert judgment.rationale == "Not </think> a tag."
    assert len(server.requests) == 2


def test_transient_failures_are_retried(scripted: Start) -> None:
    server = scripted(["500", "429", "garbage", "ok"])
    judgment = judge_one(backend_for(server), ITEM, CONCISE)
    assert len(server.requests) == 4
    assert judgment.distribution_source == "logprobs"


def test_a_request_that_keeps_failing_becomes_an_item_error(scripted: Start) -> None:
    server = scripted(["500"] * 3)
    with pytest.raises(ServerItemError, match=r"^in\.jsonl:1: gave up after 3 tries: HTTP 500"):
        judge_one(backend_for(server, retries=2), ITEM, CONCISE)
    assert len(server.requests) == 3


def test_a_server_that_never_answers_times_out(scripted: Start) -> None:
    server = scripted(["hang", "hang"])
    with pytest.raises(ServerItemError, match=r"after 2 tries: no answer from \S+ within 0\.2 s"):
        judge_one(backend_for(server, retries=1, timeout=0.2), ITEM, CONCISE)
    assert len(server.requests) == 2


def test_a_refused_request_is_an_item_error_at_once(scripted: Start) -> None:
    server = scripted(["400"])
    with pytest.raises(ServerItemError, match="refused the request: HTTP 400: scripted 400"):
        judge_one(backend_for(server), ITEM, CONCISE)
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    "content",
    [
        "The first response is better.",
        '{"scores": {"model-1": 4}}',
        '{"scores": {"model-1": 4, "model-2": 6}}',
        '{"scores": {"model-1": "4", "model-2": 2}}',
        '{"scores": {"model-1": 4.5, "model-2": 2}}',
        '{"scores": {"model-1": 4, "model-2": 2, "model-3": 1}}',
        '{"scores": {"model-1": 4, "model-2": 2}, "verdict": "model-1"}',
        '{"scores": {"model-1": 4, "model-1": 1, "model-2": 2}}',
    ],
)
def test_an_answer_outside_the_schema_is_asked_again_then_an_item_error(
    scripted: Start, content: str
) -> None:
    server = scripted([f"answer:{content}"] * 2)
    with pytest.raises(ServerItemError, match="broke the score schema twice"):
        judge_one(backend_for(server), ITEM, CONCISE)
    assert len(server.requests) == 2


def test_a_second_answer_inside_the_schema_is_used(scripted: Start) -> None:
    server = scripted(["answer:{}", "ok"])
    judgment = judge_one(backend_for(server), ITEM, CONCISE)
    assert len(server.requests) == 2
    assert judgment.distribution_source == "logprobs"


@pytest.mark.parametrize("action", ["think", "think-apart", "think-unopened"])
def test_reasoning_mode_asks_for_thinking_and_keeps_it_as_the_rationale(
    scripted: Start, action: str
) -> None:
    server = scripted([action])
    engine = backend_for(server, settings={"mode": "reasoning", "reasoning_budget": 64})
    judgment = judge_one(engine, ITEM, CONCISE)
    request = server.requests[0]
    assert request["chat_template_kwargs"] == {"enable_thinking": True}
    assert request["max_tokens"] > 64
    assert judgment.rationale == "Short and right."
    assert judgment.distribution_source == "logprobs"  # lined up despite the thinking
    assert scores_by_masked_name(judgment, server) == {"model-1": 4, "model-2": 2}


def test_a_refused_api_key_ends_the_run(scripted: Start) -> None:
    server = scripted([])
    server.models_error = (401, "invalid api key")
    with pytest.raises(BackendError, match="HTTP 401: the server refused the API key"):
        backend_for(server, api_key="wrong")


def test_judge_jobs_keeps_job_order_with_bounded_requests_in_flight(scripted: Start) -> None:
    server = scripted([], gate=3)  # the first three requests wait until all three arrived
    engine = backend_for(server, concurrency=3)
    items = [Item(id=f"q{i}", prompt=f"Question {i}?", responses=ITEM.responses) for i in range(7)]
    judged = engine.judge_jobs([Job(item, CONCISE) for item in items])
    assert [j.item_id for j in judged if isinstance(j, Judgment)] == [item.id for item in items]
    assert server.most_in_flight == 3
    assert len(server.requests) == 7


def test_cli_reports_a_failed_item_in_one_line_and_judges_the_rest(
    scripted: Start, tmp_path: Path
) -> None:
    server = scripted(["ok", "answer:not json", "answer:not json", "ok"])
    candidates = tmp_path / "in.jsonl"
    lines = [
        json.dumps({"id": f"q{i}", "prompt": "2 + 2?", "responses": ["4", "Five."]})
        for i in range(3)
    ]
    candidates.write_text("\n".join(lines) + "\n", encoding="utf-8")
    done = rajudge(
        "score",
        str(candidates),
        "-p",
        "concise",
        "--backend",
        "openai",
        "--base-url",
        server.url,
        "--concurrency",
        "1",
        "--no-cache",
        cwd=tmp_path,
    )
    assert done.returncode == 1
    assert [json.loads(line)["id"] for line in done.stdout.splitlines()] == ["q0", "q2"]
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        f"error: {candidates}:2: the server's answer broke the score schema twice: "
        "not JSON: 'not json'"
    ]
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--base-url", "http://127.0.0.1:{closed}/v1"], 3, "error: cannot reach http://"),
        ([], 2, "error: --backend openai needs --base-url"),
        (["--base-url", "http://x/v1", "--threads", "2"], 2, "error: --threads: only for"),
        (["--base-url", "http://x/v1", "--parallel", "2"], 2, "error: --parallel: only for"),
    ],
)
def test_cli_server_setup_mistakes_are_one_line(
    tmp_path: Path, args: list[str], code: int, message: str
) -> None:
    args = [arg.format(closed=free_port()) for arg in args]
    done = rajudge(
        "score", "--prompt", "2 + 2?", "-r", "4", "-p", "concise", "--backend", "openai", *args,
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == code
    assert done.stderr.startswith(message)
    assert "Traceback" not in done.stderr


# -- masked names in what the judge wrote ----------------------------------------------------

# A response really named model-2, which the judge may see as model-1.
LOOKALIKE = Item(
    id="lookalike", prompt="Capital of France?", responses={"model-2": "Paris.", "b": "Lyon."}
)
WRITTEN = "model-1 beats model-2; model-12 is no response."
SCORED = '{"scores": {"model-1": 5, "model-2": 1}'
EXPLAINED = f'answer:{SCORED}, "rationale": "{WRITTEN}"}}'


@pytest.mark.parametrize(
    ("mode", "action"),
    [("fast", EXPLAINED), ("reasoning", f"answer:<think>{WRITTEN}</think>{SCORED}}}")],
)
def test_rationale_and_thinking_name_the_real_responses(
    scripted: Start, mode: str, action: str
) -> None:
    server = scripted([action])
    engine = backend_for(server, settings={"mode": mode, "rationale_tokens": 16})
    judgment = judge_one(engine, LOOKALIKE, CONCISE, ["model-2", "b"])
    assert judgment.rationale == "model-2 beats b; model-12 is no response."


def test_serve_replies_with_real_names_in_its_thoughts(scripted: Start) -> None:
    server = scripted([EXPLAINED])
    live = make_server(
        Judge(backend=backend_for(server, settings={"rationale_tokens": 16})), "127.0.0.1", 0
    )
    thread = threading.Thread(target=live.serve_forever)
    thread.start()
    request = {"principle": "concise", "prompt": LOOKALIKE.prompt, "responses": LOOKALIKE.responses}
    try:
        status, reply = call(live, "/api/rewardanything", request)
    finally:
        live.shutdown()
        live.server_close()
        thread.join()
    first, second = masked_order(replace(LOOKALIKE, id="request"), 0)  # serve's default id
    assert status == 200, reply
    assert reply["thoughts"] == f"{first} beats {second}; model-12 is no response."
    assert reply["record"]["judgments"][0]["rationale"] == reply["thoughts"]
