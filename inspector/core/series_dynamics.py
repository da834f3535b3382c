"""How each tensor of a series moved: ‖W_t‖, ‖W_t − W_{t−1}‖/‖W_{t−1}‖, the cosine to the
previous checkpoint, ‖W_t − W_0‖/‖W_0‖ and NaN/Inf counts, exact in float64.

Each key is cut into parts of at most PART_ELEMENTS elements (the same parts in every
checkpoint: the cut depends on the shape only). A worker thread takes one part and reads it
from every checkpoint in turn, W_0 first: it keeps W_0's part and the previous one in float64
and feeds ``pair_metrics.PairAccumulator``s (W_{t−1}, W_t) and (W_0, W_t). So every byte of
every file is read once, in file order, and memory is a few parts per thread whatever the
tensor sizes or the length of the series. numpy and ``preadv`` release the GIL: the threads
share the cores. Pairs use the positions where both tensors are finite (as ``diff`` does);
‖W_t‖ and the NaN/Inf counts are W_t's own.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait

import numpy as np

from inspector.core.all_stats import split_rows
from inspector.core.blas_threads import one_blas_thread
from inspector.core.dtypes import COMPLEX, ITEMSIZE
from inspector.core.errors import CheckpointError
from inspector.core.model import TensorRef
from inspector.core.pair_metrics import BLOCK, PairAccumulator, PairMetrics, sliced_dot
from inspector.core.progress import Job, Progress
from inspector.core.values import FileCache, Scratch, iter_chunks

PART_ELEMENTS = 1 << 18
PROGRESS_EVERY_S = 0.05
MAX_WORKERS = 4
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


def whole_dot(x: np.ndarray, y: np.ndarray) -> float:
    """Σ x·y as one BLAS call: for threads whose BLAS runs on one thread (``one_blas_thread``)."""
    return float(np.dot(x, y))


class _PartResult:
    """One part of one key, per checkpoint: its own sums, the pair with the previous
    checkpoint and the pair with the first (None where a side is absent or unreadable)."""

    __slots__ = ("own", "previous", "first", "errors")

    def __init__(self, length: int) -> None:
        self.own: list[_Own | None] = [None] * length
        self.previous: list[PairMetrics | None] = [None] * length
        self.first: list[PairMetrics | None] = [None] * length
        self.errors: list[str] = []

    def merge(self, other: _PartResult) -> None:
        """Add another part of the same key; a checkpoint missing from either part is missing."""
        for mine, theirs in ((self.own, other.own), (self.previous, other.previous), (self.first, other.first)):
            for index, part in enumerate(theirs):
                if part is None or mine[index] is None:
                    mine[index] = None
                else:
                    mine[index].merge(part)
        self.errors.extend(error for error in other.errors if error not in self.errors)


def dynamics_job(keys: list[str], tensors: list[list[TensorRef | None]],
                 on_layer: Callable[[LayerSeries], object] | None = None,
                 workers: int | None = None) -> Job[dict[str, LayerSeries]]:
    """The dynamics of every key; ``tensors[i][t]`` is key i's tensor in checkpoint t (None
    when absent). Yields Progress in bytes read; ``on_layer`` sees each key as soon as it is
    done (in key order). Closing the job stops the threads after the part they are reading."""
    results: dict[str, LayerSeries] = {}
    with one_blas_thread() as single, FileCache() as files, \
            ThreadPoolExecutor(workers or _default_workers(), "series") as pool:
        run = _Run(whole_dot if single else sliced_dot)
        _open_all(files, tensors)
        pending = [run.submit(pool, files, row) for row in tensors]
        try:
            for key, row, futures in zip(keys, tensors, pending):
                yield from run.wait(futures)
                results[key] = layer = _layer(key, _merged(futures, row), row)
                if on_layer is not None:
                    on_layer(layer)
            yield Progress(run.total, run.total)
        finally:
            run.cancelled.set()  # a closed job lets its threads go after their current read
            pool.shutdown(cancel_futures=True)
    return results


def _default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, MAX_WORKERS))


def _open_all(files: FileCache, tensors: list[list[TensorRef | None]]) -> None:
    """Open each file once up front: the threads then share descriptors without a race."""
    paths = {tensor.storage.path for row in tensors for tensor in row
             if tensor is not None and tensor.storage is not None}
    for path in sorted(paths):
        try:
            files.get(path)
        except CheckpointError:
            pass  # reported by the reads of its tensors


class _Run:
    """The bytes to read and read so far, and the cancel flag, shared with the threads."""

    def __init__(self, dot: Callable[[np.ndarray, np.ndarray], float]) -> None:
        self.dot = dot  # sums products: whole blocks when BLAS stays on one thread, else short slices
        self.cancelled = threading.Event()
        self.total = self.done = 0
        self.lock = threading.Lock()
        self.local = threading.local()

    def submit(self, pool: ThreadPoolExecutor, files: FileCache, row: list[TensorRef | None]) -> list[Future]:
        columns = _columns(row)
        self.total += sum(_nbytes(part) for column in columns for part in column if part is not None)
        return [pool.submit(self._walk, column, files) for column in columns]

    def wait(self, futures: list[Future]) -> Job[None]:
        while True:
            _, running = wait(futures, timeout=PROGRESS_EVERY_S)
            yield Progress(self.done, self.total)
            if not running:
                return

    def count(self, nbytes: int) -> None:
        with self.lock:
            self.done += nbytes

    def _walk(self, column: list[TensorRef | None], files: FileCache) -> _PartResult:
        slots = getattr(self.local, "slots", None)
        if slots is None:
            slots = self.local.slots = _Slots()
        return _walk_part(self, column, files, slots)


def _columns(row: list[TensorRef | None]) -> list[list[TensorRef | None]]:
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


class _Slots:
    """A thread's three part-sized buffers (float64, or complex128 for complex tensors): the
    first checkpoint's part, the previous one's and the one being read."""

    def __init__(self) -> None:
        self.buffers: dict[str, list[np.ndarray]] = {}
        self.scratch = Scratch()

    def read(self, part: TensorRef, slot: int, files: FileCache) -> np.ndarray:
        kind = "complex" if part.dtype in COMPLEX else "real"
        if kind not in self.buffers:
            dtype = np.complex128 if kind == "complex" else np.float64
            self.buffers[kind] = [np.empty(PART_ELEMENTS, dtype) for _ in range(3)]
        out = self.buffers[kind][slot]
        position = 0
        for chunk in iter_chunks(part, PART_ELEMENTS, files=files, scratch=self.scratch):
            np.copyto(out[position:position + chunk.size], chunk.view(np.uint8) if chunk.dtype == np.bool_ else chunk)
            position += chunk.size
        return out[:position]


def _walk_part(run: _Run, column: list[TensorRef | None], files: FileCache, slots: _Slots) -> _PartResult:
    """Read one part from every checkpoint in order, keeping the first and the previous
    (their values and the squares of their blocks: each is summed once, used up to three times)."""
    result = _PartResult(len(column))
    _prefetch(column, files)
    first = previous = None
    for index, part in enumerate(column):
        if run.cancelled.is_set():
            break
        if part is None:
            previous = None
            continue
        try:
            values = slots.read(part, 0 if index == 0 else 1 + index % 2, files)
        except CheckpointError as error:
            result.errors.append(f"checkpoint {index}: {error}")
            previous = None
            continue
        run.count(_nbytes(part))
        current = (values, _block_squares(values, run.dot))
        result.own[index] = own = _Own()
        own.add(*current, run.dot)
        if previous is not None:
            result.previous[index] = _pair(previous, current, column[index - 1].dtype, part.dtype, slots.scratch, run.dot)
        if index == 0:
            first = current
        elif first is not None:
            result.first[index] = _pair(first, current, column[0].dtype, part.dtype, slots.scratch, run.dot)
        previous = current
    return result


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


def _pair(a: tuple[np.ndarray, list[float]], b: tuple[np.ndarray, list[float]], dtype_a: str, dtype_b: str,
          scratch: Scratch, dot: Callable[[np.ndarray, np.ndarray], float]) -> PairMetrics:
    (values_a, squares_a), (values_b, squares_b) = a, b
    accumulator = PairAccumulator(dtype_a, dtype_b, 0.0, 0.0, scratch, differences=False, dot=dot)
    for block, squares in enumerate(zip(squares_a, squares_b)):
        start = block * BLOCK
        accumulator.add(values_a[start:start + BLOCK], values_b[start:start + BLOCK], squares)
    return accumulator.metrics


def _merged(futures: list[Future], row: list[TensorRef | None]) -> _PartResult:
    """The parts of one key added up; a key without elements has empty sums where present."""
    if not futures:
        empty = _PartResult(len(row))
        empty.own = [None if tensor is None else _Own() for tensor in row]
        return empty
    merged = futures[0].result()
    for future in futures[1:]:
        merged.merge(future.result())
    return merged


def _layer(key: str, merged: _PartResult, row: list[TensorRef | None]) -> LayerSeries:
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
