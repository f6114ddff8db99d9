"""Tied embeddings stored twice: an output head that repeats the token embedding.

Models such as Qwen2.5-0.5B and 1.5B share one matrix between the token embedding and the
output head, yet their GGUF files often hold it twice, as `token_embd.weight` and
`output.weight` (each quantized its own way). Nothing in the header says so; the numbers do.
A few rows of each are read back through ggml's own dequantization (every type llama.cpp
knows) and compared: copies of one matrix agree up to quantization noise, two trained
matrices do not.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from pathlib import Path

import numpy as np

from rajudge.models.gguf import GGUFInfo, Tensor, tensor_type

_EMBEDDING, _OUTPUT = "token_embd.weight", "output.weight"
_ROWS = 16  # rows compared, spread over the vocabulary
_SAME = 0.9  # cosine similarity of the sampled rows above which the head is a copy
_F32 = 0
_ToFloat = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.POINTER(ctypes.c_float), ctypes.c_int64)


class _TypeTraits(ctypes.Structure):
    """struct ggml_type_traits (ggml.h)."""

    _fields_ = (
        ("type_name", ctypes.c_char_p),
        ("blck_size", ctypes.c_int64),
        ("blck_size_interleave", ctypes.c_int64),
        ("type_size", ctypes.c_size_t),
        ("is_quantized", ctypes.c_bool),
        ("to_float", ctypes.c_void_p),
        ("from_float_ref", ctypes.c_void_p),
    )


def repeated_output_parameters(info: GGUFInfo) -> int:
    """The parameters of an output head that repeats the token embedding, else 0."""
    embedding, output = info.tensors.get(_EMBEDDING), info.tensors.get(_OUTPUT)
    if embedding is None or output is None or embedding.dims != output.dims:
        return 0
    rows = np.unique(np.linspace(0, _row_count(embedding) - 1, _ROWS).astype(int))
    a, b = _rows(info.path, embedding, rows), _rows(info.path, output, rows)
    if a is None or b is None:
        return 0
    norms = float(np.linalg.norm(a) * np.linalg.norm(b))
    same = norms > 0 and float(a @ b) / norms > _SAME
    return _row_count(output) * output.dims[0] if same else 0


def _row_count(tensor: Tensor) -> int:
    return int(np.prod(tensor.dims[1:]))


def _rows(path: Path, tensor: Tensor, rows: np.ndarray) -> np.ndarray | None:
    """The given rows of a 2-D tensor as one float32 vector; None for a type ggml lacks."""
    known = tensor_type(tensor.type_id)
    to_float = _to_float(tensor.type_id)
    if known is None or to_float is None:
        return None
    _, block, block_bytes = known
    width = tensor.dims[0]
    row_bytes = width // block * block_bytes
    out = []
    with path.open("rb") as f:
        for row in rows:
            f.seek(tensor.offset + int(row) * row_bytes)
            data = f.read(row_bytes)
            if len(data) < row_bytes:
                return None
            out.append(to_float(data, width))
    return np.concatenate(out)


def _to_float(type_id: int) -> Callable[[bytes, int], np.ndarray] | None:
    """A function from one row's bytes and its width to float32 values: ggml's own."""
    if type_id == _F32:
        return lambda data, _: np.frombuffer(data, dtype=np.float32)
    known = tensor_type(type_id)
    if known is None:
        return None
    import llama_cpp  # deferred: loading the native library is slow

    get_traits = llama_cpp.llama_cpp._lib.ggml_get_type_traits
    get_traits.argtypes, get_traits.restype = (ctypes.c_int,), ctypes.POINTER(_TypeTraits)
    traits = get_traits(type_id).contents
    if not traits.to_float or (traits.blck_size, traits.type_size) != known[1:]:
        return None  # a ggml that disagrees with rajudge's table of types: trust neither
    to_float = _ToFloat(traits.to_float)

    def convert(data: bytes, width: int) -> np.ndarray:
        values = np.empty(width, dtype=np.float32)
        to_float(data, values.ctypes.data_as(ctypes.POINTER(ctypes.c_float)), width)
        return values

    return convert
