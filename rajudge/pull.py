"""Downloading a GGUF model into the models folder: resumable, and checked before it is kept.

A download goes to `NAME.gguf.part` next to its destination. An interrupted one is continued
from where it stopped (an HTTP Range request) the next time; a finished one is read as GGUF
(rajudge.gguf) and only then renamed into place, so the models folder never holds half a model
or an error page. Plain urllib: a Hugging Face `resolve` URL is a plain HTTPS download.
"""

from __future__ import annotations

import http.client
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.parse import quote, unquote, urlsplit
from urllib.request import Request, urlopen

from rajudge import __version__
from rajudge.errors import ModelError, UsageError
from rajudge.gguf import read_metadata

HUB_ENV = "RAJUDGE_HUB_URL"
DEFAULT_HUB = "https://huggingface.co"
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
    hub = os.environ.get(HUB_ENV) or DEFAULT_HUB
    path = f"{quote(source)}/resolve/{quote(revision, safe='')}/{quote(filename)}"
    return f"{hub.rstrip('/')}/{path}"


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
    headers = {"User-Agent": f"rajudge/{__version__}"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    try:
        response = urlopen(Request(url, headers=headers), timeout=_TIMEOUT)
    except HTTPError as exc:
        total = _total_of(exc.headers.get("Content-Range"))
        if exc.code == 416 and offset and total == offset:
            return offset, 0  # a previous try got every byte but stopped before the check
        if exc.code == 416:
            part.unlink()
            return _download(url, part, 0, progress)
        raise ModelError(_http_error(url, exc.code, exc.reason)) from None
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


def _http_error(url: str, code: int, reason: str) -> str:
    if code == 404:
        return f"{url} was not found (HTTP 404); check the repo id, file name and revision"
    if code in (401, 403):
        return f"{url} needs access rights (HTTP {code}); download it yourself and use its path"
    return f"cannot download {url}: HTTP {code} {reason}"


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
