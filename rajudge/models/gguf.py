"""Read a GGUF file's header (metadata and tensor list) without loading the model.

rajudge checks and describes a model file before llama.cpp sees it, so a wrong file costs the
user one clear line instead of a C++ log, and `rajudge models` stays fast: the header is a few MB
at the front of a multi-GB file, and only that part is read.
"""

from __future__ import annotations

import functools
import io
import math
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rajudge.errors import ModelError

_MAGIC = b"GGUF"
_SUPPORTED_VERSIONS = (2, 3)
_MAX_KEPT_ARRAY = 1024  # longer arrays (vocabulary, merges, scores) are parsed past, not kept
_MAX_DIMS = 4  # GGML_MAX_DIMS
_DEFAULT_ALIGNMENT = 32
_BUFFER = 1 << 20

_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
_STRING, _ARRAY = 8, 9
_SCALARS = {
    0: struct.Struct("<B"),
    1: struct.Struct("<b"),
    2: struct.Struct("<H"),
    3: struct.Struct("<h"),
    4: _U32,
    5: struct.Struct("<i"),
    6: struct.Struct("<f"),
    7: struct.Struct("<?"),
    10: _U64,
    11: struct.Struct("<q"),
    12: struct.Struct("<d"),
}

# ggml tensor type id -> (name, elements per block, bytes per block), as in llama.cpp's
# gguf-py GGML_QUANT_SIZES (llama-cpp-python 0.3.36).
_GGML_TYPES: dict[int, tuple[str, int, int]] = {
    0: ("F32", 1, 4),
    1: ("F16", 1, 2),
    2: ("Q4_0", 32, 18),
    3: ("Q4_1", 32, 20),
    6: ("Q5_0", 32, 22),
    7: ("Q5_1", 32, 24),
    8: ("Q8_0", 32, 34),
    9: ("Q8_1", 32, 36),
    10: ("Q2_K", 256, 84),
    11: ("Q3_K", 256, 110),
    12: ("Q4_K", 256, 144),
    13: ("Q5_K", 256, 176),
    14: ("Q6_K", 256, 210),
    15: ("Q8_K", 256, 292),
    16: ("IQ2_XXS", 256, 66),
    17: ("IQ2_XS", 256, 74),
    18: ("IQ3_XXS", 256, 98),
    19: ("IQ1_S", 256, 50),
    20: ("IQ4_NL", 32, 18),
    21: ("IQ3_S", 256, 110),
    22: ("IQ2_S", 256, 82),
    23: ("IQ4_XS", 256, 136),
    24: ("I8", 1, 1),
    25: ("I16", 1, 2),
    26: ("I32", 1, 4),
    27: ("I64", 1, 8),
    28: ("F64", 1, 8),
    29: ("IQ1_M", 256, 56),
    30: ("BF16", 1, 2),
    34: ("TQ1_0", 256, 54),
    35: ("TQ2_0", 256, 66),
    39: ("MXFP4", 32, 17),
    40: ("NVFP4", 64, 36),
    41: ("Q1_0", 128, 18),
    42: ("Q2_0", 64, 18),
}

# First bytes of files people mistake for a GGUF, and what they are.
_LOOKALIKES = (
    (b"version https://git-lfs", "a Git LFS pointer; fetch the real file with `git lfs pull`"),
    (b"<", "HTML or XML, perhaps an error page saved by a failed download"),
    (b"{", "JSON"),
    (b"PK\x03\x04", "a zip archive (a PyTorch checkpoint?)"),
    (b"lmgg", "an old GGML file (before GGUF); convert it to GGUF"),
    (b"tjgg", "an old GGJT file (before GGUF); convert it to GGUF"),
)


@dataclass(frozen=True)
class Tensor:
    """Where one tensor's data lies in the file."""

    dims: tuple[int, ...]  # ggml order: dims[0] is the length of a row
    type_id: int  # ggml tensor type
    offset: int  # of its first byte, from the start of the file


