"""Measuring every key of a series on every core: columns walked in forked worker processes.

The columns (``series_dynamics``: one part of one key in every checkpoint) are walked in key
order. As in ``all_stats``, forked worker processes do it when the series is large and this
process may fork (``forked.py``); otherwise (small series, the window's worker process) this
process walks them itself. Results come back in column order, so each key is handed on as soon
as its last column is in.
"""

from __future__ import annotations

from collections.abc import Callable

from inspector.core.dtypes import ITEMSIZE
from inspector.core.forked import Count, can_fork, default_workers, run_forked
from inspector.core.model import TensorRef
from inspector.core.pair_metrics import dot_product
from inspector.core.progress import Job, Progress
from inspector.core.series_dynamics import (
    ColumnWalker, LayerSeries, PartResult, columns_of, layer_series, merged,
)
from inspector.core.values import FileCache

PARALLEL_FROM_BYTES = 128 << 20  # below, starting processes costs more than it saves

Column = list  # one part of one key: its TensorRef (or None) in every checkpoint
Dot = Callable  # (x, y) -> Σ x·y in float64


def dynamics_job(keys: list[str], tensors: list[list[TensorRef | None]],
                 on_layer: Callable[[LayerSeries], object] | None = None,
                 workers: int | None = None) -> Job[dict[str, LayerSeries]]:
    """Every key's ``LayerSeries``; ``tensors[i][t]`` is key i's tensor in checkpoint t (None
    when absent). Yields Progress in bytes read; ``on_layer`` sees each key as soon as it is
    done, in key order. Closing the job stops the work at once."""
    plan = [columns_of(row) for row in tensors]
    columns = [column for key_columns in plan for column in key_columns]
    total = sum(_nbytes(column) for column in columns)
    keyed = _KeyedResults(keys, tensors, plan, on_layer)
    workers = workers or default_workers()
    dot = dot_product
    if workers > 1 and total >= PARALLEL_FROM_BYTES and can_fork():
        walk = _in_processes(columns, dot, workers, total, keyed.add)
    else:
        walk = _in_this_process(columns, dot, total, keyed.add)
    yield from walk
    keyed.finish()
    return keyed.results


class _KeyedResults:
    """Column results arriving in order, merged into a key's LayerSeries once all are in."""

    def __init__(self, keys: list[str], tensors: list[list[TensorRef | None]], plan: list[list[Column]],
                 on_layer: Callable[[LayerSeries], object] | None) -> None:
        self.keys, self.tensors, self.plan = keys, tensors, plan
        self.on_layer = on_layer or (lambda layer: None)
        self.results: dict[str, LayerSeries] = {}
        self.waiting: list[PartResult] = []
        self.next_key = 0
        self._finish_keys()  # leading keys without columns (empty tensors) are done already

    def add(self, result: PartResult) -> None:
        self.waiting.append(result)
        self._finish_keys()

    def finish(self) -> None:
        self._finish_keys()

    def _finish_keys(self) -> None:
        while self.next_key < len(self.keys) and len(self.waiting) >= len(self.plan[self.next_key]):
            count = len(self.plan[self.next_key])
            parts, self.waiting = self.waiting[:count], self.waiting[count:]
            key, row = self.keys[self.next_key], self.tensors[self.next_key]
            self.results[key] = layer = layer_series(key, merged(parts, row), row)
            self.on_layer(layer)
            self.next_key += 1


def _in_this_process(columns: list[Column], dot: Dot, total: int,
                     deliver: Callable[[PartResult], None]) -> Job[None]:
    done = 0
    with FileCache() as files:
        walker = ColumnWalker(files, dot, lambda nbytes: None)
        for column in columns:
            deliver(walker.walk(column))
            done += _nbytes(column)
            yield Progress(done, total)


def _in_processes(columns: list[Column], dot: Dot, workers: int, total: int,
                  deliver: Callable[[PartResult], None]) -> Job[None]:
    def setup(count: Count):  # in each worker
        walker = ColumnWalker(FileCache(), dot, count)
        return lambda index: walker.walk(columns[index])

    yield from run_forked(setup, len(columns), workers, total, deliver, ordered=True)


def _nbytes(column: Column) -> int:
    return sum(part.numel * ITEMSIZE.get(part.dtype, 1) for part in column if part is not None)

