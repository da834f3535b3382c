"""Statistics of every tensor of a checkpoint, on every core.

Tensors are cut into parts along their first dimension; each part accumulates its own
``RunningStats`` and a tensor's parts are merged (Chan's formula), so a single huge tensor keeps
every core busy too. Tensors that are the same view of the same storage (tied weights) are
computed once.

The parts are reduced by forked worker processes. Threads were measured here first: numpy and
``preadv`` release the GIL, but a part's dozen short numpy calls per block hand the GIL back and
forth so often that two threads ran slower than one; processes share nothing and scale. A
process that may not fork safely (it runs other threads, or is itself a daemon worker) reduces
the parts itself, one after the other.
"""

from __future__ import annotations

import multiprocessing
import os
import threading

from inspector.core.dtypes import ITEMSIZE
from inspector.core.errors import CheckpointError
from inspector.core.model import Checkpoint, TensorPath, TensorRef
from inspector.core.progress import Job, Progress
from inspector.core.sharing import view_key
from inspector.core.stats import RunningStats, TensorStats, value_kind
from inspector.core.values import DEFAULT_CHUNK, FileCache, Scratch, check_walkable, iter_chunks, stored_view

PART_ELEMENTS = 1 << 23  # a part is reduced by one process: small enough to share a big tensor out
PARALLEL_FROM_BYTES = 256 << 20  # below, starting processes costs more than it saves
BATCH_BYTES = 16 << 20  # a worker's task: parts adding up to about this many bytes
PROGRESS_EVERY_S = 0.05
MAX_WORKERS = 4


class Part:
    """One piece of one tensor to reduce: a view over its stored elements, counted ``repeats`` times."""

    __slots__ = ("key", "view", "repeats", "kind")

    def __init__(self, key: object, view: TensorRef, repeats: int, kind: str) -> None:
        self.key, self.view, self.repeats, self.kind = key, view, repeats, kind

    @property
    def nbytes(self) -> int:
        return self.view.numel * ITEMSIZE.get(self.view.dtype, 1) if self.view.storage is not None else 0


def compute_all_stats(checkpoint: Checkpoint, max_elements: int = DEFAULT_CHUNK,
                      workers: int | None = None) -> Job[dict[TensorPath, TensorStats]]:
    """Stats of every tensor; an unreadable one gets a TensorStats with ``error`` set.

    Yields Progress in bytes read; closing the job stops the worker processes at once.
    """
    tensors = list(checkpoint.iter_tensors())
    views = {path: view_key(tensor) for path, tensor in tensors}
    unique = {views[path]: tensor for path, tensor in reversed(tensors)}  # the first of each view
    parts, failed = plan_parts(unique)
    reduced = yield from reduce_parts(parts, max_elements, workers or _default_workers())
    by_view = _merged(parts, reduced, failed)
    return {path: by_view[views[path]] for path, _ in tensors}


def plan_parts(tensors: dict[object, TensorRef]) -> tuple[list[Part], dict[object, TensorStats]]:
    """The parts to read, in file order, and the stats of tensors refused before any read."""
    parts: list[Part] = []
    failed: dict[object, TensorStats] = {}
    for key, tensor in tensors.items():
        view, repeats = stored_view(tensor)
        try:
            check_walkable(view)
        except CheckpointError as error:
            failed[key] = TensorStats(error=str(error))
            continue
        kind = value_kind(tensor.dtype)
        pieces = split_rows(view, PART_ELEMENTS)
        if not pieces:  # an empty tensor: nothing to read
            failed[key] = TensorStats()
        parts.extend(Part(key, piece, repeats, kind) for piece in pieces)
    return parts, failed


def reduce_parts(parts: list[Part], max_elements: int, workers: int) -> Job[list[RunningStats | str]]:
    """Each part's RunningStats (or the one-line error of its read), in the parts' order."""
    total = sum(part.nbytes for part in parts)
    if workers > 1 and total >= PARALLEL_FROM_BYTES and can_fork():
        return (yield from _in_processes(parts, max_elements, workers, total))
    return (yield from _in_this_process(parts, max_elements, total))


def can_fork() -> bool:
    """Forking copies only the calling thread: safe when it is the only one, and a daemonic
    worker (the window's reader process) may not have children."""
    return (hasattr(os, "fork") and threading.active_count() == 1
            and not multiprocessing.current_process().daemon)


def _default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, MAX_WORKERS))


