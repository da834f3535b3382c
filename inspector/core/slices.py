"""2-D slices of a tensor for the heatmap and the values table, read without copying the tensor.

A slice is a ``TensorRef`` over the same storage (nothing is read until a job reads it): one
``[rows, columns]`` matrix of an N-D tensor picked by its leading indices, or the whole tensor
reshaped to ``[d0, d1·d2·…]``; vectors and scalars become one column.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from inspector.core.model import TensorRef
from inspector.core.progress import Job, Progress

HEATMAP_MAX_SIDE = 1024  # larger slices are strided down to at most this many rows/columns
PREVIEW_ROWS = 200
PREVIEW_COLUMNS = 64


@dataclass(frozen=True)
class SliceRequest:
    """Which 2-D view of a tensor to show: fixed leading indices, or all rows reshaped."""

    leading: tuple[int, ...] = ()
    reshaped: bool = False


@dataclass
class SliceData:
    image: object  # float32 2-D numpy array, strided down to at most HEATMAP_MAX_SIDE per side; None below 2-D
    step: tuple[int, int]  # the stride used for rows and columns of ``image``
    full_shape: tuple[int, int]  # rows and columns of the slice before striding
    preview: object  # exact values (tensor's numpy dtype), first rows and columns of the slice


def slice_job(tensor: TensorRef, request: SliceRequest) -> Job[SliceData]:
    from inspector.core import values

    view = slice_view(tensor, request)
    rows, columns = view.shape
    step = (math.ceil(rows / HEATMAP_MAX_SIDE) or 1, math.ceil(columns / HEATMAP_MAX_SIDE) or 1)
    yield Progress(0, 2, "heatmap")
    image = None  # vectors and scalars only get the values table
    if len(tensor.shape) >= 2:
        image = _to_float32(values.read_array(strided_view(view, step)))
    yield Progress(1, 2, "values")
    preview_view = head_view(view, PREVIEW_ROWS, PREVIEW_COLUMNS)
    preview = values.read_array(preview_view)
    return SliceData(image, step, (rows, columns), preview)


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


def strided_view(view: TensorRef, step: tuple[int, int]) -> TensorRef:
    rows, columns = view.shape
    shape = (math.ceil(rows / step[0]), math.ceil(columns / step[1]))
    stride = (view.stride[0] * step[0], view.stride[1] * step[1])
    return _view(view, shape, stride, view.storage_offset)


def head_view(view: TensorRef, rows: int, columns: int) -> TensorRef:
    shape = (min(view.shape[0], rows), min(view.shape[1], columns))
    return _view(view, shape, view.stride, view.storage_offset)


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
