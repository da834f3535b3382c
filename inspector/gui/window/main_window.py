"""The main window: wires the welcome view, the document tabs, menus and the status bar."""

from __future__ import annotations

import os

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QApplication, QFileDialog, QLabel, QMainWindow, QMessageBox, QStackedWidget, QTabWidget,
)

from inspector import __version__
from inspector.gui.window import theme
from inspector.gui.window.actions import Handlers, WindowActions
from inspector.gui.check.check_feature import CheckFeature
from inspector.gui.window.demo_opener import DemoOpener
from inspector.gui.document.document import Document
from inspector.gui.export.export_feature import ExportFeature
from inspector.gui.workers.load_scheduler import LoadScheduler
from inspector.core.path_expansion import expand_paths
from inspector.core.series_discovery import looks_like_series_folder
from inspector.core.sniff import CHECKPOINT_SUFFIXES
from inspector.gui.window.recent_files import RecentFiles
from inspector.gui.window.settings import app_settings
from inspector.gui.window.status_text import document_status
from inspector.gui.window.welcome import WelcomeView

OPEN_FILTER = f"Checkpoints ({' '.join('*' + suffix for suffix in CHECKPOINT_SUFFIXES)});;All files (*)"
DEFAULT_WINDOW_SIZE = (1280, 800)
TAB_ICON_KIND = {"loading": "loading", "running": "loading", "error": "error", "cancelled": "cancelled"}
COMPARE_DROP_MODIFIER = Qt.KeyboardModifier.ShiftModifier  # two files dropped with Shift held: compare them


