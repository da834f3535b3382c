"""Per-layer numbers below a tree node: one row per floating-point tensor, in depth order.

The per-layer chart draws them; the statistics come from ``stats.tensor_stats_job`` (exact,
streamed), so a group's combined histogram can reuse them without reading twice.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from inspector.core.dtypes import FLOATING
from inspector.core.model import TensorRef
from inspector.core.progress import Job, sub_job

GROUP_MAX_TENSORS = 1000  # per-layer chart and combined histogram look at this many tensors


@dataclass
class LayerEntry:
    name: str  # dotted path from the selected node, in depth order
    node: object  # the tree node, handed back when the user clicks its bar
    tensor: TensorRef


@dataclass
class LayerMetrics:
    names: list[str] = field(default_factory=list)
    nodes: list[object] = field(default_factory=list)
    std: list[float] = field(default_factory=list)
    l2_norm: list[float] = field(default_factory=list)
    max_abs: list[float] = field(default_factory=list)
    ndims: list[int] = field(default_factory=list)
    skipped: int = 0  # tensors beyond GROUP_MAX_TENSORS
    unreadable: int = 0  # tensors whose values could not be read


@dataclass
class GroupData:
    layers: LayerMetrics
    histogram: object  # core.histogram.Histogram, or None without finite values
    entries: list[LayerEntry] = field(default_factory=list)  # the tensors looked at
    stats: list = field(default_factory=list)  # their TensorStats, to rebin without rereading


def is_plottable(tensor: TensorRef) -> bool:
    return tensor.dtype in FLOATING and tensor.storage is not None and tensor.numel > 0


def layer_entries(node: object) -> list[LayerEntry]:
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


def _children(node: object) -> list:
    return list(getattr(node, "children", None) or ())


def group_job(entries: list[LayerEntry], bins: int) -> Job[GroupData]:
    """Per-tensor metrics in depth order, then their combined histogram."""
    from inspector.core import stats
    from inspector.core.errors import CheckpointError

    chosen = entries[:GROUP_MAX_TENSORS]
    metrics = LayerMetrics(skipped=len(entries) - len(chosen))
    readable, all_stats = [], []
    share = 0.5 / max(len(chosen), 1)  # statistics take the first half of the progress bar
    for index, entry in enumerate(chosen):
        steps = sub_job(stats.tensor_stats_job(entry.tensor), index * share, (index + 1) * share, entry.name)
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


def _add_metrics(metrics: LayerMetrics, entry: LayerEntry, result) -> None:
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


def combined_histogram_job(entries: list[LayerEntry], all_stats: list, bins: int) -> Job:
    """One histogram over every value of ``entries``, on the range their stats span (None
    when no value is finite)."""
    from inspector.core import histogram

    if not any(result.min is not None for result in all_stats):
        return None
    tensors = [entry.tensor for entry in entries]
    return (yield from histogram.combined_histogram_job(tensors, bins, stats=all_stats))
