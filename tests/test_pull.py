"""`rajudge models pull` against a live stand-in hub on 127.0.0.1 serving the real demo GGUF."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from rajudge.errors import ModelError, UsageError
from rajudge.models.pull import model_url, pull

NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
PAGE = b"<!DOCTYPE html><html><body>Sign in to download this file</body></html>"


class Hub(ThreadingHTTPServer):
    """Files served like huggingface.co: `/{repo}/resolve/{revision}/{file}` redirects to a CDN
    path that honours Range requests, on this server or at `cdn` (another server's URL).
    `cut_after` makes the next reply hang up after that many bytes; `ignore_range` makes it send
    whole files; `gated` (a token) makes it answer resolve requests without that token 401, and
    with another token 403, as the hub does for a gated repository."""

    daemon_threads = True

    def __init__(self, files: dict[str, bytes], host: str = "127.0.0.1") -> None:
        super().__init__(("127.0.0.1", 0), _HubHandler)
        self.host = host  # the name clients use: another name is another origin
        self.files = files
        self.requests: list[tuple[str, str | None]] = []  # (path, Range header)
        self.authorizations: list[str | None] = []  # each request's Authorization header
        self.cut_after: int | None = None
        self.ignore_range = False
        self.cdn = ""
        self.gated: str | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.server_address[1]}"


class _HubHandler(BaseHTTPRequestHandler):
    server: Hub

    def do_GET(self) -> None:
        hub = self.server
        hub.requests.append((self.path, self.headers.get("Range")))
        hub.authorizations.append(self.headers.get("Authorization"))
        resolve = re.fullmatch(r"/[\w.-]+/[\w.-]+/resolve/[\w.-]+/(.+)", self.path)
        if resolve and hub.gated and hub.authorizations[-1] != f"Bearer {hub.gated}":
            self._head(403 if hub.authorizations[-1] else 401, 0)
            return
        if resolve:
            self._head(302, 0, {"Location": f"{hub.cdn}/cdn/{resolve.group(1)}"})
            return
        data = hub.files.get(self.path.removeprefix("/cdn/"))
        if data is None:
            self._head(404, 0)
            return
        wanted = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")
        start = int(wanted.group(1)) if wanted and not hub.ignore_range else 0
        if start >= len(data) > 0:
            self._head(416, 0, {"Content-Range": f"bytes */{len(data)}"})
            return
        if start:
            self._head(
                206,
                len(data) - start,
                {"Content-Range": f"bytes {start}-{len(data) - 1}/{len(data)}"},
            )
        else:
            self._head(200, len(data))
        body = data[start:]
        if hub.cut_after is not None:
            body, hub.cut_after = body[: hub.cut_after], None
        self.wfile.write(body)

    def _head(self, status: int, length: int, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(length))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the test reads `requests` instead."""


@pytest.fixture(scope="module")
def model_bytes(demo_model: Path) -> bytes:
    return demo_model.read_bytes()


@contextmanager
def serving(files: dict[str, bytes], host: str = "127.0.0.1") -> Iterator[Hub]:
    live = Hub(files, host)
    thread = threading.Thread(target=live.serve_forever)
    thread.start()
    try:
        yield live
    finally:
        live.shutdown()
        live.server_close()
        thread.join()


@pytest.fixture
def hub(model_bytes: bytes, monkeypatch: pytest.MonkeyPatch) -> Iterator[Hub]:
    with serving({NAME: model_bytes, "page.gguf": PAGE}) as live:
        monkeypatch.setenv("RAJUDGE_HUB_URL", live.url)
        yield live


@pytest.fixture
def cdn(model_bytes: bytes, hub: Hub) -> Iterator[Hub]:
    """A CDN on another origin (localhost, not 127.0.0.1) that the hub redirects downloads to."""
    with serving({NAME: model_bytes}, "localhost") as live:
        hub.cdn = live.url
        yield live


@pytest.fixture
def rajudge(tmp_path: Path, hub: Hub) -> Iterator:
    """Run the installed command with the stand-in hub and a fresh models folder."""
    base = {
        **os.environ,
        "RAJUDGE_HUB_URL": hub.url,
        "RAJUDGE_MODELS_DIR": str(tmp_path / "models"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "COLUMNS": "200",  # `rajudge models` tables at full width
    }

    def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "rajudge", *args]
        return subprocess.run(
            command, capture_output=True, text=True, env={**base, **(env or {})}, timeout=300
        )

    yield run


def test_an_interrupted_download_resumes(
    rajudge, hub: Hub, tmp_path: Path, model_bytes: bytes
) -> None:
    models = tmp_path / "models"
    hub.cut_after = 40_000_000
    first = rajudge("models", "pull", "owner/repo", NAME)
    assert first.returncode == 3
    assert first.stderr.count("\n") == 1 and "Traceback" not in first.stderr
    assert f"download stopped at 40000000 of {len(model_bytes)} bytes" in first.stderr
    assert "run the same command again to resume" in first.stderr
    assert (models / f"{NAME}.part").stat().st_size == 40_000_000
    assert not (models / NAME).exists()

    second = rajudge("models", "pull", "owner/repo", NAME)
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip() == str(models / NAME)
    assert "resumed at byte 40000000" in second.stderr and f"-m {NAME[:-5]}" in second.stderr
    assert (models / NAME).read_bytes() == model_bytes
    assert not (models / f"{NAME}.part").exists()
    assert hub.requests[-2:] == [
        (f"/owner/repo/resolve/main/{NAME}", "bytes=40000000-"),
        (f"/cdn/{NAME}", "bytes=40000000-"),
    ]

    again = rajudge("models", "pull", "owner/repo", NAME)
    assert again.returncode == 0 and "already in the models folder" in again.stderr
    assert len(hub.requests) == 4
    listed = rajudge("models")
    assert NAME[:-5] in listed.stdout and "models dir" in listed.stdout


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["owner/repo", "page.gguf"], 3, "is not a usable GGUF model, so it was not kept"),
        (["owner/repo", "absent.gguf"], 3, "was not found (HTTP 404)"),
        (["owner/repo", "model.safetensors"], 2, "'model.safetensors' is not a .gguf file"),
        (["owner/repo"], 2, "which file of owner/repo?"),
        (["not a repo", "x.gguf"], 2, "is not a repo id"),
    ],
)
def test_a_failed_pull_is_one_line_and_leaves_nothing(
    rajudge, tmp_path: Path, args: list[str], code: int, message: str
) -> None:
    done = rajudge("models", "pull", *args)
    assert done.returncode == code
    assert done.stderr.count("\n") == 1 and message in done.stderr
    assert done.stdout == ""
    assert not any((tmp_path / "models").glob("*"))


