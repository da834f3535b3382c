"""One document's check: the request (target and remaps), its job in a worker process, and
the latest report. "Latest wins": a new request stops the running job, whose result is then
never shown. The Qt-free model is the report (core ``CheckReport``); this only runs and keeps it.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from inspector.core.check_report import CheckReport
from inspector.gui.workers.process_worker import ProcessWorker


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
        self._worker: ProcessWorker | None = None

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
        self.stop()
        self._worker = ProcessWorker("check", {"path": self.path, "target": self.target, "remaps": self.remaps},
                                     postprocess=CheckReport, parent=self)
        self._worker.progressed.connect(self.progressed)
        self._worker.succeeded.connect(self._on_worker_succeeded)
        self._worker.failed.connect(self.failed)
        self._worker.cancelled.connect(self.cancelled)
        self._worker.start()
        self.started.emit()

    def cancel(self) -> None:
        if self._worker is not None:
            self._worker.cancel()

    def stop(self) -> None:
        """Stop the running job without a word (it was replaced, or the document closes)."""
        if self._worker is not None:
            self._worker.blockSignals(True)
            self._worker.cancel()
            self._worker.deleteLater()
            self._worker = None

    def is_running(self) -> bool:
        return self._worker is not None and self._worker.is_running()

    def _on_worker_succeeded(self, report: CheckReport) -> None:
        self.report = report
        self.reportChanged.emit(report)
