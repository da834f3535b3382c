"""Exact statistics of tensor values, streamed over bounded chunks.

Semantics (what the tensor panel and ``info --json --stats`` show):
- ``count`` is every element; ``nan`` / ``inf`` count NaN and ±Inf elements apart, and those
  are left out of min, max, mean and std. ``zeros`` counts elements equal to 0 (-0.0 too).
- ``std`` uses correction=1 like ``torch.std``; it is None with fewer than two finite values
  (torch gives nan there; None keeps the JSON valid). mean/min/max are None with no finite values.
- Integers and bools: exact min/max as Python ints; mean and std in float64.
- Complex tensors: min/max/mean/std describe the magnitude |z| of the finite elements; an
  element with a NaN part counts as NaN, one with an Inf part (and no NaN) as Inf; zeros are z == 0.
Mean and variance are combined over chunks in float64 with Chan's parallel formula.
"""

from __future__ import annotations

import math

import numpy as np

from inspector.core.dtypes import COMPLEX, FLOATING, ITEMSIZE
from inspector.core.model import TensorRef
from inspector.core.progress import Job, Progress
from inspector.core.value_object import EqualByFields
from inspector.core.values import DEFAULT_CHUNK, FileCache, Scratch, iter_chunks, stored_view


STAT_FIELDS = ("count", "min", "max", "mean", "std", "nan", "inf", "zeros", "error")


class TensorStats(EqualByFields):
    """The statistics of one tensor (see the module's note); ``error`` says why the values could
    not be read. A plain class: dataclasses cost every CLI run the compiling of their methods."""

    __slots__ = STAT_FIELDS
    __hash__ = None  # mutable, compared by value

    def __init__(self, count: int = 0, min: float | int | None = None, max: float | int | None = None,
                 mean: float | None = None, std: float | None = None, nan: int = 0, inf: int = 0,
                 zeros: int = 0, error: str | None = None) -> None:
        self.count, self.min, self.max, self.mean, self.std = count, min, max, mean, std
        self.nan, self.inf, self.zeros, self.error = nan, inf, zeros, error

    def _fields(self) -> tuple:
        return tuple(getattr(self, name) for name in STAT_FIELDS)

    def __repr__(self) -> str:
        return "TensorStats(" + ", ".join(f"{name}={getattr(self, name)!r}" for name in STAT_FIELDS) + ")"

    @property
    def finite(self) -> int:
        return self.count - self.nan - self.inf

    def as_dict(self) -> dict[str, object]:
        """JSON-safe: non-finite floats become None; ``error`` only when there is one."""
        result = {name: _json_number(getattr(self, name)) for name in STAT_FIELDS}
        if self.error is None:
            del result["error"]
        return result


