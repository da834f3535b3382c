"""How two tensors of the same shape differ, streamed over both in step in float64.

Δ = B − A per element. Over the positions where both are finite: max|Δ|, Σ|Δ|, ΣΔ², ΣA², ΣB²
and ⟨A,B⟩, from which mean|Δ|, RMS, relative L2 (‖Δ‖/‖A‖) and cosine follow. ``mismatched``
counts elements outside ``atol + rtol·|A|`` plus NaN on one side only and Inf against a
different value (NaN against NaN and equal infinities agree), as ``torch.isclose(B, A, rtol,
atol, equal_nan=True)`` decides in float64. With the same dtype and shape, the stored bytes are
compared first, without arithmetic: bit-identical tensors come back ``identical``.
Complex values: |Δ| is the modulus, ⟨A,B⟩ the real part of Σ conj(A)·B.

Memory: two read chunks and a few cache-sized float64 blocks, whatever the tensor sizes.
Callers that already hold both sides in memory (a checkpoint series reads each tensor once
for several pairs) feed a ``PairAccumulator`` directly and merge the parts' ``PairMetrics``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator

import numpy as np

from inspector.core.dtypes import COMPLEX, FLOATING, ITEMSIZE
from inspector.core.errors import CheckpointError
from inspector.core.model import TensorRef
from inspector.core.progress import Job, Progress
from inspector.core.tolerances import tolerances_for
from inspector.core.values import DEFAULT_CHUNK, FileCache, Scratch, iter_chunks, stored_view

# float64 work is done per block that stays in the CPU cache across numpy's passes
BLOCK = 1 << 16
ZERO_CHECK_HEAD = 1024


class PairMetrics:
    """Sums over the positions where both tensors are finite, and the numbers made from them.

    ``identical`` results come from comparing bytes: no sums were computed (they are None) and
    the NaN/Inf counts stay 0; ``zero_norm`` says whether A (= B) has no nonzero finite element.
    Callers that need norms or counts whatever the values (a checkpoint series) pass
    ``check_identical=False`` to ``pair_metrics_job``.
    """

    __slots__ = ("numel", "finite", "largest_abs", "sum_abs", "sum_sq_diff", "sum_sq_a", "sum_sq_b",
                 "dot", "mismatched", "nan_a", "nan_b", "inf_a", "inf_b", "identical", "zero_norm")

    def __init__(self) -> None:
        self.numel = self.finite = self.mismatched = 0
        self.nan_a = self.nan_b = self.inf_a = self.inf_b = 0
        self.largest_abs = self.sum_abs = self.sum_sq_diff = 0.0
        self.sum_sq_a = self.sum_sq_b = self.dot = 0.0
        self.identical = False
        self.zero_norm = False

    @classmethod
    def of_identical(cls, numel: int, zero_norm: bool) -> PairMetrics:
        metrics = cls()
        metrics.numel = numel
        metrics.identical = True
        metrics.zero_norm = zero_norm
        metrics.sum_abs = metrics.sum_sq_diff = metrics.sum_sq_a = metrics.sum_sq_b = metrics.dot = None
        return metrics

    @property
    def norm_a(self) -> float | None:
        return None if self.sum_sq_a is None else math.sqrt(self.sum_sq_a)

    @property
    def norm_b(self) -> float | None:
        return None if self.sum_sq_b is None else math.sqrt(self.sum_sq_b)

    @property
    def max_abs(self) -> float | None:
        if self.identical:
            return 0.0
        return self.largest_abs if self.finite else None

    @property
    def mean_abs(self) -> float | None:
        if self.identical:
            return 0.0
        return self.sum_abs / self.finite if self.finite else None

    @property
    def rms(self) -> float | None:
        if self.identical:
            return 0.0
        return math.sqrt(self.sum_sq_diff / self.finite) if self.finite else None

    @property
    def rel_l2(self) -> float | None:
        """‖Δ‖/‖A‖; None when ‖A‖ = 0."""
        if self.identical:
            return None if self.zero_norm else 0.0
        return math.sqrt(self.sum_sq_diff) / self.norm_a if self.sum_sq_a else None

    @property
    def cosine(self) -> float | None:
        """⟨A,B⟩/(‖A‖‖B‖); None when a norm is 0."""
        if self.identical:
            return None if self.zero_norm else 1.0
        if not self.sum_sq_a or not self.sum_sq_b:
            return None
        return self.dot / (self.norm_a * self.norm_b)

    def merge(self, other: PairMetrics) -> None:
        """Add the sums of ``other`` (another part of the same two tensors; neither identical)."""
        for name in ("numel", "finite", "mismatched", "nan_a", "nan_b", "inf_a", "inf_b",
                     "sum_abs", "sum_sq_diff", "sum_sq_a", "sum_sq_b", "dot"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.largest_abs = max(self.largest_abs, other.largest_abs)

    def __repr__(self) -> str:
        return (f"PairMetrics(numel={self.numel}, finite={self.finite}, max_abs={self.max_abs!r}, "
                f"rel_l2={self.rel_l2!r}, cosine={self.cosine!r}, mismatched={self.mismatched}, "
                f"identical={self.identical})")


def pair_metrics_job(a: TensorRef, b: TensorRef, rtol: float | None = None, atol: float | None = None, *,
                     check_identical: bool = True, files: FileCache | None = None,
                     scratch: tuple[Scratch, Scratch] | None = None,
                     max_elements: int = DEFAULT_CHUNK) -> Job[PairMetrics]:
    """Compare A and B (same number of elements; shapes may differ in layout only).

    Yields Progress in bytes of both tensors. ``rtol``/``atol`` default to torch's
    ``assert_close`` defaults for the two dtypes. ``check_identical`` (same dtype and shape)
    first compares bytes; pass False when the sums are needed even for identical tensors.
    """
    if a.numel != b.numel:
        raise CheckpointError(f"cannot compare {a.numel} elements with {b.numel}")
    a, b, repeats = _without_shared_repeats(a, b)
    metrics = yield from _pair_metrics(a, b, rtol, atol, check_identical, files, scratch, max_elements)
    return metrics if repeats == 1 else _repeated(metrics, repeats)


def _pair_metrics(a: TensorRef, b: TensorRef, rtol: float | None, atol: float | None, check_identical: bool,
                  files: FileCache | None, scratch: tuple[Scratch, Scratch] | None,
                  max_elements: int) -> Job[PairMetrics]:
    own_files = files is None
    files = files or FileCache()
    scratch = scratch or (Scratch(), Scratch())
    try:
        stream = PairStream(a, b, files, scratch, max_elements)
        segments, pending = iter(stream), []
        if check_identical and a.dtype == b.dtype and a.shape == b.shape:
            outcome = yield from _compare_bytes(stream, segments)
            if isinstance(outcome, PairMetrics):
                return outcome
            if outcome is None:  # the first difference came late: start again, summing everything
                stream = PairStream(a, b, files, scratch, max_elements)
                segments = iter(stream)
            else:
                pending.append(outcome)
        accumulator = PairAccumulator(a.dtype, b.dtype, *tolerances_for(a.dtype, b.dtype, rtol, atol),
                                      scratch[0])
        for segment_a, segment_b in itertools.chain(pending, segments):
            accumulator.add(segment_a, segment_b)
            yield stream.progress()
        return accumulator.metrics
    finally:
        if own_files:
            files.close()


def _without_shared_repeats(a: TensorRef, b: TensorRef) -> tuple[TensorRef, TensorRef, int]:
    """When both tensors repeat their elements along the same stride-0 dimensions (``expand``),
    compare one copy and count it that many times: time follows the stored elements."""
    view_a, repeats = stored_view(a)
    view_b, repeats_b = stored_view(b)
    if repeats > 1 and repeats == repeats_b and a.shape == b.shape and view_a.shape == view_b.shape:
        return view_a, view_b, repeats
    return a, b, 1


def _repeated(metrics: PairMetrics, repeats: int) -> PairMetrics:
    """The metrics of ``repeats`` copies of what was compared (the largest |Δ| stays)."""
    if metrics.identical:
        return PairMetrics.of_identical(metrics.numel * repeats, metrics.zero_norm)
    for name in ("numel", "finite", "mismatched", "nan_a", "nan_b", "inf_a", "inf_b",
                 "sum_abs", "sum_sq_diff", "sum_sq_a", "sum_sq_b", "dot"):
        setattr(metrics, name, getattr(metrics, name) * repeats)
    return metrics


class PairStream:
    """Both tensors' elements in row-major order, cut into equal-length segment pairs (also
    what the compare view's Δ histogram and Δ heatmap walk).

    Each side reads into its own scratch buffer: a segment is valid until the next one.
    ``done`` counts the elements of the segments handed out so far.
    """

    def __init__(self, a: TensorRef, b: TensorRef, files: FileCache, scratch: tuple[Scratch, Scratch],
                 max_elements: int) -> None:
        self.chunks_a = iter_chunks(a, max_elements, files=files, scratch=scratch[0])
        self.chunks_b = iter_chunks(b, max_elements, files=files, scratch=scratch[1])
        self.numel = a.numel
        self.itemsizes = ITEMSIZE.get(a.dtype, 1) + ITEMSIZE.get(b.dtype, 1)
        self.done = 0

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        empty = np.empty(0, np.uint8)
        rest_a = rest_b = empty
        while True:
            if not rest_a.size:
                rest_a = next(self.chunks_a, empty)
            if not rest_b.size:
                rest_b = next(self.chunks_b, empty)
            count = min(rest_a.size, rest_b.size)
            if not count:
                return
            self.done += count
            yield rest_a[:count], rest_b[:count]
            rest_a, rest_b = rest_a[count:], rest_b[count:]

    def progress(self) -> Progress:
        return Progress(self.done * self.itemsizes, self.numel * self.itemsizes)


def _compare_bytes(stream: PairStream, segments: Iterator[tuple[np.ndarray, np.ndarray]]
                   ) -> Job[PairMetrics | tuple[np.ndarray, np.ndarray] | None]:
    """``PairMetrics.of_identical`` when every byte agrees. Otherwise the first segment pair if
    it already differs (still valid: ``segments`` has not moved on), or None for a later one."""
    zero_norm = True
    first = True
    for segment_a, segment_b in segments:
        if not np.array_equal(_words(segment_a), _words(segment_b)):
            return (segment_a, segment_b) if first else None
        if zero_norm:
            zero_norm = not _has_nonzero_finite(segment_a)
        first = False
        yield stream.progress()
    return PairMetrics.of_identical(stream.numel, zero_norm)


def _words(values: np.ndarray) -> np.ndarray:
    """The bytes of a contiguous array as the widest unsigned words that divide them."""
    raw = values.view(np.uint8)
    for size in (8, 4, 2):
        if raw.size % size == 0:
            return raw.view(f"u{size}")
    return raw


def _has_nonzero_finite(values: np.ndarray) -> bool:
    """Whether some element is finite and not zero; a weight's first elements usually tell."""
    if values.size and 0 < abs(values[0].item()) < math.inf:  # without numpy's per-call cost
        return True
    head = values[:ZERO_CHECK_HEAD]
    return _any_nonzero_finite(head) or (values.size > head.size and _any_nonzero_finite(values))


