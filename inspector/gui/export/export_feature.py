"""Export in the main window: File > Export Mode (Ctrl+E) and File > Export… (Ctrl+Shift+E),
an export mode on every opened document, and the export dialog.

Only Qt is imported at start: the export modules (numpy, the plan) load with the first document.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence


class ExportFeature(QObject):
    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        self.mode_action = self._action("&Export Mode", "Ctrl+E", checkable=True)
        self.mode_action.setToolTip("Include and Freeze boxes on the tree's rows")
        self.export_action = self._action("E&xport…", "Ctrl+Shift+E")
        file_menu = window.actions.menus["file"]
        file_menu.insertActions(window.actions.reload, [self.mode_action, self.export_action])
        file_menu.insertSeparator(window.actions.reload)
        self.mode_action.toggled.connect(self._on_mode_action_toggled)
        self.export_action.triggered.connect(lambda _checked=False: self.open_dialog(window.current_document()))
        window.documentOpened.connect(self._on_window_document_opened)
        window.tabs.currentChanged.connect(lambda _index: self._sync_actions())
        self._sync_actions()

    def mode(self, document: Any) -> Any:
        """The export mode of ``document`` (an ``ExportMode``), or None."""
        if document is None:
            return None  # and nothing imported: the window starts without numpy
        from inspector.gui.export.export_mode import ExportMode

        return ExportMode.of(document)

    def open_dialog(self, document: Any, plan: Any = None) -> Any:
        """The export dialog for ``document``, from ``plan`` (an ``ExportPlan``), else from its
        export mode's boxes, else everything in its state dict; None (and why, in the status
        bar) when the document is not read or the plan does not fit it."""
        from inspector.core.errors import CheckpointError
        from inspector.core.export_selection import default_selection, selection_for_plan
        from inspector.gui.export.export_dialog import ExportDialog

        loaded = document.loaded if document is not None else None
        if loaded is None:
            self.window.statusBar().showMessage("Open a checkpoint and let it load before exporting", 5000)
            return None
        mode = self.mode(document)
        try:
            if plan is not None:
                selection = selection_for_plan(loaded.checkpoint, loaded.root, plan)
            elif mode.active and mode.selection is not None:
                selection = mode.selection
            else:
                selection = default_selection(loaded.checkpoint, loaded.root)
        except CheckpointError as error:
            self.window.statusBar().showMessage(f"Cannot export: {error}", 10000)
            return None
        dialog = ExportDialog(loaded, selection, self.window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.selectionChanged.connect(lambda chosen: mode.set_selection(chosen) if mode.active else None)
        dialog.open()
        return dialog

    def _action(self, text: str, shortcut: str, checkable: bool = False) -> QAction:
        action = QAction(text, self.window, checkable=checkable)
        action.setShortcut(QKeySequence(shortcut))
        self.window.addAction(action)
        return action

    def _on_window_document_opened(self, document: Any) -> None:
        from inspector.gui.export.export_mode import ExportMode

        mode = ExportMode(document)
        mode.activeChanged.connect(lambda _active: self._sync_actions())
        mode.exportRequested.connect(lambda: self.open_dialog(document))
        document.stateChanged.connect(self._sync_actions)

    def _on_mode_action_toggled(self, checked: bool) -> None:
        mode = self.mode(self.window.current_document())
        if mode is not None:
            mode.set_active(checked)

    def _sync_actions(self) -> None:
        document = self.window.current_document()
        mode = self.mode(document)
        ready = document is not None and document.state == "ready"
        self.export_action.setEnabled(ready)
        self.mode_action.setEnabled(mode is not None)
        self.mode_action.blockSignals(True)
        self.mode_action.setChecked(mode is not None and mode.active)
        self.mode_action.blockSignals(False)
