"""The SQLite result cache: keys, hits across runs, two writers at once, a damaged file."""

from __future__ import annotations

import dataclasses
import io
import json
import multiprocessing
import os
import sqlite3
import subprocess
import sys
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

import pytest
from fake_backend import FakeBackend
from rich.console import Console

from rajudge.engine.base import judge_one
from rajudge.judging.protocol import masked_order
from rajudge.output.render import render_result
from rajudge.records import Item, ItemResult, Judgment, Principle
from rajudge.run.cache import (
    CACHE_FILE,
    Fingerprint,
    ResultCache,
    cache_dir,
    judgment_key,
    model_identity,
)
from rajudge.settings import EngineSettings

CONCISE = Principle(name="concise", text="Prefer the shortest response that fully answers.")
ITEM = Item(
    id="capital",
    prompt="What is the capital of France?",
    responses={"terse": "Paris.", "wrong": "The capital of France is Lyon."},
)
FINGERPRINT = Fingerprint.of("model.gguf|1|2", EngineSettings())
SWAPPED = ["wrong", "terse"]
FAST = ["--ctx", "2048", "--rationale-tokens", "4", "--threads", "1"]


def numbered_item(number: int) -> Item:
    return Item(id=f"n{number}", prompt=f"Count to {number}.", responses={"a": "1", "b": "1 2"})


def cached_judgment(
    cache: ResultCache,
    backend: FakeBackend,
    fingerprint: Fingerprint,
    item: Item,
    principle: Principle,
) -> Judgment:
    """The judgment a run would get: the cache's when it was made before, else made and stored
    (what rajudge.run.schedule does for each job)."""
    found = cache.find(fingerprint, item, principle, model=backend.model_name)
    if found is not None:
        return found
    judgment = judge_one(backend, item, principle)
    cache.store(fingerprint, item, principle, None, judgment)
    return judgment


def fill_cache(path: Path, start: int, count: int, barrier: Barrier) -> None:
    """One writer process: open the cache when the other does, store `count` judgments."""
    barrier.wait()
    cache = ResultCache(path)
    backend = FakeBackend()
    for number in range(start, start + count):
        cached_judgment(cache, backend, FINGERPRINT, numbered_item(number), CONCISE)
    cache.close()
    if len(backend.jobs) != count:
        raise SystemExit(f"expected {count} misses, got {len(backend.jobs)}")


