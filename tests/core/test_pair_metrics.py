"""Pair metrics streamed in small, unequal chunks: the same numbers torch gives in float64."""

from __future__ import annotations

import pytest

from inspector.core.loader import open_checkpoint
from inspector.core.pair_metrics import pair_metrics_job
from inspector.core.progress import run_job
from inspector.core.tolerances import DTYPE_PRECISIONS, default_tolerances

torch = pytest.importorskip("torch")
from torch.testing._comparison import _DTYPE_PRECISIONS, default_tolerances as torch_default_tolerances  # noqa: E402


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    torch.manual_seed(0)
    base = torch.randn(37, 23)
    late = base.clone()
    late[-1, -1] += 1.0  # the only difference sits in the last chunk
    state = {
        "base": base, "transposed": base.t(), "copy_of_transposed": base.t().contiguous(),
        "moved": base.t().contiguous() + 0.01 * torch.randn(23, 37), "late": late,
        "zeros": torch.zeros(50), "zeros_too": torch.zeros(50),
    }
    path = str(tmp_path_factory.mktemp("pairs") / "pairs.pt")
    torch.save(state, path)
    return open_checkpoint(path).root, state


def metrics(refs, key_a: str, key_b: str, chunk: int, **options):
    return run_job(pair_metrics_job(refs[key_a], refs[key_b], max_elements=chunk, **options))


@pytest.mark.parametrize("chunk", [1, 7, 64, 1 << 20])
def test_layouts_stepped_in_unequal_chunks_match_torch(saved, chunk):
    refs, state = saved
    result = metrics(refs, "transposed", "moved", chunk)
    a, b = state["transposed"].double(), state["moved"].double()
    delta = b - a
    assert result.numel == result.finite == a.numel()
    assert result.max_abs == pytest.approx(delta.abs().max().item(), rel=1e-12)
    assert result.mean_abs == pytest.approx(delta.abs().mean().item(), rel=1e-12)
    assert result.rms == pytest.approx(delta.pow(2).mean().sqrt().item(), rel=1e-12)
    assert result.rel_l2 == pytest.approx((delta.norm() / a.norm()).item(), rel=1e-12)
    assert result.cosine == pytest.approx(((a * b).sum() / (a.norm() * b.norm())).item(), rel=1e-12)
    assert result.norm_b == pytest.approx(b.norm().item(), rel=1e-12)
    rtol, atol = torch_default_tolerances(state["transposed"], state["moved"])
    assert result.mismatched == int((~torch.isclose(b, a, rtol=rtol, atol=atol)).sum())


@pytest.mark.parametrize("chunk", [5, 100])
def test_a_difference_found_late_still_sums_every_element(saved, chunk):
    refs, state = saved
    result = metrics(refs, "base", "late", chunk)
    a, b = state["base"].double(), state["late"].double()
    assert not result.identical and result.mismatched == 1
    assert result.norm_a == pytest.approx(a.norm().item(), rel=1e-12)
    assert result.cosine == pytest.approx(((a * b).sum() / (a.norm() * b.norm())).item(), rel=1e-12)
    assert result.mean_abs == pytest.approx(1.0 / a.numel(), rel=1e-6)


def test_identical_values_in_different_layouts_need_no_arithmetic(saved):
    refs, state = saved
    same = metrics(refs, "transposed", "copy_of_transposed", 11)
    assert same.identical and same.sum_sq_a is None
    assert (same.max_abs, same.mean_abs, same.rms, same.rel_l2, same.cosine, same.mismatched) == (0, 0, 0, 0, 1, 0)
    zeros = metrics(refs, "zeros", "zeros_too", 8)
    assert zeros.identical and zeros.rel_l2 is None and zeros.cosine is None
    summed = metrics(refs, "transposed", "copy_of_transposed", 11, check_identical=False)
    assert not summed.identical and summed.largest_abs == 0.0
    assert summed.norm_a == pytest.approx(state["base"].double().norm().item(), rel=1e-12)


def test_progress_counts_the_bytes_of_both_tensors(saved):
    refs, state = saved
    reports = list(pair_metrics_job(refs["transposed"], refs["moved"], max_elements=100))
    total = 2 * state["moved"].numel() * 4
    assert reports[-1].done == reports[-1].total == total
    assert [report.done for report in reports] == sorted(report.done for report in reports)


def test_default_tolerances_are_torchs():
    for dtype in _DTYPE_PRECISIONS:
        name = str(dtype).removeprefix("torch.")
        assert DTYPE_PRECISIONS[name] == _DTYPE_PRECISIONS[dtype]
    pairs = [("float32", "float16"), ("bfloat16", "float64"), ("int64", "int64"), ("float8_e4m3fn", "float32")]
    for first, second in pairs:
        assert default_tolerances(first, second) == torch_default_tolerances(getattr(torch, first), getattr(torch, second))


def test_expanded_tensors_compare_one_copy_counted_many_times(tmp_path, monkeypatch):
    """Two files of ``expand``ed tensors: torch's float64 metrics, bytes read once per storage."""
    import os

    from inspector.core import values

    torch.manual_seed(3)
    small_a, small_b = torch.randn(4, 1), torch.randn(4, 1)
    torch.save({"x": small_a.expand(4, 1000), "same": small_a.expand(4, 2**23)}, tmp_path / "a.pt")
    torch.save({"x": small_b.expand(4, 1000), "same": small_a.expand(4, 2**23)}, tmp_path / "b.pt")
    a, b = open_checkpoint(str(tmp_path / "a.pt")).root, open_checkpoint(str(tmp_path / "b.pt")).root
    got = run_job(pair_metrics_job(a["x"], b["x"]))
    wide_a, wide_b = small_a.expand(4, 1000).double(), small_b.expand(4, 1000).double()
    difference = wide_b - wide_a
    assert got.numel == got.finite == wide_a.numel()
    assert got.max_abs == difference.abs().max().item()
    assert got.rel_l2 == pytest.approx((difference.norm() / wide_a.norm()).item(), rel=1e-12)
    assert got.cosine == pytest.approx(torch.nn.functional.cosine_similarity(
        wide_a.reshape(-1), wide_b.reshape(-1), dim=0).item(), rel=1e-12)
    read = []
    original = os.preadv
    monkeypatch.setattr(values.os, "preadv", lambda fd, buffers, offset: read.append(original(fd, buffers, offset)) or read[-1])
    same = run_job(pair_metrics_job(a["same"], b["same"]))
    assert same.identical and same.numel == 4 * 2**23 and sum(read) == 2 * small_a.numel() * 4
