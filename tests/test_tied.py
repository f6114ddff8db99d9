"""An output head stored as a second copy of the token embedding is counted once."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_gguf import F16_T, F32_T, Q8_0_T, STRING, gguf_bytes

from rajudge.models.catalog import describe_model
from rajudge.models.gguf import read_metadata
from rajudge.models.tied import repeated_output_parameters

WIDTH, VOCAB = 64, 96  # a row of the embedding is WIDTH numbers; VOCAB rows
SHAPE = (WIDTH, VOCAB)  # ggml order: row length first
NORM = ("output_norm.weight", (WIDTH,), F32_T)


def q8_0(values: np.ndarray) -> bytes:
    """ggml's Q8_0: per 32 values, a float16 scale and 32 signed bytes."""
    blocks = values.reshape(-1, 32)
    scale = np.abs(blocks).max(axis=1, keepdims=True) / 127
    quants = np.round(blocks / np.where(scale == 0, 1, scale)).astype(np.int8)
    return b"".join(
        s.astype(np.float16).tobytes() + q.tobytes() for s, q in zip(scale, quants, strict=True)
    )


def matrix(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, 0.02, (VOCAB, WIDTH)).astype(np.float32)


def write(path: Path, tensors: list[tuple[str, tuple[int, ...], int]], data: dict) -> Path:
    path.write_bytes(gguf_bytes([("general.architecture", STRING, "qwen2")], tensors, data=data)[0])
    return path


EMBEDDING = matrix(1)
CASES = {
    # a tied model stored twice: the head is the embedding again, quantized its own way
    "tied, Q8_0 head": (Q8_0_T, q8_0(EMBEDDING), VOCAB * WIDTH),
    "tied, F16 head": (F16_T, EMBEDDING.astype(np.float16).tobytes(), VOCAB * WIDTH),
    # an untied model: a head trained apart from the embedding
    "untied": (Q8_0_T, q8_0(matrix(2)), 0),
    "untied, zero head": (F32_T, bytes(VOCAB * WIDTH * 4), 0),
}


@pytest.mark.parametrize(("head_type", "head", "repeated"), CASES.values(), ids=CASES)
def test_a_head_that_repeats_the_embedding_is_counted_once(
    tmp_path: Path, head_type: int, head: bytes, repeated: int
) -> None:
    tensors = [("token_embd.weight", SHAPE, F32_T), ("output.weight", SHAPE, head_type), NORM]
    data = {"token_embd.weight": EMBEDDING.tobytes(), "output.weight": head}
    path = write(tmp_path / "m.gguf", tensors, data)
    assert repeated_output_parameters(read_metadata(path)) == repeated
    assert describe_model(path).parameter_count == 2 * VOCAB * WIDTH + WIDTH - repeated


def test_without_a_second_copy_nothing_is_taken_off(tmp_path: Path) -> None:
    data = {"token_embd.weight": EMBEDDING.tobytes()}
    alone = write(tmp_path / "a.gguf", [("token_embd.weight", SHAPE, F32_T), NORM], data)
    assert repeated_output_parameters(read_metadata(alone)) == 0
    other_shape = [("token_embd.weight", SHAPE, F32_T), ("output.weight", (WIDTH, 32), F32_T)]
    shaped = write(tmp_path / "b.gguf", other_shape, data)
    assert repeated_output_parameters(read_metadata(shaped)) == 0
