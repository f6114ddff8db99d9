"""Headless Chromium driven over its DevTools protocol, with the standard library only.

`--remote-debugging-pipe` makes Chromium read protocol messages on file descriptor 3 and write
them on 4, each a JSON object ended by a NUL byte: no port, no websocket, nothing on the
network. A page collects every console error, uncaught exception and browser log error (a
Content-Security-Policy violation is one) into `errors`.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import select
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import orjson

TIMEOUT = 60.0  # seconds for any one answer or event
_FLAGS = (
    "--headless",
    "--no-sandbox",  # the sandbox needs user namespaces, which containers and root often lack
    "--disable-gpu",
    "--remote-debugging-pipe",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-extensions",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--mute-audio",
)


class BrowserError(Exception):
    """Chromium could not be started, answered with an error, or went silent."""


def chromium() -> str | None:
    """The Chromium executable on PATH (Debian names it `chromium`), or None."""
    return next(filter(None, map(shutil.which, ("chromium", "chromium-browser"))), None)


class Browser:
    """One Chromium process; `page()` opens a tab. Close it (or use `with`)."""

    def __init__(self, executable: str, profile: Path) -> None:
        to_browser, self._to_browser = os.pipe()
        self._from_browser, from_browser = os.pipe()
        # Above 3 and 4 in the parent, so that moving them there in the child clobbers nothing.
        child_in = fcntl.fcntl(to_browser, fcntl.F_DUPFD_CLOEXEC, 10)
        child_out = fcntl.fcntl(from_browser, fcntl.F_DUPFD_CLOEXEC, 10)
        os.close(to_browser)
        os.close(from_browser)

        def onto_3_and_4() -> None:
            os.dup2(child_in, 3)
            os.dup2(child_out, 4)

        profile.mkdir(parents=True, exist_ok=True)
        self._log = (profile / "chromium.log").open("wb")  # its own messages, for a post-mortem
        self._process = subprocess.Popen(
            [executable, *_FLAGS, f"--user-data-dir={profile}"],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=self._log,
            preexec_fn=onto_3_and_4,
            pass_fds=(3, 4),
        )
        os.close(child_in)
        os.close(child_out)
        self._buffer = b""
        self._next_id = 0
        self._events: list[dict[str, Any]] = []

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def page(self) -> Page:
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        return Page(self, target, session)

    def call(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        """Send one command and wait for its answer; events that arrive meanwhile are kept."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        if session is not None:
            message["sessionId"] = session
        os.write(self._to_browser, orjson.dumps(message) + b"\0")
        while True:
            answer = self._receive()
            if answer.get("id") == self._next_id:
                if "error" in answer:
                    raise BrowserError(f"{method}: {answer['error'].get('message')}")
                return answer.get("result", {})
            self._events.append(answer)

    def wait_for(self, method: str, session: str) -> dict[str, Any]:
        """The first event `method` of `session` not yet taken."""
        while True:
            for event in self._events:
                if event.get("method") == method and event.get("sessionId") == session:
                    self._events.remove(event)
                    return event.get("params", {})
            self._events.append(self._receive())

    def take_events(self, session: str) -> list[dict[str, Any]]:
        """The events of `session` received so far, oldest first; they are forgotten here."""
        taken = [e for e in self._events if e.get("sessionId") == session]
        self._events = [e for e in self._events if e.get("sessionId") != session]
        return taken

    def _receive(self) -> dict[str, Any]:
        deadline = time.monotonic() + TIMEOUT
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self._from_browser], [], [], max(left, 0))
            if not ready:
                raise BrowserError(f"no message from Chromium in {TIMEOUT:.0f} s")
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                raise BrowserError(f"Chromium exited (status {self._process.poll()})")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return orjson.loads(message)

    def close(self) -> None:
        with contextlib.suppress(BrowserError, OSError):  # it may be gone already
            self.call("Browser.close")
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        for fd in (self._to_browser, self._from_browser):
            os.close(fd)
        self._log.close()


class Page:
    """One tab: open a URL, evaluate JavaScript, see what went wrong."""

    def __init__(self, browser: Browser, target: str, session: str) -> None:
        self._browser = browser
        self._target = target
        self._session = session
        self.errors: list[str] = []
        for domain in ("Page", "Runtime", "Log"):
            self._call(f"{domain}.enable")

    def open(self, url: str) -> float:
        """Load `url` and wait for its load event; the seconds that took.

        A URL that differs from the current one only in its #fragment loads nothing (no load
        event): the page sees a hashchange.
        """
        started = time.perf_counter()
        if "loaderId" in self._call("Page.navigate", url=url):
            self._browser.wait_for("Page.loadEventFired", self._session)
        seconds = time.perf_counter() - started
        self._collect()
        return seconds

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression (a promise is awaited); a throw is an error."""
        answer = self._call(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        self._collect()
        if "exceptionDetails" in answer:
            details = answer["exceptionDetails"]
            raise BrowserError(details.get("exception", {}).get("description") or details["text"])
        return answer["result"].get("value")

    def close(self) -> None:
        self._collect()
        self._browser.call("Target.closeTarget", targetId=self._target)

    def _call(self, method: str, **params: Any) -> dict[str, Any]:
        return self._browser.call(method, self._session, **params)

    def _collect(self) -> None:
        for event in self._browser.take_events(self._session):
            error = _error_in(event)
            if error is not None:
                self.errors.append(error)


def _error_in(event: dict[str, Any]) -> str | None:
    """The text of an error event (console.error, an uncaught exception, a log error)."""
    method, params = event.get("method"), event.get("params", {})
    if method == "Runtime.exceptionThrown":
        details = params["exceptionDetails"]
        return details.get("exception", {}).get("description") or details.get("text", "")
    if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
        return " ".join(str(arg.get("value", arg.get("description"))) for arg in params["args"])
    if method == "Log.entryAdded" and params["entry"].get("level") == "error":
        return params["entry"].get("text", "")
    return None
