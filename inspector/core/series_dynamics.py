"""How each tensor of a series moved: ‖W_t‖, ‖W_t − W_{t−1}‖/‖W_{t−1}‖, the cosine to the
previous checkpoint, ‖W_t − W_0‖/‖W_0‖ and NaN/Inf counts, exact in float64.

Each key is cut into parts of at most PART_ELEMENTS elements, the same parts in every
checkpoint (the cut depends on the shape only): a column is one part in every checkpoint. A
``ColumnWalker`` reads a column W_0 first, keeps W_0's part and the previous one in float64 and
feeds ``pair_metrics.PairAccumulator``s (W_{t−1}, W_t) and (W_0, W_t). So every byte of every
file is read once, in file order, and memory is a few parts per walker whatever the tensor
sizes or the length of the series. Pairs use the positions where both tensors are finite (as
``diff`` does); ‖W_t‖ and the NaN/Inf counts are W_t's own. ``series_runner`` runs the
walkers and merges each key's columns into a ``LayerSeries``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable

import numpy as np

from inspector.core.all_stats import split_rows
from inspector.core.dtypes import COMPLEX, ITEMSIZE
from inspector.core.errors import CheckpointError
from inspector.core.model import TensorRef
from inspector.core.pair_metrics import BLOCK, PairAccumulator, PairMetrics
from inspector.core.values import FileCache, Scratch, iter_chunks

PART_ELEMENTS = 1 << 18
FIELDS = ("norm", "rel_step", "cos_prev", "dist_from_first", "nan", "inf")


class LayerSeries:
    """The numbers of one key, one entry per checkpoint (None where undefined or absent), and
    the key's shape and dtype (in the first checkpoint that holds it)."""

    __slots__ = ("key", "norm", "rel_step", "cos_prev", "dist_from_first", "nan", "inf", "shape", "dtype",
                 "error")

    def __init__(self, key: str, length: int, shape: tuple[int, ...] = (), dtype: str = "") -> None:
        self.key = key
        for name in FIELDS:
            setattr(self, name, [None] * length)
        self.shape = shape
        self.dtype = dtype
        self.error: str | None = None  # why some values could not be read

    def to_json(self) -> dict:
        entry = {name: list(getattr(self, name)) for name in FIELDS}
        entry["shape"], entry["dtype"] = list(self.shape), self.dtype
        if self.error is not None:
            entry["error"] = self.error
        return entry

    def __repr__(self) -> str:
        return f"LayerSeries({self.key!r}, rel_step={self.rel_step!r})"


class _Own:
    """Sums over one tensor's own elements."""

    __slots__ = ("numel", "finite", "sum_sq", "nan", "inf")

    def __init__(self) -> None:
        self.numel = self.finite = self.nan = self.inf = 0
        self.sum_sq = 0.0

    def add(self, values: np.ndarray, squares: list[float], dot: Callable[[np.ndarray, np.ndarray], float]) -> None:
        """Add a part, given the sum of squares of each of its blocks."""
        self.numel += values.size
        total = sum(squares)
        if math.isfinite(total):
            self.finite += values.size
            self.sum_sq += total
            return
        with np.errstate(invalid="ignore", over="ignore"):
            finite = np.isfinite(values)
            nan = int(np.count_nonzero(np.isnan(values)))
        kept = values[finite]
        self.nan += nan
        self.inf += values.size - kept.size - nan
        self.finite += kept.size
        self.sum_sq += sum(_block_squares(kept, dot))

    def merge(self, other: _Own) -> None:
        for name in self.__slots__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


def _block_squares(values: np.ndarray, dot: Callable[[np.ndarray, np.ndarray], float]) -> list[float]:
    """Σx² (Σ|x|² for complex values) of each BLOCK of ``values``, in float64."""
    blocks = [values[start:start + BLOCK] for start in range(0, values.size, BLOCK)]
    if values.dtype.kind == "c":
        return [float(np.vdot(block, block).real) for block in blocks]
    return [dot(block, block) for block in blocks]


class PartResult:
    """One part of one key, per checkpoint: its own sums, the pair with the previous
    checkpoint and the pair with the first (None where a side is absent or unreadable)."""

    __slots__ = ("own", "previous", "first", "errors")

    def __init__(self, length: int) -> None:
        self.own: list[_Own | None] = [None] * length
        self.previous: list[PairMetrics | None] = [None] * length
        self.first: list[PairMetrics | None] = [None] * length
        self.errors: list[str] = []

    def merge(self, other: PartResult) -> None:
        """Add another part of the same key; a checkpoint missing from either part is missing."""
        for mine, theirs in ((self.own, other.own), (self.previous, other.previous), (self.first, other.first)):
            for index, part in enumerate(theirs):
                if part is None or mine[index] is None:
                    mine[index] = None
                else:
                    mine[index].merge(part)
        self.errors.extend(error for error in other.errors if error not in self.errors)


def columns_of(row: list[TensorRef | None]) -> list[list[TensorRef | None]]:
    """The key's parts, each as it lies in every checkpoint (None where the key is absent)."""
    cut = [None if tensor is None else split_parts(tensor, PART_ELEMENTS) for tensor in row]
    count = max((len(parts) for parts in cut if parts is not None), default=0)
    return [[None if parts is None else parts[index] for parts in cut] for index in range(count)]


