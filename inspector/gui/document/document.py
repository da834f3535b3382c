"""One open checkpoint: its load in a worker process, its tree, and the tensor panel beside it.

States: "loading" -> "ready" | "error" | "cancelled"; "Try again" starts a new load.
"""

from __future__ import annotations

import os
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QSplitter, QStackedWidget, QVBoxLayout, QWidget

from inspector.core import snippets
from inspector.gui.document.banner import WarningBanner
from inspector.gui.document.loaded_tree import LoadedTree, prepare_tree
from inspector.gui.document.loading_bar import LoadingBar
from inspector.gui.document.message_page import MessagePage
from inspector.gui.workers.process_worker import ProcessWorker
from inspector.gui.document.tree_panel import TreePanel


class Document(QWidget):
    stateChanged = Signal()
    loadFinished = Signal()  # ready, error or cancelled
    splitterMoved = Signal(object)  # the splitter's saved state (QByteArray)
    columnsResized = Signal(object)  # the tree header's saved state (QByteArray)
    closing = Signal()  # shutdown(): features stop their own background work

    def __init__(self, path: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.path = os.path.abspath(path)
        self.state = "loading"
        self.error_message = ""
        self.loaded: LoadedTree | None = None
        self._worker: ProcessWorker | None = None
        self._pending_splitter_state: Any = None
        self._view_state: Any = None  # expanded and selected rows, kept over a reload
        self._build_widgets()
        self._connect()

    # --- interface -----------------------------------------------------------------------
    @property
    def title(self) -> str:
        return os.path.basename(self.path.rstrip(os.sep)) or self.path

    @property
    def checkpoint(self) -> Any:
        return self.loaded.checkpoint if self.loaded is not None else None

    def start_loading(self) -> None:
        """Read the file (again: F5 keeps the rows that were expanded and selected)."""
        self.shutdown_worker()
        if self.loaded is not None:
            self._view_state = self.tree_panel.view_state()
        self.loaded, self.error_message = None, ""
        self.pages.setCurrentWidget(self.splitter)
        self._set_state("loading")
        self.tree_panel.set_status("loading", f"Loading {self.title}…")
        self.banner.setVisible(False)
        self.loading_bar.set_progress(0, 0, f"Reading {self.title}…")
        self.loading_bar.setVisible(True)
        self.progress_page.show_message("loading", f"Reading {self.title}…", self.path)
        self.right_stack.setCurrentWidget(self.progress_page)
        self._worker = ProcessWorker("load", {"path": self.path}, postprocess=prepare_tree, parent=self)
        self._worker.progressed.connect(self._on_worker_progressed)
        self._worker.succeeded.connect(self._on_worker_succeeded)
        self._worker.failed.connect(self._on_worker_failed)
        self._worker.cancelled.connect(self._on_worker_cancelled)
        self._worker.start()

    def show_waiting(self) -> None:
        """Queued behind other loads: a status row until its turn comes."""
        self.tree_panel.set_status("loading", f"Waiting to load {self.title}…")
        self.progress_page.show_message("loading", f"Waiting to read {self.title}…", self.path)
        self.right_stack.setCurrentWidget(self.progress_page)

    def cancel(self) -> None:
        if self.state != "loading":
            return
        if self._worker is not None:
            self._worker.cancel()
        else:  # still waiting for its turn
            self._on_worker_cancelled()

    def shutdown(self) -> None:
        """Stop the load and the panel's background work (closing the document)."""
        self.shutdown_worker()
        self.tensor_panel.shutdown()
        self.closing.emit()

    def shutdown_worker(self) -> None:
        if self._worker is not None:
            self._worker.blockSignals(True)  # a replaced or closed load reports nothing
            self._worker.cancel()
            self._worker.deleteLater()
            self._worker = None

    def worker_pid(self) -> int | None:
        return self._worker.pid if self._worker is not None else None

    def focus_filter(self) -> None:
        self.tree_panel.focus_filter()

    def select_first_tensor(self) -> bool:
        return self.tree_panel.select_first_tensor()

    def add_below_tree(self, widget: QWidget) -> None:
        """A feature's bar under the tree (export's summary)."""
        self._left_layout.addWidget(widget)

    def splitter_state(self) -> Any:
        return self.splitter.saveState()

    def restore_splitter(self, state: Any) -> None:
        """Applied when first shown: before that the splitter has no real width to divide."""
        self._pending_splitter_state = state

    def showEvent(self, event) -> None:
        super().showEvent(event)
        state, self._pending_splitter_state = self._pending_splitter_state, None
        if state:
            self.splitter.restoreState(state)

    # --- building ------------------------------------------------------------------------
    def _build_widgets(self) -> None:
        from inspector.gui.panels.tensor_panel import TensorPanel  # pyqtgraph: only once a file is opened

        self.banner = WarningBanner()
        self.loading_bar = LoadingBar()
        self.tree_panel = TreePanel(self._snippet_for)
        self.tensor_panel = TensorPanel()
        self.progress_page = MessagePage()  # beside the tree while it loads
        self.messages = MessagePage()  # the whole tab when the load failed or was cancelled
        self.right_stack = QStackedWidget()
        self.right_stack.addWidget(self.tensor_panel)
        self.right_stack.addWidget(self.progress_page)
        left = QWidget()
        left_layout = self._left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        for widget in (self.banner, self.loading_bar, self.tree_panel):
            left_layout.addWidget(widget, 1 if widget is self.tree_panel else 0)
        self.splitter = QSplitter(Qt.Orientation.Horizontal, childrenCollapsible=False)
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.right_stack)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([800, 600])
        self.pages = QStackedWidget()
        self.pages.addWidget(self.splitter)
        self.pages.addWidget(self.messages)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.pages)

    def _connect(self) -> None:
        self.loading_bar.cancelRequested.connect(self.cancel)
        self.messages.retryRequested.connect(self.start_loading)
        self.tree_panel.nodeSelected.connect(self._on_tree_panel_node_selected)
        self.tree_panel.columnsResized.connect(self.columnsResized)
        self.tensor_panel.tensorActivated.connect(self.tree_panel.select_node)
        self.splitter.splitterMoved.connect(lambda *_: self.splitterMoved.emit(self.splitter.saveState()))

    def _on_tree_panel_node_selected(self, node: Any) -> None:
        """A row, or with none selected the whole checkpoint (its own node)."""
        if node is None and self.loaded is not None:
            node = self.loaded.root
        self.tensor_panel.show_node(node)

    def _snippet_for(self, node: Any) -> str:
        return snippets.loading_snippet(self.checkpoint, node)

    def _set_state(self, state: str) -> None:
        self.state = state
        self.stateChanged.emit()
        if state != "loading":
            self.loading_bar.setVisible(False)
            self.loadFinished.emit()

    # --- worker outcomes -----------------------------------------------------------------
    def _on_worker_progressed(self, done: int, total: int, message: str) -> None:
        self.loading_bar.set_progress(done, total, message)
        percent = f" {100 * done // total}%" if total else ""
        self.tree_panel.set_status("loading", f"Loading {self.title}…{percent}")

    def _on_worker_succeeded(self, loaded: LoadedTree) -> None:
        self.loaded = loaded
        self.tree_panel.set_tree(loaded.root, loaded.filter_index)
        self.banner.show_warnings(loaded.code_running, loaded.checkpoint.warnings)
        self.right_stack.setCurrentWidget(self.tensor_panel)
        self.tensor_panel.show_node(loaded.root)  # the whole checkpoint until a row is chosen
        state, self._view_state = self._view_state, None
        if state is not None:
            self.tree_panel.restore_view_state(state)
        self._set_state("ready")

    def _on_worker_failed(self, message: str) -> None:
        self.error_message = message
        self.tree_panel.set_status("error", message)
        self.messages.show_message("error", f"Could not open {self.title}", message)
        self.pages.setCurrentWidget(self.messages)  # said once, with "Try again"
        self._set_state("error")

    def _on_worker_cancelled(self) -> None:
        self.tree_panel.set_status("cancelled", f"Loading {self.title} was cancelled")
        self.messages.show_message("cancelled", "Cancelled", f"Loading {self.path} was cancelled.")
        self.pages.setCurrentWidget(self.messages)
        self._set_state("cancelled")