def test_cache_location_follows_the_platform_convention(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setattr(sys, "platform", "linux")
    assert cache_dir() == tmp_path / "home" / ".cache" / "rajudge"
    monkeypatch.setattr(sys, "platform", "darwin")
    assert cache_dir() == tmp_path / "home" / "Library" / "Caches" / "rajudge"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "rajudge"
    monkeypatch.setenv("RAJUDGE_CACHE_DIR", str(tmp_path / "mine"))
    assert cache_dir() == tmp_path / "mine"


def test_model_identity_changes_when_the_file_is_rewritten(tmp_path: Path) -> None:
    model = tmp_path / "m.gguf"
    model.write_bytes(b"GGUF" + bytes(60))
    before = model_identity(model)
    assert model_identity(tmp_path / "." / "m.gguf") == before  # the same file, however named
    os.utime(model, ns=(1, 1))
    assert model_identity(model) != before
    model.write_bytes(b"GGUF" + bytes(61))
    os.utime(model, ns=(1, 1))
    assert model_identity(model) != before


@pytest.mark.parametrize(
    ("part", "change"),
    [
        ("fingerprint", {"model": "other.gguf|1|2"}),
        ("fingerprint", {"protocol": FINGERPRINT.protocol + 1}),
        ("fingerprint", {"mode": "reasoning"}),
        ("fingerprint", {"seed": 1}),
        ("fingerprint", {"temperature": 0.5}),
        ("fingerprint", {"reasoning_budget": 100}),
        ("fingerprint", {"rationale_tokens": 5}),
        ("principle", {"text": "Prefer the longest response."}),
        ("item", {"prompt": "What is the capital of Spain?"}),
        ("item", {"responses": {"terse": "Paris!", "wrong": "Lyon."}}),
        ("item", {"responses": {"short": "Paris.", "wrong": "The capital of France is Lyon."}}),
        ("order", {}),
    ],
    ids=lambda value: "-".join(value) if isinstance(value, dict) else value,
)
def test_every_part_of_the_key_changes_it(part: str, change: dict[str, Any]) -> None:
    fingerprint, item, principle, order = FINGERPRINT, ITEM, CONCISE, None
    if part == "fingerprint":
        fingerprint = dataclasses.replace(FINGERPRINT, **change)
    elif part == "principle":
        principle = dataclasses.replace(CONCISE, **change)
    elif part == "item":
        item = dataclasses.replace(ITEM, **change)
    else:
        order = masked_order(ITEM, FINGERPRINT.seed)[::-1]
    assert judgment_key(fingerprint, item, principle, order) != judgment_key(
        FINGERPRINT, ITEM, CONCISE
    )


def test_what_the_judge_does_not_see_leaves_the_key_alone() -> None:
    key = judgment_key(FINGERPRINT, ITEM, CONCISE, SWAPPED)
    renamed = dataclasses.replace(CONCISE, name="brief", weight=3.0, source="inline")
    reordered = dataclasses.replace(ITEM, responses=dict(reversed(ITEM.responses.items())))
    other_id = dataclasses.replace(ITEM, id="elsewhere")
    assert judgment_key(FINGERPRINT, ITEM, renamed, SWAPPED) == key
    assert judgment_key(FINGERPRINT, reordered, CONCISE, SWAPPED) == key
    assert judgment_key(FINGERPRINT, other_id, CONCISE, SWAPPED) == key
    # Sampled free text is seeded by the item id, so there the id is part of the judgment.
    sampled = dataclasses.replace(FINGERPRINT, temperature=0.7)
    assert judgment_key(sampled, other_id, CONCISE, SWAPPED) != judgment_key(
        sampled, ITEM, CONCISE, SWAPPED
    )


def test_a_judgment_is_made_once_then_answered_from_the_file(tmp_path: Path) -> None:
    backend = FakeBackend()
    path = tmp_path / CACHE_FILE
    fingerprint = Fingerprint.of("demo", backend.settings)
    first_run = ResultCache(path)
    made = cached_judgment(first_run, backend, fingerprint, ITEM, CONCISE)
    again = cached_judgment(first_run, backend, fingerprint, ITEM, CONCISE)
    first_run.close()
    later_run = ResultCache(path)
    later = cached_judgment(
        later_run, backend, fingerprint, dataclasses.replace(ITEM, id="x"), CONCISE
    )
    other = cached_judgment(
        later_run, backend, fingerprint, ITEM, dataclasses.replace(CONCISE, text="Be kind.")
    )
    later_run.close()

    assert not made.timings.cached
    for hit in (again, later):
        assert hit.timings == dataclasses.replace(made.timings, cached=True)
        assert (hit.responses, hit.rationale, hit.model) == (
            made.responses,
            made.rationale,
            made.model,
        )
    assert later.item_id == "x"
    assert not other.timings.cached


def test_two_processes_writing_at_once_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / CACHE_FILE
    spawn = multiprocessing.get_context("spawn")
    barrier = spawn.Barrier(2)
    writers = [
        spawn.Process(target=fill_cache, args=(path, start, 150, barrier)) for start in (0, 150)
    ]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(timeout=300)
    assert [writer.exitcode for writer in writers] == [0, 0]

    cache = ResultCache(path)
    reader = FakeBackend()
    for number in range(300):
        assert cached_judgment(
            cache, reader, FINGERPRINT, numbered_item(number), CONCISE
        ).timings.cached
    cache.close()
    assert reader.jobs == []
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert db.execute("SELECT count(*) FROM judgments").fetchone() == (300,)


def test_a_garbage_cache_file_is_a_warning_and_judging_goes_on(tmp_path: Path) -> None:
    garbage = b"this is not a database\x00" * 200
    (tmp_path / CACHE_FILE).write_bytes(garbage)
    with pytest.warns(UserWarning, match="cannot be used .*judging without it"):
        assert ResultCache.open(tmp_path / CACHE_FILE) is None

    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"id": "q", "prompt": "2 + 2?", "responses": ["4", "5"]}) + "\n")
    env = {**os.environ, "RAJUDGE_CACHE_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "rajudge", "score", str(source), "-p", "concise", *FAST],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert f"warning: result cache {tmp_path / CACHE_FILE} cannot be used" in " ".join(
        done.stderr.split()
    )
    assert "Traceback" not in done.stderr
    assert json.loads(done.stdout)["id"] == "q"
    assert (tmp_path / CACHE_FILE).read_bytes() == garbage  # left for the user to look at