def test_an_error_page_is_recognised(hub: Hub, tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="looks like HTML"):
        pull(f"{hub.url}/cdn/page.gguf", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_server_without_range_support_restarts_the_download(
    hub: Hub, tmp_path: Path, model_bytes: bytes
) -> None:
    (tmp_path / f"{NAME}.part").write_bytes(model_bytes[:1000])
    hub.ignore_range = True
    seen: list[tuple[int, int | None]] = []
    pulled = pull(model_url("owner/repo", NAME), tmp_path, lambda *p: seen.append(p))
    assert (pulled.resumed_at, pulled.fetched) == (0, len(model_bytes))
    assert pulled.path.read_bytes() == model_bytes
    assert seen[0] == (0, len(model_bytes)) and seen[-1] == (len(model_bytes), len(model_bytes))
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)


def test_a_complete_part_file_is_checked_and_kept(
    hub: Hub, tmp_path: Path, model_bytes: bytes
) -> None:
    (tmp_path / f"{NAME}.part").write_bytes(model_bytes)
    pulled = pull(f"{hub.url}/cdn/{NAME}", tmp_path)
    assert (pulled.resumed_at, pulled.fetched) == (len(model_bytes), 0)
    assert pulled.path.read_bytes() == model_bytes
    assert hub.requests == [(f"/cdn/{NAME}", f"bytes={len(model_bytes)}-")]


