"""Statistics of every tensor of a checkpoint, on every core.

Tensors are cut into parts along their first dimension; each part accumulates its own
``RunningStats`` and a tensor's parts are merged (Chan's formula), so a single huge tensor keeps
every core busy too. Tensors that are the same view of the same storage (tied weights) are
computed once. Large checkpoints are reduced by forked worker processes (``forked.py`` says
why not threads); a process that may not fork reduces the parts itself, one after the other.
"""

from __future__ import annotations

from inspector.core.dtypes import ITEMSIZE
from inspector.core.errors import CheckpointError
from inspector.core.forked import Count, can_fork, default_workers, run_forked
from inspector.core.model import Checkpoint, TensorPath, TensorRef
from inspector.core.progress import Job, Progress
from inspector.core.sharing import view_key
from inspector.core.stats import RunningStats, TensorStats, value_kind
from inspector.core.values import DEFAULT_CHUNK, FileCache, Scratch, check_walkable, iter_chunks, stored_view

PART_ELEMENTS = 1 << 23  # a part is reduced by one process: small enough to share a big tensor out
PARALLEL_FROM_BYTES = 256 << 20  # below, starting processes costs more than it saves
BATCH_BYTES = 16 << 20  # a worker's task: parts adding up to about this many bytes


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
    reduced = yield from reduce_parts(parts, max_elements, workers or default_workers())
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


def _in_processes(parts: list[Part], max_elements: int, workers: int,
                  total: int) -> Job[list[RunningStats | str]]:
    results: list[RunningStats | str | None] = [None] * len(parts)
    batches = _batches(parts, BATCH_BYTES)

    def setup(count: Count):  # in each worker
        reduce = _PartReducer(parts, max_elements, count)
        return lambda batch: [reduce(index) for index in batches[batch]]

    def deliver(reduced: list[tuple[int, RunningStats | str]]) -> None:
        for index, outcome in reduced:
            results[index] = outcome

    yield from run_forked(setup, len(batches), workers, total, deliver)
    return results


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


class _PartReducer:
    """In a worker process: reduces parts by index, reporting the bytes it reads."""

    def __init__(self, parts: list[Part], max_elements: int, count: Count) -> None:
        self.parts, self.max_elements, self.count = parts, max_elements, count
        self.scratch, self.files = Scratch(), FileCache()

    def __call__(self, index: int) -> tuple[int, RunningStats | str]:
        part = self.parts[index]
        running = RunningStats(part.kind, self.scratch)
        itemsize = ITEMSIZE.get(part.view.dtype, 1)
        try:
            for chunk in iter_chunks(part.view, self.max_elements, files=self.files, scratch=self.scratch):
                running.add(chunk, part.repeats)
                self.count(chunk.size * itemsize)
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
