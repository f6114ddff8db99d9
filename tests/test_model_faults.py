"""Model faults through the real `rajudge score`, in subprocesses: one line, a documented code.

Missing, a directory, not a GGUF, truncated, an architecture this llama.cpp does not know, a
GGUF llama.cpp refuses for another reason, no chat template, and a context too small for the
judge's instructions. llama.cpp's own log stays out of sight unless RAJUDGE_DEBUG=1.
"""

from __future__ import annotations

import struct
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_process import run_rajudge
from test_gguf import F32_T, STRING, U32, gguf_bytes

EXIT_USAGE, EXIT_MODEL = 2, 3
ITEM = '{"id": "q1", "prompt": "2 + 2?", "responses": {"a": "4", "b": "5"}}\n'

Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def run(tmp_path: Path) -> Run:
    """`python -m rajudge score in.jsonl -p concise ARGS` in tmp_path, user dirs isolated."""
    (tmp_path / "in.jsonl").write_text(ITEM)

    def invoke(*args: str, debug: bool = False) -> subprocess.CompletedProcess[str]:
        env = {"RAJUDGE_DEBUG": "1"} if debug else None
        return run_rajudge("score", "in.jsonl", "-p", "concise", *args, cwd=tmp_path, env=env)

    return invoke


def one_line(done: subprocess.CompletedProcess[str], code: int, *expected: str) -> str:
    """The command failed with `code` and said so in a single line holding `expected`."""
    assert done.returncode == code, done.stderr
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr  # no traceback, no llama.cpp log, no wrapped line
    (line,) = lines
    assert line.startswith("error: ")
    for text in expected:
        assert text in line
    return line


def patched_copy(source: Path, target: Path, old: bytes = b"", new: bytes = b"") -> Path:
    """A copy of a GGUF with one header string replaced by another of the same length."""
    assert len(old) == len(new)
    data = bytearray(source.read_bytes())
    if old:
        at = data.find(old)
        assert at > 0 and data.find(old, at + 1) < 0
        data[at : at + len(old)] = new
    target.write_bytes(bytes(data))
    return target


def _string(text: str) -> bytes:
    return struct.pack("<Q", len(text)) + text.encode()


@pytest.fixture(scope="module")
def demo_copies(demo_model: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The demo model under another name (so no demo notice), with an architecture llama.cpp
    does not know, and without a chat template."""
    folder = tmp_path_factory.mktemp("faults")
    arch = _string("general.architecture") + struct.pack("<I", STRING) + _string("llama")
    template = _string("tokenizer.chat_template")
    return {
        "plain": patched_copy(demo_model, folder / "judge.gguf"),
        "architecture": patched_copy(
            demo_model, folder / "newarch.gguf", arch, arch.replace(b"llama", b"xlama")
        ),
        "template": patched_copy(
            demo_model,
            folder / "untemplated.gguf",
            template,
            template.replace(b"template", b"templatX"),
        ),
    }


def test_missing_model(run: Run) -> None:
    one_line(run("-m", "absent.gguf"), EXIT_MODEL, "absent.gguf does not exist")
    one_line(run("-m", "models/absent.gguf"), EXIT_MODEL, "models/absent.gguf does not exist")


@pytest.mark.parametrize("spec", ["weights", "weights/", "weights.gguf"])
def test_a_directory(run: Run, tmp_path: Path, spec: str) -> None:
    (tmp_path / spec.rstrip("/")).mkdir()
    one_line(run("-m", spec), EXIT_MODEL, "is a directory, not a GGUF file")


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"", "is empty, not a GGUF file"),
        (b"version https://git-lfs.github.com/spec/v1\n", "a Git LFS pointer"),
        (b"<!DOCTYPE html><html>Not Found</html>", "HTML or XML"),
        (b"PK\x03\x04rest-of-a-zip", "a zip archive"),
        (b'\x10\x00\x00\x00\x00\x00\x00\x00{"__metadata__": {}}', "safetensors"),
        (b"just some text that is not a model at all", "is not a GGUF file"),
        (b"root:x:0:0:root:/root:/bin/bash\n", "(starts with b'root:x:0'"),  # no emoji for :x:
    ],
)
def test_not_a_gguf(run: Run, tmp_path: Path, content: bytes, says: str) -> None:
    (tmp_path / "model.gguf").write_bytes(content)
    one_line(run("-m", "model.gguf"), EXIT_MODEL, "model.gguf", says)


@pytest.mark.parametrize("keep", [0.5, 0.0002])
def test_a_truncated_gguf(run: Run, tmp_path: Path, demo_model: Path, keep: float) -> None:
    data = demo_model.read_bytes()
    (tmp_path / "cut.gguf").write_bytes(data[: int(len(data) * keep)])
    one_line(run("-m", "cut.gguf"), EXIT_MODEL, "cut.gguf is truncated")


def test_an_architecture_llama_cpp_does_not_know(run: Run, tmp_path: Path) -> None:
    data, _ = gguf_bytes(
        [
            ("general.architecture", STRING, "frobnicator"),
            ("frobnicator.context_length", U32, 2048),
            ("tokenizer.chat_template", STRING, "{{ messages }}"),
        ],
        [("token_embd.weight", (64, 8), F32_T)],
    )
    (tmp_path / "frob.gguf").write_bytes(data)
    line = one_line(run("-m", "frob.gguf"), EXIT_MODEL, "frob.gguf: llama.cpp could not load")
    assert "unknown model architecture: 'frobnicator'" in line
    assert "does not support it" in line


def test_a_real_model_whose_architecture_is_renamed(run: Run, demo_copies: dict[str, Path]) -> None:
    line = one_line(run("-m", str(demo_copies["architecture"])), EXIT_MODEL)
    assert "unknown model architecture: 'xlama'" in line


def test_llama_cpp_says_why_it_refuses_a_gguf(run: Run, llama_material: Path) -> None:
    vocab_only = llama_material / "ggml-vocab-qwen2.gguf"  # a valid GGUF without weights
    line = one_line(run("-m", str(vocab_only)), EXIT_MODEL, "llama.cpp could not load")
    assert "tensor 'token_embd.weight' not found" in line


def test_a_model_without_a_chat_template(run: Run, demo_copies: dict[str, Path]) -> None:
    one_line(
        run("-m", str(demo_copies["template"])),
        EXIT_MODEL,
        "the model has no chat template, so it cannot be a judge",
    )


@pytest.mark.parametrize("mode", ["fast", "reasoning"])
def test_a_context_too_small_for_the_instructions_fails_before_judging(
    run: Run, demo_copies: dict[str, Path], mode: str
) -> None:
    line = one_line(run("--ctx", "64", "--mode", mode, "-m", str(demo_copies["plain"])), EXIT_USAGE)
    assert "cannot hold the judge's instructions" in line and "raise --ctx" in line


def test_debug_shows_llama_cpp_log_and_the_traceback(run: Run, tmp_path: Path) -> None:
    data, _ = gguf_bytes([("general.architecture", STRING, "frobnicator")], [])
    (tmp_path / "frob.gguf").write_bytes(data)
    done = run("-m", "frob.gguf", debug=True)
    assert done.returncode != 0
    assert "llama_model_load: error loading model: unknown model architecture" in done.stderr
    assert "Traceback" in done.stderr and "rajudge.errors.ModelError" in done.stderr
