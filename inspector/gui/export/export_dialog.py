"""Export…: the options of an export, a preview of what it writes, Save/Load plan, and the run in
a worker process with progress and cancel, ending with the output, its sidecar and a "Copy
loading snippet" button.

The dialog edits an ``ExportSelection`` (the boxes of export mode, or a plan given by another
feature): renames and dtype change its plan; Load plan replaces it; ``selectionChanged`` tells.
Cancel stops the job at its next step, and the writer removes its temporary file.
"""

from __future__ import annotations

import os
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QApplication, QDialog, QFileDialog, QHBoxLayout, QLabel, QMessageBox, QProgressBar, QPushButton, QVBoxLayout, QWidget,
)

from inspector.core.errors import CheckpointError
from inspector.core.export_selection import ExportSelection, selection_for_plan
from inspector.core.export_summary import ExportSummary, resolve_job
from inspector.core.plan import ExportPlan, ResolvedPlan
from inspector.core.units import human_size
from inspector.core.writers import output_format
from inspector.gui.export.export_options import ExportOptions, default_destination
from inspector.gui.export.preview_model import PreviewModel
from inspector.gui.export.summary_bar import make_preview_view
from inspector.gui.window import theme
from inspector.gui.workers.plot_runner import PlotRunner
from inspector.gui.workers.process_worker import ProcessWorker

OPTIONS_DEBOUNCE_MS = 250
PLAN_FILTER = "Export plans (*.json);;All files (*)"
DIALOG_SIZE = (820, 560)


