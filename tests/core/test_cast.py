"""The export's dtype cast against torch's own ``tensor.to(dtype)``: every finite and infinite
result bit-identical (rounding ties of bfloat16 and float16 and double rounding from float64
included), NaN where torch gives NaN."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from inspector.core.values import numpy_dtype
from inspector.core.dtypes import CAST_TARGETS
from inspector.core.writers.cast import cast_values, output_dtype
from tests.core.export_sources import random_tensor

SOURCES = ["float64", "float32", "float16", "bfloat16", "float8_e4m3fn", "float8_e5m2"]
INT_OF_SIZE = {1: torch.uint8, 2: torch.int16, 4: torch.int32, 8: torch.int64}


def hard_values(source: str) -> torch.Tensor:
    """Random bit patterns plus values sitting exactly on and next to rounding ties."""
    random = random_tensor(source, (4096,), seed=7)
    if source not in ("float64", "float32"):
        return random
    ties = []
    for mantissa_bits in (7, 10, 23):  # bfloat16, float16, float32 (from float64)
        step = 2.0 ** -mantissa_bits
        for base in (1.0, 1.5, 3.0, 2.0 ** -14, 65504.0 / 2):
            for fraction in (0.5, 0.5 + 2.0 ** -30, 0.5 - 2.0 ** -30, 1.5, 0.25):
                ties.append(base * (1 + step * fraction))
    extra = torch.tensor(ties + [-x for x in ties] + [1e300, -1e300, 1e-300, 65520.0, 3.4e38],
                         dtype=torch.float64).to(getattr(torch, source))
    return torch.cat([random, extra])


def to_numpy(tensor: torch.Tensor) -> np.ndarray:
    raw = tensor.view(INT_OF_SIZE[tensor.element_size()]).numpy()
    return raw.view(numpy_dtype(str(tensor.dtype).removeprefix("torch.")))


@pytest.mark.parametrize("target", CAST_TARGETS)
@pytest.mark.parametrize("source", SOURCES)
def test_cast_equals_torch(source, target):
    values = hard_values(source)
    expected = values.to(getattr(torch, target))
    ours = cast_values(to_numpy(values), numpy_dtype(target))
    assert ours.dtype == numpy_dtype(target)
    expected_bits = expected.view(INT_OF_SIZE[expected.element_size()]).numpy()
    ours_bits = ours.view(expected_bits.dtype)
    nan = torch.isnan(expected).numpy()
    assert np.array_equal(np.isnan(ours.astype(np.float32)), nan)
    assert np.array_equal(ours_bits[~nan], expected_bits[~nan])


def test_only_floating_tensors_change_type():
    assert output_dtype("float32", "bfloat16") == "bfloat16"
    assert output_dtype("float8_e4m3fn", "float32") == "float32"
    assert output_dtype("int64", "float16") == "int64"
    assert output_dtype("bool", "float16") == "bool"
    assert output_dtype("complex64", "float16") == "complex64"
    assert output_dtype("float32", None) == "float32"
    with pytest.raises(ValueError, match="float16, bfloat16, float32"):
        output_dtype("float32", "int8")
