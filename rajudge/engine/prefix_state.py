"""Engine states of shared prompt prefixes, kept on disk so a new process restores them.

A state is what llama.cpp holds for one sequence after a token prefix (its KV cells, from
llama_state_seq_get_data), about 23 kB a token on the demo model. The in-process engine asks
for the state of a prefix before computing it and gives each prefix it computed; this module
only stores bytes. One file per state in `states/` beside the result cache, named by a hash of
the engine key (everything that can change the numbers: model file, llama.cpp build, context
settings; the engine builds it) and the exact prefix tokens.

Safe by construction: a file holds its engine key, its tokens and a SHA-256 of all it holds, and
one that is truncated, damaged or made for another key is ignored (a RAJUDGE_DEBUG line says
why) and written again. Files are written to a temporary name and renamed over the old one, so
two processes saving the same state never leave a broken file. The folder has a size cap
($RAJUDGE_STATE_CACHE_MB, default 1024): saving past it removes the least recently used states
(a restored file counts as used).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import struct
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rajudge.errors import UsageError
from rajudge.run.cache import cache_dir

STATES_DIR = "states"
CAP_ENV = "RAJUDGE_STATE_CACHE_MB"
DEFAULT_CAP_MB = 1024
SUFFIX = ".state"
DEBUG_ENV = "RAJUDGE_DEBUG"
_MAGIC = b"rajudge-prefix-state\n"
_FORMAT = 1
_HEAD = struct.Struct("<II")  # format, engine key length
_DIGEST = 32  # a SHA-256 of everything before it ends the file
_PARTIAL = ".partial-"  # temporary files being written
_STALE_PARTIAL_S = 3600.0  # a temporary file this old was left by a process that died


def debug(message: str) -> None:
    """One line on stderr when RAJUDGE_DEBUG is set."""
    if os.environ.get(DEBUG_ENV):
        print(f"rajudge debug: {message}", file=sys.stderr, flush=True)


def state_cap() -> int:
    """The folder's cap in bytes: $RAJUDGE_STATE_CACHE_MB (0 keeps nothing), else 1024 MB."""
    given = os.environ.get(CAP_ENV, "").strip()
    if not given:
        return DEFAULT_CAP_MB << 20
    try:
        megabytes = int(given)
    except ValueError:
        megabytes = -1
    if megabytes < 0:
        raise UsageError(
            f"${CAP_ENV} must be a whole number of megabytes, 0 or more, not {given!r}"
        )
    return megabytes << 20


@dataclass(frozen=True)
class Usage:
    folder: Path
    files: int
    bytes: int
    cap: int


