"""Runs plot jobs on worker threads, one channel per kind of result, latest wins.

Submitting a job to a channel quits the job still running there; results of quit or
superseded jobs are dropped by a generation check, so a stale histogram never lands on
the plot of a newer selection.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any, Callable

from PySide6.QtCore import QCoreApplication, QObject, Signal
from superqt.utils import GeneratorWorker, WorkerBase, create_worker

from inspector.core.errors import CheckpointError
from inspector.core.progress import Progress

JobFactory = Callable[[], Any]


class PlotRunner(QObject):
    """One background channel: at most one live job, results delivered on the GUI thread."""

    finished = Signal(object)  # the job's result
    failed = Signal(str)  # one line for the user
    progressed = Signal(object)  # Progress
    settled = Signal()  # the live job ended with a result or an error (not when cancelled)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._generation = 0
        self._worker: GeneratorWorker | None = None
        self._workers: set[GeneratorWorker] = set()  # started and not yet finished
        self.cancelled_workers: deque[GeneratorWorker] = deque(maxlen=8)  # the latest, for tests

    def submit(self, job_factory: JobFactory) -> None:
        """Quit the running job (if any) and start ``job_factory()`` on a worker."""
        self.cancel()
        self._generation += 1
        generation = self._generation
        worker = create_worker(_guarded(job_factory), _start_thread=False)
        worker.yielded.connect(lambda report: self._on_worker_yielded(generation, report))
        worker.returned.connect(lambda result: self._on_worker_returned(generation, result))
        worker.finished.connect(lambda: self._on_worker_finished(worker))
        self._worker = worker
        self._workers.add(worker)
        worker.start()

    def cancel(self) -> None:
        """Quit the live job; its result, if it still arrives, is ignored."""
        self._generation += 1
        if self._worker is not None:
            self._worker.quit()
            self.cancelled_workers.append(self._worker)
            self._worker = None

    def is_busy(self) -> bool:
        return self._worker is not None

    def shutdown(self, timeout_s: float = 5.0) -> None:
        """Quit every job and wait until their threads have let go of them."""
        self.cancel()
        self.cancelled_workers.clear()
        deadline = time.monotonic() + timeout_s
        while self.has_live_workers() and time.monotonic() < deadline:
            QCoreApplication.processEvents()
            time.sleep(0.005)

    def has_live_workers(self) -> bool:
        return any(w in WorkerBase._worker_set or w.is_running for w in self._workers)

    def _on_worker_yielded(self, generation: int, report: Any) -> None:
        if generation == self._generation and isinstance(report, Progress):
            self.progressed.emit(report)

    def _on_worker_returned(self, generation: int, outcome: tuple[bool, Any]) -> None:
        if generation != self._generation:
            return
        self._worker = None
        ok, value = outcome
        if ok:
            self.finished.emit(value)
        else:
            self.failed.emit(value)
        if self._worker is None:  # a handler above may have started a follow-up job
            self.settled.emit()

    def _on_worker_finished(self, worker: GeneratorWorker) -> None:
        self._workers.discard(worker)


def _guarded(job_factory: JobFactory):
    """Wrap a job so that errors come back as a value (one line), not as a worker error."""

    def run():
        job = None
        try:
            job = job_factory()
            result = yield from job
        except CheckpointError as error:
            return False, str(error)
        except Exception as error:  # a broken tensor must not take the panel down
            return False, f"{type(error).__name__}: {error}"
        finally:
            if job is not None:
                job.close()
        return True, result

    return run
