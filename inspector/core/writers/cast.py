"""The optional dtype cast of an export, with the values torch's ``tensor.to(dtype)`` gives.

Only floating-point tensors are cast (integer buffers such as ``num_batches_tracked`` keep
their type, as ``model.half()`` leaves them). torch converts to float16 and bfloat16 through
float32 (its ``Half``/``BFloat16`` constructors take a float), so a float64 value is rounded
twice; doing the same here keeps the results bit-identical, NaN payloads aside.
"""

from __future__ import annotations

import numpy as np

from inspector.core.dtypes import CAST_TARGETS, FLOATING


def output_dtype(source_dtype: str, target: str | None) -> str:
    """The dtype a tensor of ``source_dtype`` is written as when ``target`` is asked."""
    if target is None or source_dtype not in FLOATING:
        return source_dtype
    if target not in CAST_TARGETS:
        raise ValueError(f"cannot cast to {target!r}: choose one of {', '.join(CAST_TARGETS)}")
    return target


def cast_values(values: np.ndarray, target: np.dtype) -> np.ndarray:
    """``values`` (a floating array as ``values.read_array`` returns it) as ``target``."""
    if values.dtype == target:
        return values
    with np.errstate(over="ignore", invalid="ignore"):  # overflow to Inf is what torch gives
        if target.itemsize == 2 and values.dtype != np.float32:
            values = values.astype(np.float32)
        return values.astype(target)
