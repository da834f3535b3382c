"""One document's check: a controller running the job, a panel where the tensor panel was
showing the report (the two as tabs: the tree keeps its width), and the tree's rows tinted by
each tensor's fate."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QTabWidget

from inspector.core.plan import ExportPlan
from inspector.gui.check.check_controller import CheckController
from inspector.gui.check.check_panel import CheckPanel
from inspector.gui.check.row_fates import RowFates

CHECK_TAB, ROW_TAB = "Check", "Selected Row"


class DocumentCheck(QObject):
    """One document's check: runs in its controller, shows in its panel and on the tree."""

    def __init__(self, document: Any, feature: Any):  # feature: the window's CheckFeature
        super().__init__(document)
        self.document = document
        self.feature = feature
        self.controller = CheckController(document.path, self)
        self.panel = CheckPanel()
        self._place_beside_row_panel()
        self._connect()

    def close(self) -> None:
        """Stop the job, take the panel and the tints away."""
        self.controller.stop()
        self._decorate(None)
        self.document.splitter.replaceWidget(1, self.row_side)
        self.row_side.show()  # it was hidden while the check's tab was on top
        self.side.deleteLater()
        self.deleteLater()

    def _place_beside_row_panel(self) -> None:
        """The right side of the document's splitter (the selected row's panel) becomes two
        tabs, the check first: the tree keeps its width and the document's splitter (whose
        sizes the window remembers) its two parts."""
        splitter = self.document.splitter
        sizes = splitter.sizes()
        self.row_side = splitter.widget(1)
        self.side = QTabWidget(documentMode=True)
        splitter.replaceWidget(1, self.side)
        self.side.addTab(self.panel, CHECK_TAB)
        self.side.addTab(self.row_side, ROW_TAB)
        self.row_side.show()  # replaceWidget hid it; the tab widget shows the current tab only
        splitter.setSizes(sizes)

    def _connect(self) -> None:
        controller, panel = self.controller, self.panel
        controller.started.connect(self._on_controller_started)
        controller.progressed.connect(panel.show_progress)
        controller.reportChanged.connect(self._on_controller_report_changed)
        controller.failed.connect(panel.show_error)
        controller.cancelled.connect(lambda: panel.show_error("The check was cancelled."))
        panel.remapRequested.connect(controller.apply_remap)
        panel.numClassesRequested.connect(controller.use_num_classes)
        panel.undoRequested.connect(controller.undo_remaps)
        panel.retryRequested.connect(controller.run)
        panel.cancelRequested.connect(controller.cancel)
        panel.againRequested.connect(lambda: self.feature.open_dialog(self.document))
        panel.exportRequested.connect(lambda plan: self.feature.export_fixed(self.document, ExportPlan.from_json(plan)))
        panel.closeRequested.connect(lambda: self.feature.forget(self.document))
        self.document.loadFinished.connect(self._on_document_load_finished)

    def _on_controller_started(self) -> None:
        self.panel.show_running(f"Checking against {_label(self.controller.target)}…")
        self.side.setCurrentWidget(self.panel)

    def _on_controller_report_changed(self, report) -> None:
        self.panel.show_report(report)
        self._on_document_load_finished()

    def _on_document_load_finished(self) -> None:
        """Tint the rows again: after a reload (F5) the tree is made of new rows."""
        report = self.controller.report
        self._decorate(RowFates.of(report) if report is not None else None)

    def _decorate(self, decorator) -> None:
        tree = self.document.tree_panel
        tree.model.set_row_decorator("check", decorator)
        tree.view.viewport().update()


def _label(target: dict | None) -> str:
    if not target:
        return ""
    if "path" in target:
        return target["path"]
    count = target.get("num_classes")
    return f"{target['arch']} (num_classes={count})" if count is not None else target["arch"]