@dataclass(frozen=True)
class GGUFInfo:
    """What a GGUF header says about a model; huge arrays (the vocabulary) are left out."""

    path: Path
    version: int
    metadata: dict[str, Any]
    tensor_count: int
    parameter_count: int
    file_size: int
    parameters_by_type: dict[str, int]  # ggml type name -> elements stored in that type
    tensors: dict[str, Tensor]  # by name


def tensor_type(type_id: int) -> tuple[str, int, int] | None:
    """A ggml tensor type's name, elements per block and bytes per block; None if unknown."""
    return _GGML_TYPES.get(type_id)


def read_metadata(path: str | Path) -> GGUFInfo:
    """Parse the header of the GGUF file at `path`; any problem is one ModelError line.

    An unchanged file is parsed once per process: choosing a model and loading it both read it,
    and walking a large vocabulary takes a tenth of a second that a one-shot call would pay twice.
    """
    path = Path(path)
    try:
        if path.is_dir():
            raise ModelError(f"{path} is a directory, not a GGUF file")
        stat = path.stat()
        return _parsed(path, path.resolve(), stat.st_size, stat.st_mtime_ns, stat.st_ino)
    except FileNotFoundError:
        raise ModelError(f"{path} does not exist") from None
    except OSError as exc:
        raise ModelError(f"cannot read {path}: {exc.strerror or exc}") from None


@functools.lru_cache(maxsize=8)
def _parsed(path: Path, resolved: Path, size: int, mtime_ns: int, inode: int) -> GGUFInfo:
    """The parse of one version of a file (`resolved` and the rest of the key: which one)."""
    with io.BufferedReader(io.FileIO(path), buffer_size=_BUFFER) as f:
        return _parse(_Reader(f, path, size))


class _Reader:
    """Sequential reads checked against the file size, so a corrupt length reads as truncation."""

    def __init__(self, f: io.BufferedReader[io.FileIO], path: Path, size: int) -> None:
        self._f = f
        self.path = path
        self.size = size
        self.pos = 0

    def peek(self, n: int) -> bytes:
        return self._f.peek(n)[:n]

    def take(self, n: int) -> bytes:
        self._need(n)
        data = self._f.read(n)
        if len(data) < n:  # the file shrank while we read it
            raise self.truncated()
        self.pos += n
        return data

    def skip(self, n: int) -> None:
        self._need(n)
        self._f.seek(n, 1)
        self.pos += n

    def unpack(self, fmt: struct.Struct) -> Any:
        return fmt.unpack(self.take(fmt.size))[0]

    def string(self) -> str:
        raw = self.take(self.unpack(_U64))
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise self.corrupt(f"a string at byte {self.pos - len(raw)} is not UTF-8") from None

    def skip_string(self) -> None:
        self.skip(self.unpack(_U64))

    def skip_strings(self, count: int) -> None:
        """Skip `count` strings by walking the read buffer in place.

        Two file calls per string made a 256k-token vocabulary take over a second.
        """
        while count:
            block = self.peek(_BUFFER)
            at = 0
            while count and at + 8 <= len(block):
                end = at + 8 + _U64.unpack_from(block, at)[0]
                if end > len(block):
                    break
                at = end
                count -= 1
            if at:
                self.skip(at)
            elif count:  # a string that crosses the end of the buffer
                self.skip_string()
                count -= 1

    def _need(self, n: int) -> None:
        if n > self.size - self.pos:
            raise self.truncated()

    def truncated(self) -> ModelError:
        return ModelError(f"{self.path} is truncated (header ends at byte {self.size})")

    def corrupt(self, why: str) -> ModelError:
        return ModelError(f"{self.path} is not a valid GGUF file ({why})")


