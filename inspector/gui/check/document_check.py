"""One document's check: a controller running the job, a panel beside the tree showing the
report, and the tree's rows tinted by each tensor's fate."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QSplitter

from inspector.core.plan import ExportPlan
from inspector.gui.check.check_controller import CheckController
from inspector.gui.check.check_panel import CheckPanel
from inspector.gui.check.row_fates import RowFates

PANEL_WIDTH = 420


class DocumentCheck(QObject):
    """One document's check: runs in its controller, shows in its panel and on the tree."""

    def __init__(self, document: Any, feature: Any):  # feature: the window's CheckFeature
        super().__init__(document)
        self.document = document
        self.feature = feature
        self.controller = CheckController(document.path, self)
        self.panel = CheckPanel()
        self._place_beside_tree()
        self._connect()

    def close(self) -> None:
        """Stop the job, take the panel and the tints away."""
        self.controller.stop()
        self._decorate(None)
        self.document.splitter.replaceWidget(0, self.tree_side)
        self.beside.deleteLater()
        self.deleteLater()

    def _place_beside_tree(self) -> None:
        """The tree's side of the document's splitter becomes a splitter of its own, tree and
        panel: the document's splitter (whose sizes the window remembers) keeps its two parts."""
        splitter = self.document.splitter
        self.tree_side = splitter.widget(0)
        width = splitter.sizes()[0]
        self.beside = QSplitter(Qt.Orientation.Horizontal, childrenCollapsible=False)
        splitter.replaceWidget(0, self.beside)
        self.beside.addWidget(self.tree_side)
        self.beside.addWidget(self.panel)
        self.beside.setSizes([max(width - PANEL_WIDTH, PANEL_WIDTH), PANEL_WIDTH])

    def _connect(self) -> None:
        controller, panel = self.controller, self.panel
        controller.started.connect(lambda: panel.show_running(f"Checking against {_label(controller.target)}…"))
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

    def _on_controller_report_changed(self, report) -> None:
        self.panel.show_report(report)
        self._on_document_load_finished()

    def _on_document_load_finished(self) -> None:
        """Tint the rows again: after a reload (F5) the tree is made of new rows."""
        report = self.controller.report
        self._decorate(RowFates.of(report) if report is not None else None)

    def _decorate(self, decorator) -> None:
        tree = self.document.tree_panel
        tree.model.set_row_decorator(decorator)
        tree.view.viewport().update()


def _label(target: dict | None) -> str:
    if not target:
        return ""
    if "path" in target:
        return target["path"]
    count = target.get("num_classes")
    return f"{target['arch']} (num_classes={count})" if count is not None else target["arch"]
