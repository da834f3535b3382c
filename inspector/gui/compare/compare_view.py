"""A compare tab: two checkpoints key by key.

The diff runs in a worker process (``core.compare_job``), its rows filling the table as they
come; every change of the alignment, the sides or the options starts a new run and drops the
old one (``CompareState`` generations). A file that cannot be read shows the engine's message
in place, with the options still at hand. Selecting a key shows A and B side by side.
"""

from __future__ import annotations

import os

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QSplitter, QStackedWidget, QTabWidget, QVBoxLayout, QWidget

from inspector.core.compare_state import CompareRow, CompareState
from inspector.core.diff import DiffOptions
from inspector.gui.compare.alignment_bar import AlignmentBar
from inspector.gui.compare.change_chart import ChangeChart
from inspector.gui.compare.compare_header import CompareHeader
from inspector.gui.compare.diff_table import DiffTable
from inspector.gui.compare.key_panel import KeyPanel
from inspector.gui.compare.objects_table import ObjectsView
from inspector.gui.compare.status_style import CHIP_ORDER, status_label
from inspector.gui.document.message_page import MessagePage
from inspector.gui.workers.process_worker import ProcessWorker

CHART_REFRESH_MS = 500  # while rows stream in, the chart and the counts redraw at most this often
CHART_TAB, KEY_TAB, OBJECTS_TAB = range(3)


