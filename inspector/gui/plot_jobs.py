"""What the tensor panel computes in the background: plain generator jobs over core reads.

Each job yields ``Progress`` between units of work (one tensor, one read) so a worker can
stop it between yields, and returns a small result holding only plot-sized arrays.
Qt-free on purpose: ``plot_runner.py`` drives these jobs on worker threads.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from inspector.core.dtypes import FLOATING
from inspector.core.model import TensorRef
from inspector.core.progress import Job, Progress, sub_job

HEATMAP_MAX_SIDE = 1024  # larger slices are strided down to at most this many rows/columns
PREVIEW_ROWS = 200
PREVIEW_COLUMNS = 64
GROUP_MAX_TENSORS = 1000  # per-layer chart and combined histogram look at this many tensors


@dataclass
class HistogramData:
    counts: Any  # numpy int array, one count per bin
    edges: Any  # numpy float array, len(counts) + 1
    nan: int = 0
    inf: int = 0


@dataclass(frozen=True)
class SliceRequest:
    """Which 2-D view of a tensor to show: fixed leading indices, or all rows reshaped."""

    leading: tuple[int, ...] = ()
    reshaped: bool = False


@dataclass
class SliceData:
    image: Any  # float32 2-D array, strided down to at most HEATMAP_MAX_SIDE per side; None below 2-D
    step: tuple[int, int]  # the stride used for rows and columns of ``image``
    full_shape: tuple[int, int]  # rows and columns of the slice before striding
    preview: Any  # exact values (tensor's numpy dtype), first rows and columns of the slice


@dataclass
class LayerEntry:
    name: str  # dotted path from the selected node, in depth order
    node: Any  # the tree node, handed back when the user clicks its bar
    tensor: TensorRef


@dataclass
class LayerMetrics:
    names: list[str] = field(default_factory=list)
    nodes: list[Any] = field(default_factory=list)
    std: list[float] = field(default_factory=list)
    l2_norm: list[float] = field(default_factory=list)
    max_abs: list[float] = field(default_factory=list)
    ndims: list[int] = field(default_factory=list)
    skipped: int = 0  # tensors beyond GROUP_MAX_TENSORS
    unreadable: int = 0  # tensors whose values could not be read


@dataclass
class GroupData:
    layers: LayerMetrics
    histogram: HistogramData | None
    entries: list[LayerEntry] = field(default_factory=list)  # the tensors looked at
    stats: list = field(default_factory=list)  # their TensorStats, to rebin without rereading


def is_plottable(tensor: TensorRef) -> bool:
    return tensor.dtype in FLOATING and tensor.storage is not None and tensor.numel > 0


def layer_entries(node: Any) -> list[LayerEntry]:
    """Floating-point tensors below a tree node in depth order, named by key or dotted path."""
    entries: list[LayerEntry] = []
    stack = [(child, str(child.name)) for child in reversed(_children(node))]
    while stack:
        child, name = stack.pop()
        tensor = getattr(child, "tensor", None)
        if tensor is None:
            stack.extend((grandchild, f"{name}.{grandchild.name}") for grandchild in reversed(_children(child)))
        elif is_plottable(tensor):
            entries.append(LayerEntry(getattr(child, "key", "") or name, child, tensor))
    return entries


def _children(node: Any) -> list:
    return list(getattr(node, "children", None) or ())


def tensor_stats_job(tensor: TensorRef) -> Job[Any]:
    """Exact statistics; yields after every chunk read, so it stops promptly when quit."""
    from inspector.core import stats

    return (yield from stats.tensor_stats_job(tensor))


def histogram_job(tensor: TensorRef, bins: int, stats: Any = None) -> Job[HistogramData]:
    """One pass over the values when ``stats`` (their exact range) is known, else two."""
    from inspector.core import histogram

    result = yield from histogram.histogram_job(tensor, bins, stats=stats)
    return _histogram_data(result)


def slice_job(tensor: TensorRef, request: SliceRequest) -> Job[SliceData]:
    from inspector.core import values

    view = slice_view(tensor, request)
    rows, columns = view.shape
    step = (math.ceil(rows / HEATMAP_MAX_SIDE) or 1, math.ceil(columns / HEATMAP_MAX_SIDE) or 1)
    yield Progress(0, 2, "heatmap")
    image = None  # vectors and scalars only get the values table
    if len(tensor.shape) >= 2:
        image = _to_float32(values.read_array(strided_view(view, step)))
    yield Progress(1, 2, "values")
    preview_view = head_view(view, PREVIEW_ROWS, PREVIEW_COLUMNS)
    preview = values.read_array(preview_view)
    return SliceData(image, step, (rows, columns), preview)


def group_job(entries: list[LayerEntry], bins: int) -> Job[GroupData]:
    """Per-tensor metrics in depth order, then their combined histogram."""
    from inspector.core.errors import CheckpointError

    chosen = entries[:GROUP_MAX_TENSORS]
    metrics = LayerMetrics(skipped=len(entries) - len(chosen))
    readable, all_stats = [], []
    share = 0.5 / max(len(chosen), 1)  # statistics take the first half of the progress bar
    for index, entry in enumerate(chosen):
        steps = sub_job(tensor_stats_job(entry.tensor), index * share, (index + 1) * share, entry.name)
        try:
            result = yield from steps
        except CheckpointError:
            metrics.unreadable += 1
            continue
        readable.append(entry)
        all_stats.append(result)
        _add_metrics(metrics, entry, result)
    histogram = yield from sub_job(combined_histogram_job(readable, all_stats, bins), 0.5, 1.0, "histogram")
    return GroupData(metrics, histogram, readable, all_stats)


def _add_metrics(metrics: LayerMetrics, entry: LayerEntry, result: Any) -> None:
    count = result.count - result.nan - result.inf
    mean = result.mean if result.mean is not None else 0.0
    std = result.std if result.std is not None else 0.0
    # sum of squares of the finite values, recovered from mean and (n-1)-corrected variance
    square_sum = max((count - 1) * std * std + count * mean * mean, 0.0)
    metrics.names.append(entry.name)
    metrics.nodes.append(entry.node)
    metrics.std.append(float(std))
    metrics.l2_norm.append(math.sqrt(square_sum))
    metrics.ndims.append(len(entry.tensor.shape))
    metrics.max_abs.append(float(max(abs(result.min), abs(result.max))) if result.min is not None else 0.0)


def combined_histogram_job(entries: list[LayerEntry], all_stats: list, bins: int) -> Job[HistogramData | None]:
    """One histogram over every value of ``entries``, on the range their stats span."""
    from inspector.core import histogram

    if not any(result.min is not None for result in all_stats):
        return None
    tensors = [entry.tensor for entry in entries]
    result = yield from histogram.combined_histogram_job(tensors, bins, stats=all_stats)
    return _histogram_data(result)


def slice_view(tensor: TensorRef, request: SliceRequest) -> TensorRef:
    """The 2-D view the heatmap shows, as a TensorRef over the same storage (nothing read)."""
    shape, stride = tensor.shape, tensor.stride
    if len(shape) == 0:
        return _view(tensor, (1, 1), (1, 1), tensor.storage_offset)
    if len(shape) == 1:
        return _view(tensor, (shape[0], 1), (stride[0], 1), tensor.storage_offset)
    if request.reshaped and len(shape) > 2 and tensor.is_contiguous():
        columns = math.prod(shape[1:])
        return _view(tensor, (shape[0], columns), (columns, 1), tensor.storage_offset)
    leading = _clamped(request.leading, shape[:-2])
    offset = tensor.storage_offset + sum(i * s for i, s in zip(leading, stride))
    return _view(tensor, tuple(shape[-2:]), tuple(stride[-2:]), offset)


def strided_view(view: TensorRef, step: tuple[int, int]) -> TensorRef:
    rows, columns = view.shape
    shape = (math.ceil(rows / step[0]), math.ceil(columns / step[1]))
    stride = (view.stride[0] * step[0], view.stride[1] * step[1])
    return _view(view, shape, stride, view.storage_offset)


def head_view(view: TensorRef, rows: int, columns: int) -> TensorRef:
    shape = (min(view.shape[0], rows), min(view.shape[1], columns))
    return _view(view, shape, view.stride, view.storage_offset)


def _view(tensor: TensorRef, shape: tuple[int, ...], stride: tuple[int, ...], offset: int) -> TensorRef:
    return TensorRef(tensor.dtype, tuple(shape), tuple(stride), tensor.storage, offset, tensor.role)


def _clamped(leading: tuple[int, ...], sizes: tuple[int, ...]) -> tuple[int, ...]:
    padded = tuple(leading) + (0,) * (len(sizes) - len(leading))
    return tuple(min(max(i, 0), size - 1) for i, size in zip(padded, sizes))


def _histogram_data(result: Any) -> HistogramData:
    return HistogramData(result.counts, result.edges, int(result.nan), int(result.inf))


def _to_float32(array: Any) -> Any:
    import numpy as np

    if np.iscomplexobj(array):
        array = np.abs(array)
    return np.asarray(array, dtype=np.float32)
