"""Tensors that share stored bytes: tied weights (``lm_head.weight`` is ``emb.weight``), views,
expanded tensors. Totals count each storage once, and a tensor says which other shares it.

A tensor holds ``min(its own bytes, its storage's bytes)`` of the file (an ``expand`` declares
far more than it stores). A group of tensors over one storage holds ``min(storage bytes, the
sum of their own bytes)``: tied weights count once, q/k/v slices of one buffer count once.
"""

from __future__ import annotations

from collections.abc import Iterable

from inspector.core.model import Storage, TensorRef


def own_nbytes(tensor: TensorRef) -> int:
    try:
        return tensor.nbytes
    except (KeyError, TypeError, ValueError):
        return 0


def stored_nbytes(tensor: TensorRef) -> int:
    """Bytes of the file this tensor reads: none without a storage, never more than its storage."""
    if tensor.storage is None:
        return 0
    return min(own_nbytes(tensor), max(tensor.storage.nbytes, 0))


def group_nbytes(storage: Storage, members: Iterable[TensorRef]) -> int:
    return min(max(storage.nbytes, 0), sum(own_nbytes(tensor) for tensor in members))


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