class CompareView(QWidget):
    stateChanged = Signal()  # the run started, finished, failed or was cancelled
    runFinished = Signal()  # done, error or cancelled

    def __init__(self, path_a: str, path_b: str, options: DiffOptions | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = CompareState(path_a, path_b, options)
        self._worker: ProcessWorker | None = None
        self._wanted_key: str | None = None  # the key to select again once a new run lists it
        self._refresh = QTimer(self, singleShot=True, interval=CHART_REFRESH_MS)
        self._refresh.timeout.connect(self._on_refresh_timeout)
        self._build_widgets()
        self._connect()

    # --- interface -----------------------------------------------------------------------
    @property
    def title(self) -> str:
        return f"{_name(self.state.path_a)} ⇄ {_name(self.state.path_b)}"

    @property
    def phase(self) -> str:
        return self.state.phase

    def start(self, options: DiffOptions | None = None) -> None:
        """Run the diff (again, with ``options``); the previous run is dropped at once."""
        self.shutdown_worker()
        current = self.table.current_entry()
        self._wanted_key = current.key if current is not None else self._wanted_key
        generation = self.state.start(options)
        self.table.clear()
        self.key_panel.show_entry(None)
        self.chart.set_rows([])
        self.alignment_bar.set_options(self.state.options)
        self.header.set_paths(self.state.path_a, self.state.path_b)
        self.header.set_running(True)
        self.header.set_summary(f"Reading {_name(self.state.path_a)} and {_name(self.state.path_b)}…")
        self.body.setCurrentWidget(self.content)
        self._worker = ProcessWorker("compare", self.state.job_arguments(), parent=self)
        self._worker.progressed.connect(lambda done, total, text: self._on_worker_progressed(generation, done, total, text))
        self._worker.partialArrived.connect(lambda items: self._on_worker_partial(generation, items))
        self._worker.succeeded.connect(lambda result: self._on_worker_succeeded(generation, result))
        self._worker.failed.connect(lambda message: self._on_worker_failed(generation, message))
        self._worker.start()
        self.stateChanged.emit()

    def cancel(self) -> None:
        if self.state.cancel():
            self.shutdown_worker()
            self._show_outcome()

    def shutdown(self) -> None:
        """Stop the diff and the key panel's jobs (the tab is closing)."""
        self.shutdown_worker()
        self._refresh.stop()
        self.key_panel.shutdown()

    def shutdown_worker(self) -> None:
        if self._worker is not None:
            self._worker.blockSignals(True)  # a replaced or closed run reports nothing
            self._worker.cancel()
            self._worker.deleteLater()
            self._worker = None

    def worker_pid(self) -> int | None:
        return self._worker.pid if self._worker is not None else None

    def status_text(self) -> str:
        """The main window's status bar line for this tab."""
        state = self.state
        if state.phase == "running":
            return f"Comparing {_name(state.path_a)} with {_name(state.path_b)}…"
        if state.phase == "error":
            return "Could not compare"
        return _summary_text(state.summary, len(state.rows), state.expected_rows)

    def select_key(self, key: str) -> bool:
        entry = self.state.row_for_key(key)
        return entry is not None and self.table.select_entry(entry)

    def select_most_changed(self) -> bool:
        entries = self.table.visible_entries()
        ranked = sorted(entries, key=lambda entry: -entry.change_score)
        return bool(ranked) and self.table.select_entry(ranked[0])

    # --- building ------------------------------------------------------------------------
    def _build_widgets(self) -> None:
        self.header = CompareHeader()
        self.alignment_bar = AlignmentBar()
        self.table = DiffTable()
        self.chart = ChangeChart()
        self.key_panel = KeyPanel()
        self.objects_view = ObjectsView()
        self.side_tabs = QTabWidget(documentMode=True)
        self.side_tabs.addTab(self.chart, "Per-layer change")
        self.side_tabs.addTab(self.key_panel, "Selected key")
        self.side_tabs.addTab(self.objects_view, "Other values")
        self.content = QSplitter(Qt.Orientation.Horizontal, childrenCollapsible=False)
        self.content.addWidget(self.table)
        self.content.addWidget(self.side_tabs)
        self.content.setStretchFactor(0, 1)
        self.content.setStretchFactor(1, 1)
        self.content.setSizes([640, 560])
        self.messages = MessagePage()
        self.body = QStackedWidget()
        self.body.addWidget(self.content)
        self.body.addWidget(self.messages)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.header)
        layout.addWidget(self.alignment_bar)
        layout.addWidget(self.body, 1)
        self.header.set_paths(self.state.path_a, self.state.path_b)
        self.alignment_bar.set_options(self.state.options)
        self.alignment_bar.show_options(self.state.options != DiffOptions(disabled=self.state.options.disabled,
                                                                          no_align=self.state.options.no_align))

    def _connect(self) -> None:
        self.header.cancelRequested.connect(self.cancel)
        self.header.rerunRequested.connect(lambda: self.start())
        self.header.swapRequested.connect(self._on_header_swap_requested)
        self.header.side_a.fileDropped.connect(lambda path: self._on_side_dropped("a", path))
        self.header.side_b.fileDropped.connect(lambda path: self._on_side_dropped("b", path))
        self.messages.retryRequested.connect(lambda: self.start())
        self.alignment_bar.ruleToggled.connect(self._on_alignment_bar_rule_toggled)
        self.alignment_bar.optionsEdited.connect(self._on_alignment_bar_options_edited)
        self.table.entrySelected.connect(self._on_table_entry_selected)
        self.chart.entryActivated.connect(self.table.select_entry)

    # --- the worker ----------------------------------------------------------------------
    def _on_worker_progressed(self, generation: int, done: int, total: int, message: str) -> None:
        if generation == self.state.generation:
            self.header.set_progress(done, total, message)

    def _on_worker_partial(self, generation: int, items: list) -> None:
        had_header = self.state.header is not None
        rows = self.state.accept(generation, items)
        if rows is None:
            return
        if not had_header and self.state.header is not None:
            self._show_header()
        if rows:
            self.table.add_rows(rows)
            self._select_wanted(rows)
            if not self._refresh.isActive():
                self._refresh.start()

    def _on_worker_succeeded(self, generation: int, result: dict) -> None:
        if self.state.finish(generation, result):
            self._worker = None
            self._show_outcome()

    def _on_worker_failed(self, generation: int, message: str) -> None:
        if self.state.fail(generation, message):
            self._worker = None
            self._show_outcome()

    def _show_header(self) -> None:
        header = self.state.header
        self.alignment_bar.set_alignment(header["alignment"])
        self.header.set_paths(self.state.path_a, self.state.path_b, (header["a"]["format"], header["b"]["format"]))
        self.objects_view.set_rows(header["object_rows"])
        self.side_tabs.setTabText(OBJECTS_TAB, f"Other values ({len(header['object_rows'])})")

    def _show_outcome(self) -> None:
        self._refresh.stop()
        self._on_refresh_timeout()
        self.header.set_running(False)
        if self.state.phase == "error":
            self.messages.show_message("error", "Could not compare", self.state.error)
            self.body.setCurrentWidget(self.messages)
            self.header.set_summary("Could not compare", self.state.error)
            self.alignment_bar.show_options(True)
        elif self.state.phase == "cancelled":
            self.header.set_summary(f"Cancelled: {self.status_text()}")
        self.stateChanged.emit()
        self.runFinished.emit()

    def _on_refresh_timeout(self) -> None:
        self.chart.set_rows(self.state.rows)
        self.table.set_counts(self.state.summary)
        if self.state.phase != "error":
            self.header.set_summary(_summary_text(self.state.summary, len(self.state.rows), self.state.expected_rows))

    def _select_wanted(self, rows: list[CompareRow]) -> None:
        if self._wanted_key is None:
            return
        entry = next((row for row in rows if row.key == self._wanted_key), None)
        if entry is not None:
            self._wanted_key = None
            self.table.select_entry(entry)

    # --- user changes --------------------------------------------------------------------
    def _on_table_entry_selected(self, entry: CompareRow | None) -> None:
        self.key_panel.show_entry(entry)
        self.chart.set_current(entry)
        if entry is not None:
            self._wanted_key = None
            self.side_tabs.setCurrentIndex(KEY_TAB)

    def _on_alignment_bar_rule_toggled(self, name: str, enabled: bool) -> None:
        self.start(self.state.with_rule(name, enabled))

    def _on_alignment_bar_options_edited(self, changes: dict) -> None:
        options = self.state.with_options(**changes)
        if options != self.state.options:
            self.start(options)

    def _on_header_swap_requested(self) -> None:
        self.state.swap()
        self.start()

    def _on_side_dropped(self, side: str, path: str) -> None:
        if side == "a":
            self.state.path_a = os.path.abspath(path)
        else:
            self.state.path_b = os.path.abspath(path)
        self.start(self.state.with_options(disabled=()))


def _name(path: str) -> str:
    return os.path.basename(path.rstrip(os.sep)) or path


def _summary_text(summary: dict[str, int], rows: int, expected: int | None) -> str:
    parts = [f"{summary[status]:,} {status_label(status)}" for status in CHIP_ORDER if summary.get(status)]
    text = " · ".join(parts) if parts else "no keys yet"
    if expected is not None and rows < expected:
        text = f"{rows:,} of {expected:,} keys: " + text
    return text
