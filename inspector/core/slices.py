"""2-D slices of a tensor for the heatmap and the values table, read without copying the tensor.

A slice is a ``TensorRef`` over the same storage (nothing is read until a job reads it): one
``[rows, columns]`` matrix of an N-D tensor picked by its leading indices, or the whole tensor
reshaped to ``[d0, d1·d2·…]``; vectors and scalars become one column.

A slice larger than ``HEATMAP_MAX_SIDE`` on a side is pooled, never thinned: each heatmap
pixel aggregates a block of ``step`` rows × columns ("max |x|" keeps the extremes and their
sign, "mean" the average; NaN is ignored unless a block holds nothing else). It is read one
band of rows at a time, in bounded pieces.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from inspector.core.model import TensorRef
from inspector.core.progress import Job, Progress

HEATMAP_MAX_SIDE = 1024
PREVIEW_ROWS = 200  # rows of the values table per page
PREVIEW_COLUMNS = 64  # columns of the values table per page
POOLINGS = ("max-abs", "mean")
READ_BUDGET = 1 << 22  # elements read at once while pooling


@dataclass(frozen=True)
class SliceRequest:
    """Which 2-D view of a tensor to show: fixed leading indices, or all rows reshaped; and
    how a large one is pooled."""

    leading: tuple[int, ...] = ()
    reshaped: bool = False
    pooling: str = "max-abs"


@dataclass
class SliceData:
    image: object  # float32 2-D numpy array, pooled to at most HEATMAP_MAX_SIDE per side
    step: tuple[int, int]  # rows and columns of the slice each pixel pools
    full_shape: tuple[int, int]  # rows and columns of the slice
    pooling: str


@dataclass
class PreviewData:
    values: object  # exact values (the tensor's numpy dtype), one page of the slice
    first_row: int
    full_shape: tuple[int, int]
    first_column: int = 0


def pooling_step(shape: tuple[int, int]) -> tuple[int, int]:
    rows, columns = shape
    return math.ceil(rows / HEATMAP_MAX_SIDE) or 1, math.ceil(columns / HEATMAP_MAX_SIDE) or 1


def heatmap_job(tensor: TensorRef, request: SliceRequest) -> Job[SliceData]:
    """The slice as a float32 image, pooled by ``request.pooling`` when it is large."""
    import numpy as np

    from inspector.core import values

    view = slice_view(tensor, request)
    rows, columns = view.shape
    step = pooling_step((rows, columns))
    values.check_walkable(values.stored_view(view)[0])  # repeated rows/columns are read once
    yield Progress(0, rows, "heatmap")
    if rows == 0 or columns == 0:  # nothing to read, however long the other side
        image = np.zeros((math.ceil(rows / step[0]), math.ceil(columns / step[1])), np.float32)
        return SliceData(image, step, (rows, columns), request.pooling)
    if step == (1, 1):  # small enough to show every element
        return SliceData(_to_float32(values.read_array(view)), step, (rows, columns), request.pooling)
    if view.stride[0] == 0:  # every row the same: pool one band and show it for every band
        band = _pool_band(_row_band(view, 0, 1), step[1], request.pooling, values)
        image = np.repeat(band, math.ceil(rows / step[0]), axis=0)
        return SliceData(image, step, (rows, columns), request.pooling)
    bands = []
    for top in range(0, rows, step[0]):
        band = _row_band(view, top, min(step[0], rows - top))
        bands.append(_pool_band(band, step[1], request.pooling, values))
        yield Progress(top + step[0], rows, "heatmap")
    return SliceData(np.vstack(bands), step, (rows, columns), request.pooling)


def preview_job(tensor: TensorRef, request: SliceRequest, first_row: int = 0,
                first_column: int = 0) -> Job[PreviewData]:
    """Exact values of a page of the slice: ``PREVIEW_ROWS`` rows from ``first_row`` and
    ``PREVIEW_COLUMNS`` columns from ``first_column`` (only those are read)."""
    from inspector.core import values

    view = slice_view(tensor, request)
    rows, columns = view.shape
    first_row = min(max(first_row, 0), max(rows - 1, 0))
    first_column = min(max(first_column, 0), max(columns - 1, 0))
    yield Progress(0, 1, "values")
    page = region_view(view, first_row, min(PREVIEW_ROWS, rows - first_row),
                       first_column, min(PREVIEW_COLUMNS, columns - first_column))
    return PreviewData(values.read_array(page), first_row, (rows, columns), first_column)


def _pool_band(band: TensorRef, column_step: int, pooling: str, values):
    """One image row from a band of rows: read in pieces of whole column blocks. Rows or
    columns repeated by a stride of 0 are read once: pooling copies of a value is pooling it."""
    import numpy as np

    stored, _ = values.stored_view(band)
    if stored.shape[1] == 1 < band.shape[1]:  # every column the same: one pooled value, repeated
        single = _pool_band(stored, 1, pooling, values)
        return np.repeat(single, math.ceil(band.shape[1] / column_step), axis=1)
    band = stored
    rows, columns = band.shape
    block_columns = max(column_step, (READ_BUDGET // max(rows, 1)) // column_step * column_step)
    pieces = []
    for left in range(0, columns, block_columns):
        width = min(block_columns, columns - left)
        piece = _view(band, (rows, width), band.stride, band.storage_offset + left * band.stride[1])
        pieces.append(pool_blocks(_to_float32(values.read_array(piece)), column_step, pooling))
    return np.concatenate(pieces, axis=1)


def pool_blocks(array, column_step: int, pooling: str):
    """[rows, columns] -> [1, ceil(columns / column_step)]: each output pools all rows and
    ``column_step`` columns. NaN is left out unless a block holds nothing else."""
    import numpy as np

    rows, columns = array.shape
    blocks = math.ceil(columns / column_step)
    padded = np.full((rows, blocks * column_step), np.nan, dtype=np.float32)
    padded[:, :columns] = array
    grouped = padded.reshape(rows, blocks, column_step).transpose(1, 0, 2).reshape(blocks, -1)
    empty = np.isnan(grouped).all(axis=1)
    if pooling == "mean":
        with np.errstate(invalid="ignore"):
            pooled = np.nansum(grouped, axis=1) / np.maximum((~np.isnan(grouped)).sum(axis=1), 1)
    else:
        magnitudes = np.where(np.isnan(grouped), -1.0, np.abs(grouped))
        pooled = grouped[np.arange(blocks), magnitudes.argmax(axis=1)]
    pooled = np.where(empty, np.nan, pooled)
    return pooled.astype(np.float32).reshape(1, blocks)


def slice_view(tensor: TensorRef, request: SliceRequest) -> TensorRef:
    """The 2-D view the heatmap shows, as a TensorRef over the same storage (nothing read)."""
    shape, stride = tensor.shape, tensor.stride
    if len(shape) == 0:
        return _view(tensor, (1, 1), (1, 1), tensor.storage_offset)
    if len(shape) == 1:
        return _view(tensor, (shape[0], 1), (stride[0], 1), tensor.storage_offset)
    if request.reshaped and len(shape) > 2 and tensor.is_contiguous():
        columns = math.prod(shape[1:])
        return _view(tensor, (shape[0], columns), (columns, 1), tensor.storage_offset)
    leading = _clamped(request.leading, shape[:-2])
    offset = tensor.storage_offset + sum(i * s for i, s in zip(leading, stride))
    return _view(tensor, tuple(shape[-2:]), tuple(stride[-2:]), offset)


RegionReader = Callable[[int, int, int, int], object]  # (top, rows, left, width) -> float32 2-D array


def pooled_image_job(shape: tuple[int, int], read: RegionReader, pooling: str,
                     label: str = "heatmap") -> Job[SliceData]:
    """An image of a ``[rows, columns]`` matrix whose regions ``read`` gives (the compare view's
    Δ of two slices): whole when small, else pooled like ``heatmap_job``, one band of rows at a
    time, each band read in pieces of whole column blocks."""
    import numpy as np

    rows, columns = shape
    step = pooling_step((rows, columns))
    yield Progress(0, rows, label)
    if rows == 0 or columns == 0:
        image = np.zeros((math.ceil(rows / step[0]), math.ceil(columns / step[1])), np.float32)
        return SliceData(image, step, (rows, columns), pooling)
    if step == (1, 1):
        return SliceData(read(0, rows, 0, columns), step, (rows, columns), pooling)
    bands = []
    for top in range(0, rows, step[0]):
        height = min(step[0], rows - top)
        block_columns = max(step[1], (READ_BUDGET // height) // step[1] * step[1])
        pieces = [pool_blocks(read(top, height, left, min(block_columns, columns - left)), step[1], pooling)
                  for left in range(0, columns, block_columns)]
        bands.append(np.concatenate(pieces, axis=1))
        yield Progress(top + step[0], rows, label)
    return SliceData(np.vstack(bands), step, (rows, columns), pooling)


def region_view(view: TensorRef, top: int, rows: int, left: int, width: int) -> TensorRef:
    """``rows`` × ``width`` elements of a 2-D view from ``[top, left]``, over the same storage."""
    offset = view.storage_offset + top * view.stride[0] + left * view.stride[1]
    return _view(view, (rows, width), view.stride, offset)


def _row_band(view: TensorRef, top: int, rows: int) -> TensorRef:
    return _view(view, (rows, view.shape[1]), view.stride, view.storage_offset + top * view.stride[0])


def _view(tensor: TensorRef, shape: tuple[int, ...], stride: tuple[int, ...], offset: int) -> TensorRef:
    return TensorRef(tensor.dtype, tuple(shape), tuple(stride), tensor.storage, offset, tensor.role)


def _clamped(leading: tuple[int, ...], sizes: tuple[int, ...]) -> tuple[int, ...]:
    padded = tuple(leading) + (0,) * (len(sizes) - len(leading))
    return tuple(min(max(i, 0), size - 1) for i, size in zip(padded, sizes))


def _to_float32(array):
    import numpy as np

    if np.iscomplexobj(array):
        array = np.abs(array)
    return np.asarray(array, dtype=np.float32)
