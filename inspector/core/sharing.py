"""Tensors that share stored bytes: tied weights (``lm_head.weight`` is ``emb.weight``), views,
expanded tensors. Totals count each stored byte once, and a tensor says which other shares it.

Tensors over one storage hold the bytes of the union of the spans they reach in it, and never
more than their own bytes add up to (a strided view reaches over bytes it skips): tied weights
count once, q/k/v slices of one buffer once, two copies of ``base[:10]`` as ten elements, an
``expand`` as the few elements it repeats.
"""

from __future__ import annotations

from collections.abc import Iterable

from inspector.core.dtypes import ITEMSIZE
from inspector.core.geometry import last_element
from inspector.core.model import Storage, TensorRef


def view_key(tensor: TensorRef) -> object:
    """Equal for tensors that are the same view of the same stored bytes (tied weights), and
    unique for a tensor without stored bytes."""
    if tensor.storage is None:
        return id(tensor)
    return tensor.storage, tensor.storage_offset, tensor.shape, tensor.stride, tensor.dtype, tensor.layout


def own_nbytes(tensor: TensorRef) -> int:
    try:
        return tensor.nbytes
    except (KeyError, TypeError, ValueError):
        return 0


def stored_nbytes(tensor: TensorRef) -> int:
    """Bytes of the file this tensor reads: none without a storage (``group_nbytes`` of one,
    written out: the tree asks it of every tensor)."""
    storage = tensor.storage
    if storage is None:
        return 0
    size = ITEMSIZE.get(tensor.dtype, 1)
    numel, last = 1, 0
    for length, step in zip(tensor.shape, tensor.stride):
        numel *= length
        last += (length - 1) * step
    if not numel:
        return 0
    return max(0, min((last + 1) * size, storage.nbytes - tensor.storage_offset * size, numel * size))


def group_nbytes(storage: Storage, members: Iterable[TensorRef]) -> int:
    """Bytes of ``storage`` that the tensors reach, each byte once (see the module's note)."""
    members = list(members)
    spans = sorted(_span(tensor, storage) for tensor in members)
    covered, reached = 0, 0
    for start, end in spans:
        start = max(start, reached)
        if end > start:
            covered += end - start
            reached = end
    return min(covered, sum(own_nbytes(tensor) for tensor in members))


def _span(tensor: TensorRef, storage: Storage) -> tuple[int, int]:
    """[first byte, one past the last byte) the view reaches, clipped to the storage."""
    size = ITEMSIZE.get(tensor.dtype, 1)
    limit = max(storage.nbytes, 0)
    end = last_element(tensor) * size if tensor.numel else 0
    return min(tensor.storage_offset * size, limit), min(end, limit)


def groups_by_storage(items: Iterable[tuple[object, TensorRef]]) -> dict[Storage, list[object]]:
    """Storage -> the keys of the tensors over it, in order (tensors without storage left out)."""
    groups: dict[Storage, list[object]] = {}
    for key, tensor in items:
        if tensor.storage is not None:
            groups.setdefault(tensor.storage, []).append(key)
    return groups


def total_nbytes(tensors: Iterable[TensorRef]) -> int:
    """Bytes the tensors hold in the file, each storage counted once."""
    members: dict[Storage, list[TensorRef]] = {}
    for tensor in tensors:
        if tensor.storage is not None:
            members.setdefault(tensor.storage, []).append(tensor)
    return sum(group_nbytes(storage, group) for storage, group in members.items())


def storage_ids(storages: Iterable[Storage]) -> dict[Storage, str]:
    """A short id per distinct storage, unique in the checkpoint: the file's own storage key
    where keys tell storages apart, with the shard's file name where several files hold
    storages; else their order of first appearance."""
    distinct = list(dict.fromkeys(storages))
    paths = {storage.path for storage in distinct}
    labels = [storage.key if len(paths) == 1 else f"{_file_name(storage.path)}:{storage.key}"
              for storage in distinct]
    if all(storage.key for storage in distinct) and len(set(labels)) == len(labels):
        return dict(zip(distinct, labels))
    return {storage: str(index) for index, storage in enumerate(distinct)}


def _file_name(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1]
