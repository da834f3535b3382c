"""Default closeness tolerances: those of ``torch.testing.assert_close``, without importing torch.

From ``torch/testing/_comparison.py`` (``_DTYPE_PRECISIONS``): (rtol, atol) per dtype;
quantized dtypes use float32's; every other dtype (integers, bool, float8) gets (0, 0).
Comparing two dtypes takes the loosest of each, as ``default_tolerances`` does there.
"""

from __future__ import annotations

_FLOAT32 = (1.3e-6, 1e-5)
DTYPE_PRECISIONS: dict[str, tuple[float, float]] = {
    "float16": (0.001, 1e-5),
    "bfloat16": (0.016, 1e-5),
    "float32": _FLOAT32,
    "float64": (1e-7, 1e-7),
    "complex32": (0.001, 1e-5),
    "complex64": _FLOAT32,
    "complex128": (1e-7, 1e-7),
    "quint8": _FLOAT32, "quint2x4": _FLOAT32, "quint4x2": _FLOAT32, "qint8": _FLOAT32, "qint32": _FLOAT32,
}


def default_tolerances(*dtypes: str) -> tuple[float, float]:
    """(rtol, atol): the loosest default of the given dtypes."""
    precisions = [DTYPE_PRECISIONS.get(dtype, (0.0, 0.0)) for dtype in dtypes]
    return max(rtol for rtol, _ in precisions), max(atol for _, atol in precisions)


def tolerances_for(dtype_a: str, dtype_b: str, rtol: float | None = None,
                   atol: float | None = None) -> tuple[float, float]:
    """The tolerances to compare ``dtype_a`` with ``dtype_b``: the given ones, or the defaults."""
    default_rtol, default_atol = default_tolerances(dtype_a, dtype_b)
    return (default_rtol if rtol is None else rtol), (default_atol if atol is None else atol)
