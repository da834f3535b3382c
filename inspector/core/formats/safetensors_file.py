"""safetensors files: validate the JSON header strictly and describe every tensor in place.

Layout: u64 little-endian header length N, N bytes of JSON, then the data block. Tensor bytes
are never read here; each ``TensorRef`` points at its bytes through a ``Storage``.

The root is a dict ``{name: TensorRef}`` sorted by name, the order ``safe_open(...).keys()``
gives (the header itself lists tensors in the writer's data order, e.g. grouped by dtype).
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass

from inspector.core.dtypes import SAFETENSORS_DTYPE, itemsize
from inspector.core.errors import CheckpointError
from inspector.core.model import Checkpoint, Storage, TensorRef
from inspector.core.progress import Job, Progress

MAX_HEADER_BYTES = 100 * 1024 * 1024
MAX_RANK = 64
MAX_DIM = (1 << 63) - 1
METADATA_KEY = "__metadata__"
PACKED_4BIT = {"F4"}  # two elements per byte; torch's dtype packs them along the last dim


@dataclass
class SafetensorsContents:
    tensors: dict[str, TensorRef]
    metadata: dict[str, str] | None
    header_bytes: int


def read(path: str) -> Job[Checkpoint]:
    """Read one safetensors file's header into a ``Checkpoint`` (format "safetensors")."""
    yield Progress(0, 1, f"Reading header of {os.path.basename(path)}")
    contents = read_contents(path)
    yield Progress(1, 1, f"{len(contents.tensors)} tensors")
    metadata: dict[str, object] = {"header_bytes": contents.header_bytes}
    if contents.metadata is not None:
        metadata["safetensors_metadata"] = contents.metadata
    return Checkpoint(path=path, format="safetensors", root=contents.tensors,
                      metadata=metadata)


def read_contents(path: str) -> SafetensorsContents:
    """Parse and validate the header of the safetensors file at ``path``."""
    name = os.path.basename(path)
    fd = open_regular_file(path)
    try:
        file_size = os.fstat(fd).st_size
        header_len = _read_header_length(fd, file_size, name)
        raw = _pread_exact(fd, header_len, 8, name)
    finally:
        os.close(fd)
    header = parse_json_object(raw, name)
    data_start = 8 + header_len
    metadata = _parse_metadata(header.pop(METADATA_KEY, None), name)
    tensors = _build_tensors(path, header, data_start, file_size - data_start, name)
    return SafetensorsContents(tensors=tensors, metadata=metadata, header_bytes=header_len)


def quoted(text: object, limit: int = 120) -> str:
    """``repr`` cut short: names taken from a file stay one short line in messages."""
    text = text if isinstance(text, str) else repr(text)
    return repr(text[:limit]) + ("..." if len(text) > limit else "")


def one_line(text: object, limit: int = 120) -> str:
    """``text`` as is when it is short and printable, else ``quoted``."""
    text = text if isinstance(text, str) else repr(text)
    return text if len(text) <= limit and text.isprintable() else quoted(text, limit)


