"""Load on the reward server: many clients at once, polite and hostile, for a bounded time.

    python -m bench.serve_load --clients 32 --seconds 60

Starts `rajudge serve` on 127.0.0.1 with an API key (the demo model unless -m), then runs
`--clients` threads until `--seconds` have passed (or `--max-requests` were sent), each
sending these kinds of request in turn and checking every answer:

    valid      a small pair to judge, with the key          -> 200 and a score for each response
    malformed  broken JSON, or a request missing a field    -> 400 or 422
    too long   a 2 MB item, far past the context             -> 422, refused before the model
    too big    a body declared over the body limit, unsent   -> 413
    no key     a valid request without the key               -> 401
    silent     a body begun and never finished               -> 408 after the read timeout

Reports the right answers per kind, latency percentiles, the server's memory before and after,
and whether it is healthy and judges a valid request afterwards. Loopback only.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench.machine import facts

HOST = "127.0.0.1"
SINGLE = "/api/rewardanything"
_TOO_LONG_TEXT = "four " * 400_000  # 2 MB of text: about 400k tokens


@dataclass(frozen=True)
class Outcome:
    kind: str
    status: int  # 0: no answer (the connection failed)
    right: bool
    seconds: float


@dataclass
class Server:
    process: subprocess.Popen[str]
    port: int
    key: str
    log: list[str] = field(default_factory=list)
    reader: threading.Thread | None = None  # keeps reading the log

    def rss_mib(self, field_name: str = "VmRSS") -> float:
        with open(f"/proc/{self.process.pid}/status", encoding="utf-8") as status:
            for line in status:
                if line.startswith(field_name + ":"):
                    return int(line.split()[1]) / 1024
        raise RuntimeError(f"no {field_name} for the server process")


def exchange(port: int, request: bytes, timeout: float = 600) -> tuple[int, Any]:
    """Send `request` on a fresh connection; the status and JSON body the server closes with."""
    with socket.create_connection((HOST, port), timeout=timeout) as conn:
        conn.sendall(request)
        received = b""
        while chunk := conn.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body) if body else None


def post(path: str, body: bytes, key: str | None, declared: int | None = None) -> bytes:
    """An HTTP/1.1 POST as the reference client sends it, closing the connection after."""
    lines = [f"POST {path} HTTP/1.1", f"Host: {HOST}", "Content-Type: application/json"]
    lines += [f"Content-Length: {len(body) if declared is None else declared}"]
    lines += [f"Authorization: Bearer {key}"] if key else []
    return ("\r\n".join([*lines, "Connection: close", "", ""])).encode() + body


def judgeable(index: int) -> dict[str, Any]:
    a, b = index % 7 + 1, index % 5 + 2
    return {
        "principle": "Prefer the response that answers correctly.",
        "prompt": f"What is {a} + {b}?",
        "responses": {"right": str(a + b), "wrong": str(a + b + 1)},
        "mask_responses": True,
    }


def scored(reply: Any) -> bool:
    scores = reply.get("results", {}).get("scores", {}) if isinstance(reply, dict) else {}
    return sorted(scores) == ["right", "wrong"] and all(s in range(1, 6) for s in scores.values())


Check = Callable[[int, Any], bool]


def kinds(server: Server, max_body: int) -> dict[str, Callable[[int], tuple[bytes, Check]]]:
    """Each kind of request: what to send (given a counter), and what a right answer is."""
    key = server.key

    def valid(i: int) -> tuple[bytes, Check]:
        body = json.dumps(judgeable(i)).encode()
        return post(SINGLE, body, key), lambda status, reply: status == 200 and scored(reply)

    def malformed(i: int) -> tuple[bytes, Check]:
        body = b'{"principle": "x", "prompt"' if i % 2 else b'{"principle": "x", "prompt": "y"}'
        return post(SINGLE, body, key), lambda status, reply: status in (400, 422)

    def too_long(i: int) -> tuple[bytes, Check]:
        request = {**judgeable(i), "responses": {"right": _TOO_LONG_TEXT, "wrong": "no"}}
        body = json.dumps(request).encode()
        expected = "needs more than the"
        return post(SINGLE, body, key), lambda s, r: s == 422 and expected in r["error"]

    def too_big(i: int) -> tuple[bytes, Check]:
        return post(SINGLE, b"", key, declared=max_body + 1), lambda status, _: status == 413

    def no_key(i: int) -> tuple[bytes, Check]:
        body = json.dumps(judgeable(i)).encode()
        return post(SINGLE, body, None), lambda status, _: status == 401

    def silent(i: int) -> tuple[bytes, Check]:
        begun = post(SINGLE, b"{", key, declared=100)  # 99 bytes of body never come
        return begun, lambda status, _: status == 408

    return {
        "valid": valid,
        "malformed": malformed,
        "too long": too_long,
        "too big": too_big,
        "no key": no_key,
        "silent": silent,
    }


def one(port: int, kind: str, make: Callable[[int], tuple[bytes, Check]], i: int) -> Outcome:
    request, check = make(i)
    started = time.perf_counter()
    try:
        status, reply = exchange(port, request)
    except (OSError, ValueError):  # reset, refused, or an answer that is not JSON
        return Outcome(kind, 0, False, time.perf_counter() - started)
    return Outcome(kind, status, check(status, reply), time.perf_counter() - started)


def load(server: Server, options: argparse.Namespace) -> list[Outcome]:
    """`options.clients` threads sending the kinds in turn until the time or count runs out."""
    makers = list(kinds(server, options.max_body_mb << 20).items())
    deadline = time.monotonic() + options.seconds
    counter = itertools.count()
    outcomes: list[Outcome] = []

    def client(offset: int) -> None:
        for turn in itertools.count(offset):
            sent = next(counter)
            if time.monotonic() >= deadline or sent >= options.max_requests:
                return
            kind, make = makers[turn % len(makers)]
            outcomes.append(one(server.port, kind, make, sent))

    threads = [threading.Thread(target=client, args=(c,)) for c in range(options.clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def start_server(options: argparse.Namespace) -> Server:
    key = secrets.token_urlsafe(24)
    command = [sys.executable, "-m", "rajudge", "serve", "--host", HOST, "--port", "0"]
    command += ["--threads", str(options.threads), "--ctx", str(options.ctx)]
    command += ["--rationale-tokens", "0", "--read-timeout", str(options.read_timeout)]
    command += ["--max-body-mb", str(options.max_body_mb)]
    command += ["-m", options.model] if options.model else []
    env = {**os.environ, "RAJUDGE_SERVE_API_KEY": key}
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=env)
    assert process.stderr is not None
    log: list[str] = []
    while not (found := re.search(r"on http://127\.0\.0\.1:(\d+);", "".join(log))):
        line = process.stderr.readline()
        if not line:
            raise SystemExit("the server exited before serving:\n" + "".join(log))
        log.append(line)
    server = Server(process, int(found.group(1)), key, log)
    # the server logs a line per request: keep reading, or it blocks once the pipe is full
    server.reader = threading.Thread(target=lambda: log.extend(process.stderr or ()))
    server.reader.start()
    return server


def stop(server: Server) -> int:
    # SIGTERM, as a service manager stops it: SIGINT is ignored in a shell's background job
    server.process.send_signal(signal.SIGTERM)
    try:
        code = server.process.wait(timeout=120)
    except subprocess.TimeoutExpired:
        server.process.kill()
        code = server.process.wait()
    if server.reader is not None:
        server.reader.join()
    return code


def percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(fraction * 100) - 1]


def summary(outcomes: list[Outcome]) -> dict[str, Any]:
    by_kind: dict[str, Any] = {}
    for kind in dict.fromkeys(o.kind for o in outcomes):
        mine = [o for o in outcomes if o.kind == kind]
        seconds = sorted(o.seconds for o in mine)
        by_kind[kind] = {
            "sent": len(mine),
            "right": sum(o.right for o in mine),
            "statuses": dict(sorted(Counter(o.status for o in mine).items())),
            "p50_s": percentile(seconds, 0.5),
            "p95_s": percentile(seconds, 0.95),
            "max_s": seconds[-1],
        }
    return by_kind


def after(server: Server) -> dict[str, Any]:
    """Is the server well after the load: healthy, nothing queued, judging a valid request?"""
    health_request = f"GET /health HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n"
    status, health = exchange(server.port, health_request.encode())
    valid = post(SINGLE, json.dumps(judgeable(0)).encode(), server.key)
    started = time.perf_counter()
    judged_status, reply = exchange(server.port, valid)
    return {
        "health_status": status,
        "health": health,
        "valid_status": judged_status,
        "valid_scored": scored(reply),
        "valid_s": time.perf_counter() - started,
    }


def run(options: argparse.Namespace) -> dict[str, Any]:
    """Start the server, warm it with one judgment, load it, look at it after, stop it."""
    machine = facts(options.threads)
    server = start_server(options)
    try:
        warm = after(server)
        rss_before = server.rss_mib()
        started = time.monotonic()
        outcomes = load(server, options)
        seconds = time.monotonic() - started
        well = after(server)
        rss_after, rss_peak = server.rss_mib(), server.rss_mib("VmHWM")
    finally:
        exit_code = stop(server)
    log = "".join(server.log)
    return {
        "machine": machine,
        "options": {k: v for k, v in vars(options).items() if k != "json"},
        "load_seconds": seconds,
        "warm_up": warm,
        "kinds": summary(outcomes),
        "answered_right": sum(o.right for o in outcomes),
        "requests": len(outcomes),
        "rss_mib": {"before": rss_before, "after": rss_after, "peak": rss_peak},
        "after": well,
        "server_exit_code": exit_code,
        "key_in_log": server.key in log,
        "traceback_in_log": "Traceback" in log,
        "log_lines": len(server.log),
    }


def report(result: dict[str, Any]) -> str:
    """The run as Markdown: one table of kinds, then memory and the state after."""

    def seconds(value: float | None) -> str:
        return "" if value is None else f"{value:.3f}"

    rows = [
        "| kind | sent | answered right | statuses | p50 s | p95 s | max s |",
        "|---|---|---|---|---|---|---|",
    ]
    for kind, k in result["kinds"].items():
        statuses = ", ".join(f"{s or 'no answer'}: {n}" for s, n in k["statuses"].items())
        cells = [kind, k["sent"], k["right"], statuses, *map(seconds, (k["p50_s"], k["p95_s"]))]
        rows.append("| " + " | ".join(map(str, [*cells, seconds(k["max_s"])])) + " |")
    rss, well = result["rss_mib"], result["after"]
    rows += [
        "",
        f"{result['answered_right']} of {result['requests']} requests answered right in "
        f"{result['load_seconds']:.1f} s.",
        f"Server RSS: {rss['before']:.0f} MiB before the load (after one judgment), "
        f"{rss['after']:.0f} MiB after, peak {rss['peak']:.0f} MiB.",
        f"After the load: /health {well['health_status']} {json.dumps(well['health'])}; "
        f"a valid request {well['valid_status']} "
        f"({'scored' if well['valid_scored'] else 'NOT scored'}) in {well['valid_s']:.2f} s.",
        f"Server exit code {result['server_exit_code']}; key in its log: "
        f"{'yes' if result['key_in_log'] else 'no'}; traceback in its log: "
        f"{'yes' if result['traceback_in_log'] else 'no'} ({result['log_lines']} log lines).",
    ]
    return "\n".join(rows)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.serve_load", description=__doc__)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=60.0, help="how long to send requests")
    parser.add_argument("--max-requests", type=int, default=100_000, help="stop after this many")
    parser.add_argument("--read-timeout", type=int, default=5, help="the server's, in seconds")
    parser.add_argument("--max-body-mb", type=int, default=8, help="the server's body limit")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--ctx", type=int, default=2048)
    parser.add_argument("-m", "--model", help="GGUF path or alias (default: the demo model)")
    parser.add_argument("--json", help="also write the whole result here")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    options = parse(argv)
    result = run(options)
    print(report(result))
    if options.json:
        with open(options.json, "w", encoding="utf-8") as out:
            json.dump(result, out, indent=1)
    return result


if __name__ == "__main__":
    main()