def _in_this_process(parts: list[Part], max_elements: int, total: int) -> Job[list[RunningStats | str]]:
    results: list[RunningStats | str] = []
    done = 0
    scratch = Scratch()
    with FileCache() as files:
        for part in parts:
            running = RunningStats(part.kind, scratch)
            try:
                for chunk in iter_chunks(part.view, max_elements, files=files, scratch=scratch):
                    running.add(chunk, part.repeats)
                    done += chunk.size * ITEMSIZE.get(part.view.dtype, 1)
                    yield Progress(done, total)
                results.append(running)
            except CheckpointError as error:
                results.append(str(error))
    yield Progress(total, total)
    return results


# --- worker processes ------------------------------------------------------------------------
# Set in each forked worker by _start_worker: the parts (inherited, never pickled: TensorRefs
# refuse to be rebuilt from a pickle) and the shared count of bytes read.
_worker: dict[str, object] = {}


def _in_processes(parts: list[Part], max_elements: int, workers: int,
                  total: int) -> Job[list[RunningStats | str]]:
    context = multiprocessing.get_context("fork")
    done = context.Value("q", 0)
    results: list[RunningStats | str | None] = [None] * len(parts)
    pool = context.Pool(workers, initializer=_start_worker, initargs=(parts, done, max_elements))
    try:
        batches = _batches(parts, BATCH_BYTES)
        pending = pool.imap_unordered(_reduce_batch, batches)  # an iterator that can wait with a timeout
        remaining = len(batches)
        while remaining:
            try:
                reduced = pending.next(timeout=PROGRESS_EVERY_S)
            except multiprocessing.TimeoutError:
                yield Progress(done.value, total)
                continue
            for index, outcome in reduced:
                results[index] = outcome
            remaining -= 1
        yield Progress(total, total)
    finally:
        pool.terminate()  # a closed job stops its workers at once; on success they are idle
        pool.join()
    return results


def _start_worker(parts: list[Part], done, max_elements: int) -> None:
    _worker.update(parts=parts, done=done, max_elements=max_elements, scratch=Scratch(), files=FileCache())


def _batches(parts: list[Part], nbytes: int) -> list[list[int]]:
    """Part indices in file order, grouped into tasks of about ``nbytes`` (fewer round trips)."""
    batches: list[list[int]] = [[]]
    size = 0
    for index, part in enumerate(parts):
        if size >= nbytes:
            batches.append([])
            size = 0
        batches[-1].append(index)
        size += part.nbytes
    return [batch for batch in batches if batch]


def _reduce_batch(indices: list[int]) -> list[tuple[int, RunningStats | str]]:
    return [_reduce_part(index) for index in indices]


def _reduce_part(index: int) -> tuple[int, RunningStats | str]:
    part, done = _worker["parts"][index], _worker["done"]
    running = RunningStats(part.kind, _worker["scratch"])
    itemsize = ITEMSIZE.get(part.view.dtype, 1)
    try:
        for chunk in iter_chunks(part.view, _worker["max_elements"], files=_worker["files"],
                                 scratch=_worker["scratch"]):
            running.add(chunk, part.repeats)
            with done.get_lock():
                done.value += chunk.size * itemsize
    except CheckpointError as error:
        return index, str(error)
    return index, running


def _merged(parts: list[Part], reduced: list[RunningStats | str],
            failed: dict[object, TensorStats]) -> dict[object, TensorStats]:
    """One TensorStats per tensor from its parts (an error in any part is the tensor's error)."""
    wholes: dict[object, RunningStats | str] = {}
    for part, outcome in zip(parts, reduced):
        whole = wholes.get(part.key)
        if isinstance(whole, str):  # the tensor has already failed
            continue
        if whole is None or isinstance(outcome, str):
            wholes[part.key] = outcome
        else:
            whole.merge(outcome)
    merged = {key: TensorStats(error=whole) if isinstance(whole, str) else whole.result()
              for key, whole in wholes.items()}
    return {**failed, **merged}


def split_rows(view: TensorRef, limit: int) -> list[TensorRef]:
    """``view`` cut along its first dimension longer than 1 into parts of at most about
    ``limit`` elements (whole rows; dimensions before it have size 1)."""
    if view.numel <= limit:
        return [view] if view.numel or view.storage is None else []
    dim = next(index for index, size in enumerate(view.shape) if size > 1)
    row = view.numel // view.shape[dim]
    rows = max(1, limit // max(row, 1))
    parts = []
    for first in range(0, view.shape[dim], rows):
        shape = view.shape[:dim] + (min(rows, view.shape[dim] - first),) + view.shape[dim + 1:]
        parts.append(TensorRef(view.dtype, shape, view.stride, view.storage,
                               view.storage_offset + first * view.stride[dim], view.role,
                               view.requires_grad, view.layout, view.extra))
    return parts