def split_parts(tensor: TensorRef, limit: int) -> list[TensorRef]:
    """``tensor`` cut in row-major order into views of at most ``limit`` elements; the cut
    depends on the shape alone, so tensors of one shape are cut alike whatever their strides."""
    parts = []
    for part in split_rows(tensor, limit):
        parts.extend([part] if part.numel <= limit else split_parts(part, limit))
    return parts


def _nbytes(tensor: TensorRef) -> int:
    return tensor.numel * ITEMSIZE.get(tensor.dtype, 1)


class ColumnWalker:
    """Reads columns (one part of one key in every checkpoint) and sums them, with three
    part-sized buffers (float64, or complex128 for complex tensors): the first checkpoint's
    part, the previous one's and the one being read. One walker per thread or process."""

    def __init__(self, files: FileCache, dot: Callable[[np.ndarray, np.ndarray], float],
                 count: Callable[[int], object]) -> None:
        self.files = files
        self.dot = dot  # sums products: whole blocks when BLAS stays on one thread, else short slices
        self.count = count  # told the bytes of each part read
        self.buffers: dict[str, list[np.ndarray]] = {}
        self.scratch = Scratch()

    def walk(self, column: list[TensorRef | None]) -> PartResult:
        """Read the part from every checkpoint in order, keeping the first and the previous
        (their values and the squares of their blocks: each is summed once, used up to three times)."""
        result = PartResult(len(column))
        _prefetch(column, self.files)
        first = previous = None
        for index, part in enumerate(column):
            if part is None:
                previous = None
                continue
            try:
                values = self._read(part, 0 if index == 0 else 1 + index % 2)
            except CheckpointError as error:
                result.errors.append(f"checkpoint {index}: {error}")
                previous = None
                continue
            self.count(_nbytes(part))
            current = (values, _block_squares(values, self.dot))
            result.own[index] = own = _Own()
            own.add(*current, self.dot)
            if previous is not None:
                result.previous[index] = self._pair(previous, current, column[index - 1].dtype, part.dtype)
            if index == 0:
                first = current
            elif first is not None:
                result.first[index] = self._pair(first, current, column[0].dtype, part.dtype)
            previous = current
        return result

    def _read(self, part: TensorRef, slot: int) -> np.ndarray:
        kind = "complex" if part.dtype in COMPLEX else "real"
        if kind not in self.buffers:
            dtype = np.complex128 if kind == "complex" else np.float64
            self.buffers[kind] = [np.empty(PART_ELEMENTS, dtype) for _ in range(3)]
        out = self.buffers[kind][slot]
        position = 0
        for chunk in iter_chunks(part, PART_ELEMENTS, files=self.files, scratch=self.scratch):
            np.copyto(out[position:position + chunk.size], chunk.view(np.uint8) if chunk.dtype == np.bool_ else chunk)
            position += chunk.size
        return out[:position]

    def _pair(self, a: tuple[np.ndarray, list[float]], b: tuple[np.ndarray, list[float]], dtype_a: str,
              dtype_b: str) -> PairMetrics:
        (values_a, squares_a), (values_b, squares_b) = a, b
        accumulator = PairAccumulator(dtype_a, dtype_b, 0.0, 0.0, self.scratch, differences=False, dot=self.dot)
        for block, squares in enumerate(zip(squares_a, squares_b)):
            start = block * BLOCK
            accumulator.add(values_a[start:start + BLOCK], values_b[start:start + BLOCK], squares)
        return accumulator.metrics


def _prefetch(column: list[TensorRef | None], files: FileCache) -> None:
    """Ask the kernel to start reading the part in every checkpoint now: the disk then works
    while the first checkpoints' values are summed (the reads themselves come in order)."""
    if not hasattr(os, "posix_fadvise"):
        return
    for part in column:
        if part is None or part.storage is None or not part.is_contiguous():
            continue
        try:
            descriptor, _ = files.get(part.storage.path)
            start = part.storage.offset + part.storage_offset * ITEMSIZE.get(part.dtype, 1)
            os.posix_fadvise(descriptor, start, _nbytes(part), os.POSIX_FADV_WILLNEED)
        except (CheckpointError, OSError):
            pass  # the read itself will say what is wrong


def merged(parts: list[PartResult], row: list[TensorRef | None]) -> PartResult:
    """The parts of one key added up; a key without elements has empty sums where present."""
    if not parts:
        empty = PartResult(len(row))
        empty.own = [None if tensor is None else _Own() for tensor in row]
        return empty
    whole = parts[0]
    for part in parts[1:]:
        whole.merge(part)
    return whole


def layer_series(key: str, merged: PartResult, row: list[TensorRef | None]) -> LayerSeries:
    held = next((tensor for tensor in row if tensor is not None), None)
    layer = LayerSeries(key, len(row), held.shape if held else (), held.dtype if held else "")
    for index, own in enumerate(merged.own):
        if own is None:
            continue
        layer.nan[index], layer.inf[index] = own.nan, own.inf
        layer.norm[index] = _number(math.sqrt(own.sum_sq)) if own.finite or not own.numel else None
        previous, first = merged.previous[index], merged.first[index]
        if previous is not None:
            layer.rel_step[index], layer.cos_prev[index] = _number(previous.rel_l2), _number(previous.cosine)
        if index == 0:
            layer.dist_from_first[0] = 0.0 if own.sum_sq else None
        elif first is not None:
            layer.dist_from_first[index] = _number(first.rel_l2)
    layer.error = merged.errors[0] if merged.errors else None
    return layer


def _number(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None