def _parse(r: _Reader) -> GGUFInfo:
    head = r.peek(32)
    if not head.startswith(_MAGIC):
        raise _not_gguf(r.path, head)
    r.skip(4)
    version = r.unpack(_U32)
    if version not in _SUPPORTED_VERSIONS:
        raise _unsupported_version(r.path, version)
    tensor_count = r.unpack(_U64)
    kv_count = r.unpack(_U64)

    metadata: dict[str, Any] = {}
    for _ in range(kv_count):
        key = r.string()
        value = _read_value(r, r.unpack(_U32), key, keep=True)
        if value is not None:
            metadata[key] = value

    by_type: dict[str, int] = {}
    tensors: dict[str, Tensor] = {}
    data_needed = 0
    for _ in range(tensor_count):
        tensor_name = r.string()
        n_dims = r.unpack(_U32)
        if n_dims > _MAX_DIMS:
            raise r.corrupt(f"a tensor has {n_dims} dimensions")
        dims = struct.unpack(f"<{n_dims}Q", r.take(8 * n_dims))
        elements = math.prod(dims)
        type_id = r.unpack(_U32)
        offset = r.unpack(_U64)
        tensors[tensor_name] = Tensor(dims, type_id, offset)
        name, block, block_bytes = _GGML_TYPES.get(type_id, (f"type {type_id}", 0, 0))
        by_type[name] = by_type.get(name, 0) + elements
        if block:
            data_needed = max(data_needed, offset + elements // block * block_bytes)

    alignment = metadata.get("general.alignment", _DEFAULT_ALIGNMENT)
    if not isinstance(alignment, int) or alignment <= 0:
        raise r.corrupt(f"general.alignment is {alignment!r}")
    data_start = -(-r.pos // alignment) * alignment
    data_end = data_start + data_needed
    if tensor_count and data_end > r.size:
        raise ModelError(
            f"{r.path} is truncated ({r.size} bytes, but its tensors end at byte {data_end}; "
            "an incomplete download?)"
        )
    return GGUFInfo(
        path=r.path,
        version=version,
        metadata=metadata,
        tensor_count=tensor_count,
        parameter_count=sum(by_type.values()),
        file_size=r.size,
        parameters_by_type=by_type,
        tensors={
            name: Tensor(t.dims, t.type_id, data_start + t.offset) for name, t in tensors.items()
        },
    )


def _read_value(r: _Reader, value_type: int, key: str, keep: bool) -> Any:
    """One metadata value; None for an array too long to keep (and everything inside it)."""
    scalar = _SCALARS.get(value_type)
    if scalar is not None:
        if keep:
            return r.unpack(scalar)
        r.skip(scalar.size)
    elif value_type == _STRING:
        if keep:
            return r.string()
        r.skip_string()
    elif value_type == _ARRAY:
        item_type = r.unpack(_U32)
        count = r.unpack(_U64)
        keep = keep and count <= _MAX_KEPT_ARRAY
        item = _SCALARS.get(item_type)
        if item is not None and not keep:
            r.skip(count * item.size)
            return None
        # Every item takes at least this many bytes: a corrupt count fails here, not after
        # millions of iterations.
        min_item = item.size if item is not None else 8 if item_type == _STRING else 12
        if count * min_item > r.size - r.pos:
            raise r.truncated()
        if keep:
            return [_read_value(r, item_type, key, keep=True) for _ in range(count)]
        if item_type == _STRING:
            r.skip_strings(count)
            return None
        for _ in range(count):
            _read_value(r, item_type, key, keep=False)
    else:
        raise r.corrupt(f"unknown value type {value_type} for key {key!r}")
    return None


def _not_gguf(path: Path, head: bytes) -> ModelError:
    if not head:
        return ModelError(f"{path} is empty, not a GGUF file")
    what = next((what for prefix, what in _LOOKALIKES if head.startswith(prefix)), None)
    if what is None and head[8:10] == b'{"':
        what = "safetensors; convert it with llama.cpp's convert_hf_to_gguf.py"
    looks = f"; looks like {what}" if what else ""
    return ModelError(f"{path} is not a GGUF file (starts with {head[:8]!r}{looks})")


def _unsupported_version(path: Path, version: int) -> ModelError:
    if struct.unpack(">I", struct.pack("<I", version))[0] in _SUPPORTED_VERSIONS:
        return ModelError(f"{path} is a big-endian GGUF file; only little-endian is supported")
    return ModelError(
        f"{path} is GGUF version {version}; rajudge reads versions 2 and 3 "
        "(re-convert it with a current llama.cpp)"
    )
