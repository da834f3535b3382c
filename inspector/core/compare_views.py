"""What the compare view shows for one key: A and B side by side, and Δ = B − A.

Jobs the window runs on its plot threads (latest wins), streaming over bounded chunks:

- ``pair_stats_job(a, b)``: exact statistics of each side;
- ``pair_histograms_job(a, b, bins, stats)``: both histograms on the same edges (the range the
  two span), exactly ``np.histogram`` of each on those edges;
- ``delta_histogram_job(a, b, bins)``: Δ in float64 where both are finite, on edges over its
  own range (one bin per integer for integer tensors when that fits); NaN/Inf on either side
  counted apart;
- ``pair_slices_job(a, b, request)``: the same 2-D slice of A and B (``slices.heatmap_job``)
  and of Δ, pooled alike when large.

A side without the key is None and gets no plot. Tensors of different shapes but the same
rank still get a Δ over their overlapping block (each dimension cut to the smaller size).
Repeats along stride-0 dimensions are weighed, not walked, when both sides repeat alike.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from inspector.core.dtypes import ITEMSIZE
from inspector.core.histogram import Histogram, RunningHistogram, count_in_bins, histogram_edges
from inspector.core.model import TensorRef
from inspector.core.pair_metrics import PairStream
from inspector.core.progress import Job, Progress, sub_job
from inspector.core.slices import SliceData, SliceRequest, heatmap_job, pooled_image_job, region_view, slice_view
from inspector.core.stats import TensorStats, tensor_stats_job, value_kind
from inspector.core.values import FileCache, Scratch, iter_chunks, read_array, stored_view

DELTA_CHUNK = 1 << 20  # elements per side per step: a few float64 arrays of 8 MB


@dataclass
class PairStats:
    a: TensorStats | None
    b: TensorStats | None


@dataclass
class PairHistograms:
    a: Histogram | None
    b: Histogram | None
    edges: np.ndarray | None  # shared by both; None when neither side has a finite value


@dataclass
class PairSlices:
    a: SliceData | None
    b: SliceData | None
    delta: SliceData | None
    delta_note: str = ""  # why there is no Δ image


def delta_views(a: TensorRef | None, b: TensorRef | None) -> tuple[TensorRef, TensorRef] | None:
    """The parts of A and B that Δ compares element by element: both whole when the shapes
    agree, the overlapping leading block when only the rank does, else None."""
    if a is None or b is None or len(a.shape) != len(b.shape):
        return None
    if a.shape == b.shape:
        return a, b
    shape = tuple(min(size_a, size_b) for size_a, size_b in zip(a.shape, b.shape))
    return _reshaped(a, shape), _reshaped(b, shape)


def _reshaped(t: TensorRef, shape: tuple[int, ...]) -> TensorRef:
    return TensorRef(t.dtype, shape, t.stride, t.storage, t.storage_offset, t.role, t.requires_grad, t.layout, t.extra)


def pair_stats_job(a: TensorRef | None, b: TensorRef | None) -> Job[PairStats]:
    results = []
    present = [t for t in (a, b) if t is not None]
    if not present:
        return PairStats(None, None)
    for t in (a, b):
        if t is None:
            results.append(None)
            continue
        start = len([r for r in results if r is not None]) / len(present)
        results.append((yield from sub_job(tensor_stats_job(t), start, start + 1 / len(present), "statistics")))
    return PairStats(*results)


def pair_histograms_job(a: TensorRef | None, b: TensorRef | None, bins: int, stats: PairStats) -> Job[PairHistograms]:
    """Histograms of A and B on the same edges, spanning the finite values of both."""
    sides = [(t, s) for t, s in ((a, stats.a), (b, stats.b)) if t is not None]
    lows = [s.min for _, s in sides if s.min is not None]
    highs = [s.max for _, s in sides if s.max is not None]
    if not lows:
        return PairHistograms(*(Histogram(np.zeros(0, np.int64), None, s.nan, s.inf, s.count) if t is not None
                                else None for t, s in ((a, stats.a), (b, stats.b))), None)
    integer = all(value_kind(t.dtype) == "int" for t, _ in sides)
    edges = histogram_edges(min(lows), max(highs), bins, integer)
    total = sum(_stored_nbytes(t) for t, _ in sides)
    done = 0
    results: list[Histogram | None] = []
    with FileCache() as files:
        scratch = Scratch()
        for t, s in ((a, stats.a), (b, stats.b)):
            if t is None:
                results.append(None)
                continue
            running = RunningHistogram(edges, count_non_finite=False, scratch=scratch)
            view, repeats = stored_view(t)
            for chunk in iter_chunks(view, files=files, scratch=scratch):
                running.add(chunk, value_kind(t.dtype), repeats)
                done += chunk.size * ITEMSIZE.get(t.dtype, 1)
                yield Progress(done, total, "histograms")
            running.nan, running.inf = s.nan, s.inf
            results.append(running.result())
    return PairHistograms(results[0], results[1], edges)


def _stored_nbytes(t: TensorRef) -> int:
    return stored_view(t)[0].numel * ITEMSIZE.get(t.dtype, 1)


def delta_histogram_job(a: TensorRef, b: TensorRef, bins: int) -> Job[Histogram | None]:
    """Histogram of Δ = B − A (see the module docstring); None when A and B have different ranks."""
    views = delta_views(a, b)
    if views is None:
        return None
    view_a, view_b, repeats = _common_stored_views(*views)
    integer = value_kind(a.dtype) == "int" and value_kind(b.dtype) == "int"
    total = view_a.numel * repeats
    with FileCache() as files:
        scratch = (Scratch(), Scratch())
        low, high, nan, inf = yield from _delta_range(PairStream(view_a, view_b, files, scratch, DELTA_CHUNK))
        if low is None:
            return Histogram(np.zeros(0, np.int64), None, nan * repeats, inf * repeats, total)
        edges = histogram_edges(low, high, bins, integer)
        counts = np.zeros(len(edges) - 1, np.int64)
        stream = PairStream(view_a, view_b, files, scratch, DELTA_CHUNK)
        for segment_a, segment_b in stream:
            counts += count_in_bins(_finite_delta(segment_a, segment_b)[0], edges, inside=True)
            yield Progress(stream.numel + stream.done, 2 * stream.numel, "Δ histogram")
    return Histogram(counts * repeats, edges, nan * repeats, inf * repeats, total)


def _delta_range(stream: PairStream) -> Job[tuple[float | None, float | None, int, int]]:
    """The first pass: finite Δ's min and max (None without any), NaN and Inf positions."""
    low = high = None
    nan = inf = 0
    for segment_a, segment_b in stream:
        delta, bad_nan, bad_inf = _finite_delta(segment_a, segment_b)
        nan, inf = nan + bad_nan, inf + bad_inf
        if delta.size:
            low = float(delta.min()) if low is None else min(low, float(delta.min()))
            high = float(delta.max()) if high is None else max(high, float(delta.max()))
        yield Progress(stream.done, 2 * stream.numel, "Δ range")
    return low, high, nan, inf


