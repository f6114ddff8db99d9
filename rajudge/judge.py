"""The Python API: load a judge model once, then judge items in this process.

    from rajudge import Judge

    with Judge() as judge:  # the model the CLI would use: $RAJUDGE_MODEL, config, demo
        result = judge.judge("2 + 2?", {"a": "4", "b": "5"}, "Prefer correct answers.")
        result.ranking  # response names, best first

Results are the typed records of rajudge.records; rajudge.result_record turns one into the
JSONL schema's dict, and the errors a caller catches (InputError...) are in rajudge too. A
Judge may be shared by threads: judgments queue on one lock, because one llama.cpp context can
only run one at a time.
"""

from __future__ import annotations

import atexit
import threading
import weakref
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from os import PathLike
from pathlib import Path
from types import TracebackType
from typing import Any

import orjson

from rajudge.config import load_config
from rajudge.engine.base import Backend, Job
from rajudge.engine.load import open_backend
from rajudge.errors import InputError, UsageError
from rajudge.judging.principles import resolve
from rajudge.read import parse_lines
from rajudge.records import Item, ItemResult, Judgment, Principle
from rajudge.run.core import Tally, score_file
from rajudge.run.schedule import judge_items
from rajudge.settings import EngineSettings, engine_settings

PrincipleSpec = str | Principle | Sequence[str | Principle]


# Judges whose model is still loaded. One left open is closed as the interpreter exits, before
# the modules that llama-cpp-python's finalizers call are torn down (they fail after that).
_unclosed: weakref.WeakSet[Judge] = weakref.WeakSet()


@atexit.register
def _close_unclosed() -> None:
    for judge in list(_unclosed):
        judge.close()


class Judge:
    """A loaded judge model.

    `model` is a GGUF path or alias, resolved like `-m` (then $RAJUDGE_MODEL, the config file,
    the demo model); `settings` are EngineSettings fields and beat the config file. A ready
    `backend` (any rajudge engine) may be given instead; the Judge then leaves closing it to
    the caller.
    """

    def __init__(
        self,
        model: str | PathLike[str] | None = None,
        *,
        backend: Backend | None = None,
        **settings: Any,
    ) -> None:
        if backend is None:
            config = load_config()
            chosen = engine_settings(config.settings, settings)
            name = None if model is None else str(model)
            backend = open_backend(name, chosen, config).backend
            owned = True
            _unclosed.add(self)
        elif model is not None or settings:
            raise TypeError("give either a backend or a model and settings, not both")
        else:
            owned = False
        self._backend = _Serialized(backend, owned=owned)

    @property
    def model_name(self) -> str:
        return self._backend.model_name

    @property
    def settings(self) -> EngineSettings:
        return self._backend.settings

    def judge(
        self,
        prompt: str | Sequence[Mapping[str, str]],
        responses: Mapping[str, str] | Sequence[str],
        principle: PrincipleSpec,
        *,
        item_id: str = "item",
    ) -> ItemResult:
        """Judge one prompt's responses under one principle or several.

        `prompt` is text or chat messages; `responses` maps names to texts, or is a list of
        texts named response-1..N; `principle` is a library name, a YAML file, literal text, a
        Principle, or a list of these. `item_id` seeds the response shuffle. A problem with
        the item (empty, too long for the context) raises InputError.
        """
        chosen = resolve_principles(principle)
        if not chosen:
            raise UsageError("no principle given")
        item = make_item({"id": item_id, "prompt": prompt, "responses": responses})
        (outcome,) = judge_items(self._backend, [item], chosen)
        if isinstance(outcome, InputError):
            raise outcome
        return outcome

    def judge_items(
        self, items: Iterable[Item], principles: PrincipleSpec = ()
    ) -> Iterator[ItemResult | InputError]:
        """Judge items in order: one ItemResult, or the InputError of a failed item, for each.

        Without `principles`, each item is judged under its own `principle`.
        """
        return judge_items(self._backend, items, resolve_principles(principles))

    def score_file(
        self,
        items: Iterable[Item],
        output: str | PathLike[str],
        principles: PrincipleSpec = (),
        *,
        resume: bool = False,
    ) -> Tally:
        """Judge `items` into the file `output`, as `rajudge score -o` does: JSON Lines, or one
        JSON array if it ends in `.json`. With `resume`, the records it already holds for these
        items under these settings stay and only the rest are judged. Ctrl-C stops the run
        between two records (the Tally says `interrupted`); item errors are counted, not raised.
        """
        tally, _ = score_file(
            self._backend,
            list(items),
            resolve_principles(principles),
            Path(output),
            resume_output=resume,
        )
        return tally

    def too_long(self, item: Item) -> InputError | None:
        """The error `item` surely meets for not fitting the context, told at once: without
        waiting for the model, and counting about a context's worth of tokens whatever the
        item's size. None: it may fit (judging checks exactly), or it has no own principle."""
        if item.principle is None:
            return None
        return self._backend.too_long(item, item.principle)

    def close(self) -> None:
        """Free the model (if this Judge loaded it); later calls raise UsageError."""
        _unclosed.discard(self)
        self._backend.close()  # llama.cpp's objects go now, not when the interpreter tears down

    def __enter__(self) -> Judge:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()


def resolve_principles(spec: PrincipleSpec) -> list[Principle]:
    """The principles a spec names; text is resolved like `-p` (library, YAML file, sentence)."""
    specs = [spec] if isinstance(spec, str | Principle) else spec
    return [p for s in specs for p in ([s] if isinstance(s, Principle) else resolve(s))]


def make_item(record: Mapping[str, Any], where: str = "") -> Item:
    """An Item from one record shaped like a JSONL input line, checked by the same reader.

    `where` names the record in errors (default: its id).
    """
    try:
        line = orjson.dumps(record)
    except orjson.JSONEncodeError as exc:
        raise InputError(where, f"cannot be read as JSON data ({exc})") from None
    read = parse_lines([line], where)
    if read.errors:
        raise InputError(where or str(record.get("id", "")), read.errors[0].message)
    return replace(read.items[0], where=where)


class _Serialized(Backend):
    """A backend that judges one batch at a time, and refuses once closed.

    llama.cpp's context is not thread-safe, and a freed model must never be touched again.
    Closing it closes the backend only if it is `owned` (loaded by the Judge).
    """

    def __init__(self, backend: Backend, *, owned: bool) -> None:
        self._backend: Backend | None = backend
        self._owned = owned
        self._lock = threading.Lock()
        self.model_name = backend.model_name
        self.settings = backend.settings
        self._batch_size = backend.batch_size
        self._checking = 0  # too_long calls running outside the lock; close waits for them
        self._checked = threading.Condition()

    @property
    def batch_size(self) -> int:
        return self._batch_size

    def judge_jobs(self, jobs: Sequence[Job]) -> list[Judgment | InputError]:
        with self._lock:
            return self._open().judge_jobs(jobs)

    def too_long(self, item: Item, principle: Principle) -> InputError | None:
        with self._checked:
            backend = self._backend
            if backend is None:  # closed: judging it will say so
                return None
            self._checking += 1
        try:
            return backend.too_long(item, principle)
        finally:
            with self._checked:
                self._checking -= 1
                self._checked.notify_all()

    def _open(self) -> Backend:
        if self._backend is None:
            raise UsageError("this Judge is closed")
        return self._backend

    def close(self) -> None:
        with self._lock, self._checked:
            self._checked.wait_for(lambda: self._checking == 0)
            if self._backend is not None and self._owned:
                self._backend.close()
            self._backend = None