def _any_nonzero_finite(values: np.ndarray) -> bool:
    if not np.any(_words(values)):  # all bits zero: every element is +0 (or False)
        return False
    if values.dtype.kind in "biu":
        return True
    with np.errstate(invalid="ignore"):
        numbers = values if values.dtype.kind in "fc" else values.astype(np.float32)
        return bool(np.any(np.isfinite(numbers) & (numbers != 0)))


class PairAccumulator:
    """Adds segment pairs into a PairMetrics, block by cache-sized block.

    ``differences=False`` leaves out what only |Δ| gives (max|Δ|, Σ|Δ|, ``mismatched``): the
    norms, ΣΔ², the inner product and the NaN/Inf counts are all a series needs. Segments may
    be float64 (complex128 for complex dtypes) already: they are then used as they are.
    ``dot`` sums products (``dot_product`` unless told otherwise).
    """

    def __init__(self, dtype_a: str, dtype_b: str, rtol: float, atol: float, scratch: Scratch,
                 differences: bool = True, dot: Callable[[np.ndarray, np.ndarray], float] | None = None) -> None:
        self.sum_of_products = dot or dot_product
        self.metrics = PairMetrics()
        self.rtol = rtol
        self.atol = atol
        self.scratch = scratch
        self.differences = differences
        self.complex = dtype_a in COMPLEX or dtype_b in COMPLEX
        # same integer dtype: count differences exactly (float64 cannot tell int64s past 2**53 apart)
        self.exact = (dtype_a == dtype_b and dtype_a not in FLOATING and dtype_a not in COMPLEX
                      and rtol == 0 and atol == 0)

    def add(self, a: np.ndarray, b: np.ndarray, squares: tuple[float, float] | None = None) -> None:
        """Add a segment pair. ``squares``: Σa² and Σb² of these (float64, at most BLOCK
        long) segments when the caller has them already, as a series does for a tensor it
        pairs with two others; they are then not summed again."""
        with np.errstate(invalid="ignore", over="ignore"):
            if squares is not None and a.size <= BLOCK:
                self._add_block(a, b, squares)
                return
            for start in range(0, a.size, BLOCK):
                self._add_block(a[start:start + BLOCK], b[start:start + BLOCK])

    def _add_block(self, a: np.ndarray, b: np.ndarray, squares: tuple[float, float] | None = None) -> None:
        metrics = self.metrics
        metrics.numel += a.size
        if self.complex:
            self._add_complex(a.astype(np.complex128), b.astype(np.complex128))
            return
        a64, b64 = self._float64("a", a), self._float64("b", b)
        difference = np.subtract(b64, a64, out=self.scratch.get("difference", np.float64, a.size))
        square_a, square_b = squares or (self.sum_of_products(a64, a64), self.sum_of_products(b64, b64))
        sums = (self.sum_of_products(difference, difference), square_a, square_b, self.sum_of_products(a64, b64))
        if all(math.isfinite(total) for total in sums[:3]):  # no NaN or Inf in either block
            self._add_finite(a64, difference, sums)
            if self.exact and self.differences:
                metrics.mismatched += int(np.count_nonzero(a != b))
            return
        self._add_with_non_finite(a64, b64)

    def _float64(self, name: str, values: np.ndarray) -> np.ndarray:
        if values.dtype == np.float64:
            return values
        out = self.scratch.get(name, np.float64, values.size)
        np.copyto(out, values.view(np.uint8) if values.dtype == np.bool_ else values)
        return out

    def _add_finite(self, a64: np.ndarray, difference: np.ndarray, sums: tuple[float, ...]) -> None:
        """``difference`` (B − A, or already |B − A|) may be overwritten by its magnitude."""
        metrics = self.metrics
        metrics.finite += a64.size
        metrics.sum_sq_diff += sums[0]
        metrics.sum_sq_a += sums[1]
        metrics.sum_sq_b += sums[2]
        metrics.dot += sums[3]
        if not difference.size or not self.differences:
            return
        magnitude = np.abs(difference, out=difference)
        metrics.sum_abs += float(magnitude.sum())
        largest = float(magnitude.max())
        metrics.largest_abs = max(metrics.largest_abs, largest)
        if not self.exact and largest > self.atol:
            allowed = np.abs(a64, out=self.scratch.get("allowed", np.float64, a64.size))
            allowed *= self.rtol
            allowed += self.atol
            metrics.mismatched += int(np.count_nonzero(np.greater(magnitude, allowed)))

    def _add_with_non_finite(self, a64: np.ndarray, b64: np.ndarray) -> None:
        both, nan_a, nan_b = self._count_non_finite(a64, b64)
        if self.differences:
            self.metrics.mismatched += _non_finite_mismatches(a64, b64, both, nan_a, nan_b)
        a_finite, b_finite = a64[both], b64[both]
        difference = b_finite - a_finite
        dot = self.sum_of_products
        sums = (dot(difference, difference), dot(a_finite, a_finite), dot(b_finite, b_finite), dot(a_finite, b_finite))
        self._add_finite(a_finite, difference, sums)

    def _count_non_finite(self, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Count each side's NaN and Inf; the masks of positions finite on both sides and of NaN."""
        metrics = self.metrics
        finite_a, finite_b = np.isfinite(a), np.isfinite(b)
        nan_a, nan_b = np.isnan(a), np.isnan(b)
        metrics.nan_a += int(np.count_nonzero(nan_a))
        metrics.nan_b += int(np.count_nonzero(nan_b))
        metrics.inf_a += a.size - int(np.count_nonzero(finite_a | nan_a))
        metrics.inf_b += b.size - int(np.count_nonzero(finite_b | nan_b))
        return finite_a & finite_b, nan_a, nan_b

    def _add_complex(self, a: np.ndarray, b: np.ndarray) -> None:
        """Complex blocks: moduli for |Δ| and norms, Re Σ conj(A)·B for the inner product."""
        metrics = self.metrics
        both, nan_a, nan_b = self._count_non_finite(a, b)
        metrics.mismatched += _non_finite_mismatches(a, b, both, nan_a, nan_b)
        a, b = a[both], b[both]
        magnitude = np.abs(b - a)
        abs_a, abs_b = np.abs(a), np.abs(b)
        dot = self.sum_of_products
        sums = (dot(magnitude, magnitude), dot(abs_a, abs_a), dot(abs_b, abs_b), float(np.vdot(a, b).real))
        self._add_finite(abs_a, magnitude, sums)


def dot_product(x: np.ndarray, y: np.ndarray) -> float:
    """Σ x·y in float64, one BLAS call (our processes run BLAS on one thread: see
    ``inspector/__init__.py``)."""
    return float(np.dot(x, y))


def _non_finite_mismatches(a: np.ndarray, b: np.ndarray, both: np.ndarray, nan_a: np.ndarray,
                           nan_b: np.ndarray) -> int:
    """Positions not finite on both sides that differ (NaN against NaN, or the same Inf, agree)."""
    return int(np.count_nonzero(~both & ~((nan_a & nan_b) | (a == b))))