def _common_stored_views(a: TensorRef, b: TensorRef) -> tuple[TensorRef, TensorRef, int]:
    """A and B without their repeated dimensions when both repeat along the same ones."""
    stored_a, repeats_a = stored_view(a)
    stored_b, repeats_b = stored_view(b)
    if repeats_a > 1 and stored_a.shape == stored_b.shape and repeats_a == repeats_b:
        return stored_a, stored_b, repeats_a
    return a, b, 1


def _finite_delta(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, int, int]:
    """Δ at the positions where both are finite (|Δ| for complex values), and how many
    positions hold NaN on either side, or else ±Inf."""
    first, second = _as_numbers(a), _as_numbers(b)
    with np.errstate(invalid="ignore", over="ignore"):
        finite = np.isfinite(first) & np.isfinite(second)
        if finite.all():
            delta = second - first
        else:
            delta = second[finite] - first[finite]
        nan = int(np.count_nonzero(np.isnan(first) | np.isnan(second)))
    if np.iscomplexobj(delta):
        delta = np.abs(delta)
    return delta, nan, int(finite.size - np.count_nonzero(finite)) - nan


def _as_numbers(values: np.ndarray) -> np.ndarray:
    """float64 (complex128 for complex values), exactly as the diff computes Δ."""
    if values.dtype == np.bool_:
        values = values.view(np.uint8)
    if np.iscomplexobj(values):
        return values.astype(np.complex128)
    return values.astype(np.float64)


def pair_slices_job(a: TensorRef | None, b: TensorRef | None, request: SliceRequest) -> Job[PairSlices]:
    """The slice ``request`` picks, of A, of B and of Δ (float32 images, pooled alike)."""
    parts = [t for t in (a, b) if t is not None] + [None]
    images = []
    for t in (a, b):
        if t is None:
            images.append(None)
            continue
        start = len([image for image in images if image is not None]) / len(parts)
        images.append((yield from sub_job(heatmap_job(t, request), start, start + 1 / len(parts), "heatmaps")))
    delta, note = None, ""
    views = delta_views(a, b)
    if views is None:
        note = "no Δ: only one side has this key" if a is None or b is None else "no Δ: A and B differ in rank"
    else:
        slice_a, slice_b = slice_view(views[0], request), slice_view(views[1], request)
        if slice_a.shape != slice_b.shape:
            note = "no Δ: this slice has other shapes in A and B"
        else:
            job = pooled_image_job(slice_a.shape, _delta_reader(slice_a, slice_b), request.pooling, "Δ heatmap")
            delta = yield from sub_job(job, 1 - 1 / len(parts), 1.0)
    return PairSlices(images[0], images[1], delta, note)


def _delta_reader(view_a: TensorRef, view_b: TensorRef):
    def read(top: int, rows: int, left: int, width: int) -> np.ndarray:
        first = _as_numbers(read_array(region_view(view_a, top, rows, left, width)))
        second = _as_numbers(read_array(region_view(view_b, top, rows, left, width)))
        with np.errstate(invalid="ignore", over="ignore"):
            delta = second - first
        if np.iscomplexobj(delta):
            delta = np.abs(delta)
        return delta.astype(np.float32)

    return read
