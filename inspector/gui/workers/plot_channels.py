"""The background plots behind one panel: a named ``PlotRunner`` per kind of result (latest
wins in each), and one progress for all of them, with a debounce before a selection's jobs.

The panel starts its jobs from ``due`` (the debounce ran out), hands results to its widgets
from ``finished``/``failed``, and hears ``settled`` once nothing it asked for is still running.
The header's progress bar is driven here: shown with the first job, filled by the runners that
report progress, hidden when all are done.
"""

from __future__ import annotations

from typing import Any, Callable

from PySide6.QtCore import QObject, QTimer, Signal

from inspector.gui.workers.plot_runner import PlotRunner


class PlotChannels(QObject):
    finished = Signal(str, object)  # the runner's name, its job's result
    failed = Signal(str, str)  # the runner's name, one line
    due = Signal()  # the debounce after a new selection ran out: start its jobs now
    settled = Signal()  # every job asked for has ended (and no debounce is pending)

    def __init__(self, names: tuple[str, ...], header: Any, debounce_ms: int,
                 quiet: tuple[str, ...] = (), parent: QObject | None = None) -> None:
        """``header`` shows progress (``start_progress``, ``show_progress``, ``stop_progress``);
        runners named in ``quiet`` are quick and do not move it."""
        super().__init__(parent)
        self._header = header
        self._pending: set[PlotRunner] = set()
        self._runners = {name: self._make_runner(name, name not in quiet) for name in names}
        self._debounce = QTimer(self, singleShot=True, interval=debounce_ms)
        self._debounce.timeout.connect(self._on_debounce_timeout)

    def runner(self, name: str) -> PlotRunner:
        return self._runners[name]

    def restart(self) -> None:
        """A new selection: drop every job and wait out the debounce before ``due``."""
        self.cancel_all()
        self._debounce.start()

    def waiting(self) -> bool:
        """The debounce is running: the selection's jobs are not started yet."""
        return self._debounce.isActive()

    def submit(self, name: str, job_factory: Callable[[], Any]) -> None:
        runner = self._runners[name]
        if not self._pending:
            self._header.start_progress()
        self._pending.add(runner)
        runner.submit(job_factory)

    def cancel_all(self) -> None:
        self._debounce.stop()
        self._pending.clear()
        for runner in self._runners.values():
            runner.cancel()
        self._header.stop_progress()

    def is_busy(self) -> bool:
        return self._debounce.isActive() or any(runner.is_busy() for runner in self._runners.values())

    def settle_if_idle(self) -> None:
        if not self._pending and not self._debounce.isActive():
            self._header.stop_progress()
            self.settled.emit()

    def shutdown(self) -> None:
        self._debounce.stop()
        self._pending.clear()
        self._header.stop_progress()
        for runner in self._runners.values():
            runner.shutdown()

    def _make_runner(self, name: str, reports_progress: bool) -> PlotRunner:
        runner = PlotRunner(self)
        runner.finished.connect(lambda result, kind=name: self.finished.emit(kind, result))
        runner.failed.connect(lambda message, kind=name: self.failed.emit(kind, message))
        if reports_progress:
            runner.progressed.connect(lambda report: self._header.show_progress(report.fraction))
        runner.settled.connect(lambda r=runner: self._on_runner_settled(r))
        return runner

    def _on_runner_settled(self, runner: PlotRunner) -> None:
        self._pending.discard(runner)
        self.settle_if_idle()

    def _on_debounce_timeout(self) -> None:
        self.due.emit()
        self.settle_if_idle()
