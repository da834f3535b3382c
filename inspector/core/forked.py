"""Work spread over forked worker processes, reported as one job.

Measured here for statistics and for checkpoint series: numpy and ``preadv`` release the GIL,
but the dozen short numpy calls per block hand it back and forth so often that two threads ran
no faster than one; processes share nothing and scale. Forking copies only the calling thread,
so it is used only where that is safe (``can_fork``); the work's inputs are inherited, never
pickled (TensorRefs refuse to be rebuilt from a pickle); only the small results travel back.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable

from inspector.core.progress import Job, Progress

MAX_WORKERS = 4
PROGRESS_EVERY_S = 0.05

Count = Callable[[int], None]  # a worker adds the bytes it has read
Setup = Callable[[Count], Callable[[int], object]]  # in a worker: the function doing task i


def default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, MAX_WORKERS))


def can_fork() -> bool:
    """Safe when this thread is the only one, and a daemonic worker (the window's reader
    process) may not have children."""
    return (hasattr(os, "fork") and threading.active_count() == 1
            and not multiprocessing.current_process().daemon)


def run_forked(setup: Setup, tasks: int, workers: int, total: int,
               deliver: Callable[[object], None], ordered: bool = False) -> Job[None]:
    """Do tasks ``0 .. tasks-1`` in ``workers`` forked processes; ``setup(count)`` runs once in
    each and returns the function doing one task. ``deliver`` gets each result here (in task
    order when ``ordered``). Progress: bytes the workers ``count``, of ``total``. Closing the
    job stops the workers at once."""
    context = multiprocessing.get_context("fork")
    done = context.Value("q", 0)
    pool = context.Pool(workers, initializer=_start_worker, initargs=(setup, done))
    try:
        results = (pool.imap if ordered else pool.imap_unordered)(_do_task, range(tasks))
        remaining = tasks
        while remaining:
            try:
                result = results.next(timeout=PROGRESS_EVERY_S)  # waits, so progress keeps coming
            except multiprocessing.TimeoutError:
                yield Progress(done.value, total)
                continue
            deliver(result)
            remaining -= 1
        yield Progress(total, total)
    finally:
        pool.terminate()  # on success the workers are idle; on a close they stop mid-task
        pool.join()


_task: list[Callable[[int], object]] = []  # in a worker: what setup returned


def _start_worker(setup: Setup, done) -> None:
    def count(nbytes: int) -> None:
        with done.get_lock():
            done.value += nbytes

    _task.append(setup(count))


def _do_task(index: int) -> object:
    return _task[0](index)
