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
"""

from __future__ import annotations

import http.client
import json
import math
import random
import re
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from rajudge.engine.base import EngineSettings, check_settings, whole_sentences
from rajudge.errors import BackendError, ServerItemError
from rajudge.protocol import judge_messages, masked_name, masked_order
from rajudge.records import SCORE_LEVELS, DistributionSource, Item, Judgment, Principle, Timings
from rajudge.scoring import distribution, rank

T = TypeVar("T")
R = TypeVar("R")

TOP_LOGPROBS = 20  # the most OpenAI and vLLM (default --max-logprobs) allow
_FORMATS = ("json_schema", "json_object", "none")  # response_format kinds, best first
# Request fields a server may refuse; an error that names one makes rajudge drop it.
_OPTIONAL = ("logprobs", "chat_template_kwargs", "repeat_penalty", "seed")
_TRANSIENT_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
_FATAL_STATUS = {
    401: "the server refused the API key (--api-key, $RAJUDGE_API_KEY, $OPENAI_API_KEY)",
    403: "the server refused the API key (--api-key, $RAJUDGE_API_KEY, $OPENAI_API_KEY)",
    404: "not found (is --base-url the API root, e.g. http://host:8000/v1, and -m a served model?)",
}
_MAX_BACKOFF = 30.0  # seconds; also caps a server's Retry-After
_TOKENS_PER_RESPONSE = 12  # generous for `"model-12": 4, ` in any tokenizer
_CHARS_PER_TOKEN = 4  # rationale budget in characters, from --rationale-tokens
_THINK_OPEN, _THINK_CLOSE = "<think>", "</think>"


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


class OpenAIBackend:
    """Judges items with a model served behind an OpenAI-compatible HTTP API.

    Safe to call from several threads: `judge_many` keeps up to `concurrency` requests in flight.
    """

    def __init__(self, server: ServerSettings, settings: EngineSettings) -> None:
        check_settings(settings)
        self.settings = settings
        self.concurrency = max(1, server.concurrency)
        self._server = server
        self._url = server.base_url.rstrip("/")
        self._lock = threading.Lock()
        self._format = 0  # index into _FORMATS: what this server accepts
        self._refused: frozenset[str] = frozenset()  # of _OPTIONAL
        self._closed = threading.Event()
        served = self._served_model()  # also fails fast on a wrong URL, key or a server down
        self.model_name = server.model or served

    def judge(
        self, item: Item, principle: Principle, order: Sequence[str] | None = None
    ) -> Judgment:
        started = time.perf_counter()
        order = list(order) if order is not None else masked_order(item, self.settings.seed)
        messages = judge_messages(principle.text, item, order)
        where = item.where or item.id
        problem = ""
        for _ in range(2):  # an answer outside the schema is asked for once more
            body = self._post_chat(messages, len(order), where)
            try:
                return self._judgment(item, principle, order, body, started)
            except _BadAnswer as exc:
                problem = str(exc)
        raise ServerItemError(where, f"the server's answer broke the score schema twice: {problem}")

    def judge_many(self, items: Iterable[T], judge: Callable[[T], R]) -> Iterator[R]:
        """`judge(item)` for each item, up to `concurrency` at once; results in input order.

        `judge` is what a run does per item (it calls this backend's `judge` once per
        principle). Items are read from `items` only as request slots free up.
        """
        pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="rajudge-http")
        pending: deque[Future[R]] = deque()
        try:
            for item in items:
                pending.append(pool.submit(judge, item))
                if len(pending) >= self.concurrency:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        """Stop retrying: requests still in flight end at their timeout."""
        self._closed.set()

    # -- requests ---------------------------------------------------------------------------

    def _served_model(self) -> str:
        """The first model the server lists."""
        data = self._request("GET", "/models", None, where=None)
        models = data.get("data") if isinstance(data, dict) else None
        ids = [m.get("id") for m in models or [] if isinstance(m, dict)]
        if not ids or not isinstance(ids[0], str):
            raise BackendError(f"{self._url}/models lists no model; pass -m with the model's name")
        return ids[0]

    def _post_chat(self, messages: list[dict[str, str]], count: int, where: str) -> dict[str, Any]:
        """The server's completion, stepping down what the request asks for when refused."""
        while True:
            body = self._chat_body(messages, count)
            try:
                return self._request("POST", "/chat/completions", body, where=where)
            except _Rejected as exc:
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
        schema = _answer_schema(count, rationale_chars)
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

    def _request(
        self, method: str, path: str, body: dict[str, Any] | None, *, where: str | None
    ) -> dict[str, Any]:
        """One API call with retries and exponential backoff on transient failures.

        Raises _Rejected for a request the server refuses (4xx, or a 5xx that names a request
        field), BackendError when no request can succeed (bad key, wrong URL) or a request for no
        item (`where` None) fails, and ServerItemError when an item's request failed after every
        retry.
        """
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self._server.api_key:
            headers["Authorization"] = f"Bearer {self._server.api_key}"
        data = None if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
        url = self._url + path
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
                return json.loads(raw)
            except ValueError:
                failure, delay = f"{url} answered with something not JSON: {raw[:80]!r}", None
        if where is None:
            raise BackendError(failure)
        raise ServerItemError(where, f"gave up after {tries} tries: {failure}")

    def _http_failure(self, exc: urllib.error.HTTPError, url: str) -> tuple[str, float | None]:
        """A retryable failure's description and the server's Retry-After; raises otherwise."""
        message = _error_message(exc)
        if exc.code in _FATAL_STATUS:
            raise BackendError(f"{url}: HTTP {exc.code}: {_FATAL_STATUS[exc.code]} ({message})")
        # llama-cpp-python's server answers 500 to a field it does not accept.
        names_field = any(
            field in message.lower() for field in ("response_format", "json_schema", *_OPTIONAL)
        )
        if exc.code not in _TRANSIENT_STATUS or names_field:
            raise _Rejected(f"HTTP {exc.code}: {message}")
        return f"HTTP {exc.code}: {message}", _retry_after(exc)

    # -- answers ----------------------------------------------------------------------------

    def _judgment(
        self,
        item: Item,
        principle: Principle,
        order: list[str],
        body: dict[str, Any],
        started: float,
    ) -> Judgment:
        choice = _first_choice(body)
        message = choice.get("message") or {}
        content = message.get("content")
        if not isinstance(content, str):
            raise _BadAnswer("the answer has no text content")
        reasoning = message.get("reasoning_content") or message.get("reasoning") or ""
        thought, answer = _split_thinking(content)
        scores, rationale = _parse_answer(answer, len(order), choice.get("finish_reason"))
        tokens = (choice.get("logprobs") or {}).get("content")
        dists = _logprob_distributions(tokens, answer, len(order))
        source: DistributionSource = "logprobs"
        if dists is None:
            source = "one-hot"
            dists = [tuple(float(level == s) for level in SCORE_LEVELS) for s in scores]
        usage = body.get("usage") or {}
        cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0
        if self.settings.mode == "reasoning":
            rationale = str(reasoning) or thought
        return Judgment(
            item_id=item.id,
            principle=principle,
            responses=rank(order, dists),
            rationale=whole_sentences(rationale),
            model=self.model_name,
            mode=self.settings.mode,
            timings=Timings(
                prompt_tokens=int(usage.get("prompt_tokens") or 0),
                reused_tokens=int(cached),
                generated_tokens=int(usage.get("completion_tokens") or 0),
                seconds=time.perf_counter() - started,
            ),
            distribution_source=source,
        )