class ExportDialog(QDialog):
    selectionChanged = Signal(object)  # the ExportSelection after an option changed or a plan was loaded
    exported = Signal(dict)  # ExportResult.to_json() of a finished export

    def __init__(self, loaded: Any, selection: ExportSelection, parent: QWidget | None = None) -> None:
        """``loaded``: the document's read checkpoint and tree (``LoadedTree``)."""
        super().__init__(parent)
        self.setWindowTitle("Export a State Dict")
        self.loaded = loaded
        self.selection = selection
        self.result: dict | None = None
        self._worker: ProcessWorker | None = None
        self._close_when_stopped = False
        self._runner = PlotRunner(self)
        self._options_timer = QTimer(self, singleShot=True, interval=OPTIONS_DEBOUNCE_MS)
        self._build_widgets()
        self._layout_widgets()
        self._connect()
        QApplication.instance().aboutToQuit.connect(self._on_application_about_to_quit)
        self.options.set_values(default_destination(loaded.checkpoint.path), selection.rename, selection.dtype)
        self._show_source()
        self._resolve()

    @property
    def source_path(self) -> str:
        return self.loaded.checkpoint.path

    def plan(self) -> ExportPlan:
        return self.selection.plan()

    # --- plans -----------------------------------------------------------------------------
    def save_plan(self, path: str) -> bool:
        try:
            self.plan().save(path)
        except CheckpointError as error:
            self._show_status(str(error), error=True)
            return False
        self._show_status(f"Saved the plan to {path}")
        return True

    def load_plan(self, path: str) -> bool:
        try:
            plan = ExportPlan.load(path)
            selection = selection_for_plan(self.loaded.checkpoint, self.loaded.root, plan)
        except CheckpointError as error:
            self._show_status(str(error), error=True)
            return False
        self.selection = selection
        self.options.set_plan_fields(selection.rename, selection.dtype)
        self._show_source()
        self._show_status(f"Loaded the plan {path}")
        self._resolve()
        self.selectionChanged.emit(selection)
        return True

    # --- running -------------------------------------------------------------------------
    def start_export(self) -> bool:
        """Export to the destination in a worker process; False (and why, in place) when it cannot start."""
        destination = self.options.destination_path()
        try:
            output_format(destination or "?")
            plan = self.plan()
        except CheckpointError as error:
            self._show_status(str(error), error=True)
            return False
        if os.path.exists(destination) and not self._replace_confirmed(destination):
            return False
        self.result = None
        arguments = {"source": self.source_path, "destination": destination, "plan": plan.to_json()}
        self._worker = ProcessWorker("export", arguments, parent=self)
        self._worker.progressed.connect(self._on_worker_progressed)
        self._worker.succeeded.connect(self._on_worker_succeeded)
        self._worker.failed.connect(self._on_worker_failed)
        self._worker.cancelled.connect(self._on_worker_cancelled)
        self._set_running(True)
        self._show_status(f"Exporting to {destination}…")
        self._worker.start()
        return True

    def cancel_export(self) -> None:
        if self._worker is not None:
            self.cancel_button.setEnabled(False)
            self._show_status("Cancelling…")
            self._worker.stop()

    def is_running(self) -> bool:
        return self._worker is not None

    def reject(self) -> None:
        """Closing while an export runs cancels it first (its temporary file goes), then closes."""
        if self._worker is not None:
            self._close_when_stopped = True
            self.cancel_export()
            return
        self._runner.shutdown()
        super().reject()

    def _on_application_about_to_quit(self) -> None:
        """Quitting mid-export: the job still removes its temporary file before the app goes."""
        if self._worker is not None:
            self._worker.stop()
            self._worker.wait()

    def _replace_confirmed(self, destination: str) -> bool:
        answer = QMessageBox.question(self, "Replace the file?", f"{destination} exists. Replace it?",
                                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                      QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def _on_worker_progressed(self, done: int, total: int, message: str) -> None:
        if total > 0:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(1000 * min(done, total) / total))
        if message:
            self.status.setText(message)

    def _on_worker_succeeded(self, result: dict) -> None:
        self._finish_worker()
        self.result = result
        document = result["document"]
        warnings = [f"{field} pattern {pattern!r} matched no key" for field, pattern in result["unmatched"]]
        self._show_status(f"Wrote {result['destination']} ({human_size(result['size'])}): "
                          f"{len(document['keys']):,} tensors, {len(document['frozen']):,} frozen.\n"
                          f"Sidecar with the keys, the frozen list and a loading snippet: {result['sidecar']}"
                          + "".join(f"\nWarning: {warning}" for warning in warnings))
        self.copy_snippet_button.setVisible(True)
        self.exported.emit(result)

    def _on_worker_failed(self, message: str) -> None:
        self._finish_worker()
        self._show_status(f"Not exported: {message}", error=True)

    def _on_worker_cancelled(self) -> None:
        self._finish_worker()
        self._show_status("Cancelled: nothing was written.")
        if self._close_when_stopped:
            self.reject()

    def _finish_worker(self) -> None:
        self._worker.wait()
        self._worker.deleteLater()
        self._worker = None
        self._set_running(False)

    def _set_running(self, running: bool) -> None:
        for widget in (self.options, self.export_button, self.save_plan_button, self.load_plan_button):
            widget.setEnabled(not running)
        self.cancel_button.setEnabled(True)
        self.cancel_button.setText("Cancel" if running else "Close")
        self.progress.setVisible(running)
        self.progress.setRange(0, 0)
        self.copy_snippet_button.setVisible(False)

    # --- options and preview ---------------------------------------------------------------
    def _on_options_timer_timeout(self) -> None:
        try:
            self.selection = self.selection.with_options(rename=self.options.renames(), dtype=self.options.cast_dtype())
        except ValueError as error:
            self._show_summary_error(str(error))
            return
        self._resolve()
        self.selectionChanged.emit(self.selection)

    def _resolve(self) -> None:
        selection = self.selection
        try:
            can_write = output_format(self.options.destination_path() or ".pt").cannot_hold
        except CheckpointError:
            can_write = None
        self._runner.submit(lambda: resolve_job(selection, can_write))

    def _on_runner_finished(self, resolved: ResolvedPlan) -> None:
        summary = ExportSummary(resolved)
        self.summary.setStyleSheet("")
        self.summary.setText(summary.text() + (f" · {summary.dropped:,} left out" if summary.dropped else ""))
        self.preview_model.set_resolved(resolved)
        self.export_button.setEnabled(summary.tensors > 0 and self._worker is None)

    def _show_summary_error(self, message: str) -> None:
        self.summary.setStyleSheet(f"color: {theme.error_text_color().name()}")
        self.summary.setText(message)
        self.preview_model.set_resolved(None)
        self.export_button.setEnabled(False)

    def _show_source(self) -> None:
        inside = ".".join(str(step) for step in self.selection.rows.view.path)
        self.source.setText(f"From {self.source_path}" + (f", state dict '{inside}'" if inside else ""))

    def _show_status(self, text: str, error: bool = False) -> None:
        self.status.setStyleSheet(f"color: {theme.error_text_color().name()}" if error else "")
        self.status.setText(text)

    def _copy_snippet(self) -> None:
        QGuiApplication.clipboard().setText(self.result["document"]["snippet"])
        self._show_status(self.status.text().split("\n(")[0] + "\n(the loading snippet is on the clipboard)")

    # --- building --------------------------------------------------------------------------
    def _build_widgets(self) -> None:
        self.source = QLabel(wordWrap=True)
        self.source.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.options = ExportOptions()
        self.summary = QLabel(wordWrap=True)
        self.preview_model = PreviewModel(self)
        self.preview = make_preview_view(self.preview_model)
        self.status = QLabel(wordWrap=True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.progress = QProgressBar(textVisible=False, visible=False)
        self.save_plan_button = QPushButton("Save plan…")
        self.load_plan_button = QPushButton("Load plan…")
        self.copy_snippet_button = QPushButton("Copy loading snippet", visible=False)
        self.cancel_button = QPushButton("Close")
        self.export_button = QPushButton("Export", default=True, enabled=False)

    def _layout_widgets(self) -> None:
        buttons = QHBoxLayout()
        for button in (self.save_plan_button, self.load_plan_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        for button in (self.copy_snippet_button, self.cancel_button, self.export_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.source)
        layout.addWidget(self.options)
        layout.addWidget(self.summary)
        layout.addWidget(self.preview, 1)
        layout.addWidget(self.status)
        layout.addWidget(self.progress)
        layout.addLayout(buttons)
        self.resize(*DIALOG_SIZE)

    def _connect(self) -> None:
        self.options.changed.connect(self._options_timer.start)
        self.options.destinationChanged.connect(lambda: self._show_status(""))
        self._options_timer.timeout.connect(self._on_options_timer_timeout)
        self._runner.finished.connect(self._on_runner_finished)
        self._runner.failed.connect(self._show_summary_error)
        self.export_button.clicked.connect(self.start_export)
        self.cancel_button.clicked.connect(self._on_cancel_button_clicked)
        self.copy_snippet_button.clicked.connect(self._copy_snippet)
        self.save_plan_button.clicked.connect(self._on_save_plan_button_clicked)
        self.load_plan_button.clicked.connect(self._on_load_plan_button_clicked)

    def _on_cancel_button_clicked(self) -> None:
        if self._worker is not None:
            self.cancel_export()
        else:
            self.reject()

    def _on_save_plan_button_clicked(self) -> None:
        start = os.path.splitext(self.options.destination_path())[0] + ".plan.json"
        path, _ = QFileDialog.getSaveFileName(self, "Save the export plan", start, PLAN_FILTER)
        if path:
            self.save_plan(path)

    def _on_load_plan_button_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load an export plan", os.path.dirname(self.source_path), PLAN_FILTER)
        if path:
            self.load_plan(path)