class PrefixStates:
    """Prefix states by engine key and tokens, one file each in `folder`, at most `cap` bytes."""

    def __init__(self, folder: Path, cap: int) -> None:
        self.folder = folder
        self.cap = cap
        self.loaded = 0  # states handed out by load(), for callers that count
        self.saved = 0

    @classmethod
    def open(cls) -> PrefixStates:
        """The store beside the result cache, capped by $RAJUDGE_STATE_CACHE_MB."""
        return cls(cache_dir() / STATES_DIR, state_cap())

    def path(self, engine: str, tokens: Sequence[int]) -> Path:
        """The file that holds (or would hold) the state of `tokens` under `engine`."""
        name = hashlib.sha256(engine.encode() + b"\0" + _token_bytes(tokens)).hexdigest()
        return self.folder / f"{name}{SUFFIX}"

    def load(self, engine: str, tokens: Sequence[int]) -> bytes | None:
        """The state saved for `tokens` under `engine`, or None (missing, or not usable)."""
        path = self.path(engine, tokens)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            debug(f"prefix state {path} cannot be read ({exc}); computing it")
            return None
        state, why = _parse(data, engine, _token_bytes(tokens))
        if state is None:
            debug(f"prefix state {path} ignored: {why}; computing it again")
            return None
        _mark_used(path)
        self.loaded += 1
        debug(f"prefix state of {len(tokens)} tokens restored from {path}")
        return state

    def save(self, engine: str, tokens: Sequence[int], state: bytes) -> None:
        """Keep `state` as that of `tokens` under `engine`; a failure is a debug line only."""
        path = self.path(engine, tokens)
        data = _serialize(engine, _token_bytes(tokens), state)
        if len(data) > self.cap:
            debug(f"prefix state of {len(data)} bytes not kept: over the cap of {self.cap}")
            return
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            _write_atomically(path, data)
        except OSError as exc:
            debug(f"prefix state {path} not saved ({exc})")
            return
        _mark_used(path)
        self.saved += 1
        debug(f"prefix state of {len(tokens)} tokens saved to {path} ({len(data)} bytes)")
        self._evict(keep=path)

    def usage(self) -> Usage:
        files = self._files()
        return Usage(self.folder, len(files), sum(size for _, size, _ in files), self.cap)

    def clear(self) -> int:
        """Remove every state (and any temporary file); how many states were removed."""
        removed = 0
        for path in self._all():
            try:
                path.unlink()
            except OSError:
                continue
            if not path.name.startswith(_PARTIAL):
                removed += 1
        return removed

    def _evict(self, keep: Path) -> None:
        """Remove least recently used states until the folder is within its cap."""
        files = sorted(self._files())
        total = sum(size for _, size, _ in files)
        for _, size, path in files:
            if total <= self.cap:
                break
            if path == keep:
                continue
            try:
                path.unlink()
            except OSError:
                continue
            total -= size
            debug(f"prefix state {path} removed: the folder was over its cap of {self.cap}")
        now = time.time()
        for path in self._all():
            if path.name.startswith(_PARTIAL):
                try:
                    if now - path.stat().st_mtime > _STALE_PARTIAL_S:
                        path.unlink()
                except OSError:
                    continue

    def _files(self) -> list[tuple[int, int, Path]]:
        """(last use, size, path) of each state file."""
        found = []
        for path in self._all():
            if path.name.startswith(_PARTIAL) or not path.name.endswith(SUFFIX):
                continue
            try:
                stat = path.stat()
            except OSError:
                continue
            found.append((stat.st_mtime_ns, stat.st_size, path))
        return found

    def _all(self) -> list[Path]:
        try:
            return [p for p in self.folder.iterdir() if p.is_file()]
        except OSError:
            return []


def _mark_used(path: Path) -> None:
    """Stamp `path` as used now: eviction removes the least recently used first. One clock
    for writes and reads (a file system's own write times can be coarser)."""
    now = time.time_ns()
    with contextlib.suppress(OSError):
        os.utime(path, ns=(now, now))


def _token_bytes(tokens: Sequence[int]) -> bytes:
    return np.asarray(tokens, dtype="<i4").tobytes()


def _serialize(engine: str, tokens: bytes, state: bytes) -> bytes:
    key = engine.encode()
    lengths = struct.pack("<QQ", len(tokens), len(state))
    body = b"".join([_MAGIC, _HEAD.pack(_FORMAT, len(key)), key, lengths, tokens, state])
    return body + hashlib.sha256(body).digest()


def _parse(data: bytes, engine: str, tokens: bytes) -> tuple[bytes | None, str]:
    """The state in a file's `data` if it is whole and made for `engine` and `tokens`, else
    None and why not."""
    if not data.startswith(_MAGIC):
        return None, "not a prefix state file"
    body, digest = data[:-_DIGEST], data[-_DIGEST:]
    if len(data) < len(_MAGIC) + _HEAD.size + _DIGEST or hashlib.sha256(body).digest() != digest:
        return None, "truncated or damaged (checksum mismatch)"
    at = len(_MAGIC)
    version, key_length = _HEAD.unpack_from(body, at)
    if version != _FORMAT:
        return None, f"written in format {version}, this rajudge reads {_FORMAT}"
    at += _HEAD.size
    if body[at : at + key_length] != engine.encode():
        return None, "made by another model, llama.cpp build or context setting"
    at += key_length
    token_length, state_length = struct.unpack_from("<QQ", body, at)
    at += 16
    if len(body) != at + token_length + state_length:
        return None, "truncated or damaged (wrong length)"
    if body[at : at + token_length] != tokens:
        return None, "made for other tokens"
    return body[at + token_length :], ""


def _write_atomically(path: Path, data: bytes) -> None:
    """Write `data` to a temporary file beside `path`, then rename it over `path`."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=_PARTIAL, suffix=SUFFIX)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
