"""What an export writes, tensor by tensor, and the source bytes each output storage streams.

``OutputTensor`` is one entry of the output state dict (its key, the source tensor, the dtype
to write). A ``.pt`` file keeps shared storages shared: ``group_storages`` gives one
``OutputStorage`` per source storage, covering just the span its exported views touch, with
each view's offset inside it. ``iter_output_bytes`` streams the little-endian bytes of any
view (a storage span, or one tensor in row-major order) chunk by chunk: raw bits when the
dtype is kept, values through ``cast_values`` when it changes. ``verbatim_source`` tells
when a view's output bytes are already in the source file as they are (the common case), so
a writer can have the kernel copy them.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from inspector.core.dtypes import COMPLEX, ITEMSIZE
from inspector.core.model import TensorRef
from inspector.core.values import FileCache, Scratch, iter_chunks, numpy_dtype
from inspector.core.writers.cast import cast_values

CHUNK_BYTES = 1 << 24  # bytes read per step: bounds memory, and progress and cancel come this often


class OutputTensor:
    """One entry of the output state dict."""

    __slots__ = ("key", "source", "dtype")

    def __init__(self, key: str, source: TensorRef, dtype: str | None = None) -> None:
        self.key = key
        self.source = source
        self.dtype = source.dtype if dtype is None else dtype

    @property
    def nbytes(self) -> int:
        return self.source.numel * ITEMSIZE[self.dtype]

    def __repr__(self) -> str:
        return f"OutputTensor({self.key!r}, {self.source!r}, {self.dtype!r})"


class OutputStorage:
    """One storage of the output: a span of a source storage, and the views into it."""

    __slots__ = ("span", "dtype", "members")

    def __init__(self, span: TensorRef, dtype: str) -> None:
        self.span = span  # 1-d contiguous view of the source bytes this storage holds
        self.dtype = dtype
        self.members: list[tuple[OutputTensor, int]] = []  # (tensor, storage offset in it)

    @property
    def numel(self) -> int:
        return self.span.numel

    @property
    def nbytes(self) -> int:
        return self.numel * ITEMSIZE[self.dtype]


def files_read_by(tensors: list[OutputTensor]) -> set[str]:
    """The files the tensors' bytes come from (an export must never overwrite them)."""
    return {tensor.source.storage.path for tensor in tensors if tensor.source.storage is not None}


def group_storages(tensors: list[OutputTensor]) -> list[OutputStorage]:
    """Output storages in order of first use; tensors sharing source bytes share one."""
    groups: dict[object, list[OutputTensor]] = {}
    for tensor in tensors:
        groups.setdefault(_sharing_key(tensor), []).append(tensor)
    return [_storage_of(members) for members in groups.values()]


def _sharing_key(tensor: OutputTensor) -> object:
    source = tensor.source
    if source.storage is None or source.numel == 0:
        return id(tensor)
    return source.storage, source.dtype, tensor.dtype


def _storage_of(members: list[OutputTensor]) -> OutputStorage:
    first = members[0].source
    if first.numel == 0:
        storage = OutputStorage(_span_view(first, 0, 0), members[0].dtype)
        storage.members.append((members[0], 0))
        return storage
    low = min(tensor.source.storage_offset for tensor in members)
    high = max(_end(tensor.source) for tensor in members)
    storage = OutputStorage(_span_view(first, low, high - low), members[0].dtype)
    storage.members.extend((tensor, tensor.source.storage_offset - low) for tensor in members)
    return storage


def _end(t: TensorRef) -> int:
    """One past the last storage element the view touches."""
    return t.storage_offset + sum((size - 1) * step for size, step in zip(t.shape, t.stride)) + 1


def _span_view(t: TensorRef, offset: int, numel: int) -> TensorRef:
    return TensorRef(t.dtype, (numel,), (1,), t.storage, offset, layout=t.layout)


def verbatim_source(view: TensorRef, dtype: str, files: FileCache) -> tuple[int, int] | None:
    """(descriptor, file offset) where the output bytes of ``view`` already lie, in order and
    little-endian, when they do; None when they must be read and converted."""
    storage = view.storage
    if dtype != view.dtype or storage is None or view.layout != "strided" or not view.numel:
        return None
    itemsize = ITEMSIZE[dtype]
    unit = itemsize // 2 if dtype in COMPLEX else itemsize
    if (storage.byteorder != "little" and unit > 1) or not view.is_contiguous():
        return None
    start = view.storage_offset * itemsize
    end = start + view.numel * itemsize
    fd, file_size = files.get(storage.path)
    if view.storage_offset < 0 or end > storage.nbytes or storage.offset + end > file_size:
        return None  # the reader says what is wrong
    return fd, storage.offset + start


def iter_output_bytes(view: TensorRef, dtype: str, files: FileCache, scratch: Scratch,
                      chunk_bytes: int = CHUNK_BYTES) -> Iterator[memoryview]:
    """The bytes of ``view``'s elements in row-major order, as ``dtype``, little-endian.

    Reads go through ``scratch``: each chunk is only valid until the next one is asked for."""
    if dtype == view.dtype:
        units = _unit_view(view)
        chunks = iter_chunks(units, max(1, chunk_bytes // ITEMSIZE[units.dtype]),
                             files=files, scratch=scratch)
        for chunk in chunks:
            yield memoryview(_little_endian(chunk)).cast("B")
        return
    target = numpy_dtype(dtype)
    # values of the source dtype are read, then cast: size the chunk by the wider of the two
    width = max(ITEMSIZE[view.dtype], target.itemsize)
    for chunk in iter_chunks(view, max(1, chunk_bytes // width), files=files, scratch=scratch):
        yield memoryview(_little_endian(cast_values(chunk, target))).cast("B")


def _unit_view(view: TensorRef) -> TensorRef:
    """``view`` as unsigned integers of the width its bytes swap in: raw bits, native order."""
    itemsize = ITEMSIZE[view.dtype]
    if view.dtype in COMPLEX:  # two components, each swapped on its own
        half = itemsize // 2
        return TensorRef(f"uint{8 * half}", view.shape + (2,),
                         tuple(2 * step for step in view.stride) + (1,), view.storage,
                         2 * view.storage_offset)
    return TensorRef(f"uint{8 * itemsize}", view.shape, view.stride, view.storage,
                     view.storage_offset)


def _little_endian(chunk: np.ndarray) -> np.ndarray:
    if chunk.dtype.itemsize == 1:
        return chunk
    as_integers = chunk.view(f"u{chunk.dtype.itemsize}")
    return as_integers.astype(as_integers.dtype.newbyteorder("<"), copy=False)
