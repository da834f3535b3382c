"""Tensor values from the file: exactly the elements torch would give, read lazily.

Only the byte span a tensor (or one block of it) covers is read, with ``os.preadv`` into a
buffer we own. Geometry is validated against the storage and the file before any read.
bfloat16 and float8 values come back as ``ml_dtypes`` types; big-endian storages are
byte-swapped to native order; complex32 comes back as complex64; quantized tensors give
their integer representation (``int_repr()``: scale and zero point stay in
``TensorRef.extra``); packed sub-byte and ``bits*`` types give their raw unsigned words.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator

import numpy as np

from inspector.core.dtypes import ITEMSIZE
from inspector.core.errors import CheckpointError
from inspector.core.model import TensorRef
from inspector.core.value_object import EqualByFields

DEFAULT_CHUNK = 1 << 22
# A view may visit its stored elements more than once (overlapping strides). Walking it is
# allowed up to this many times its storage (or MIN_WALK elements), so the time any read takes
# is bounded by the bytes stored, never by the count a file declares. Repeats along stride-0
# dimensions (``expand``) never count: ``stored_view`` removes them first.
MAX_REPEAT = 16
MIN_WALK = 1 << 24

_PLAIN = {
    "float64": "f8", "float32": "f4", "float16": "f2",
    "complex128": "c16", "complex64": "c8",
    "int64": "i8", "int32": "i4", "int16": "i2", "int8": "i1",
    "uint64": "u8", "uint32": "u4", "uint16": "u2", "uint8": "u1", "bool": "?",
    # quantized tensors: the integer representation (torch's int_repr())
    "qint8": "i1", "quint8": "u1", "qint32": "i4",
}
_ML_DTYPES = {"bfloat16", "float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz",
              "float8_e5m2fnuz", "float8_e8m0fnu"}
# packed sub-byte and "bits" types: the raw unsigned bytes/words
_RAW = {"float4_e2m1fn_x2", "quint4x2", "quint2x4", "bits8", "bits1x8", "bits2x4",
        "bits4x2", "bits16"}
_READABLE_LAYOUTS = {"strided", "quantized"}


def numpy_dtype(name: str) -> np.dtype:
    """The native-order numpy dtype ``read_array`` returns for torch dtype ``name``."""
    if name in _PLAIN:
        return np.dtype(_PLAIN[name])
    if name in _ML_DTYPES:
        import ml_dtypes

        return np.dtype(getattr(ml_dtypes, name))
    if name in _RAW:
        return np.dtype(f"u{ITEMSIZE[name]}")
    if name == "complex32":
        return np.dtype(np.complex64)
    raise CheckpointError(f"cannot read values of dtype {name!r}")


class _Codec:
    """How stored elements are addressed (``unit``) and turned into the returned array."""

    __slots__ = ("unit", "finish")

    def __init__(self, unit: np.dtype, finish: Callable[[np.ndarray], np.ndarray]) -> None:
        self.unit = unit
        self.finish = finish


def _codec(name: str, byteorder: str) -> _Codec:
    order = ">" if byteorder == "big" else "<"
    result = numpy_dtype(name)
    if name == "complex32":
        pair = np.dtype([("re", order + "f2"), ("im", order + "f2")])
        return _Codec(pair, _complex32_to_complex64)
    code = _PLAIN.get(name) or f"u{ITEMSIZE[name]}"
    unit = np.dtype(code).newbyteorder(order)
    return _Codec(unit, lambda raw: _to_native(raw).view(result))


def _to_native(raw: np.ndarray) -> np.ndarray:
    if raw.dtype.isnative:
        return raw
    return raw.byteswap(inplace=True).view(raw.dtype.newbyteorder("="))


def _complex32_to_complex64(pairs: np.ndarray) -> np.ndarray:
    out = np.empty(pairs.shape, np.complex64)
    out.real = pairs["re"]
    out.imag = pairs["im"]
    return out


class FileCache:
    """Open file descriptors shared by many reads; close with ``close()`` or ``with``."""

    def __init__(self) -> None:
        self._open: dict[str, tuple[int, int]] = {}

    def get(self, path: str) -> tuple[int, int]:
        """(descriptor, file size) of a regular file."""
        if path not in self._open:
            self._open[path] = _open_regular(path)
        return self._open[path]

    def close(self) -> None:
        for fd, _ in self._open.values():
            os.close(fd)
        self._open.clear()

    def __enter__(self) -> FileCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _open_regular(path: str) -> tuple[int, int]:
    try:  # O_NONBLOCK: opening a FIFO must not wait for a writer
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as error:
        raise CheckpointError(f"cannot open {path}: {error.strerror}") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise CheckpointError(f"{path} is not a regular file")
    return fd, info.st_size


class Scratch:
    """Work buffers reused chunk after chunk by one job.

    Fresh multi-megabyte arrays cost page faults that take longer than the arithmetic done
    in them, so stats and histograms borrow their temporaries from here.
    """

    def __init__(self) -> None:
        self._buffers: dict[tuple[str, np.dtype], np.ndarray] = {}

    def get(self, name: str, dtype: np.dtype | type, size: int) -> np.ndarray:
        key = (name, np.dtype(dtype))
        buffer = self._buffers.get(key)
        if buffer is None or buffer.size < size:
            buffer = self._buffers[key] = np.empty(size, dtype)
        return buffer[:size]


class _Plan:
    __slots__ = ("codec", "itemsize", "base", "path")

    def __init__(self, codec: _Codec, itemsize: int, base: int, path: str) -> None:
        self.codec = codec
        self.itemsize = itemsize
        self.base = base  # file offset of element 0 of the storage
        self.path = path


def _checked_plan(t: TensorRef, files: FileCache) -> _Plan:
    """Validate geometry against the storage and the file; raise CheckpointError if bad."""
    storage = t.storage
    if storage is None:
        raise CheckpointError("tensor has no data in the file")
    if t.layout not in _READABLE_LAYOUTS:
        raise CheckpointError(f"cannot read values of a {t.layout} tensor")
    if t.dtype not in ITEMSIZE:
        raise CheckpointError(f"unknown dtype {t.dtype!r}")
    _check_geometry(t)
    itemsize = ITEMSIZE[t.dtype]
    end = (t.storage_offset + _span_last(t.shape, t.stride) + 1) * itemsize
    if t.numel and end > storage.nbytes:
        raise CheckpointError(f"tensor view needs {end} bytes but its storage has {storage.nbytes}")
    fd, file_size = files.get(storage.path)
    offset = storage.offset_in(fd)
    if offset < 0 or (t.numel and offset + end > file_size):
        raise CheckpointError("tensor data lies beyond the end of the file")
    return _Plan(_codec(t.dtype, storage.byteorder), itemsize, offset, storage.path)


def _check_geometry(t: TensorRef) -> None:
    if len(t.shape) != len(t.stride):
        raise CheckpointError(f"shape {t.shape} and stride {t.stride} differ in length")
    if any(size < 0 for size in t.shape) or any(step < 0 for step in t.stride):
        raise CheckpointError(f"negative size or stride in {t.shape} / {t.stride}")
    if t.storage_offset < 0:
        raise CheckpointError(f"negative storage offset {t.storage_offset}")


def _walk_limit(t: TensorRef) -> int:
    """How many elements a read of ``t`` may visit (see MAX_REPEAT)."""
    stored = t.storage.nbytes // max(ITEMSIZE.get(t.dtype, 1), 1) if t.storage is not None else 0
    return max(stored * MAX_REPEAT, MIN_WALK)


def check_walkable(t: TensorRef) -> None:
    """Raise CheckpointError when reading ``t`` would visit too many elements (MAX_REPEAT)."""
    if t.numel > _walk_limit(t):
        stored = t.storage.nbytes // max(ITEMSIZE.get(t.dtype, 1), 1) if t.storage is not None else 0
        raise CheckpointError(f"the view visits {t.numel} elements over a storage of {stored}: "
                              f"too many to walk")


def stored_view(t: TensorRef) -> tuple[TensorRef, int]:
    """``t`` without its repeating dimensions, and how often each of its elements repeats.

    A dimension of stride 0 (``expand``) shows the same elements again at every index:
    statistics and histograms walk the view with those dimensions cut to size 1 and weigh
    each element by the product of the sizes cut, so their time follows the stored elements.
    """
    if t.numel == 0 or all(step or size == 1 for size, step in zip(t.shape, t.stride)):
        return t, 1
    repeats = 1
    shape = []
    for size, step in zip(t.shape, t.stride):
        if step == 0 and size > 1:
            repeats *= size
            size = 1
        shape.append(size)
    view = TensorRef(t.dtype, tuple(shape), t.stride, t.storage, t.storage_offset, t.role,
                     t.requires_grad, t.layout, t.extra)
    return view, repeats


def _span_last(shape: tuple[int, ...], stride: tuple[int, ...]) -> int:
    """Index (from the first element) of the last element the view touches."""
    return sum((size - 1) * step for size, step in zip(shape, stride))


class Block(EqualByFields):
    """Part of a view, read from one byte span: elements ``offset .. offset+span-1``."""

    __slots__ = ("shape", "stride", "offset", "span")

    def __init__(self, shape: tuple[int, ...], stride: tuple[int, ...], offset: int, span: int) -> None:
        self.shape = shape
        self.stride = stride  # relative to ``offset``, in elements
        self.offset = offset
        self.span = span

    def _fields(self) -> tuple:
        return (self.shape, self.stride, self.offset, self.span)

    def __repr__(self) -> str:
        return f"Block(shape={self.shape}, stride={self.stride}, offset={self.offset}, span={self.span})"

    @property
    def is_dense(self) -> bool:
        return len(self.shape) == 0 or (len(self.shape) == 1 and self.stride[0] == 1)


def plan_blocks(shape: tuple[int, ...], stride: tuple[int, ...], offset: int,
                budget: int) -> Iterator[Block]:
    """Cut a view into row-major blocks of at most ``budget`` elements and span."""
    if any(size == 0 for size in shape):
        return
    dims = _coalesce(shape, stride)
    if not dims:
        yield Block((), (), offset, 1)
        return
    yield from _plan_dims(dims, offset, budget)


def _coalesce(shape: tuple[int, ...], stride: tuple[int, ...]) -> list[tuple[int, int]]:
    """(size, stride) pairs without size-1 dims, merging dims laid out contiguously."""
    dims: list[tuple[int, int]] = []
    for size, step in zip(shape, stride):
        if size == 1:
            continue
        if dims and dims[-1][1] == step * size:
            dims[-1] = (dims[-1][0] * size, step)
        else:
            dims.append((size, step))
    return dims


def _plan_dims(dims: list[tuple[int, int]], offset: int, budget: int) -> Iterator[Block]:
    (size, step), rest = dims[0], dims[1:]
    inner_numel = _product(s for s, _ in rest)
    inner_span = sum((s - 1) * st for s, st in rest) + 1
    if inner_numel > budget or inner_span > budget:
        for index in range(size):
            yield from _plan_dims(rest, offset + index * step, budget)
        return
    rows = budget // inner_numel
    if step:
        rows = min(rows, (budget - inner_span) // step + 1)
    rows = max(1, min(rows, size))
    for first in range(0, size, rows):
        count = min(rows, size - first)
        shape = (count,) + tuple(s for s, _ in rest)
        strides = (step,) + tuple(st for _, st in rest)
        yield Block(shape, strides, offset + first * step, (count - 1) * step + inner_span)


def _product(values: Iterator[int]) -> int:
    result = 1
    for value in values:
        result *= value
    return result


def iter_chunks(t: TensorRef, max_elements: int = DEFAULT_CHUNK, *,
                files: FileCache | None = None,
                scratch: Scratch | None = None) -> Iterator[np.ndarray]:
    """Yield writable 1-d arrays holding the elements in row-major logical order.

    Each chunk holds at most ``max_elements`` elements and comes from a read of at most
    ``max_elements`` stored elements, whatever the view's strides. With ``scratch``, bytes
    are read into a reused buffer: a chunk is then only valid until the next one. A view
    that would visit too many elements (see MAX_REPEAT) is refused before any read.
    """
    check_walkable(t)
    own = files is None
    files = files or FileCache()
    try:
        plan = _checked_plan(t, files)
        fd, _ = files.get(plan.path)
        for block in plan_blocks(t.shape, t.stride, t.storage_offset, max(1, max_elements)):
            yield _read_block(fd, plan, block, scratch)
    finally:
        if own:
            files.close()


def _read_block(fd: int, plan: _Plan, block: Block, scratch: Scratch | None) -> np.ndarray:
    count = block.span * plan.itemsize
    buffer = scratch.get("read", np.uint8, count) if scratch else np.empty(count, np.uint8)
    _pread_into(fd, buffer, plan.base + block.offset * plan.itemsize)
    raw = buffer.view(plan.codec.unit)
    if not block.is_dense:
        strides = tuple(step * plan.itemsize for step in block.stride)
        # writeable: the buffer is ours, and a view that needs no copy is one without overlaps
        raw = np.lib.stride_tricks.as_strided(raw, block.shape, strides, writeable=True)
        raw = np.ascontiguousarray(raw).reshape(-1)
    return plan.codec.finish(raw)


def _pread_into(fd: int, buffer: np.ndarray, offset: int) -> None:
    view = memoryview(buffer)
    done = 0
    while done < len(view):
        got = os.preadv(fd, [view[done:]], offset + done)
        if got <= 0:
            raise CheckpointError("file ended before the tensor data did (was it truncated?)")
        done += got


def read_array(t: TensorRef, max_elements: int | None = None, *,
               files: FileCache | None = None) -> np.ndarray:
    """All values with the tensor's shape; CheckpointError past ``max_elements``."""
    if max_elements is not None and t.numel > max_elements:
        raise CheckpointError(
            f"tensor has {t.numel} elements, more than the {max_elements} allowed here")
    _check_geometry(t)
    check_walkable(t)
    out = np.empty(t.numel, numpy_dtype(t.dtype))
    if t.numel == 0:
        return _empty_with_shape(out, t.shape)
    position = 0
    for chunk in iter_chunks(t, files=files, scratch=Scratch()):  # each chunk is copied out
        out[position:position + chunk.size] = chunk
        position += chunk.size
    return out.reshape(t.shape)


def _empty_with_shape(out: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    try:
        return out.reshape(shape)
    except ValueError:  # numpy refuses shapes whose non-zero sizes multiply past its limit
        raise CheckpointError(f"an empty tensor of shape {list(shape)} has no numpy form") from None
