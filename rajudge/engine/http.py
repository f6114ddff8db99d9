"""Judging through an OpenAI-compatible server (vLLM, llama-server, llama-cpp-python's server).

The same protocol as the local engine (system prompt, JSON user message, masked order), sent to
`/chat/completions`. The answer is constrained by a JSON schema that allows exactly the masked
names with integer scores 1..5, and the score distribution is read from the token
log-probabilities at each score digit. A server that offers no log-probabilities gives one-hot
distributions, and the judgment says so (`distribution_source`). An answer outside the schema is
asked for once more and then reported for that item: it never becomes a guessed score.

Servers differ in what they accept, so the request degrades one step at a time when a server
refuses a part of it by name: `response_format` json_schema (OpenAI, vLLM, llama-server), then
json_object with a schema (llama-cpp-python's server), then none; the optional fields
(log-probabilities, template arguments, sampling extras) are dropped one by one.

This module builds the requests and the judgments; http_client carries the requests (retries,
requests in flight) and http_answer checks the answers and reads their log-probabilities.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

from rajudge.engine.base import Backend, Job, readable_rationale
from rajudge.engine.http_answer import BadAnswer, ServerAnswer, answer_schema, read_answer
from rajudge.engine.http_client import Rejected, ServerClient, ServerSettings, in_flight
from rajudge.errors import BackendError, InputError, ServerItemError
from rajudge.judging.protocol import judge_messages, masked_order
from rajudge.judging.scoring import rank
from rajudge.records import Item, Judgment, Principle, Timings
from rajudge.settings import EngineSettings, check_settings

TOP_LOGPROBS = 20  # the most OpenAI and vLLM (default --max-logprobs) allow
_FORMATS = ("json_schema", "json_object", "none")  # response_format kinds, best first
# Request fields a server may refuse; an error that names one makes rajudge drop it.
_OPTIONAL = ("logprobs", "chat_template_kwargs", "repeat_penalty", "seed")
_TOKENS_PER_RESPONSE = 12  # generous for `"model-12": 4, ` in any tokenizer
_CHARS_PER_TOKEN = 4  # rationale budget in characters, from --rationale-tokens


class OpenAIBackend(Backend):
    """Judges items with a model served behind an OpenAI-compatible HTTP API.

    Safe to call from several threads: `judge_jobs` keeps up to `concurrency` requests in flight.
    """

    def __init__(self, server: ServerSettings, settings: EngineSettings) -> None:
        check_settings(settings)
        self.settings = settings
        self.concurrency = max(1, server.concurrency)
        self._client = ServerClient(
            server, refusable=("response_format", "json_schema", *_OPTIONAL)
        )
        self._lock = threading.Lock()
        self._format = 0  # index into _FORMATS: what this server accepts
        self._refused: frozenset[str] = frozenset()  # of _OPTIONAL
        served = self._served_model()  # also fails fast on a wrong URL, key or a server down
        self.model_name = server.model or served

    @property
    def batch_size(self) -> int:
        return self.concurrency

    def judge_jobs(self, jobs: Sequence[Job]) -> list[Judgment | InputError]:
        """Each job's judgment or item error, up to `concurrency` requests at once, in order."""
        return list(in_flight(jobs, self._judge_job, self.concurrency))

    def too_long(self, item: Item, principle: Principle) -> InputError | None:
        """Always None: only the server knows its tokenizer, so it tells (per item)."""
        return None

    def close(self) -> None:
        """Stop retrying: requests still in flight end at their timeout."""
        self._client.close()

    def _judge_job(self, job: Job) -> Judgment | InputError:
        try:
            return self._judge(job)
        except InputError as exc:
            return exc

    def _judge(self, job: Job) -> Judgment:
        """One judgment: a request, asked once more when the answer breaks the schema."""
        started = time.perf_counter()
        item, principle = job.item, job.principle
        order = list(job.order) if job.order is not None else masked_order(item, self.settings.seed)
        messages = judge_messages(principle.text, item, order)
        where = item.where or item.id
        problem = ""
        for _ in range(2):  # an answer outside the schema is asked for once more
            body = self._post_chat(messages, len(order), where)
            try:
                answer = read_answer(body, len(order))
            except BadAnswer as exc:
                problem = str(exc)
            else:
                return self._judgment(item, principle, order, answer, started)
        raise ServerItemError(where, f"the server's answer broke the score schema twice: {problem}")

    # -- requests ---------------------------------------------------------------------------

    def _served_model(self) -> str:
        """The first model the server lists."""
        data = self._client.request("GET", "/models", None, where=None)
        models = data.get("data") if isinstance(data, dict) else None
        ids = [m.get("id") for m in models or [] if isinstance(m, dict)]
        if not ids or not isinstance(ids[0], str):
            raise BackendError(
                f"{self._client.url}/models lists no model; pass -m with the model's name"
            )
        return ids[0]

    def _post_chat(self, messages: list[dict[str, str]], count: int, where: str) -> dict[str, Any]:
        """The server's completion, stepping down what the request asks for when refused."""
        while True:
            body = self._chat_body(messages, count)
            try:
                return self._client.request("POST", "/chat/completions", body, where=where)
            except Rejected as exc:
                if not self._step_down(exc.message, body):
                    raise ServerItemError(where, f"the server refused the request: {exc}") from None

    def _step_down(self, message: str, body: dict[str, Any]) -> bool:
        """Drop the part of `body` that the server's error names; False if it names none."""
        text = message.lower()
        sent = _FORMATS.index((body.get("response_format") or {}).get("type", "none"))
        named = frozenset(field for field in _OPTIONAL if field in text and field in body)
        with self._lock:
            if ("response_format" in text or "json_schema" in text) and sent + 1 < len(_FORMATS):
                self._format = max(self._format, sent + 1)
                return True
            self._refused |= named
        return bool(named)

    def _chat_body(self, messages: list[dict[str, str]], count: int) -> dict[str, Any]:
        settings = self.settings
        thinking = settings.mode == "reasoning"
        rationale_chars = 0 if thinking else settings.rationale_tokens * _CHARS_PER_TOKEN
        schema = answer_schema(count, rationale_chars)
        max_tokens = 16 + _TOKENS_PER_RESPONSE * count + rationale_chars
        if thinking:
            max_tokens += settings.reasoning_budget
        body: dict[str, Any] = {
            "model": self.model_name,
            "messages": messages,
            "temperature": settings.temperature,
            "seed": settings.seed,
            "max_tokens": max_tokens,
            # llama-cpp-python's server defaults to 1.1, which skews greedy decoding away from
            # the model's most likely token; other servers default to 1.0 or ignore the field.
            "repeat_penalty": 1.0,
            "chat_template_kwargs": {"enable_thinking": thinking},
        }
        if "logprobs" not in self._refused:
            body["logprobs"] = True
            body["top_logprobs"] = TOP_LOGPROBS
        for field in self._refused:
            body.pop(field, None)
        fmt = _FORMATS[self._format]
        if fmt == "json_schema":
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "scores", "schema": schema, "strict": True},
            }
        elif fmt == "json_object":
            body["response_format"] = {"type": "json_object", "schema": schema}
        return body

    # -- judgments --------------------------------------------------------------------------

    def _judgment(
        self,
        item: Item,
        principle: Principle,
        order: list[str],
        answer: ServerAnswer,
        started: float,
    ) -> Judgment:
        reasoning = self.settings.mode == "reasoning"
        return Judgment(
            item_id=item.id,
            principle=principle,
            responses=rank(order, answer.distributions),
            rationale=readable_rationale(answer.thinking if reasoning else answer.rationale, order),
            model=self.model_name,
            mode=self.settings.mode,
            timings=Timings(
                prompt_tokens=answer.prompt_tokens,
                reused_tokens=answer.reused_tokens,
                generated_tokens=answer.generated_tokens,
                seconds=time.perf_counter() - started,
            ),
            distribution_source=answer.source,
        )
