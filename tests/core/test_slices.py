"""Heatmap slices pooled from torch-written files: equal to pooling torch's values with numpy,
and expanded (stride-0) rows or columns read once, whatever size the file declares."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest
import torch

from inspector.core import slices, values
from inspector.core.loader import open_checkpoint
from inspector.core.progress import run_job
from inspector.core.slices import HEATMAP_MAX_SIDE, SliceRequest, heatmap_job


def numpy_pooled(array: np.ndarray, step: tuple[int, int], pooling: str) -> np.ndarray:
    """The oracle: each output pixel pools its block of the whole array (numpy's reduceat over
    block starts; max-abs keeps whichever of the block's max and min is larger in magnitude)."""
    rows = np.arange(0, array.shape[0], step[0])
    columns = np.arange(0, array.shape[1], step[1])
    wide = array.astype(np.float64)
    if pooling == "mean":
        sums = np.add.reduceat(np.add.reduceat(wide, rows, axis=0), columns, axis=1)
        counts = np.outer(np.diff(np.append(rows, array.shape[0])), np.diff(np.append(columns, array.shape[1])))
        return (sums / counts).astype(np.float32)
    high = np.maximum.reduceat(np.maximum.reduceat(wide, rows, axis=0), columns, axis=1)
    low = np.minimum.reduceat(np.minimum.reduceat(wide, rows, axis=0), columns, axis=1)
    return np.where(np.abs(high) >= np.abs(low), high, low).astype(np.float32)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    generator = torch.Generator().manual_seed(5)
    row, column = torch.randn(3000, generator=generator), torch.randn(2500, 1, generator=generator)
    tensors = {"dense": torch.randn(2100, 1500, generator=generator), "rows": row.expand(2500, 3000),
               "columns": column.expand(2500, 3000), "huge_rows": row.expand(2**31, 3000)}
    path = tmp_path_factory.mktemp("slices") / "slices.pt"
    torch.save(tensors, path)
    return open_checkpoint(str(path)).root, tensors


@pytest.mark.parametrize("pooling", ["max-abs", "mean"])
@pytest.mark.parametrize("name", ["dense", "rows", "columns"])
def test_pooled_heatmaps_equal_numpy_pooling(saved, name, pooling):
    refs, tensors = saved
    data = run_job(heatmap_job(refs[name], SliceRequest(pooling=pooling)))
    expected = numpy_pooled(tensors[name].numpy(), data.step, pooling)
    assert data.step == (math.ceil(tensors[name].shape[0] / HEATMAP_MAX_SIDE),
                         math.ceil(tensors[name].shape[1] / HEATMAP_MAX_SIDE))
    np.testing.assert_allclose(data.image, expected, rtol=1e-6, atol=1e-6)


def test_huge_expanded_rows_are_read_once_per_band(saved, monkeypatch):
    refs, tensors = saved
    read: list[int] = []
    original = os.preadv
    monkeypatch.setattr(values.os, "preadv", lambda fd, buffers, offset: read.append(original(fd, buffers, offset)) or read[-1])
    data = run_job(heatmap_job(refs["huge_rows"], SliceRequest(pooling="max-abs")))
    row = tensors["huge_rows"][0].numpy()
    expected = numpy_pooled(row.reshape(1, -1), (1, data.step[1]), "max-abs")
    assert np.array_equal(data.image, np.repeat(expected, data.image.shape[0], axis=0))
    assert sum(read) == row.nbytes  # the row once, not once per band (nor 2**21 times per band)


def test_a_view_that_revisits_its_storage_too_often_is_refused(tmp_path):
    base = torch.arange(2**21, dtype=torch.float32)
    torch.save({"overlap": base.as_strided((2**20, 2**20), (1, 1))}, tmp_path / "overlap.pt")
    ref = open_checkpoint(str(tmp_path / "overlap.pt")).root["overlap"]
    with pytest.raises(Exception, match="too many to walk"):
        run_job(heatmap_job(ref, SliceRequest()))
    assert slices.READ_BUDGET < values.MIN_WALK  # why the check must cover the whole slice


@pytest.mark.parametrize("shape", [(0, 2**62), (2**40, 0), (0, 5)])
def test_empty_slices_of_any_declared_width(tmp_path, shape):
    torch.save({"empty": torch.empty(shape)}, tmp_path / "empty.pt")
    ref = open_checkpoint(str(tmp_path / "empty.pt")).root["empty"]
    data = run_job(heatmap_job(ref, SliceRequest()))
    assert data.image.size == 0 and data.full_shape == shape


@pytest.fixture(scope="module")
def previewed(tmp_path_factory):
    generator = torch.Generator().manual_seed(7)
    tensors = {"conv": torch.randn(64, 3, 7, 7, generator=generator),
               "wide": torch.randn(300, 150, generator=generator).t(),  # non-contiguous: [150, 300]
               "vector": torch.randn(70, generator=generator)}
    path = tmp_path_factory.mktemp("preview") / "preview.pt"
    torch.save(tensors, path)
    return open_checkpoint(str(path)).root, tensors


@pytest.mark.parametrize("first_row, first_column", [(0, 0), (0, 64), (0, 128), (0, 146), (60, 100)])
def test_preview_pages_columns_of_a_reshaped_conv_weight(previewed, first_row, first_column):
    refs, tensors = previewed
    page = run_job(slices.preview_job(refs["conv"], SliceRequest(reshaped=True), first_row, first_column))
    expected = tensors["conv"].reshape(64, -1)[first_row:first_row + slices.PREVIEW_ROWS,
                                                first_column:first_column + slices.PREVIEW_COLUMNS]
    assert (page.first_row, page.first_column, page.full_shape) == (first_row, first_column, (64, 147))
    assert np.array_equal(page.values, expected.numpy())


def test_preview_pages_of_a_transposed_view_and_past_the_end(previewed):
    refs, tensors = previewed
    wide = tensors["wide"]
    page = run_job(slices.preview_job(refs["wide"], SliceRequest(), 100, 200))
    assert np.array_equal(page.values, wide[100:, 200:264].numpy())
    clamped = run_job(slices.preview_job(refs["wide"], SliceRequest(), 10**9, 10**9))
    assert (clamped.first_row, clamped.first_column) == (149, 299)
    assert np.array_equal(clamped.values, wide[149:, 299:].numpy())
    vector = run_job(slices.preview_job(refs["vector"], SliceRequest(), 0, 5))  # one column only
    assert vector.first_column == 0 and np.array_equal(vector.values, tensors["vector"].numpy().reshape(-1, 1))
