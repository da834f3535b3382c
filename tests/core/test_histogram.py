"""histogram.py against np.histogram of torch's values on the same edges."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from inspector.core.errors import Cancelled
from inspector.core.histogram import count_in_bins, histogram_job
from inspector.core.progress import run_job
from tests.core.values_helpers import combined_histogram, histogram, tensor_stats
from tests.core.test_values import make_ref, random_tensor


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return str(tmp_path_factory.mktemp("histogram"))


def finite_values(x: torch.Tensor) -> np.ndarray:
    """Finite values (magnitudes for complex, numpy's |z| so edges agree to the last bit)."""
    if x.dtype.is_complex:
        wide = np.abs(x.to(torch.complex128).numpy())
        return wide[np.isfinite(wide)]
    wide = x.double()
    return wide[torch.isfinite(wide)].numpy()


@pytest.mark.parametrize("name", ["float32", "float64", "float16", "bfloat16", "float8_e4m3fn"])
def test_counts_equal_numpy_on_torch_values(folder, name):
    base = (torch.randn(70, 90) * 2).to(getattr(torch, name))
    special = torch.tensor([float("nan"), float("inf"), -float("inf"), float("nan")])
    base[3, 10:14] = special.to(base.dtype)
    view = base.t()[5:]
    result = histogram(make_ref(folder, base, view), bins=37)
    values = finite_values(view)
    assert result.edges[0] == values.min() and result.edges[-1] == values.max()
    assert np.array_equal(result.counts, np.histogram(values, bins=result.edges)[0])
    wide = view.double()
    expected = (int(torch.isnan(wide).sum()), int(torch.isinf(wide).sum()), view.numel())
    assert (result.nan, result.inf, result.total) == expected and result.nan > 0


def test_random_bits_and_chunking(folder):
    base = random_tensor("float32", (500, 600), seed=2)  # 300k: several cache blocks
    ref = make_ref(folder, base)
    whole = histogram(ref, bins=64)
    chunked = run_job(histogram_job(ref, bins=64, max_elements=11_111))
    assert np.array_equal(whole.counts, chunked.counts)
    assert np.array_equal(whole.counts, np.histogram(finite_values(base), bins=whole.edges)[0])
    stats = tensor_stats(ref)
    assert (whole.nan, whole.inf) == (stats.nan, stats.inf)


def test_value_range_counts_non_finite_itself(folder):
    base = torch.tensor([-3.0, -1.0, 0.0, 0.5, 1.0, 2.0, float("nan"), float("-inf")])
    result = histogram(make_ref(folder, base), bins=4, value_range=(1.0, -1.0))
    assert np.array_equal(result.edges, np.linspace(-1, 1, 5))
    assert np.array_equal(result.counts, np.histogram(base[:6].numpy(), bins=result.edges)[0])
    assert (result.nan, result.inf, result.total) == (1, 1, 8)


def test_complex_is_binned_by_magnitude(folder):
    base = torch.randn(40, 40, dtype=torch.complex64)
    result = histogram(make_ref(folder, base), bins=20)
    assert np.array_equal(result.counts, np.histogram(finite_values(base), bins=result.edges)[0])


@pytest.mark.parametrize("name", ["int8", "int64", "uint8", "bool"])
def test_small_integer_range_has_one_bin_per_integer(folder, name):
    low_end = 0 if name in ("uint8", "bool") else -3
    base = torch.randint(low_end, 9, (500,)).to(getattr(torch, name))
    result = histogram(make_ref(folder, base), bins=100)
    values = [int(v) for v in base.tolist()]
    low, high = min(values), max(values)
    assert np.array_equal(result.edges, np.arange(low - 0.5, high + 1.0))
    expected = torch.bincount(torch.tensor(values) - low, minlength=high - low + 1)
    assert np.array_equal(result.counts, expected.numpy())


@pytest.mark.parametrize("span", [99, 100, 101])
def test_integer_range_at_the_bin_count_edge(folder, span):
    """One bin per integer exactly while the integers fit: 100 integers in 100 bins still do."""
    base = torch.cat([torch.arange(span), torch.randint(0, span, (300,))])
    result = histogram(make_ref(folder, base), bins=100)
    if span <= 100:
        assert np.array_equal(result.edges, np.arange(-0.5, span))
        assert np.array_equal(result.counts, torch.bincount(base).numpy())
    else:
        assert len(result.counts) == 100 and (result.edges[0], result.edges[-1]) == (0, span - 1)
        assert np.array_equal(result.counts, np.histogram(base.numpy(), bins=result.edges)[0])


def test_wide_integer_range_uses_uniform_bins(folder):
    base = torch.randint(-10**6, 10**6, (1000,), dtype=torch.int32)
    result = histogram(make_ref(folder, base), bins=50)
    assert len(result.counts) == 50
    assert (result.edges[0], result.edges[-1]) == (base.min().item(), base.max().item())
    assert np.array_equal(result.counts, np.histogram(base.numpy(), bins=result.edges)[0])


def test_random_float64_bits_span_the_whole_range(folder):
    base = random_tensor("float64", (40, 50), seed=9)
    result = histogram(make_ref(folder, base), bins=30)
    values = finite_values(base)
    assert np.isfinite(result.edges).all() and result.edges[-1] == values.max()
    assert np.array_equal(result.counts, np.histogram(values, bins=result.edges)[0])


def test_constant_and_empty_tensors(folder):
    constant = histogram(make_ref(folder, torch.full((10,), 4.0)), bins=9)
    assert constant.edges[0] < 4.0 < constant.edges[-1] and constant.counts.sum() == 10
    assert constant.counts[4] == 10  # the middle bin
    empty = histogram(make_ref(folder, torch.empty(0)), bins=5)
    assert empty.counts.sum() == 0 and len(empty.edges) == 6 and empty.total == 0


def test_combined_histogram_over_a_module(folder):
    weight, bias = torch.randn(30, 20), torch.randn(30) * 5
    weight[0, 0] = float("nan")
    refs = [make_ref(folder, weight), make_ref(folder, bias), make_ref(folder, weight, weight.t())]
    result = combined_histogram(refs, bins=25)
    values = np.concatenate([finite_values(weight), finite_values(bias), finite_values(weight)])
    assert (result.edges[0], result.edges[-1]) == (values.min(), values.max())
    assert np.array_equal(result.counts, np.histogram(values, bins=result.edges)[0])
    assert (result.nan, result.total) == (2, 2 * weight.numel() + bias.numel())


def test_histogram_job_can_be_cancelled(folder):
    ref = make_ref(folder, torch.randn(10_000))
    seen = []

    def cancel_at_second(report):
        seen.append(report)
        if len(seen) == 2:
            raise Cancelled()

    with pytest.raises(Cancelled):
        run_job(histogram_job(ref, bins=10, max_elements=1000), cancel_at_second)
    assert seen[-1].done < seen[-1].total


def adversarial_cases():
    """(values, edges): values on and next to edges, huge and tiny ranges, outside values."""
    generator = np.random.default_rng(4)
    edges = np.linspace(-3.0, 5.0, 101)
    on_edges = np.concatenate([edges, np.nextafter(edges, -np.inf), np.nextafter(edges, np.inf)])
    yield on_edges, edges
    yield on_edges.astype(np.float32), edges
    yield generator.normal(size=5000).astype(np.float32), edges
    ranges = [(0.0, 100.0), (-1e30, 3e30), (1000.0, 1000.001), (-1e-30, 1e-30),
              (-1e300, 1e300), (-5e-42, 5e-42), (1e6, 1e6 + 1e-9)]
    for low, high in ranges:
        edges = np.linspace(low, high, 38)
        inside = low + (high - low) * generator.random(3000)
        neighbours = [np.nextafter(edges, np.inf), np.nextafter(edges, -np.inf)]
        values = np.concatenate([inside, edges, *neighbours])
        yield values, edges
        with np.errstate(over="ignore"):
            as_float32 = values.astype(np.float32)
        yield as_float32[np.isfinite(as_float32)], edges
    integers = generator.integers(-5, 40, 3000)
    yield integers, np.linspace(-5.5, 39.5, 46)
    yield integers, np.linspace(-5.0, 39.0, 17)
    yield generator.integers(0, 2**62, 2000, dtype=np.int64), np.linspace(0, 2.0**62, 51)


def test_count_in_bins_equals_numpy_histogram_exactly():
    for values, edges in adversarial_cases():
        expected = np.histogram(values, bins=edges)[0]
        case = (values.dtype, edges[0], edges[-1])
        assert np.array_equal(count_in_bins(values, edges), expected), case
        inside = values[(values >= edges[0]) & (values <= edges[-1])]
        assert np.array_equal(count_in_bins(inside, edges, inside=True), expected)