def open_regular_file(path: str) -> int:
    """Open ``path`` read-only, refusing FIFOs, devices and folders without blocking on them."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise CheckpointError(f"{path}: not a regular file (folder, FIFO or device)")
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as error:
        raise CheckpointError(f"{path}: cannot open: {error.strerror or error}") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):  # it changed between the two checks
        os.close(fd)
        raise CheckpointError(f"{path}: not a regular file (folder, FIFO or device)")
    return fd


def _read_header_length(fd: int, file_size: int, name: str) -> int:
    if file_size < 8:
        raise CheckpointError(f"{name}: too short for a safetensors file ({file_size} bytes)")
    header_len = int.from_bytes(_pread_exact(fd, 8, 0, name), "little")
    if header_len > MAX_HEADER_BYTES:
        raise CheckpointError(
            f"{name}: safetensors header length {header_len} bytes is over the 100 MB limit")
    if 8 + header_len > file_size:
        raise CheckpointError(
            f"{name}: safetensors header length {header_len} runs past the end of the file "
            f"({file_size} bytes)")
    return header_len


def _pread_exact(fd: int, size: int, offset: int, name: str) -> bytes:
    chunks = []
    while size > 0:
        chunk = os.pread(fd, min(size, 1 << 24), offset)
        if not chunk:
            raise CheckpointError(f"{name}: file ends early (truncated?)")
        chunks.append(chunk)
        size -= len(chunk)
        offset += len(chunk)
    return b"".join(chunks)


def parse_json_object(raw: bytes, name: str, what: str = "header") -> dict[str, object]:
    """Strict JSON object: UTF-8, starts with ``{``, no duplicate keys."""
    if not raw.startswith(b"{"):
        raise CheckpointError(f"{name}: {what} does not start with '{{' (not a JSON object)")
    try:
        header = json.loads(raw.decode("utf-8"), object_pairs_hook=_reject_duplicate_keys)
    except _DuplicateKey as duplicate:
        raise CheckpointError(
            f"{name}: duplicate key {quoted(duplicate.key)} in the {what}") from None
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise CheckpointError(f"{name}: {what} is not valid JSON ({_short(error)})") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{name}: {what} is JSON but not an object")
    return header


class _DuplicateKey(ValueError):
    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


def _reject_duplicate_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    result: dict[str, object] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


def _short(error: Exception) -> str:
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    return text[:120]


def _parse_metadata(value: object, name: str) -> dict[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise CheckpointError(f"{name}: __metadata__ must be a map of strings to strings")
    for key, item in value.items():
        if not isinstance(item, str):
            raise CheckpointError(
                f"{name}: __metadata__ must be a map of strings to strings "
                f"(value of {quoted(key)} is {type(item).__name__})")
    return value


def _build_tensors(path: str, header: dict[str, object], data_start: int, data_len: int,
                   name: str) -> dict[str, TensorRef]:
    spans: list[tuple[int, int, str]] = []
    tensors: dict[str, TensorRef] = {}
    for key, entry in header.items():
        dtype, shape, begin, end = _parse_entry(key, entry, name)
        if end > data_len:
            raise CheckpointError(
                f"{name}: data of {quoted(key)} ends at byte {end}, past the end of the file "
                f"(data block is {data_len} bytes)")
        spans.append((begin, end, key))
        storage = Storage(path=path, offset=data_start + begin, nbytes=end - begin,
                          dtype=dtype, key=key)
        tensors[key] = TensorRef(dtype=dtype, shape=shape, stride=row_major_strides(shape),
                                 storage=storage)
    check_layout(spans, data_len, name)
    return {key: tensors[key] for key in sorted(tensors)}


def _parse_entry(key: str, entry: object, name: str) -> tuple[str, tuple[int, ...], int, int]:
    if not isinstance(entry, dict):
        raise CheckpointError(f"{name}: header entry {quoted(key)} is not an object")
    for field_name in ("dtype", "shape", "data_offsets"):
        if field_name not in entry:
            raise CheckpointError(f"{name}: header entry {quoted(key)} has no {quoted(field_name)}")
    code = entry["dtype"]
    if not isinstance(code, str) or code not in SAFETENSORS_DTYPE:
        raise CheckpointError(f"{name}: tensor {quoted(key)} has unknown dtype {quoted(code)}")
    shape = _parse_shape(key, entry["shape"], name)
    begin, end = _parse_offsets(key, entry["data_offsets"], name)
    dtype, shape = _torch_dtype_and_shape(code, shape, key, name)
    expected = _numel(shape) * itemsize(dtype)
    if expected != end - begin:
        raise CheckpointError(
            f"{name}: tensor {quoted(key)} has shape {list(entry['shape'])} of {code} = "
            f"{expected} bytes, "
            f"but its data_offsets span {end - begin} bytes")
    return dtype, shape, begin, end


def _parse_shape(key: str, shape: object, name: str) -> tuple[int, ...]:
    if not isinstance(shape, list) or not all(_is_int(size) for size in shape):
        raise CheckpointError(f"{name}: tensor {quoted(key)} shape must be a list of integers")
    if len(shape) > MAX_RANK:
        raise CheckpointError(f"{name}: tensor {quoted(key)} has an absurd rank {len(shape)}")
    for size in shape:
        if size < 0:
            raise CheckpointError(
                f"{name}: tensor {quoted(key)} has a negative size in shape {shape}")
        if size > MAX_DIM:
            raise CheckpointError(
                f"{name}: tensor {quoted(key)} has an absurd size in shape {shape}")
    return tuple(shape)


def _parse_offsets(key: str, offsets: object, name: str) -> tuple[int, int]:
    if (not isinstance(offsets, list) or len(offsets) != 2
            or not all(_is_int(value) for value in offsets)):
        raise CheckpointError(f"{name}: tensor {quoted(key)} data_offsets must be two integers")
    begin, end = offsets
    if begin < 0 or end < begin:
        raise CheckpointError(f"{name}: tensor {quoted(key)} has invalid data_offsets {offsets}")
    return begin, end


def _torch_dtype_and_shape(code: str, shape: tuple[int, ...], key: str,
                           name: str) -> tuple[str, tuple[int, ...]]:
    dtype = SAFETENSORS_DTYPE[code]
    if code not in PACKED_4BIT:
        return dtype, shape
    if not shape or shape[-1] % 2:
        raise CheckpointError(
            f"{name}: tensor {quoted(key)} of {code} needs an even last dimension, "
            f"got {list(shape)}")
    return dtype, shape[:-1] + (shape[-1] // 2,)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _numel(shape: tuple[int, ...]) -> int:
    count = 1
    for size in shape:
        count *= size
    return count


def row_major_strides(shape: tuple[int, ...]) -> tuple[int, ...]:
    strides = []
    step = 1
    for size in reversed(shape):
        strides.append(step)
        step *= max(size, 1)
    return tuple(reversed(strides))


def check_layout(spans: list[tuple[int, int, str]], data_len: int, name: str) -> None:
    """Data offsets must tile the data block exactly: sorted, no overlap, no gap."""
    position = 0
    previous = ""
    for begin, end, key in sorted(spans):
        if begin < position:
            raise CheckpointError(
                f"{name}: data of {quoted(key)} overlaps data of {quoted(previous)}")
        if begin > position:
            raise CheckpointError(
                f"{name}: gap of {begin - position} bytes in the data before {quoted(key)}")
        position, previous = end, key
    if position != data_len:
        raise CheckpointError(
            f"{name}: tensors cover {position} bytes but the data block is {data_len} bytes "
            "(trailing bytes)")