def test_a_cache_damaged_mid_run_is_dropped_with_one_warning(tmp_path: Path) -> None:
    cache = ResultCache(tmp_path / CACHE_FILE)
    backend = FakeBackend()
    cached_judgment(cache, backend, FINGERPRINT, ITEM, CONCISE)
    for part in tmp_path.iterdir():  # the database and its write-ahead log
        part.write_bytes(b"overwritten by something else" * 100)
    with pytest.warns(UserWarning, match="cannot be used") as warned:
        for number in range(3):
            judgment = cached_judgment(cache, backend, FINGERPRINT, numbered_item(number), CONCISE)
            assert not judgment.timings.cached
    cache.close()
    assert len(warned) == 1
    assert len(backend.jobs) == 4


def test_score_twice_takes_the_second_from_the_cache_unless_told_not_to(tmp_path: Path) -> None:
    rows = [
        {"id": "q1", "prompt": "Name a primary colour.", "responses": {"a": "Red.", "b": "Mauve."}},
        {"id": "q2", "prompt": "2 + 2?", "responses": ["4", "5"]},
    ]
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(row) + "\n" for row in rows))
    env = {**os.environ, "RAJUDGE_CACHE_DIR": str(tmp_path / "cache")}

    def score(*extra: str) -> tuple[list[dict], str]:
        done = subprocess.run(
            [sys.executable, "-m", "rajudge", "score", str(source), "-p", "concise", *FAST, *extra],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        return [json.loads(line) for line in done.stdout.splitlines()], done.stderr

    fresh, _ = score()
    cached, summary = score()
    uncached, _ = score("--no-cache")

    assert (tmp_path / "cache" / CACHE_FILE).is_file()
    assert "2 judgment(s) from the cache" in summary
    for record in fresh:
        record["judgments"][0]["timings"]["cached"] = True
    assert cached == fresh  # the original timings, marked as cached
    for record in uncached:
        assert record["judgments"][0]["timings"]["cached"] is False
        del record["judgments"][0]["timings"]
    for record in fresh:
        del record["judgments"][0]["timings"]
    assert uncached == fresh


def test_the_table_says_when_a_judgment_came_from_the_cache(tmp_path: Path) -> None:
    cache = ResultCache(tmp_path / CACHE_FILE)
    backend = FakeBackend()
    fresh = cached_judgment(cache, backend, FINGERPRINT, ITEM, CONCISE)
    hit = cached_judgment(cache, backend, FINGERPRINT, ITEM, CONCISE)
    cache.close()

    def footer(*judgments: Judgment) -> str:
        console = Console(width=100, record=True, file=io.StringIO())
        console.print(render_result(ItemResult(item=ITEM, judgments=judgments)))
        return console.export_text().strip().splitlines()[-1]

    assert footer(fresh) == "fake-judge · fast · 0.00 s"
    assert footer(hit) == "fake-judge · fast · 0.00 s · from the cache"
    assert footer(fresh, hit).endswith("· 1 of 2 from the cache")
