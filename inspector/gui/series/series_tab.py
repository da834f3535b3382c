"""A series tab: how a training run moved, from a folder of its checkpoints.

The summary (``core.series``) runs in a worker process and arrives in parts: first the
ordered checkpoints with their recorded metrics (the table and the curves show at once), then
each layer's numbers as they are measured (the heatmap fills in). Clicking a heatmap row shows
that tensor's distribution over the series (another worker job; the newest wins);
double-clicking a cell opens that tensor at that checkpoint; two selected checkpoints can be
compared. Cancel stops the worker at once and keeps what arrived.

States: "loading" -> "ready" | "error" | "cancelled".
"""

from __future__ import annotations

import os
from typing import Callable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSplitter, QStackedWidget, QVBoxLayout, QWidget

from inspector.core.series_view import (
    AXES, apply_part, default_axis, empty_document, metric_curves, x_values,
)
from inspector.gui.document.loading_bar import LoadingBar
from inspector.gui.document.message_page import MessagePage
from inspector.gui.series.checkpoint_table import CheckpointTable
from inspector.gui.series.distribution_view import DistributionView
from inspector.gui.series.drift_heatmap import DriftHeatmap
from inspector.gui.series.metric_curves import MetricCurves
from inspector.gui.workers.process_worker import ProcessWorker

REDRAW_MS = 150  # layers arriving faster than this are drawn together
HISTOGRAM_BINS = 64


