"""The result cache: a judgment made once is answered from disk in every later run and file.

One SQLite file maps a key to a stored Judgment. The key hashes everything the verdict depends
on (a `Fingerprint` of model and settings, the principle text, the prompt, and the responses in
the order the judge sees them), so a hit is the judgment a fresh run would make (up to the
rounding that batching moves on some weights: rajudge.engine.sequences). WAL mode, a busy
timeout and one transaction per write let several rajudge processes share the file. A cache
that cannot be used is a warning and a run without it, never a failed run.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import sys
import threading
import time
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import orjson

from rajudge.judging.protocol import PROTOCOL_VERSION, masked_order
from rajudge.records import Item, Judgment, Principle, ResponseScore, Timings
from rajudge.settings import SETTINGS, EngineSettings

CACHE_DIR_ENV = "RAJUDGE_CACHE_DIR"
CACHE_FILE = "results.sqlite3"
_FORMAT = 1  # bump when Judgment's fields change: rows stored before then never match
_BUSY_TIMEOUT_S = 60.0  # how long a write waits for another process's transaction


def cache_dir() -> Path:
    """$RAJUDGE_CACHE_DIR, else rajudge's folder in the platform's cache directory."""
    explicit = os.environ.get(CACHE_DIR_ENV)
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg:
        return Path(xdg) / "rajudge"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "rajudge"
    return Path.home() / ".cache" / "rajudge"


def model_identity(path: Path) -> str:
    """What tells one GGUF's weights from another's: resolved path, size, modification time.

    One stat, and rewriting the file changes it; moving or touching the file only costs misses.
    A hash of the GGUF header would not tell apart two fine-tunes with the same metadata (a
    merged LoRA keeps the base model's header), and hashing the weights takes seconds for an 8B
    model on every run.
    """
    resolved = path.resolve()
    stat = resolved.stat()
    return f"{resolved}|{stat.st_size}|{stat.st_mtime_ns}"


@dataclass(frozen=True)
class Fingerprint:
    """What a verdict depends on besides the item and the principle.

    Its settings are the rows of rajudge.settings.SETTINGS that change verdicts (`verdict`),
    filled from them by `of`; a test checks that the two agree. The fields' order is the keys'
    (cache and --resume): a new one goes last, and none moves.
    """

    model: str  # model_identity() for a GGUF; whatever names the weights for other backends
    mode: str
    seed: int
    temperature: float
    reasoning_budget: int
    rationale_tokens: int
    permutations: int = 1  # orders averaged into a verdict; not part of one order's judgment
    protocol: int = PROTOCOL_VERSION

    @classmethod
    def of(cls, model: str, settings: EngineSettings) -> Fingerprint:
        chosen = {row.name: getattr(settings, row.name) for row in SETTINGS if row.verdict}
        chosen["temperature"] = float(chosen["temperature"])  # 0 and 0.0: one key
        return cls(model=model, **chosen)


def digest(material: object) -> str:
    """SHA-256 (hex) of a JSON-able value; the one way rajudge turns inputs into a key."""
    return hashlib.sha256(orjson.dumps(material)).hexdigest()


def judgment_key(
    fingerprint: Fingerprint,
    item: Item,
    principle: Principle,
    order: Sequence[str] | None = None,
) -> str:
    """The cache key of judging `item` under `principle`, responses presented in `order`.

    Responses enter in the order the judge sees them (the seeded shuffle unless `order` is
    given), not by item id, so the same presentation hits across files. The item id enters only
    when free text is sampled (temperature > 0), because it seeds that sampler.
    """
    presented = list(order) if order is not None else masked_order(item, fingerprint.seed)
    sampled = fingerprint.temperature > 0
    return digest(
        [
            _FORMAT,
            asdict(replace(fingerprint, permutations=1)),  # shared by every K that shows it
            principle.text,
            item.prompt,
            [[name, item.responses[name]] for name in presented],
            item.id if sampled else None,
        ]
    )


class ResultCache:
    """Judgments by key in one SQLite file, safe to share between processes and threads."""

    def __init__(self, path: Path) -> None:
        """Open (or create) the cache; raises sqlite3.Error or OSError when that is impossible."""
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = sqlite3.connect(
            path, timeout=_BUSY_TIMEOUT_S, isolation_level="IMMEDIATE", check_same_thread=False
        )
        try:
            _prepare(self._db)
        except sqlite3.Error:
            self._db.close()
            raise

    @classmethod
    def open(cls, path: Path | None = None) -> ResultCache | None:
        """The cache at `path` (default: cache_dir()/results.sqlite3), or None with a warning."""
        path = path or cache_dir() / CACHE_FILE
        try:
            return cls(path)
        except (sqlite3.Error, OSError) as exc:
            warnings.warn(_unusable(path, exc), stacklevel=2)
            return None

    def find(
        self,
        fingerprint: Fingerprint,
        item: Item,
        principle: Principle,
        order: Sequence[str] | None = None,
        *,
        model: str,
    ) -> Judgment | None:
        """The judgment made before, if any, as if made now: it carries this call's principle,
        item id and `model` name, and the original timings marked `cached`."""
        stored = self._get(judgment_key(fingerprint, item, principle, order))
        if stored is None:
            return None
        try:
            return _restore(stored, item, principle, model)
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            return None  # a row this version cannot read: judged again and overwritten

    def store(
        self,
        fingerprint: Fingerprint,
        item: Item,
        principle: Principle,
        order: Sequence[str] | None,
        judgment: Judgment,
    ) -> None:
        self._put(judgment_key(fingerprint, item, principle, order), judgment)

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def _get(self, key: str) -> bytes | None:
        with self._lock:
            if self._db is None:
                return None
            try:
                row = self._db.execute(
                    "SELECT judgment FROM judgments WHERE key = ?", (key,)
                ).fetchone()
            except sqlite3.Error as exc:
                self._give_up(exc)
                return None
        return None if row is None else bytes(row[0])

    def _put(self, key: str, judgment: Judgment) -> None:
        with self._lock:
            if self._db is None:
                return
            try:
                with self._db:  # BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any error
                    self._db.execute(
                        "INSERT OR REPLACE INTO judgments VALUES (?, ?, ?)",
                        (key, _stored(judgment), time.time()),
                    )
            except sqlite3.Error as exc:
                self._give_up(exc)

    def _give_up(self, exc: sqlite3.Error) -> None:
        """Stop using a cache that failed mid-run (disk full, file damaged): judging goes on."""
        warnings.warn(_unusable(self.path, exc), stacklevel=3)
        assert self._db is not None
        self._db.close()
        self._db = None


def _prepare(db: sqlite3.Connection) -> None:
    """WAL mode and the table, retried while another process is creating the same file.

    Switching a new file to WAL needs it to itself, and SQLite answers "locked" at once
    instead of waiting, so two rajudge processes starting together must take turns here.
    """
    deadline = time.monotonic() + _BUSY_TIMEOUT_S
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")  # with WAL: still never corrupt
            db.execute(
                "CREATE TABLE IF NOT EXISTS judgments "
                "(key TEXT PRIMARY KEY, judgment BLOB NOT NULL, created REAL NOT NULL) "
                "WITHOUT ROWID"
            )
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _unusable(path: Path, exc: BaseException) -> str:
    why = getattr(exc, "strerror", None) or exc
    return (
        f"result cache {path} cannot be used ({why}); judging without it "
        "(delete the file to start a new cache)"
    )


def _stored(judgment: Judgment) -> bytes:
    """What a row keeps: the verdict and how it was made, at full precision.

    Not the item id, principle, model name or order shown: the caller's own go into a
    restored judgment (a stored judgment is one order's, so it combines none).
    """
    data = asdict(judgment)
    for caller_owned in ("item_id", "principle", "model", "shown", "orders"):
        del data[caller_owned]
    return orjson.dumps(data)


def _restore(stored: bytes, item: Item, principle: Principle, model: str) -> Judgment:
    data: dict[str, Any] = orjson.loads(stored)
    data["responses"] = tuple(
        ResponseScore(**{**score, "distribution": tuple(score["distribution"])})
        for score in data["responses"]
    )
    data["timings"] = replace(Timings(**data["timings"]), cached=True)
    return Judgment(**data, item_id=item.id, principle=principle, model=model)