def _answer_schema(count: int, rationale_chars: int) -> dict[str, Any]:
    """JSON schema of the answer: each masked name scored 1..5, then a rationale of at most
    `rationale_chars` characters (none when 0)."""
    names = [masked_name(i) for i in range(count)]
    score = {"type": "integer", "enum": list(SCORE_LEVELS)}
    properties: dict[str, Any] = {
        "scores": {
            "type": "object",
            "properties": {name: score for name in names},
            "required": names,
            "additionalProperties": False,
        }
    }
    if rationale_chars:
        properties["rationale"] = {"type": "string", "maxLength": rationale_chars}
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


class _Rejected(Exception):
    """The server refused this request as malformed; retrying it unchanged cannot help."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class _BadAnswer(Exception):
    """The server answered, but not with JSON that fits the answer schema."""


def _split_thinking(content: str) -> tuple[str, str]:
    """The thinking written before the answer, and the answer.

    The opening tag may be missing (a template that opens the block in the prompt); a
    `</think>` after the answer has begun belongs to its rationale.
    """
    head, closed, tail = content.partition(_THINK_CLOSE)
    if not closed or head.lstrip().startswith("{"):
        return "", content
    return head.strip().removeprefix(_THINK_OPEN).strip(), tail.lstrip()


def _parse_answer(text: str, count: int, finish_reason: object) -> tuple[list[int], str]:
    """Scores in masked order and the rationale, if `text` fits the answer schema.

    A server without structured output lets the judge answer as the protocol's prompt asks, so
    "best-to-worst" is accepted and ignored, and a missing rationale is an empty one; the
    scores must be exactly right.
    """
    cut = " (cut off by max_tokens)" if finish_reason == "length" else ""
    try:
        answer = json.loads(text, object_pairs_hook=_unique_keys)
    except ValueError:
        raise _BadAnswer(f"not JSON{cut}: {text[:80]!r}") from None
    if not isinstance(answer, dict) or not isinstance(answer.get("scores"), dict):
        raise _BadAnswer(f"no 'scores' object: {text[:80]!r}")
    extra = set(answer) - {"scores", "rationale", "best-to-worst"}
    if extra:
        raise _BadAnswer(f"unexpected keys {sorted(extra)}")
    names = [masked_name(i) for i in range(count)]
    scores = answer["scores"]
    if sorted(scores) != sorted(names):
        raise _BadAnswer(f"scores for {sorted(scores)}, expected {names}")
    values = [scores[name] for name in names]
    if any(type(v) is not int or v not in SCORE_LEVELS for v in values):
        raise _BadAnswer(f"scores must be integers 1..5, got {values}")
    rationale = answer.get("rationale", "")
    if not isinstance(rationale, str):
        raise _BadAnswer("'rationale' is not a string")
    return values, rationale


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object, refusing a repeated key (which would leave two scores for one name)."""
    keys = [key for key, _ in pairs]
    repeated = sorted({key for key in keys if keys.count(key) > 1})
    if repeated:
        raise _BadAnswer(f"repeated keys {repeated}")
    return dict(pairs)