class SeriesTab(QWidget):
    stateChanged = Signal()
    summaryFinished = Signal()  # ready, error or cancelled
    distributionFinished = Signal()  # the selected tensor's distribution is drawn (or failed)
    tensorRequested = Signal(str, str)  # checkpoint path, series key
    compareRequested = Signal(str, str)  # two checkpoint paths, earlier first

    def __init__(self, paths: list[str], can_compare: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.paths = [os.path.abspath(path) for path in paths]
        self.state = "loading"
        self.error_message = ""
        self.document = empty_document()
        self.selected_key: str | None = None
        self._worker: ProcessWorker | None = None
        self._histograms: ProcessWorker | None = None
        self._redraw_timer = QTimer(self, singleShot=True, interval=REDRAW_MS)
        self._build_widgets(can_compare)
        self._connect()

    # -- interface ---------------------------------------------------------------------
    @property
    def title(self) -> str:
        names = [os.path.basename(path.rstrip(os.sep)) or path for path in self.paths]
        return f"Series: {names[0]}" + (f" +{len(names) - 1}" if len(names) > 1 else "")

    def start(self) -> None:
        """Summarise the series (again)."""
        self.shutdown()
        self.document = empty_document()
        self.pages.setCurrentWidget(self.content)
        self.loading_bar.set_progress(0, 0, "Reading the checkpoints…")
        self.loading_bar.setVisible(True)
        self._set_state("loading")
        self._worker = self._start_worker("series", {"paths": self.paths}, self._on_worker_partial_arrived,
                                          self._on_worker_succeeded, self._on_worker_failed, self._on_worker_cancelled)
        self._worker.progressed.connect(self.loading_bar.set_progress)

    def cancel(self) -> None:
        if self.state == "loading" and self._worker is not None:
            self._worker.cancel()

    def shutdown(self) -> None:
        """Stop both workers (closing the tab, or starting over)."""
        for name in ("_worker", "_histograms"):
            worker = getattr(self, name)
            if worker is not None:
                worker.blockSignals(True)
                worker.cancel()
                worker.deleteLater()
                setattr(self, name, None)

    def select_key(self, key: str) -> None:
        """Show ``key``'s distribution over the series (computed in a worker process)."""
        if self._histograms is not None:
            self._histograms.blockSignals(True)
            self._histograms.cancel()
            self._histograms.deleteLater()
        self.selected_key = key
        self.distribution.start(key)
        paths = [checkpoint["path"] for checkpoint in self.document["checkpoints"]]
        arguments = {"paths": paths, "keys": list(self.document["keys"]), "key": key, "bins": HISTOGRAM_BINS}
        self._histograms = self._start_worker("series_histograms", arguments, self._on_histograms_partial_arrived,
                                              lambda result: self._on_histograms_settled(key, ""),
                                              lambda message: self._on_histograms_settled(key, message), None)

    def axis(self) -> str:
        return self.axis_box.currentText()

    def status_text(self) -> str:
        """The window's status bar while this tab is shown."""
        return self.heading.text() if self.state != "error" else "Could not summarise this series"

    # -- building ----------------------------------------------------------------------
    def _build_widgets(self, can_compare: bool) -> None:
        self.loading_bar = LoadingBar()
        self.axis_box = QComboBox()
        self.axis_box.addItems(AXES)
        self.heading = QLabel()
        self.table = CheckpointTable(can_compare)
        self.curves = MetricCurves()
        self.notes = QLabel(wordWrap=True, textInteractionFlags=Qt.TextInteractionFlag.TextSelectableByMouse)
        self.heatmap = DriftHeatmap()
        self.distribution = DistributionView()
        left = _column(self.table, self.curves, self.notes)
        right = QSplitter(Qt.Orientation.Vertical, childrenCollapsible=False)
        right.addWidget(self.heatmap)
        right.addWidget(self.distribution)
        right.setSizes([500, 300])
        self.splitter = QSplitter(Qt.Orientation.Horizontal, childrenCollapsible=False)
        self.splitter.addWidget(left)
        self.splitter.addWidget(right)
        self.splitter.setSizes([500, 700])
        top = QHBoxLayout()
        top.addWidget(self.heading, 1)
        top.addWidget(QLabel("x:"))
        top.addWidget(self.axis_box)
        self.content = QWidget()
        content_layout = QVBoxLayout(self.content)
        content_layout.setContentsMargins(0, 0, 0, 0)
        content_layout.addLayout(top)
        content_layout.addWidget(self.loading_bar)
        content_layout.addWidget(self.splitter, 1)
        self.messages = MessagePage()
        self.pages = QStackedWidget()
        self.pages.addWidget(self.content)
        self.pages.addWidget(self.messages)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.pages)

    def _connect(self) -> None:
        self.loading_bar.cancelRequested.connect(self.cancel)
        self.messages.retryRequested.connect(self.start)
        self.axis_box.currentIndexChanged.connect(lambda _index: self._redraw_all())
        self._redraw_timer.timeout.connect(self.heatmap.refresh)
        self.heatmap.cellClicked.connect(self._on_heatmap_cell_clicked)
        self.heatmap.cellActivated.connect(self._on_heatmap_cell_activated)
        self.table.compareRequested.connect(self.compareRequested)

    def _start_worker(self, job: str, arguments: dict, on_part, on_success, on_failure,
                      on_cancel: Callable | None) -> ProcessWorker:
        worker = ProcessWorker(job, arguments, parent=self)
        worker.partialArrived.connect(on_part)
        worker.succeeded.connect(on_success)
        worker.failed.connect(on_failure)
        if on_cancel is not None:
            worker.cancelled.connect(on_cancel)
        worker.start()
        return worker

    # -- drawing -----------------------------------------------------------------------
    def _redraw_all(self) -> None:
        document, axis = self.document, self.axis()
        labels = [_short_label(document, index, axis) for index in range(len(document["checkpoints"]))]
        x = x_values(document, axis)
        self.table.set_checkpoints(document["checkpoints"])
        self.curves.set_curves(metric_curves(document), x, axis)
        self.heatmap.set_document(document, labels, axis)
        self.distribution.set_axis(x, labels, axis)
        self.notes.setText(_skipped_text(document))
        count = len(document["checkpoints"])
        self.heading.setText(f"{count} checkpoint{'s' if count != 1 else ''} of one model · "
                             f"{len(document['keys'])} tensors each")

    def _set_state(self, state: str) -> None:
        self.state = state
        self.stateChanged.emit()
        if state != "loading":
            self.loading_bar.setVisible(False)
            self.summaryFinished.emit()

    # -- worker outcomes ---------------------------------------------------------------
    def _on_worker_partial_arrived(self, part: dict) -> None:
        if apply_part(self.document, part) is None:  # the header: checkpoints, keys, skipped files
            self.axis_box.blockSignals(True)
            self.axis_box.setCurrentText(default_axis(self.document))
            self.axis_box.blockSignals(False)
            self._redraw_all()
        elif not self._redraw_timer.isActive():
            self._redraw_timer.start()

    def _on_worker_succeeded(self, document: dict) -> None:
        self._redraw_timer.stop()
        self.document = document
        self._redraw_all()
        self._set_state("ready")

    def _on_worker_failed(self, message: str) -> None:
        self.error_message = message
        self.messages.show_message("error", "Could not summarise this series", message)
        self.pages.setCurrentWidget(self.messages)
        self._set_state("error")

    def _on_worker_cancelled(self) -> None:
        self._redraw_timer.stop()
        self.heatmap.refresh()
        self.heading.setText(self.heading.text() + " · cancelled: what was measured before stays")
        self._set_state("cancelled")

    def _on_histograms_partial_arrived(self, part: dict) -> None:
        self.distribution.set_entry(part["index"], part["entry"])
        self.distribution.redraw()

    def _on_histograms_settled(self, key: str, message: str) -> None:
        self.distribution.finish(key, message)
        self.distributionFinished.emit()

    def _on_heatmap_cell_clicked(self, key: str, _index: int) -> None:
        if key != self.selected_key:
            self.select_key(key)

    def _on_heatmap_cell_activated(self, key: str, index: int) -> None:
        self.tensorRequested.emit(self.document["checkpoints"][index]["path"], key)


def _column(*widgets: QWidget) -> QSplitter:
    splitter = QSplitter(Qt.Orientation.Vertical, childrenCollapsible=False)
    for widget in widgets:
        splitter.addWidget(widget)
    return splitter


def _short_label(document: dict, index: int, axis: str) -> str:
    checkpoint = document["checkpoints"][index]
    value = checkpoint.get(axis) if axis != "checkpoint" else None
    return f"{value:g}" if isinstance(value, float) else str(value) if value is not None else f"#{index}"


def _skipped_text(document: dict) -> str:
    skipped = document.get("skipped") or []
    if not skipped:
        return ""
    lines = [f"{os.path.basename(entry['path'])}: {entry['reason']}" for entry in skipped]
    return "Skipped:\n" + "\n".join(lines)


