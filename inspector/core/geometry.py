"""Checks that a tensor's declared geometry stays inside its storage before any read."""

from __future__ import annotations

from inspector.core import dtypes
from inspector.core.model import TensorRef

MAX_DIMS = 64
MAX_INT64 = 2**63 - 1


def check_tensor(t: TensorRef) -> str | None:
    """What is wrong with ``t``'s geometry, or None if every element lies inside its storage."""
    problem = _check_shape(t)
    if problem or t.storage is None:
        return problem
    return _check_extent(t)


def _check_shape(t: TensorRef) -> str | None:
    if not dtypes.is_known(t.dtype):
        return f"unknown dtype {t.dtype!r}"
    if len(t.shape) > MAX_DIMS:
        return f"{len(t.shape)} dimensions"
    if t.shape and min(t.shape) < 0:
        return f"negative size in shape {list(t.shape)}"
    if max(t.shape, default=0) > MAX_INT64 or max(t.stride, default=0) > MAX_INT64 or t.storage_offset > MAX_INT64:
        return "a size, stride or offset beyond torch's 64-bit range"
    if t.layout in ("strided", "quantized") and len(t.stride) != len(t.shape):
        return f"shape {list(t.shape)} and stride {list(t.stride)} differ in length"
    if t.stride and min(t.stride) < 0:
        return f"negative stride {list(t.stride)}"
    if t.storage_offset < 0:
        return f"negative storage offset {t.storage_offset}"
    return None


def last_element(t: TensorRef) -> int:
    """Index (in elements) one past the last element the view touches; 0 for empty tensors."""
    if 0 in t.shape:
        return 0
    last = t.storage_offset + 1
    for size, step in zip(t.shape, t.stride):
        last += (size - 1) * step
    return last


def _check_extent(t: TensorRef) -> str | None:
    size = dtypes.itemsize(t.dtype)
    needed = last_element(t) * size
    available = t.storage.nbytes if t.storage.nbytes >= 0 else 0
    if needed > available:
        return (f"view needs {needed} bytes but its storage {t.storage.key or ''} holds "
                f"{available}".replace("  ", " "))
    return None
