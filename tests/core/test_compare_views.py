"""The compare view's per-key numbers against numpy on torch's own values of the same files."""

from __future__ import annotations

import numpy as np
import pytest

from inspector.core.compare_views import (
    delta_histogram_job, delta_views, pair_histograms_job, pair_slices_job, pair_stats_job,
)
from inspector.core.loader import open_checkpoint
from inspector.core.progress import run_job
from inspector.core.slices import HEATMAP_MAX_SIDE, SliceRequest

torch = pytest.importorskip("torch")


def _pairs() -> tuple[dict, dict]:
    torch.manual_seed(5)
    a = {"w": torch.randn(40, 30), "conv": torch.randn(6, 4, 3, 5), "ints": torch.arange(-20, 20).reshape(8, 5),
         "nan": torch.randn(50), "head": torch.randn(10, 16), "bf": torch.randn(12, 7),
         "wide": torch.randn(3, 2 * HEATMAP_MAX_SIDE + 10), "rep": torch.randn(1, 6).expand(400, 6),
         "only_a": torch.randn(5)}
    b = {key: value + 0.05 * torch.randn_like(value.float()).to(value.dtype) if value.is_floating_point() else value
         for key, value in a.items() if key != "only_a"}
    b["ints"] = a["ints"] + a["ints"] % 3 - 1  # Δ in {-1, 0, 1}
    b["nan"] = b["nan"].clone()
    a["nan"] = a["nan"].clone()
    a["nan"][[1, 4]] = float("nan")
    b["nan"][[4, 9]] = float("nan")
    b["nan"][20] = float("inf")
    b["head"] = torch.randn(7, 16)
    b["bf"] = a["bf"].to(torch.bfloat16)
    b["rep"] = (torch.randn(1, 6) * 2).expand(400, 6)
    return a, b


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("compare_views")
    state_a, state_b = _pairs()
    paths = str(folder / "a.pt"), str(folder / "b.pt")
    torch.save(state_a, paths[0])
    torch.save(state_b, paths[1])
    oracle = [torch.load(path, weights_only=True) for path in paths]
    return open_checkpoint(paths[0]).root, open_checkpoint(paths[1]).root, oracle


def both(files, key):
    root_a, root_b, oracle = files
    return root_a.get(key), root_b.get(key), oracle[0].get(key), oracle[1].get(key)


def finite(values: torch.Tensor) -> np.ndarray:
    wide = values.double().flatten()
    return wide[torch.isfinite(wide)].numpy()


@pytest.mark.parametrize("key", ["w", "conv", "nan", "head", "bf", "rep", "ints"])
def test_histograms_of_both_sides_on_shared_edges(files, key):
    a, b, value_a, value_b = both(files, key)
    stats = run_job(pair_stats_job(a, b))
    bins = 37
    result = run_job(pair_histograms_job(a, b, bins, stats))
    everything = np.concatenate([finite(value_a), finite(value_b)])
    low, high = everything.min(), everything.max()
    np.testing.assert_allclose(result.edges, np.linspace(low, high, bins + 1), rtol=0, atol=1e-12)
    for histogram, values in ((result.a, value_a), (result.b, value_b)):
        assert np.array_equal(histogram.counts, np.histogram(finite(values), bins=result.edges)[0])
        assert histogram.nan == int(torch.isnan(values).sum()) and histogram.inf == int(torch.isinf(values).sum())
        assert histogram.total == values.numel()
    assert stats.a.count == value_a.numel() and stats.b.min == pytest.approx(finite(value_b).min())


@pytest.mark.parametrize("key", ["w", "conv", "nan", "bf", "rep", "ints"])
def test_delta_histogram_equals_numpy_of_the_difference(files, key):
    a, b, value_a, value_b = both(files, key)
    bins = 25
    result = run_job(delta_histogram_job(a, b, bins))
    first, second = value_a.double().flatten(), value_b.double().flatten()
    both_finite = torch.isfinite(first) & torch.isfinite(second)
    delta = (second - first)[both_finite].numpy()
    if key == "ints":  # a small integer range: one bin per integer
        expected_edges = np.arange(delta.min() - 0.5, delta.max() + 1.0)
        assert len(expected_edges) == 4
    else:
        expected_edges = np.linspace(delta.min(), delta.max(), bins + 1)
    np.testing.assert_allclose(result.edges, expected_edges, rtol=0, atol=1e-12)
    assert np.array_equal(result.counts, np.histogram(delta, bins=result.edges)[0])
    assert result.nan == int((torch.isnan(first) | torch.isnan(second)).sum())
    assert result.inf == int((~both_finite).sum()) - result.nan
    assert result.total == value_a.numel()


def test_shapes_that_differ_compare_their_overlap(files):
    a, b, value_a, value_b = both(files, "head")
    view_a, view_b = delta_views(a, b)
    assert view_a.shape == view_b.shape == (7, 16)
    result = run_job(delta_histogram_job(a, b, 10))
    delta = (value_b[:7].double() - value_a[:7].double()).flatten().numpy()
    assert np.array_equal(result.counts, np.histogram(delta, bins=np.linspace(delta.min(), delta.max(), 11))[0])
    slices = run_job(pair_slices_job(a, b, SliceRequest()))
    np.testing.assert_array_equal(slices.delta.image, delta.reshape(7, 16).astype(np.float32))
    assert slices.a.image.shape == (10, 16) and slices.b.image.shape == (7, 16)


def test_one_side_only_has_no_delta(files):
    a, _, value_a, _ = both(files, "only_a")
    assert run_job(delta_histogram_job(a, None, 10)) is None
    stats = run_job(pair_stats_job(a, None))
    assert stats.b is None and stats.a.max == pytest.approx(value_a.double().max().item())
    histograms = run_job(pair_histograms_job(a, None, 10, stats))
    assert histograms.b is None and histograms.a.counts.sum() == 5
    slices = run_job(pair_slices_job(a, None, SliceRequest()))
    assert slices.b is None and slices.delta is None and "only one side" in slices.delta_note


def test_slices_of_a_conv_weight_and_its_delta(files):
    a, b, value_a, value_b = both(files, "conv")
    slices = run_job(pair_slices_job(a, b, SliceRequest((4, 2))))
    np.testing.assert_array_equal(slices.a.image, value_a[4, 2].numpy())
    np.testing.assert_array_equal(slices.b.image, value_b[4, 2].numpy())
    expected = (value_b[4, 2].double() - value_a[4, 2].double()).float().numpy()
    np.testing.assert_array_equal(slices.delta.image, expected)
    reshaped = run_job(pair_slices_job(a, b, SliceRequest(reshaped=True)))
    assert reshaped.delta.image.shape == (6, 60)


def test_a_wide_delta_is_pooled_like_the_heatmaps(files):
    a, b, value_a, value_b = both(files, "wide")
    slices = run_job(pair_slices_job(a, b, SliceRequest()))
    step = slices.delta.step
    assert step == slices.a.step == (1, 3)
    delta = (value_b.double() - value_a.double()).float().numpy()
    padded = np.full((3, -(-delta.shape[1] // 3) * 3), np.nan, np.float32)
    padded[:, :delta.shape[1]] = delta
    blocks = padded.reshape(3, -1, 3)
    expected = np.take_along_axis(blocks, np.nanargmax(np.abs(blocks), axis=2)[..., None], axis=2)[..., 0]
    np.testing.assert_array_equal(slices.delta.image, expected)
