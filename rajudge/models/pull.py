"""Downloading a GGUF model into the models folder: resumable, and checked before it is kept.

A download goes to `NAME.gguf.part` next to its destination. An interrupted one is continued
from where it stopped (an HTTP Range request) the next time; a finished one is read as GGUF
(rajudge.models.gguf) and only then renamed into place, so the models folder never holds half a
model or an error page. Plain urllib: a Hugging Face `resolve` URL is a plain HTTPS download.

A hub token ($HF_TOKEN, else the file the hub's own CLI writes at login) goes to the hub only:
urllib would carry it to any host a redirect names, and Hugging Face redirects file downloads
to a CDN on another host, so rajudge adds it to each request on the hub's own origin.
"""

from __future__ import annotations

import http.client
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from http.client import HTTPMessage
from importlib.metadata import version
from pathlib import Path
from typing import IO
from urllib.error import HTTPError, URLError
from urllib.parse import quote, unquote, urlsplit
from urllib.request import HTTPRedirectHandler, Request, build_opener

from rajudge.errors import ModelError, UsageError
from rajudge.models.gguf import read_metadata

HUB_ENV = "RAJUDGE_HUB_URL"
DEFAULT_HUB = "https://huggingface.co"
TOKEN_ENV = "HF_TOKEN"
_CHUNK = 1 << 20
_TIMEOUT = 30.0  # seconds without a byte before a download counts as stalled
_MAGIC = b"GGUF"
_CONTENT_RANGE = re.compile(r"bytes (\d+)-\d+/(\d+|\*)")

Progress = Callable[[int, int | None], None]  # (bytes on disk, total bytes if known)


@dataclass(frozen=True)
class Pulled:
    """Where the model is, and what this call had to fetch for it."""

    path: Path
    fetched: int  # bytes downloaded by this call (0: it was already there)
    resumed_at: int  # bytes already in the .part file when this call started


def model_url(source: str, filename: str | None = None, revision: str = "main") -> str:
    """The URL of a GGUF: `source` itself when it is a URL, else a file in a hub repo."""
    if source.startswith(("http://", "https://")):
        if filename is not None:
            raise UsageError("give a URL, or a repo id and a file name, not both")
        return source
    if filename is None:
        raise UsageError(
            f"which file of {source}? give its name, e.g. "
            f"`rajudge models pull {source} model-Q4_K_M.gguf`"
        )
    if not re.fullmatch(r"[\w.-]+(/[\w.-]+)?", source):
        raise UsageError(f"{source!r} is not a repo id (owner/name) or an http(s) URL")
    path = f"{quote(source)}/resolve/{quote(revision, safe='')}/{quote(filename)}"
    return f"{_hub()}/{path}"


def hub_token() -> str | None:
    """The hub token: $HF_TOKEN, else the token file of the hub's CLI ($HF_TOKEN_PATH, else
    $HF_HOME/token; HF_HOME defaults to ~/.cache/huggingface). None: download anonymously."""
    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        try:
            token = _token_file().read_text(encoding="utf-8").strip()
        except (OSError, ValueError):
            return None
    if not token.isprintable() or " " in token:
        raise UsageError(
            f"the hub token (${TOKEN_ENV} or its token file) holds spaces or control characters"
        )
    return token or None


def _token_file() -> Path:
    explicit = os.environ.get("HF_TOKEN_PATH")
    if explicit:
        return Path(explicit).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or "~/.cache"
    home = os.environ.get("HF_HOME") or os.path.join(cache, "huggingface")
    return Path(home).expanduser() / "token"


def _hub() -> str:
    return (os.environ.get(HUB_ENV) or DEFAULT_HUB).rstrip("/")


def _on_hub(url: str) -> bool:
    """Whether `url` has the hub's origin (scheme, host and port): the only one trusted with the
    token."""

    def origin(address: str) -> tuple[str, str | None, int | None]:
        parts = urlsplit(address)
        scheme = parts.scheme.lower()
        return scheme, parts.hostname, parts.port or {"http": 80, "https": 443}.get(scheme)

    return origin(url) == origin(_hub())


def _authorize(request: Request, token: str | None) -> Request:
    """`request` with the token, if it goes to the hub; as an unredirected header, so urllib
    never forwards it to where a redirect points."""
    if token and _on_hub(request.full_url):
        request.add_unredirected_header("Authorization", f"Bearer {token}")
    return request


