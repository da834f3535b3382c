"""``--screenshot OUT.png``: wait until the files are read and the first tensor's plots are
drawn, save the window as PNG, quit. Exit status 0 only when every file opened."""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QApplication

POLL_MS = 50
TIMEOUT_S = 60
EXIT_OK, EXIT_LOAD_FAILED, EXIT_TIMED_OUT, EXIT_NOT_SAVED = 0, 1, 3, 4


class ScreenshotController(QObject):
    def __init__(self, window, out_path: str, timeout_s: float = TIMEOUT_S):
        super().__init__(window)
        self._window = window
        self._out_path = out_path
        self._waiting_for_plots = None  # the tensor panel whose plots we wait for
        self.exit_code: int | None = None
        self._poll = QTimer(self, interval=POLL_MS)
        self._poll.timeout.connect(self._on_poll_timeout)
        self._deadline = QTimer(self, singleShot=True, interval=int(timeout_s * 1000))
        self._deadline.timeout.connect(self._on_deadline_timeout)

    def start(self) -> None:
        self._poll.start()
        self._deadline.start()

    def _on_poll_timeout(self) -> None:
        window = self._window
        if self._waiting_for_plots is not None or window.demo.is_running():
            return
        if any(document.state == "loading" for document in window.documents()):
            return
        if self._wait_for_compare(window.tabs.currentWidget()):
            return
        document = window.current_document()
        if document is not None and document.state == "ready":
            panel = document.tensor_panel
            panel.plotsFinished.connect(self._on_panel_plots_finished)
            if document.select_first_tensor():
                self._waiting_for_plots = panel
                return
        self._finish(self._outcome())

    def _wait_for_compare(self, view) -> bool:
        """A compare tab: once its diff is done, show its most changed key and wait for its plots."""
        if not hasattr(view, "key_panel"):
            return False
        if view.phase == "running":
            return True
        if view.phase == "done" and view.select_most_changed():
            self._waiting_for_plots = view.key_panel
            view.key_panel.plotsFinished.connect(self._on_panel_plots_finished)
            return True
        return False

    def _on_panel_plots_finished(self) -> None:
        if self._waiting_for_plots is not None and not self._waiting_for_plots.is_busy():
            self._finish(self._outcome())

    def _on_deadline_timeout(self) -> None:
        self._finish(EXIT_TIMED_OUT)

    def _outcome(self) -> int:
        failed = [document for document in self._window.documents() if document.state != "ready"]
        current = self._window.tabs.currentWidget()
        if hasattr(current, "key_panel") and current.phase != "done":
            failed.append(current)
        return EXIT_LOAD_FAILED if failed else EXIT_OK

    def _finish(self, code: int) -> None:
        if self.exit_code is not None:
            return
        self._poll.stop()
        self._deadline.stop()
        QApplication.processEvents()  # let the last plot paint
        saved = self._window.grab().save(self._out_path)
        self.exit_code = code if saved else EXIT_NOT_SAVED
        self._window.close()
        QApplication.exit(self.exit_code)
