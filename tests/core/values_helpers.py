"""One-call forms of the engine's jobs, for tests: the product drives the jobs themselves."""

from __future__ import annotations

import numpy as np

from inspector.core.histogram import Histogram, combined_histogram_job, histogram_job
from inspector.core.model import TensorRef
from inspector.core.progress import run_job
from inspector.core.stats import TensorStats, tensor_stats_job
from inspector.core.values import iter_chunks


def tensor_stats(t: TensorRef, max_elements: int | None = None) -> TensorStats:
    return run_job(tensor_stats_job(t) if max_elements is None else tensor_stats_job(t, max_elements))


def histogram(t: TensorRef, bins: int = 100, value_range=None, stats=None) -> Histogram:
    return run_job(histogram_job(t, bins, value_range, stats))


def combined_histogram(tensors, bins: int = 100, value_range=None) -> Histogram:
    return run_job(combined_histogram_job(tensors, bins, value_range))


def read_head(t: TensorRef, count: int) -> np.ndarray:
    """The first ``count`` elements in row-major order (of a view small enough to walk)."""
    parts, needed = [], count
    for chunk in iter_chunks(t, max_elements=max(count, 1)):
        parts.append(chunk[:needed].copy())
        needed -= len(parts[-1])
        if needed <= 0:
            break
    return np.concatenate(parts) if parts else np.empty(0)