class _HubRedirects(HTTPRedirectHandler):
    """Follows redirects, giving the token again to a redirect that stays on the hub."""

    def __init__(self, token: str | None) -> None:
        self._token = token

    def redirect_request(
        self,
        req: Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: HTTPMessage,
        newurl: str,
    ) -> Request | None:
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        return None if new is None else _authorize(new, self._token)


def pull(url: str, folder: Path, progress: Progress | None = None) -> Pulled:
    """Download the GGUF at `url` into `folder`, resuming a `.part` file left by an earlier try."""
    name = unquote(urlsplit(url).path).rsplit("/", 1)[-1]
    if not name.lower().endswith(".gguf"):
        raise UsageError(
            f"{name or url!r} is not a .gguf file; rajudge runs GGUF models "
            "(README: A real judge shows how to convert safetensors)"
        )
    target = folder / name
    if target.exists():
        read_metadata(target)
        return Pulled(target, fetched=0, resumed_at=0)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"{folder}: cannot make the models folder: {exc.strerror}") from None
    part = folder / (name + ".part")
    offset = part.stat().st_size if part.exists() else 0
    resumed_at, fetched = _download(url, part, offset, progress)
    try:
        read_metadata(part)
    except ModelError as exc:
        part.unlink()
        raise ModelError(f"{url} is not a usable GGUF model, so it was not kept: {exc}") from None
    part.replace(target)
    return Pulled(target, fetched=fetched, resumed_at=resumed_at)


def _download(url: str, part: Path, offset: int, progress: Progress | None) -> tuple[int, int]:
    """Fetch `url` into `part` from byte `offset` on: (bytes kept from before, bytes fetched)."""
    headers = {"User-Agent": f"rajudge/{version('rajudge')}"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    token = hub_token()
    opener = build_opener(_HubRedirects(token))
    try:
        response = opener.open(_authorize(Request(url, headers=headers), token), timeout=_TIMEOUT)
    except HTTPError as exc:
        total = _total_of(exc.headers.get("Content-Range"))
        if exc.code == 416 and offset and total == offset:
            return offset, 0  # a previous try got every byte but stopped before the check
        if exc.code == 416:
            part.unlink()
            return _download(url, part, 0, progress)
        raise ModelError(_http_error(url, exc, token is not None)) from None
    except (URLError, OSError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise ModelError(f"cannot download {url}: {reason}") from None

    with response:
        total = _length(response.headers.get("Content-Length"))
        if response.status == 206:
            match = _CONTENT_RANGE.fullmatch(response.headers.get("Content-Range", ""))
            if not match or int(match.group(1)) != offset:
                raise ModelError(f"cannot resume {url}: the server sent another byte range")
            total = None if match.group(2) == "*" else int(match.group(2))
        else:
            offset = 0  # the server ignored the Range header and sends the whole file
        done = offset
        with part.open("ab" if offset else "wb") as out:
            if progress:
                progress(done, total)
            try:
                while chunk := response.read(_CHUNK):
                    out.write(chunk)
                    if done == 0 and not chunk.startswith(_MAGIC):
                        return 0, len(chunk)  # not a GGUF: stop; the caller's check says what
                    done += len(chunk)
                    if progress:
                        progress(done, total)
            except (OSError, http.client.HTTPException) as exc:
                raise _interrupted(part, done, total, exc) from None
    if total is not None and done < total:
        raise _interrupted(part, done, total, "the connection closed early")
    return offset, done - offset


def _http_error(url: str, error: HTTPError, token: bool) -> str:
    code = error.code
    if code == 404:
        return f"{url} was not found (HTTP 404); check the repo id, file name and revision"
    if code not in (401, 403):
        return f"cannot download {url}: HTTP {code} {error.reason}"
    if not _on_hub(error.filename or url):
        return f"{url} needs access rights (HTTP {code}); download it yourself and use its path"
    if token:
        return (
            f"{url} was refused with the hub token (HTTP {code}); check that the token is valid "
            "and that its account has been granted access to the repository"
        )
    return (
        f"{url} is gated or private (HTTP {code}) and no hub token is set; request access on "
        f"the hub, then set ${TOKEN_ENV} or log in with `hf auth login`"
    )


def _interrupted(part: Path, done: int, total: int | None, why: object) -> ModelError:
    of = f" of {total}" if total is not None else ""
    return ModelError(
        f"download stopped at {done}{of} bytes ({why}); run the same command again to resume "
        f"from {part}"
    )


def _total_of(content_range: str | None) -> int | None:
    """The file size in a 416 reply's `Content-Range: bytes */SIZE`."""
    match = re.fullmatch(r"bytes \*/(\d+)", content_range or "")
    return int(match.group(1)) if match else None


def _length(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None