def _logprob_distributions(
    tokens: object, answer: str, count: int
) -> list[tuple[float, ...]] | None:
    """P(score = 1..5) per masked response from the log-probabilities at each score digit.

    At the token holding a score digit, the five alternatives are that token with the digit
    replaced (`4` -> `1`..`5`, ` 4,` -> ` 1,`..` 5,`), as the local engine reads the five score
    tokens at a slot. An alternative outside the server's top log-probabilities gets
    probability 0. None when the tokens cannot be lined up with the answer.
    """
    if not isinstance(tokens, list) or not tokens:
        return None
    try:
        texts = [str(t["token"]) for t in tokens]
        generated = "".join(texts)
        digits = [_digit_offset(answer, i) for i in range(count)]
        base = generated.rfind(answer[: max(digits) + 1])
        if base < 0:
            return None
        starts = [0]
        for text in texts:
            starts.append(starts[-1] + len(text))
        dists = []
        for offset in digits:
            at = base + offset
            index = next(i for i in range(len(texts)) if starts[i] <= at < starts[i + 1])
            token = tokens[index]
            top: dict[str, float] = {}
            for alternative in token.get("top_logprobs") or []:
                top.setdefault(str(alternative["token"]), float(alternative["logprob"]))
            top[texts[index]] = float(token["logprob"])
            position = at - starts[index]
            head, tail = texts[index][:position], texts[index][position + 1 :]
            logits = [top.get(f"{head}{level}{tail}", -math.inf) for level in SCORE_LEVELS]
            dists.append(distribution(logits))
        return dists
    except (KeyError, TypeError, ValueError, StopIteration):
        return None


def _digit_offset(answer: str, index: int) -> int:
    """Where the score of masked response `index` is written in a valid answer."""
    # A key inside a JSON string would have escaped quotes, so the first match is the score.
    found = re.search(rf'"{re.escape(masked_name(index))}"\s*:\s*([1-5])', answer)
    if found is None:
        raise ValueError(masked_name(index))
    return found.start(1)


def _first_choice(body: dict[str, Any]) -> dict[str, Any]:
    choices = body.get("choices") if isinstance(body, dict) else None
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise _BadAnswer("the response has no choices")
    return choices[0]


def _backoff(base: float, attempt: int) -> float:
    """Seconds before try `attempt` (1-based): doubling, with jitter so clients spread out."""
    return min(base * 2 ** (attempt - 1) * random.uniform(1.0, 1.5), _MAX_BACKOFF)


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
