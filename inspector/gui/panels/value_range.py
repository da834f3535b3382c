"""The value axis range of the per-layer chart: every point inside, none on a border, and
tiny differences not magnified to the whole width."""

from __future__ import annotations

import numpy as np

MIN_DECADES = 1.0  # a log axis spans at least this many, so ticks are labelled and noise stays small
PADDING = 0.05  # of the span, on each side: points and marks are not cut by the borders


def log_range(values: np.ndarray) -> tuple[float, float]:
    """log10 bounds for positive ``values``: at least MIN_DECADES wide around them, padded."""
    positive = np.asarray(values, dtype=np.float64)
    positive = positive[np.isfinite(positive) & (positive > 0)]
    if not positive.size:
        return -1.0 - PADDING, PADDING
    low, high = float(np.log10(positive.min())), float(np.log10(positive.max()))
    if high - low < MIN_DECADES:
        middle = (low + high) / 2
        low, high = middle - MIN_DECADES / 2, middle + MIN_DECADES / 2
    pad = PADDING * (high - low)
    return low - pad, high + pad


def linear_range(values: np.ndarray) -> tuple[float, float]:
    """Bounds from zero (bars start there) to the largest of ``values``, padded."""
    finite = np.asarray(values, dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    high = float(finite.max()) if finite.size else 0.0
    low = min(float(finite.min()), 0.0) if finite.size else 0.0
    if high <= low:
        high = low + 1.0
    pad = PADDING * (high - low)
    return low - pad, high + pad
