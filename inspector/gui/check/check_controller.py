"""One document's check: the request (target and remaps), its jobs in a worker process that
stays up between them, and the latest report. "Latest wins": a new request replaces the
running job, whose result is never shown. The Qt-free model is the report (core
``CheckReport``); this only runs it and keeps it.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from inspector.core.check_report import CheckReport
from inspector.gui.check.warm_worker import WarmWorker


class CheckController(QObject):
    started = Signal()
    progressed = Signal(int, int, str)
    reportChanged = Signal(object)  # the CheckReport
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, path: str, parent: QObject | None = None):
        super().__init__(parent)
        self.path = path
        self.target: dict | None = None
        self.remaps: list[dict] = []
        self.report: CheckReport | None = None
        self.worker = WarmWorker(self)
        self._job: int | None = None
        self.worker.progressed.connect(self._on_worker_progressed)
        self.worker.succeeded.connect(self._on_worker_succeeded)
        self.worker.failed.connect(self._on_worker_failed)
        self.worker.cancelled.connect(self._on_worker_cancelled)

    def check(self, target: dict) -> None:
        """Check against a new target, from the file as it is (no remaps)."""
        self.target, self.remaps = dict(target), []
        self.run()

    def apply_remap(self, remap: dict) -> None:
        self.remaps = [*self.remaps, remap]
        self.run()

    def undo_remaps(self) -> None:
        self.remaps = []
        self.run()

    def use_num_classes(self, count: int) -> None:
        self.target = {**self.target, "num_classes": count}
        self.run()

    def run(self) -> None:
        if self.target is None:
            return
        self._job = None  # whatever the old job still says is not shown
        self._job = self.worker.submit("check", {"path": self.path, "target": self.target, "remaps": self.remaps})
        self.started.emit()

    def cancel(self) -> None:
        self.worker.cancel()

    def stop(self) -> None:
        """End the worker without a word (the check closes)."""
        self._job = None
        self.worker.stop()

    def is_running(self) -> bool:
        return self._job is not None

    def _on_worker_progressed(self, job: int, done: int, total: int, message: str) -> None:
        if job == self._job:
            self.progressed.emit(done, total, message)

    def _on_worker_succeeded(self, job: int, document: dict) -> None:
        if job == self._job:
            self._job = None
            self.report = CheckReport(document)
            self.reportChanged.emit(self.report)

    def _on_worker_failed(self, job: int, message: str) -> None:
        if job == self._job:
            self._job = None
            self.failed.emit(message)

    def _on_worker_cancelled(self, job: int) -> None:
        if job == self._job:
            self._job = None
            self.cancelled.emit()
