"""Views that repeat their stored elements (``expand``, stride 0): exact statistics, histograms
and values, in time that follows the elements stored, never the count the file declares."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from inspector.core import values
from inspector.core.errors import CheckpointError
from inspector.core.loader import open_checkpoint
from inspector.core.model import TensorRef
from inspector.core.all_stats import compute_all_stats
from tests.core.values_helpers import histogram, tensor_stats
from inspector.core.progress import run_job
from tests.core.test_stats import assert_stats_match, expected_float_stats

HUGE_ROWS = 2**31


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """torch.save of expanded views: a small one torch can reduce, a huge one it cannot."""
    generator = torch.Generator().manual_seed(3)
    base = torch.randn(4, generator=generator)
    base[1] = 0.0
    column = torch.randn(5, 1, generator=generator)
    tensors = {"small": base.expand(1000, 4), "huge": base.expand(HUGE_ROWS, 4),
               "columns": column.expand(5, 7), "ints": torch.arange(3).expand(4, 3)}
    path = tmp_path_factory.mktemp("repeated") / "expanded.pt"
    torch.save(tensors, path)
    return str(path), tensors, base


def _read(path: str) -> dict[str, TensorRef]:
    return open_checkpoint(path).root


def _count_bytes_read(monkeypatch) -> list[int]:
    read: list[int] = []
    original = os.preadv

    def counting(fd, buffers, offset):
        got = original(fd, buffers, offset)
        read.append(got)
        return got

    monkeypatch.setattr(values.os, "preadv", counting)
    return read


def test_stats_of_an_expanded_tensor_equal_torch(saved):
    path, tensors, _ = saved
    refs = _read(path)
    for name in ("small", "columns"):
        assert_stats_match(tensor_stats(refs[name]), expected_float_stats(tensors[name]))
    ints = tensor_stats(refs["ints"])
    assert (ints.count, ints.min, ints.max, ints.zeros) == (12, 0, 2, 4)
    assert ints.mean == pytest.approx(tensors["ints"].double().mean().item())


def test_huge_expanded_tensor_reads_only_its_stored_bytes(saved, monkeypatch):
    path, _, base = saved
    ref = _read(path)["huge"]
    read = _count_bytes_read(monkeypatch)
    stats = tensor_stats(ref)
    assert sum(read) == base.numel() * base.element_size()
    count = HUGE_ROWS * base.numel()
    wide = base.double()
    assert (stats.count, stats.zeros) == (count, HUGE_ROWS)
    assert (stats.min, stats.max) == (base.min().item(), base.max().item())
    assert stats.mean == pytest.approx(wide.mean().item(), rel=1e-12)
    population_variance = wide.var(unbiased=False).item()
    assert stats.std == pytest.approx((population_variance * count / (count - 1)) ** 0.5, rel=1e-12)


def test_histogram_of_an_expanded_tensor_weighs_each_stored_value(saved, monkeypatch):
    path, tensors, base = saved
    refs = _read(path)
    small = histogram(refs["small"], bins=16)
    expected, _ = np.histogram(tensors["small"].numpy(), bins=small.edges)
    assert np.array_equal(small.counts, expected) and small.total == tensors["small"].numel()
    read = _count_bytes_read(monkeypatch)
    huge = histogram(refs["huge"], bins=16)
    per_row, _ = np.histogram(base.numpy(), bins=huge.edges)
    assert np.array_equal(huge.counts, per_row * HUGE_ROWS)
    assert sum(read) <= 2 * base.numel() * base.element_size()  # a stats pass, then the counts


def test_values_of_an_expanded_tensor_match_torch(saved):
    path, tensors, _ = saved
    refs = _read(path)
    assert np.array_equal(values.read_array(refs["small"]), tensors["small"].numpy())
    huge = refs["huge"]
    head = TensorRef(huge.dtype, (3, 4), huge.stride, huge.storage, huge.storage_offset)  # its first rows
    assert np.array_equal(values.read_array(head), tensors["huge"][:3].numpy())


def test_walking_a_huge_repeating_view_is_refused(saved, monkeypatch):
    ref = _read(saved[0])["huge"]
    read = _count_bytes_read(monkeypatch)
    with pytest.raises(CheckpointError, match="too many to walk"):
        next(values.iter_chunks(ref))
    with pytest.raises(CheckpointError, match="too many to walk"):
        values.read_array(ref)
    assert read == []


def test_overlapping_strides_cannot_buy_unbounded_time(tmp_path, monkeypatch):
    """Windows that overlap (stride 1 along both dims) read their storage over and over."""
    base = torch.arange(10_000, dtype=torch.float32)
    small = base.as_strided((60, 4), (1, 1))
    huge = base.as_strided((5000, 5000), (1, 1))  # 25M elements over 10k stored
    torch.save({"small": small, "huge": huge, "base": base}, tmp_path / "overlap.pt")
    checkpoint = open_checkpoint(str(tmp_path / "overlap.pt"))
    assert np.array_equal(values.read_array(checkpoint.root["small"]), small.numpy())
    assert_stats_match(tensor_stats(checkpoint.root["small"]), expected_float_stats(small))
    read = _count_bytes_read(monkeypatch)
    results = run_job(compute_all_stats(checkpoint))
    assert "too many to walk" in results[("huge",)].error and results[("base",)].error is None
    assert sum(read) <= (small.numel() + base.numel()) * 4