def test_model_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAJUDGE_HUB_URL", raising=False)
    assert model_url("zhuohaoyu/RA-GGUF", "q4/RA 8B.gguf") == (
        "https://huggingface.co/zhuohaoyu/RA-GGUF/resolve/main/q4/RA%208B.gguf"
    )
    monkeypatch.setenv("RAJUDGE_HUB_URL", "http://127.0.0.1:9/mirror/")
    assert model_url("o/r", "m.gguf", "v1.0") == "http://127.0.0.1:9/mirror/o/r/resolve/v1.0/m.gguf"
    assert model_url("https://example.org/m.gguf") == "https://example.org/m.gguf"
    with pytest.raises(UsageError, match="not both"):
        model_url("https://example.org/m.gguf", "m.gguf")


def test_an_unreachable_hub_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    with pytest.raises(ModelError, match=f"cannot download http://127.0.0.1:{port}/m.gguf: "):
        pull(f"http://127.0.0.1:{port}/m.gguf", tmp_path)


def test_a_models_folder_that_cannot_be_made_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    folder = tmp_path / "file" / "models"
    with pytest.raises(UsageError, match=f"^{folder}: cannot make the models folder: Not a dir"):
        pull("http://127.0.0.1:9/m.gguf", folder)  # fails before any request


# --- gated repositories: the hub token ------------------------------------------------------

TOKEN = "hf_SecretTestToken123"


def test_the_token_goes_to_the_hub_and_never_to_another_host(
    hub: Hub, cdn: Hub, tmp_path: Path, model_bytes: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    hub.gated = TOKEN
    pulled = pull(model_url("owner/repo", NAME), tmp_path)
    assert pulled.path.read_bytes() == model_bytes
    assert hub.authorizations == [f"Bearer {TOKEN}"]
    assert cdn.requests == [(f"/cdn/{NAME}", None)] and cdn.authorizations == [None]


def test_a_redirect_within_the_hub_keeps_the_token(
    hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    pull(model_url("owner/repo", NAME), tmp_path)
    assert [path for path, _ in hub.requests] == [
        f"/owner/repo/resolve/main/{NAME}",
        f"/cdn/{NAME}",
    ]
    assert hub.authorizations == [f"Bearer {TOKEN}"] * 2


def test_a_url_on_another_host_gets_no_token(
    hub: Hub, cdn: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    pull(f"{cdn.url}/cdn/{NAME}", tmp_path)
    assert cdn.authorizations == [None] and hub.requests == []


# Where the hub's CLI keeps its token, and what points there.
TOKEN_FILES = [
    ("HF_HOME", "token", ""),
    ("XDG_CACHE_HOME", "huggingface/token", ""),
    ("HF_TOKEN_PATH", "hf-token", "hf-token"),
]


@pytest.mark.parametrize(("variable", "file", "named"), TOKEN_FILES)
def test_the_token_file_of_the_hubs_cli_is_read(
    hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str, file: str, named: str
) -> None:
    home = tmp_path / "home"
    (home / file).parent.mkdir(parents=True, exist_ok=True)
    (home / file).write_text(TOKEN + "\n")
    monkeypatch.setenv(variable, str(home / named))
    hub.gated = TOKEN
    pull(model_url("owner/repo", NAME), tmp_path / "models")
    assert hub.authorizations == [f"Bearer {TOKEN}"] * 2


GATED = "is gated or private (HTTP 401) and no hub token is set; request access on the hub"
REFUSED = "was refused with the hub token (HTTP 403); check that the token is valid"


@pytest.mark.parametrize(("token", "message"), [(None, GATED), ("hf_WrongToken", REFUSED)])
def test_a_gated_repository_is_one_line_that_never_shows_the_token(
    rajudge, hub: Hub, tmp_path: Path, token: str | None, message: str
) -> None:
    hub.gated = TOKEN
    done = rajudge("models", "pull", "owner/repo", NAME, env={"HF_TOKEN": token} if token else {})
    assert done.returncode == 3
    assert done.stderr.count("\n") == 1 and message in done.stderr, done.stderr
    assert "hf_" not in done.stderr + done.stdout
    assert hub.authorizations == [f"Bearer {token}" if token else None]
    assert not any((tmp_path / "models").glob("*"))
