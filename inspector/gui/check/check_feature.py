"""The "Check Against Model…" feature of the window: its action, its dialog, and for each
document a check (controller + panel beside the tree + tints on the tree's rows).

The main window holds one ``CheckFeature`` and nothing else of it; the rest is imported when
first used, so the window starts as fast without it. "Export Fixed File…" hands the report's
plan to the window's export dialog (``MainWindow.open_export_dialog``).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject

MENU = "&Tools"


class CheckFeature(QObject):
    def __init__(self, window: Any):
        super().__init__(window)
        self.window = window
        self.action = window.actions.add_document_action(MENU, "Chec&k Against Model…", self.open_dialog, "Ctrl+K")
        self._checks: dict[Any, Any] = {}  # document -> DocumentCheck

    def open_dialog(self, document: Any = None):
        """The target picker (a ``CheckDialog``) for ``document`` (default: the current one),
        opened without blocking, on the target it was checked against last if any."""
        from inspector.gui.check.check_dialog import CheckDialog

        document = document or self.window.current_document()
        if document is None:
            self.window.statusBar().showMessage("Choose the tab of a checkpoint to check", 5000)
            return None
        others = [(other.title, other.path) for other in self.window.documents() if other is not document]
        check = self._checks.get(document)
        dialog = CheckDialog(others, self.window, current=check.controller.target if check is not None else None)
        dialog.accepted.connect(lambda: self.check(document, dialog.target()))
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()
        return dialog

    def check(self, document: Any, target: dict):
        """Check ``document`` against ``target`` (the dialog's choice), in its panel; returns
        the document's ``DocumentCheck``."""
        from inspector.gui.check.document_check import DocumentCheck

        check = self._checks.get(document)
        if check is None:
            check = self._checks[document] = DocumentCheck(document, self)
            document.closing.connect(lambda: self.forget(document))
        check.controller.check(target)
        return check

    def check_of(self, document: Any):
        return self._checks.get(document)

    def export_fixed(self, document: Any, plan) -> Any:
        """The window's export dialog for ``document``, filled in with ``plan`` (an
        ``ExportPlan``); None when it cannot open (the status bar says why)."""
        return self.window.open_export_dialog(document, plan)

    def forget(self, document: Any) -> None:
        """Close ``document``'s check (its panel's close button, or the document closing)."""
        check = self._checks.pop(document, None)
        if check is not None:
            check.close()