def _json_number(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def value_kind(dtype: str) -> str:
    """"float", "complex" or "int" (ints, bools, quantized and packed raw types)."""
    if dtype in FLOATING:
        return "float"
    if dtype in COMPLEX:
        return "complex"
    return "int"


def numeric_chunk(chunk: np.ndarray) -> np.ndarray:
    """The chunk in a type numpy reduces fast and exactly: float32 for 16- and 8-bit floats."""
    if chunk.dtype == np.bool_:
        return chunk.view(np.uint8)
    if chunk.dtype.kind not in "fciu":  # bfloat16 / float8 from ml_dtypes
        return chunk.astype(np.float32)
    if chunk.dtype == np.float16:
        return chunk.astype(np.float32)
    return chunk


# Chunks are processed in blocks that stay in the CPU cache across numpy's passes:
# twice as fast as whole 4M-element chunks, and the work buffers stay small.
CACHE_BLOCK = 1 << 19
_HUGE = 2.0 ** 500
_SCALE = 2.0 ** 600


class RunningStats:
    """Accumulates chunks; ``result()`` gives the TensorStats of everything added."""

    def __init__(self, kind: str, scratch: Scratch | None = None) -> None:
        self.kind = kind
        self.scratch = scratch or Scratch()
        self.count = self.nan = self.inf = self.zeros = 0
        self.finite = 0
        self.mean = 0.0
        self.m2 = 0.0
        self.scale = 1.0  # moments are kept in units of ``scale``
        self.low: object = None
        self.high: object = None

    def __getstate__(self) -> dict:
        """What crosses from a worker process: the sums, not the work buffers."""
        return {name: value for name, value in self.__dict__.items() if name != "scratch"}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self.scratch = Scratch()

    def add(self, chunk: np.ndarray, repeats: int = 1) -> None:
        """Add the chunk's values, each counted ``repeats`` times (a stride-0 view's repeats)."""
        with np.errstate(invalid="ignore"):  # signalling NaNs in the file are just NaNs
            for start in range(0, chunk.size, CACHE_BLOCK):
                self._add(chunk[start:start + CACHE_BLOCK], repeats)

    def _add(self, chunk: np.ndarray, repeats: int) -> None:
        values = numeric_chunk(chunk)
        self.count += values.size * repeats
        nan, inf, zeros = self.nan, self.inf, self.zeros
        if self.kind == "complex":
            values = self._finite_magnitudes(values)
        elif self.kind == "float":
            values = self._finite_floats(values)
        else:
            self.zeros += values.size - int(np.count_nonzero(values))
        if repeats != 1:
            self.nan = nan + (self.nan - nan) * repeats
            self.inf = inf + (self.inf - inf) * repeats
            self.zeros = zeros + (self.zeros - zeros) * repeats
        if values.size:
            low, high = self._add_extremes(values)
            if self.scale == 1.0 and max(abs(low), abs(high)) > _HUGE:
                self._switch_to_scaled()
            self._add_moments(values, repeats)

    def _finite_floats(self, values: np.ndarray) -> np.ndarray:
        is_zero = np.equal(values, 0, out=self.scratch.get("zero", np.bool_, values.size))
        self.zeros += int(np.count_nonzero(is_zero))  # 5x faster than on the floats
        if values.size == 0:
            return values
        low, high = values.min(), values.max()
        if np.isfinite(low) and np.isfinite(high):  # fast path: NaN would propagate into min
            return values
        nan = np.isnan(values)
        inf = np.isinf(values)
        self.nan += int(np.count_nonzero(nan))
        self.inf += int(np.count_nonzero(inf))
        return values[~(nan | inf)]

    def _finite_magnitudes(self, values: np.ndarray) -> np.ndarray:
        nan = np.isnan(values)
        inf = np.isinf(values) & ~nan
        self.nan += int(np.count_nonzero(nan))
        self.inf += int(np.count_nonzero(inf))
        self.zeros += values.size - int(np.count_nonzero(values))
        finite = values[~(nan | inf)]
        return np.abs(finite.astype(np.complex128))

    def _add_extremes(self, values: np.ndarray) -> tuple[object, object]:
        low, high = values.min().item(), values.max().item()
        self.low = low if self.low is None else min(self.low, low)
        self.high = high if self.high is None else max(self.high, high)
        return low, high

    def _switch_to_scaled(self) -> None:
        """Squares of values near float64's limit overflow: keep moments in units of 2**600."""
        self.scale = _SCALE
        self.mean /= _SCALE
        self.m2 = self.m2 / _SCALE / _SCALE  # _SCALE squared would overflow

    def _add_moments(self, values: np.ndarray, repeats: int) -> None:
        wide = self.scratch.get("moments", np.float64, values.size)
        np.copyto(wide, values)
        if self.scale != 1.0:
            wide /= self.scale  # a power of two: exact unless far below 1e-120
        with np.errstate(over="ignore", invalid="ignore"):  # float64 values near 1e308
            mean, m2 = _block_moments(wide)
        self._combine(wide.size * repeats, mean, m2 * repeats)

    def _combine(self, count: int, mean: float, m2: float) -> None:
        """Chan's parallel formula: fold in ``count`` values of that mean and sum of squares."""
        total = self.finite + count
        delta = mean - self.mean
        self.mean += delta * count / total
        self.m2 += m2 + delta * delta * self.finite * count / total
        self.finite = total

    def merge(self, other: RunningStats) -> None:
        """Fold in what ``other`` (another part of the same tensor) accumulated."""
        self.count += other.count
        self.nan, self.inf, self.zeros = self.nan + other.nan, self.inf + other.inf, self.zeros + other.zeros
        for value in (other.low, other.high):
            if value is not None:
                self.low = value if self.low is None else min(self.low, value)
                self.high = value if self.high is None else max(self.high, value)
        if not other.finite:
            return
        if other.scale != self.scale:
            (self if self.scale == 1.0 else other)._switch_to_scaled()
        self._combine(other.finite, other.mean, other.m2)

    def result(self) -> TensorStats:
        stats = TensorStats(count=self.count, nan=self.nan, inf=self.inf, zeros=self.zeros)
        if self.finite:
            stats.min, stats.max = self._extreme(self.low), self._extreme(self.high)
            stats.mean = self.mean * self.scale
        if self.finite > 1:
            m2 = self.m2 if math.isfinite(self.m2) else math.inf
            stats.std = math.sqrt(max(m2, 0.0) / (self.finite - 1)) * self.scale
        return stats

    def _extreme(self, value: object) -> float | int:
        return float(value) if self.kind != "int" else int(value)


CANCELLATION = 100.0  # a sum of squares this many times the centred one has lost 2 of 16 digits


def _block_moments(wide: np.ndarray) -> tuple[float, float]:
    """Mean and centred sum of squares of a float64 block, in two BLAS dot passes.

    Σx² − (Σx)²/n is exact enough while the squares do not dwarf the spread (weights near
    zero: the usual case); otherwise the block is centred and measured again.
    """
    count = wide.size
    total, squares = _dot(wide, None), _dot(wide, wide)
    mean = total / count
    m2 = squares - total * mean
    if not m2 * CANCELLATION >= squares:  # also when NaN or negative from rounding
        wide -= mean
        shift = _dot(wide, None)
        m2 = _dot(wide, wide) - shift * shift / count
        mean += shift / count
    return mean, max(m2, 0.0)


def _dot(values: np.ndarray, other: np.ndarray | None) -> float:
    """Σ values·other (Σ values when ``other`` is None) as one BLAS dot: several times faster
    than numpy's pairwise sum or a square and a sum, and as exact for these sizes."""
    if other is None:
        other = _ones(values.size)
    return float(np.dot(values, other))


_ONES = np.ones(CACHE_BLOCK)


def _ones(size: int) -> np.ndarray:
    return _ONES[:size] if size <= _ONES.size else np.ones(size)


def tensor_stats_job(t: TensorRef, max_elements: int = DEFAULT_CHUNK, *,
                     files: FileCache | None = None,
                     scratch: Scratch | None = None) -> Job[TensorStats]:
    """Stats of one tensor; yields Progress (bytes) after every chunk."""
    running = RunningStats(value_kind(t.dtype), scratch)
    view, repeats = stored_view(t)
    itemsize = ITEMSIZE.get(t.dtype, 1)
    done = 0
    for chunk in iter_chunks(view, max_elements, files=files, scratch=running.scratch):
        running.add(chunk, repeats)
        done += chunk.size
        yield Progress(done * itemsize, view.numel * itemsize)
    return running.result()