class MainWindow(QMainWindow):
    documentOpened = Signal(object)  # the Document

    def __init__(self, remember: bool = True):
        """``remember=False`` leaves the user's settings alone (no recent files, no saved
        geometry): for ``--screenshot`` runs."""
        super().__init__()
        self.remember = remember
        self.setWindowTitle("Checkpoint Inspector")
        self.setWindowIcon(theme.app_icon())
        self.setAcceptDrops(True)
        self.recent = RecentFiles()
        self.loads = LoadScheduler(self)
        self.welcome = WelcomeView()
        self.tabs = QTabWidget(tabsClosable=True, movable=True, documentMode=True)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.welcome)
        self.stack.addWidget(self.tabs)
        self.setCentralWidget(self.stack)
        self.status_label = QLabel()
        self.statusBar().addPermanentWidget(self.status_label)
        self.demo = DemoOpener(self.open_paths, self.statusBar().showMessage, self)
        self.actions = WindowActions(self, self._handlers(), self.recent)
        self.actions.check_color_scheme(theme.requested_scheme())
        self.export = ExportFeature(self)
        self.checks = CheckFeature(self)
        self._splitter_state = app_settings().value("document_splitter")
        self._columns_state = app_settings().value("tree_columns")
        self._connect()
        self._restore_geometry()
        self._on_documents_changed()

    # --- documents -----------------------------------------------------------------------
    def documents(self) -> list[Document]:
        return [widget for widget in self._tab_widgets() if isinstance(widget, Document)]

    def current_document(self) -> Document | None:
        widget = self.tabs.currentWidget()
        return widget if isinstance(widget, Document) else None

    def series_tabs(self) -> list:
        return [widget for widget in self._tab_widgets() if not isinstance(widget, Document)]

    def _tab_widgets(self) -> list:
        return [self.tabs.widget(index) for index in range(self.tabs.count())]

    def open_paths(self, paths: list[str]) -> list[Document]:
        opened = [self.open_document(path) for path in expand_paths(paths)]
        if opened:
            self.tabs.setCurrentWidget(opened[0])
        return opened

    def open_or_ask(self, paths: list[str]) -> None:
        """Open ``paths`` (the command line, a drop, File > Open Folder…); a single folder of
        several checkpoints asks first whether it is a series (``ask_open_as``)."""
        if len(paths) == 1 and looks_like_series_folder(paths[0]):
            self.ask_open_as(paths[0])
        else:
            self.open_paths(paths)

    def open_document(self, path: str) -> Document:
        path = os.path.abspath(path)
        for document in self.documents():
            if document.path == path:
                return document
        document = Document(path)
        document.restore_splitter(self._splitter_state)
        document.tree_panel.restore_columns(self._columns_state)
        document.columnsResized.connect(self._on_document_columns_resized)
        document.stateChanged.connect(lambda: self._on_document_state_changed(document))
        document.splitterMoved.connect(self._on_document_splitter_moved)
        self.tabs.addTab(document, document.title)
        self.tabs.setTabToolTip(self.tabs.indexOf(document), path)
        if self.remember:
            self.recent.add(path)
        self.loads.request(document)
        self._on_documents_changed()
        self.documentOpened.emit(document)
        return document

    def open_compare(self, path_a: str, path_b: str):
        """A tab comparing two checkpoints (files or folders) key by key; the diff starts at once."""
        from inspector.gui.compare.compare_view import CompareView

        view = CompareView(path_a, path_b)
        view.stateChanged.connect(lambda: self._on_compare_state_changed(view))
        self.tabs.addTab(view, view.title)
        self.tabs.setCurrentWidget(view)
        view.start()
        self._on_documents_changed()
        return view

    def tab_context_menu(self, index: int):
        """A document tab's menu ("Compare with"), or None for other tabs."""
        from inspector.gui.compare.compare_picker import compare_menu

        document = self.tabs.widget(index)
        if not isinstance(document, Document):
            return None
        others = [other.path for other in self.documents() if other is not document]
        return compare_menu(self, document.path, others, self.open_compare, self._on_compare)

    def close_document(self, index: int | None = None) -> None:
        index = self.tabs.currentIndex() if index is None else index
        document = self.tabs.widget(index)
        if document is None:
            return
        document.shutdown()
        if isinstance(document, Document):
            self.loads.forget(document)
        self.tabs.removeTab(index)
        document.deleteLater()
        self._on_documents_changed()

    def open_export_dialog(self, document: Document, plan) -> object:
        """The export dialog for ``document``, starting from ``plan`` (an ``ExportPlan``); None
        when the document is not read or the plan does not fit it (the status bar says why)."""
        return self.export.open_dialog(document, plan)

    def set_color_scheme(self, scheme: str) -> None:
        """Switch to ``scheme`` ("system", "light" or "dark") now, and for the next start."""
        theme.apply_color_scheme(QApplication.instance(), scheme)
        theme.remember_scheme(scheme)
        self.actions.check_color_scheme(scheme)

    def shutdown(self) -> None:
        """Stop every worker (the window is closing)."""
        self.demo.cancel()
        for widget in self._tab_widgets():
            widget.shutdown()

    def open_series(self, paths: list[str]):
        """A series tab summarising the checkpoints ``paths`` name (a run's folder, files, globs)."""
        from inspector.gui.series.series_tab import SeriesTab  # pyqtgraph: only once a series is opened

        tab = SeriesTab(paths, can_compare=True)
        tab.tensorRequested.connect(lambda path, key: self._on_series_tensor_requested(tab, path, key))
        tab.compareRequested.connect(self.open_compare)
        tab.stateChanged.connect(lambda: self._on_document_state_changed(tab))
        self.tabs.addTab(tab, theme.app_icon(), tab.title)
        self.tabs.setTabToolTip(self.tabs.indexOf(tab), "\n".join(tab.paths))
        self.tabs.setCurrentWidget(tab)
        self._on_documents_changed()
        tab.start()
        return tab

    # --- Qt overrides --------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if _local_paths(event.mimeData()):
            event.acceptProposedAction()

    def dragMoveEvent(self, event) -> None:
        if _local_paths(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = _local_paths(event.mimeData())
        if paths:
            event.acceptProposedAction()
            if len(paths) == 2 and event.modifiers() & COMPARE_DROP_MODIFIER:
                self.open_compare(*paths)
            else:
                self.open_or_ask(paths)

    def ask_open_as(self, folder: str) -> QMessageBox:
        """A folder of several checkpoints: asks, without waiting, whether to open it as a
        series or each file in it (the box's ``series_button`` and ``files_button``)."""
        box = QMessageBox(QMessageBox.Icon.Question, "Open a folder of checkpoints",
                          f"{os.path.basename(folder.rstrip(os.sep))} holds several checkpoints.", parent=self)
        box.setInformativeText("A series shows the metrics they record and how every layer moved between them.")
        box.series_button = box.addButton("Open as a Series", QMessageBox.ButtonRole.AcceptRole)
        box.files_button = box.addButton("Open Each File", QMessageBox.ButtonRole.RejectRole)
        box.buttonClicked.connect(lambda button: self.open_series([folder]) if button is box.series_button
                                  else self.open_paths([folder]))
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        return box

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.remember:
            self._save_layout()
        self.shutdown()
        super().closeEvent(event)

    def _save_layout(self) -> None:
        settings = app_settings()
        settings.setValue("window_geometry", self.saveGeometry())
        settings.setValue("window_state", self.saveState())
        if self._splitter_state is not None:
            settings.setValue("document_splitter", self._splitter_state)
        if self._columns_state is not None:
            settings.setValue("tree_columns", self._columns_state)
        settings.sync()

    # --- wiring --------------------------------------------------------------------------
    def _handlers(self) -> Handlers:
        return Handlers(open_files=self._on_open_files, open_folder=self._on_open_folder,
                        open_series=self._on_open_series,
                        open_paths=self.open_paths, open_demo=self.demo.start, compare=self._on_compare,
                        reload=self._on_reload,
                        close_document=self.close_document, focus_filter=self._on_focus_filter,
                        set_color_scheme=self.set_color_scheme, next_document=lambda: self._step_document(1),
                        previous_document=lambda: self._step_document(-1), about=self._on_about, quit=self.close)

    def _connect(self) -> None:
        self.tabs.tabCloseRequested.connect(self.close_document)
        self.tabs.tabBar().setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tabs.tabBar().customContextMenuRequested.connect(self._on_tab_bar_context_menu_requested)
        self.tabs.currentChanged.connect(lambda _index: self._update_status())
        self.welcome.openFileRequested.connect(self._on_open_files)
        self.welcome.openFolderRequested.connect(self._on_open_folder)
        self.welcome.demoRequested.connect(self.demo.start)
        self.welcome.recentRequested.connect(lambda path: self.open_paths([path]))

    def _restore_geometry(self) -> None:
        settings = app_settings()
        geometry = settings.value("window_geometry")
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(*DEFAULT_WINDOW_SIZE)
        state = settings.value("window_state")
        if state is not None:
            self.restoreState(state)

    def _on_documents_changed(self) -> None:
        has_documents = self.tabs.count() > 0
        self.stack.setCurrentWidget(self.tabs if has_documents else self.welcome)
        if not has_documents:
            self.welcome.set_recent(self.recent.paths())
        self.actions.set_document_actions_enabled(has_documents)
        self._update_status()

    def _on_document_state_changed(self, document: Document) -> None:
        index = self.tabs.indexOf(document)
        if index < 0:
            return
        kind = TAB_ICON_KIND.get(document.state)
        self.tabs.setTabIcon(index, theme.status_icon(kind) if kind else theme.app_icon())
        if document is self.tabs.currentWidget():  # a document, or a series tab
            self._update_status()

    def _on_compare_state_changed(self, view) -> None:
        index = self.tabs.indexOf(view)
        if index < 0:
            return
        kind = TAB_ICON_KIND.get(view.phase)
        self.tabs.setTabIcon(index, theme.status_icon(kind) if kind else theme.app_icon())
        self.tabs.setTabText(index, view.title)
        self.tabs.setTabToolTip(index, f"A: {view.state.path_a}\nB: {view.state.path_b}")
        if view is self.tabs.currentWidget():
            self._update_status()

    def _on_tab_bar_context_menu_requested(self, position) -> None:
        menu = self.tab_context_menu(self.tabs.tabBar().tabAt(position))
        if menu is not None:
            menu.exec(self.tabs.tabBar().mapToGlobal(position))

    def _on_compare(self, path_a: str | None = None) -> None:
        from inspector.gui.compare.compare_picker import ComparePicker

        current = self.current_document()
        first = path_a or (current.path if current is not None else None)
        picker = ComparePicker([document.path for document in self.documents()], first, self)
        if picker.exec() == ComparePicker.DialogCode.Accepted:
            self.open_compare(*picker.paths())

    def _on_document_splitter_moved(self, state) -> None:
        self._splitter_state = state

    def _on_document_columns_resized(self, state) -> None:
        self._columns_state = state

    def _update_status(self) -> None:
        widget = self.tabs.currentWidget()
        if isinstance(widget, Document):
            self.status_label.setText(document_status(widget))
        else:
            self.status_label.setText(widget.status_text() if widget is not None else "")
        title = f"{widget.title} — Checkpoint Inspector" if widget is not None else "Checkpoint Inspector"
        self.setWindowTitle(title)

    def _step_document(self, step: int) -> None:
        count = self.tabs.count()
        if count:
            self.tabs.setCurrentIndex((self.tabs.currentIndex() + step) % count)

    def _on_open_files(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Open checkpoints", "", OPEN_FILTER)
        if paths:
            self.open_paths(paths)

    def _on_open_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open a checkpoint folder (sharded, DCP, or a run's)")
        if path:
            self.open_or_ask([path])

    def _on_open_series(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open a folder of a run's checkpoints as a series")
        if path:
            self.open_series([path])

    def _on_series_tensor_requested(self, tab, path: str, key: str) -> None:
        from inspector.gui.series.tensor_opener import select_series_tensor

        document = self.open_document(path)
        self.tabs.setCurrentWidget(document)
        select_series_tensor(document, tab.document["keys"], key)

    def _on_reload(self) -> None:
        widget = self.tabs.currentWidget()
        if isinstance(widget, Document):
            widget.start_loading()
        elif widget is not None:
            widget.start()  # a compare tab runs its diff again

    def _on_focus_filter(self) -> None:
        document = self.current_document()
        if document is not None:
            document.focus_filter()

    def _on_about(self) -> None:
        QMessageBox.about(self, "About Checkpoint Inspector",
                          f"<b>Checkpoint Inspector {__version__}</b><p>Looks inside PyTorch checkpoints "
                          "without running any code from them.</p>")


def _local_paths(mime) -> list[str]:
    if not mime.hasUrls():
        return []
    return [url.toLocalFile() for url in mime.urls() if url.isLocalFile() and url.toLocalFile()]
