"""Statistics of every tensor of a checkpoint, on every core.

numpy and ``preadv`` release the GIL, so worker threads reduce several parts of the file at
once. Tensors are cut into parts along their first dimension; each part accumulates its own
``RunningStats`` and the parts are merged (Chan's formula), so a single huge tensor keeps
every core busy too. Tensors that are the same view of the same storage (tied weights) are
computed once.
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor

from inspector.core.dtypes import ITEMSIZE
from inspector.core.errors import CheckpointError
from inspector.core.model import Checkpoint, TensorPath, TensorRef
from inspector.core.progress import Job, Progress
from inspector.core.sharing import view_key
from inspector.core.stats import RunningStats, TensorStats, value_kind
from inspector.core.values import DEFAULT_CHUNK, FileCache, Scratch, check_walkable, iter_chunks, stored_view

PART_ELEMENTS = 1 << 23  # a part is reduced by one thread: small enough to share a big tensor out
PROGRESS_EVERY_S = 0.05
MAX_WORKERS = 4


def compute_all_stats(checkpoint: Checkpoint, max_elements: int = DEFAULT_CHUNK,
                      workers: int | None = None) -> Job[dict[TensorPath, TensorStats]]:
    """Stats of every tensor; an unreadable one gets a TensorStats with ``error`` set.

    Yields Progress in bytes read; closing the job stops the threads after their current chunk.
    """
    tensors = list(checkpoint.iter_tensors())
    views = {path: view_key(tensor) for path, tensor in tensors}
    unique = {views[path]: tensor for path, tensor in reversed(tensors)}  # first one of each view
    run = _Run(max_elements)
    with FileCache() as files, ThreadPoolExecutor(workers or _default_workers(), "stats") as pool:
        _open_all(files, unique.values())
        pending = {key: run.start(pool, files, tensor) for key, tensor in unique.items()}
        try:
            yield from run.report_until_done(pending)
        finally:
            run.cancelled.set()  # a closed job lets its threads go after their current chunk
            pool.shutdown(cancel_futures=True)
    by_view = {key: run.result(parts) for key, parts in pending.items()}
    return {path: by_view[views[path]] for path, _ in tensors}


def _default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, MAX_WORKERS))


def _open_all(files: FileCache, tensors) -> None:
    """Open each file once up front: the threads then share descriptors without a race."""
    for tensor in tensors:
        if tensor.storage is not None:
            try:
                files.get(tensor.storage.path)
            except CheckpointError:
                pass  # reported by that tensor's own read


class _Run:
    """The parts submitted to the pool, the bytes read so far, and the cancel flag."""

    def __init__(self, max_elements: int) -> None:
        self.max_elements = max_elements
        self.cancelled = threading.Event()
        self.total = 0
        self.done = 0
        self.lock = threading.Lock()
        self.scratch = threading.local()

    def start(self, pool: ThreadPoolExecutor, files: FileCache, tensor: TensorRef) -> list[Future] | CheckpointError:
        view, repeats = stored_view(tensor)
        try:
            check_walkable(view)
        except CheckpointError as error:
            return error
        self.total += view.numel * ITEMSIZE.get(view.dtype, 1) if view.storage is not None else 0
        kind = value_kind(tensor.dtype)
        return [pool.submit(self._reduce, part, repeats, kind, files) for part in split_rows(view, PART_ELEMENTS)]

    def _reduce(self, part: TensorRef, repeats: int, kind: str, files: FileCache) -> RunningStats:
        scratch = getattr(self.scratch, "buffers", None) or _new_scratch(self.scratch)
        running = RunningStats(kind, scratch)
        itemsize = ITEMSIZE.get(part.dtype, 1)
        for chunk in iter_chunks(part, self.max_elements, files=files, scratch=scratch):
            if self.cancelled.is_set():
                break
            running.add(chunk, repeats)
            with self.lock:
                self.done += chunk.size * itemsize
        return running

    def report_until_done(self, pending: dict[object, list[Future] | CheckpointError]) -> Job[None]:
        futures = [future for parts in pending.values() if isinstance(parts, list) for future in parts]
        finished = threading.Semaphore(0)
        for future in futures:
            future.add_done_callback(lambda _: finished.release())
        remaining, reported = len(futures), time.monotonic()
        while remaining:
            remaining -= finished.acquire(timeout=PROGRESS_EVERY_S)
            if time.monotonic() - reported >= PROGRESS_EVERY_S:  # a chance to cancel, every so often
                reported = time.monotonic()
                yield Progress(self.done, self.total)
        yield Progress(self.total, self.total)

    @staticmethod
    def result(parts: list[Future] | CheckpointError) -> TensorStats:
        if isinstance(parts, CheckpointError):
            return TensorStats(error=str(parts))
        try:
            accumulated = [future.result() for future in parts]
        except CheckpointError as error:
            return TensorStats(error=str(error))
        if not accumulated:  # an empty tensor: no part to read
            return TensorStats()
        whole = accumulated[0]
        for part in accumulated[1:]:
            whole.merge(part)
        return whole.result()


def _new_scratch(holder: threading.local) -> Scratch:
    holder.buffers = Scratch()
    return holder.buffers


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
